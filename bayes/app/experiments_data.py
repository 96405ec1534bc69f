"""The experiments page's library calls, gathered here so that tests reach them without
Streamlit: planning (:mod:`models.experiments.power`, as ``bayes experiment power``) and the
readout (:func:`bayes.experiments.analyze.analyze`, as ``bayes experiment analyze``), with the
lift's prior declared or learned from a library of past experiments
(:func:`bayes.experiments.analyze.fit_library` / ``load_library``, as ``bayes experiment
library`` and ``analyze --library``).

Nothing here is statistics of its own: the page passes its widgets' values, these functions
pass them to the library and return the library's results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LIBRARY_FIT",
    "PLAN_SOLVE",
    "Readout",
    "conversion_cv",
    "file_columns",
    "library_model",
    "lift_draws",
    "plan",
    "plan_curve",
    "prior_text",
    "readout",
    "sizing",
    "uses_library",
]

#: NUTS settings of the app's library fit (the quick demo's: 24 rows fit in seconds)
LIBRARY_FIT = {"draws": 1000, "tune": 500, "chains": 2}
#: what the planner solves for, in the page's words
PLAN_SOLVE = {"n": "sample size", "mde": "minimum detectable effect", "power": "power"}


def plan(
    metric: str,
    solve: str,
    *,
    baseline: float | None = None,
    mde: float | None = None,
    relative: bool = False,
    sd: float = 1.0,
    n: float | None = None,
    power: float | None = 0.8,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    convention: str = "pooled",
    test: str = "t",
    rho: float = 0.0,
):
    """The :class:`~models.experiments.power.PowerResult` of one planning question, exactly as
    ``bayes experiment power`` asks it: the quantity named by ``solve`` (``n``, ``mde`` or
    ``power``) is left to the library; ``rho`` is the CUPED covariate's correlation (variance
    factor ``1 − ρ²``, the CLI's ``--rho``). A question without an answer raises
    :class:`~models.experiments.power.PowerError` saying why."""
    from models.experiments.power import PowerError, power_means, power_proportions

    if solve not in PLAN_SOLVE:
        raise PowerError(f"solve must be one of {list(PLAN_SOLVE)}, got {solve!r}")
    given = dict(
        n=None if solve == "n" else n,
        power=None if solve == "power" else power,
        alpha=alpha,
        alternative=alternative,
        ratio=ratio,
        relative=relative,
        variance_factor=1.0 - rho**2,
    )
    effect = None if solve == "mde" else mde
    if metric == "proportion":
        return power_proportions(baseline, mde=effect, convention=convention, **given)
    return power_means(sd=sd, mde=effect, baseline=baseline, test=test, **given)


def plan_curve(result) -> pd.DataFrame:
    """Power at sizes around the solved one (:func:`models.experiments.power.power_curve`)."""
    from models.experiments.power import power_curve

    return power_curve(result)


def sizing(
    *, cv: float, ratio: float = 1.0, rho: float = 0.0, threshold: float = 0.001, priors=None
) -> dict:
    """Bayesian sizing as ``bayes experiment size`` does it, under the declared Normal prior
    of the relative lift (``priors``, default :func:`priors.experiments.experiment_priors`):
    ``prior`` (text), ``table`` (expected loss, EVSI and P(right call) by users per control
    arm, :func:`models.experiments.sizing.bayesian_sizing`) and ``users_control``, the fewest
    users per control arm whose expected loss is at most ``threshold`` (relative-lift units,
    :func:`~models.experiments.sizing.users_for_expected_loss`). ``cv`` is the metric's
    coefficient of variation per user (``√((1 − p)/p)`` for a rate ``p``: the CLI's
    ``--baseline``); ``rho`` CUPED's correlation."""
    from models.experiments.sizing import bayesian_sizing, users_for_expected_loss
    from priors.experiments import experiment_priors

    p = (priors or experiment_priors())["relative_lift"]
    mu0, sd0 = float(p.params.get("mu", 0.0)), float(p.params["sigma"])
    vf = 1.0 - rho**2
    return {
        "prior": str(p),
        "table": bayesian_sizing(mu0, sd0, cv=cv, ratio=ratio, variance_factor=vf),
        "users_control": users_for_expected_loss(
            mu0, sd0, threshold, cv=cv, ratio=ratio, variance_factor=vf
        ),
    }


def conversion_cv(rate: float) -> float:
    """A conversion rate's coefficient of variation per user, ``√((1 − p)/p)``."""
    return math.sqrt((1.0 - rate) / rate)


def file_columns(path, rows: int = 2000) -> tuple[list[str], list[str]]:
    """``(all columns, numeric columns)`` of a CSV/Parquet file from its first ``rows`` rows,
    for the page's column pickers (the readout validates the whole file). Identifier columns
    (:func:`bayes.io.is_identifier`: ``user_id``, ``email``...) are never offered as metrics or
    covariates: the readers take them as text."""
    from bayes.io import InputError, is_identifier

    try:
        if str(path).lower().endswith((".parquet", ".pq")):
            head = pd.read_parquet(path).head(rows)
        else:
            head = pd.read_csv(path, nrows=rows)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input
        raise InputError(f"cannot read the file ({exc})", source=path) from exc
    numeric = [
        c for c in head.columns if pd.api.types.is_numeric_dtype(head[c]) and not is_identifier(c)
    ]
    return [str(c) for c in head.columns], [str(c) for c in numeric]


def library_model(source, *, seed: int = 0, root=None):
    """The library of past lifts behind a learned prior, as a fitted
    :class:`~models.experiments.LiftLibrary`: a library posterior (``.nc``, the ``library.nc``
    of ``bayes experiment library``) is reopened (:func:`~bayes.experiments.analyze.load_library`);
    a table of past lifts (``experiment, lift, se``; CSV/Parquet) is fitted as ``bayes
    experiment library`` fits it (:func:`~bayes.experiments.analyze.fit_library`,
    :data:`LIBRARY_FIT`) and the posterior cached under ``library/`` keyed by the file's
    SHA-256 and the sampler settings. Bad input raises :class:`~bayes.io.InputError`."""
    from pathlib import Path

    from bayes.app.data import data_root
    from bayes.experiments.analyze import fit_library, load_library
    from bayes.io import data_hash
    from models.sampling import SamplerConfig

    source = Path(source)
    if source.suffix.lower() == ".nc":
        return load_library(source)
    fit = LIBRARY_FIT
    key = f"{data_hash(source)[:16]}-d{fit['draws']}-t{fit['tune']}-c{fit['chains']}-s{seed}"
    path = Path(root or data_root()) / "library" / f"{key}.nc"
    if path.is_file():
        return load_library(path)
    cfg = SamplerConfig(**fit, seed=seed, progress=False)
    model = fit_library(source, sampler=cfg)
    model.save(path)
    return model


@dataclass
class Readout:
    """The page's readout: the library's analysis and the numbers it shows."""

    analysis: object  # bayes.experiments.analyze.ExperimentAnalysis
    bayes: dict  # the first metric's readout (lift_summary + model)
    frequentist: pd.DataFrame  # estimates_table(): plain and adjusted, with intervals

    @property
    def decision(self) -> dict:
        return self.analysis.decision

    @property
    def srm(self) -> dict:
        return self.analysis.srm


def readout(
    source,
    *,
    arm: str,
    metric: str,
    covariates=(),
    control: str | None = None,
    expected_split: float = 0.5,
    time: str | None = None,
    tolerance: float | None = None,
    seed: int = 0,
    source_label: str | None = None,
    library=None,
) -> Readout:
    """The Bayesian readout of ``metric`` (``bayes experiment analyze --method bayes``:
    Beta-Binomial for a 0/1 metric without covariates, else the Normal model of the CUPED- or
    regression-adjusted relative lift) with the frequentist estimates beside it, the
    sample-ratio guard and the decision. With a fitted ``library`` (:func:`library_model`)
    the lift's prior is its predictive for the next lift (``analyze --library``; the library
    is not refitted with this experiment here). Bad input raises
    :class:`~bayes.io.InputError`."""
    from bayes.experiments.analyze import analyze
    from bayes.experiments.decide import LOSS_TOLERANCE
    from models.sampling import SamplerConfig

    res = analyze(
        source,
        arm=arm,
        metrics=[metric],
        covariates=list(covariates or ()),
        control=control,
        method="bayes",
        expected_split=expected_split,
        time=time,
        tolerance=LOSS_TOLERANCE if tolerance is None else tolerance,
        sampler=SamplerConfig(seed=seed, progress=False),
        source_label=source_label,
        library=library,
        update_library=False,
    )
    return Readout(analysis=res, bayes=res.readouts[0], frequentist=res.estimates_table())


def _model(r: Readout):
    res = r.analysis
    return res.models.get(f"conversion_{res.table.metrics[0]}") or res.models["lift"]


def prior_text(r: Readout) -> str:
    """The readout's prior in words: the library's predictive when the lift model used it,
    else the declared priors of the model that read the metric out (the exact Beta-Binomial
    readout of a 0/1 metric has priors of its own, the rates of the arms)."""
    if uses_library(r):
        return f"relative_lift ~ {r.analysis.library_prior}"
    return "; ".join(f"{k} ~ {v}" for k, v in _model(r).priors_.items())


def uses_library(r: Readout) -> bool:
    """Whether the readout's prior for the lift came from a library of past experiments."""
    return bool(r.analysis.library_prior) and _model(r) is r.analysis.models.get("lift")


def lift_draws(r: Readout) -> np.ndarray:
    """The posterior draws of the first metric's relative lift (from the readout's model)."""
    metric = r.analysis.table.metrics[0]
    rel = _model(r).predict()["relative_lift"]
    if "outcome" in rel.dims:
        rel = rel.sel(outcome=metric)
    return np.asarray(rel.values, float).ravel()
