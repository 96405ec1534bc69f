"""Analyse an experiment end to end: validate, aggregate once, read out, guard, decide.

:func:`analyze` is what ``bayes experiment analyze``, the report and the notebook call:

1. validate and reduce the data to per-arm sufficient statistics (DuckDB by default, Spark
   for data in a lake, NumPy as the in-memory reference: :mod:`bayes.experiments.engine`);
2. the sample-ratio-mismatch test against the planned split;
3. per metric, the plain difference and the primary estimate of ``method``:
   ``cuped`` (one covariate: Deng et al. 2013; several: Lin's regression from sums),
   ``regression`` (Lin's interacted OLS on the rows, statsmodels HC2), or ``bayes`` (the
   ``cuped`` estimate read out by an exact Bayesian model: Beta-Binomial for a 0/1 metric
   without covariates, else the Normal model of the relative lift);
4. ratio metrics (``ratios``, Σ num / Σ den per arm) by the delta method; Holm and
   Benjamini-Hochberg across all metrics;
5. with a time column, the cumulative effect per day with fixed and always-valid intervals;
6. with a library of past lifts, the readout's prior is the library's predictive for the
   next lift, and the library is refitted with this experiment's lift (the updating loop);
7. the decision on the first metric and its one-sentence headline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes.experiments.data import ExperimentTable, read_experiment
from bayes.experiments.decide import (
    LOSS_TOLERANCE,
    decide_bayes,
    decide_frequentist,
    headline,
)
from bayes.experiments.engine import (
    SQL_ENGINES,
    daily_moments,
    engine_name,
    moments,
    rows,
    scan,
)
from bayes.io import InputError
from models.experiments.estimators import (
    Estimate,
    EstimationError,
    cuped,
    difference_in_means,
    ratio_metric,
    regression_adjustment,
    regression_hc,
)
from models.experiments.guards import benjamini_hochberg, confidence_sequence, holm, srm_test
from models.experiments.readout import BetaBinomialReadout, NormalReadout
from models.experiments.stats import ArmMoments, combine
from priors.experiments import CONVERSION_PRIORS, LIFT_PRIORS, experiment_priors
from priors.spec import interval_names

__all__ = [
    "METHODS",
    "ExperimentAnalysis",
    "adjusted_estimate",
    "analyze",
    "fit_library",
    "load_library",
    "sequential_table",
]

METHODS: tuple[str, ...] = ("cuped", "regression", "bayes")


@dataclass
class ExperimentAnalysis:
    """Everything :func:`analyze` produced (``summary()`` is the JSON of the CLI)."""

    table: ExperimentTable
    moments: ArmMoments
    method: str
    prob: float
    srm: dict
    plain: list[Estimate]
    estimates: list[Estimate]
    multiple: pd.DataFrame
    decision: dict
    headline: str
    readouts: list[dict] = field(default_factory=list)
    sequential: pd.DataFrame | None = None
    models: dict = field(default_factory=dict)
    library_prior: str | None = None

    def estimates_table(self) -> pd.DataFrame:
        """One row per metric and estimator (plain and primary), with Holm / BH p-values."""
        rows = [e.to_dict(self.prob) for e in self.plain]
        if self.method != "bayes" or any(e.method != "difference" for e in self.estimates):
            rows += [e.to_dict(self.prob) for e in self.estimates if e.method != "difference"]
        df = pd.DataFrame(rows)
        return df.merge(self.multiple, on=["metric", "method"], how="left")

    def summary(self) -> dict:
        t = self.table
        out = {
            "source": t.source,
            "arm_column": t.arm,
            "control": t.control,
            "treatment": t.treatment,
            "users": {t.control: int(self.moments.n[0]), t.treatment: int(self.moments.n[1])},
            "metrics": list(t.metrics),
            "covariates": list(t.covariates),
            "method": self.method,
            "interval_probability": self.prob,
            "srm": self.srm,
            "estimates": self.estimates_table().to_dict(orient="records"),
            "decision": self.decision,
            "headline": self.headline,
        }
        if self.readouts:
            out["bayes"] = self.readouts
            out["chance_to_win_means"] = (
                "the posterior probability that the treatment's true mean is above the "
                "control's, given the data and the prior; not a p-value and not 1 - p"
            )
        if self.library_prior:
            out["lift_prior_from_library"] = self.library_prior
        if self.sequential is not None:
            last = self.sequential.iloc[-1].to_dict()
            out["sequential_last_look"] = {
                k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in last.items()
            }
        diag = {
            k: m.diagnostics_.to_dict()
            for k, m in self.models.items()
            if hasattr(m, "diagnostics_")
        }
        if diag:
            out["diagnostics"] = diag
            out["ok"] = all(d["ok"] for d in diag.values())
        return out


def _ratio(text: str) -> tuple[str, str]:
    num, sep, den = str(text).partition("/")
    if not sep or not num or not den:
        raise InputError(f"a ratio metric is written NUMERATOR/DENOMINATOR, got {text!r}")
    return num, den


def adjusted_estimate(m: ArmMoments, metric: str, covariates) -> Estimate:
    """The sums-based primary estimate: CUPED (one covariate), Lin (several), or plain."""
    covariates = list(covariates or ())
    if len(covariates) == 1:
        return cuped(m, metric, covariates[0])
    if covariates:
        return regression_adjustment(m, metric, covariates)
    return difference_in_means(m, metric)


def sequential_table(days, metric: str, covariates=(), *, prob: float = 0.9) -> pd.DataFrame:
    """Cumulative estimate per day with the fixed-horizon ``prob`` interval and the always-valid
    confidence sequence (:func:`models.experiments.guards.confidence_sequence`)."""
    lo, hi = interval_names(prob)
    slo, shi = interval_names(prob, "sequential")
    rows = []
    acc = None
    for day, m in days:
        acc = m if acc is None else combine([acc, m])
        if np.any(acc.n < 3):
            continue
        try:
            e = adjusted_estimate(acc, metric, covariates)
        except EstimationError:
            e = difference_in_means(acc, metric)
        a, b = e.interval(prob)
        s_lo, s_hi = confidence_sequence(acc.n.sum(), e.diff, e.se, alpha=1 - prob)
        rows.append(
            {
                "day": day,
                "users": int(acc.n.sum()),
                "estimate": e.diff,
                "se": e.se,
                lo: a,
                hi: b,
                slo: float(s_lo),
                shi: float(s_hi),
            }
        )
    return pd.DataFrame(rows)


def load_library(path):
    """Reopen a library posterior (``library.nc`` of ``bayes experiment library``, or the
    updated one ``analyze --library`` writes) as a :class:`~models.experiments.LiftLibrary`;
    a file that is not one raises :class:`~bayes.io.InputError` naming it."""
    from models.experiments.library import LiftLibrary

    try:
        return LiftLibrary.load(path)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"not a library posterior ({exc})", source=path) from exc


def fit_library(table, *, source: str | None = None, priors=None, sampler=None):
    """Fit the library of past lifts ``table`` (a path to a table ``experiment, lift, se``,
    validated by :func:`~bayes.experiments.data.read_library`, or such a DataFrame; ``source``
    names it in the posterior) by NUTS, as ``bayes experiment library`` does; ``priors``
    default to the declared library priors (``priors.experiments.LIBRARY_PRIORS``). Its
    ``next_lift_prior()`` is the prior that ``analyze(library=...)`` gives the lift."""
    from bayes.experiments.data import read_library
    from models.experiments.library import LiftLibrary

    if not isinstance(table, pd.DataFrame):
        table, source = read_library(table), source or str(table)
    return LiftLibrary(priors=priors, sampler=sampler).fit(table, source=source or "<library>")


def analyze(
    source,
    *,
    arm: str,
    metrics,
    covariates=(),
    control: str | None = None,
    method: str = "bayes",
    expected_split: float = 0.5,
    time: str | None = None,
    priors=None,
    library=None,
    update_library: bool = True,
    experiment_name: str = "new",
    sampler=None,
    prob: float = 0.9,
    tolerance: float = LOSS_TOLERANCE,
    engine="duckdb",
    source_label: str | None = None,
    ratios=(),
) -> ExperimentAnalysis:
    """Run the whole analysis (see the module docstring).

    ``source`` a CSV/Parquet path or a DataFrame; ``priors`` a full experiments
    :class:`~priors.spec.PriorSet` (default: :func:`priors.experiments.experiment_priors`);
    ``library`` a fitted :class:`~models.experiments.LiftLibrary`; ``sampler`` the
    :class:`~models.sampling.SamplerConfig` of the exact draws and of the library refit.
    ``source_label`` names the data in outputs and posteriors (default: the path);
    ``ratios`` adds ratio metrics ``"revenue/orders"`` (Σ num / Σ den per arm, delta method),
    tested, adjusted for multiplicity and read out (Normal model) beside the metrics.
    ``engine``: ``duckdb``, ``spark`` (its master from :func:`bayes.engines.use_engine`, or
    an :class:`~bayes.engines.EngineSpec`) or ``numpy``. Bad input raises :class:`~bayes.io.InputError` naming the file, column and rows.
    """
    if method not in METHODS:
        raise InputError(f"--method must be one of {METHODS}, got {method!r}")
    if not 0 < expected_split < 1:
        raise InputError(f"the planned treatment share must lie in (0, 1), got {expected_split}")
    metrics, covariates = tuple(metrics), tuple(covariates or ())
    pairs = [_ratio(r) for r in ratios or ()]
    extra = tuple(dict.fromkeys(c for pr in pairs for c in pr if c not in (*metrics, *covariates)))
    read = dict(arm=arm, metrics=metrics + extra, covariates=covariates, control=control, time=time)
    if engine_name(engine) in SQL_ENGINES:
        table = scan(source, **read, engine=engine)
    else:
        table = read_experiment(source, **read)
    if source_label is not None:
        table.source = str(source_label)
    m = moments(table, engine=engine)
    srm = srm_test(m.n, [1 - expected_split, expected_split], arms=m.arms)

    def _guard(fn, *args):
        try:
            return fn(*args)
        except EstimationError as exc:
            raise InputError(str(exc), source=table.source) from exc

    plain = [_guard(difference_in_means, m, y) for y in metrics]
    if method == "regression":
        frame = rows(table, [*metrics, *covariates])
        treated = (frame[arm].astype(str).to_numpy() == table.treatment).astype(float)
        x = frame[list(covariates)].to_numpy(float) if covariates else None
        primary = [
            _guard(
                lambda y: regression_hc(
                    frame[y].to_numpy(float),
                    treated,
                    x,
                    metric=y,
                    arms=table.arms,
                    covariate_names=covariates,
                ),
                y,
            )
            for y in metrics
        ]
    else:
        primary = [_guard(adjusted_estimate, m, y, covariates) for y in metrics]
    primary += [_guard(ratio_metric, m, num, den) for num, den in pairs]
    pv = np.array([e.p_value for e in primary])
    multiple = pd.DataFrame(
        {
            "metric": [e.metric for e in primary],
            "method": [e.method for e in primary],
            "p_holm": holm(pv),
            "p_bh": benjamini_hochberg(pv),
        }
    )
    seq = None
    if time:
        days = daily_moments(table, [metrics[0], *covariates], engine=engine)
        seq = sequential_table(days, metrics[0], covariates, prob=prob)

    readouts, models, lib_prior = [], {}, None
    if method == "bayes":
        full = priors if priors is not None else experiment_priors()
        lift_priors = full.subset(LIFT_PRIORS)
        if library is not None:
            prior = library.next_lift_prior()
            lift_priors = lift_priors.with_overrides({"relative_lift": prior})
            lib_prior = (
                f"{prior} (predictive of the next lift from {len(library.data_)} past experiments)"
            )
        conv = [
            e
            for e in primary
            if e.method != "ratio" and table.binary.get(e.metric) and not covariates
        ]
        norm = [e for e in primary if e not in conv]
        by_metric = {}
        for e in conv:
            i = table.metrics.index(e.metric)
            tab = pd.DataFrame(
                {
                    "arm": list(m.arms),
                    "users": m.n,
                    "conversions": np.rint(m.n * m.mean[:, i]).astype(np.int64),
                }
            )
            model = BetaBinomialReadout(priors=full.subset(CONVERSION_PRIORS), sampler=sampler)
            model.fit(tab, source=table.source)
            models[f"conversion_{e.metric}"] = model
            r = model.readout(prob)
            r["metric"] = e.metric
            by_metric[e.metric] = r
        if norm:
            model = NormalReadout(priors=lift_priors, sampler=sampler).fit(
                norm, source=table.source
            )
            models["lift"] = model
            for r in model.readout(prob):
                by_metric[r["metric"]] = r
        readouts = [by_metric[e.metric] for e in primary]
        if library is not None and update_library:
            models["library"] = library.update([primary[0]], names=[experiment_name])
        first = readouts[0]
        decision = decide_bayes(first, srm=srm, tolerance=tolerance)
        text = headline(decision, metric=metrics[0], lift=first["relative_lift"], prob=prob)
    else:
        row = primary[0].to_dict(prob)
        decision = decide_frequentist(row, srm=srm, prob=prob)
        extra = f"p = {row['p_value']:.2g}"
        if len(primary) > 1:
            extra += f" ({multiple['p_holm'].iloc[0]:.2g} after Holm across {len(primary)} metrics)"
        lo, hi = interval_names(prob)
        rel = {"mean": row["relative"], lo: row[f"relative_{lo}"], hi: row[f"relative_{hi}"]}
        text = headline(
            decision, metric=metrics[0], lift=rel, prob=prob, kind="confidence", extra=extra
        )
    return ExperimentAnalysis(
        table=table,
        moments=m,
        method=method,
        prob=prob,
        srm=srm,
        plain=plain,
        estimates=primary,
        multiple=multiple,
        decision=decision,
        headline=text,
        readouts=readouts,
        sequential=seq,
        models=models,
        library_prior=lib_prior,
    )
