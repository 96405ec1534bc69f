"""Forward simulation of the video decision: integrated feed vs standalone app (seed 000 §7).

Two presets share one declaration of beliefs (:class:`priors.video.VideoPriors`) and the
simulators of :mod:`models.video.simulator`:

``seed``
    The seed's Monte Carlo to the letter (§7.1–§7.3): fixed (point) priors, ``N_sim`` users
    simulated one by one (vectorised), scaled to ``N_high``
    (:func:`~models.video.simulator.simulate_users`). The spread of ΔCore is the sampling noise
    of ``R_m`` from ``N_sim`` users; ``N_sim`` = :data:`N_SIM_SEED` reproduces the seed's 90%
    intervals.
``bayes`` (default)
    Parameters drawn from the PyMC prior (:func:`~models.video.simulator.prior_draws`) and
    the whole population simulated *exactly* by binomial counts per segment
    (:func:`~models.video.simulator.simulate_population`): the spread is what we do not know
    about adoption and uplift, not simulation noise.

Also here: :func:`load_priors` (``--priors FILE``), the prior predictive of the headline
quantity shown by ``--show-priors`` (:func:`prior_predictive`) and the sanity checks of seed
§10.1 (:func:`verification_checks`).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from models.video.simulator import (
    N_SIM_SEED,
    closed_form_delta_core,
    point_params,
    prior_draws,
    simulate_population,
    simulate_users,
)
from priors.video import MODES, VideoPriors

__all__ = [
    "N_SIM_SEED",
    "PRESETS",
    "load_priors",
    "prior_predictive",
    "simulate",
    "verification_checks",
]

PRESETS: tuple[str, ...] = ("bayes", "seed")


def simulate(
    priors: VideoPriors | None = None,
    *,
    preset: str = "bayes",
    draws: int = 2000,
    seed: int = 0,
    n_sim: int = N_SIM_SEED,
    population: str = "high",
) -> xr.Dataset:
    """Run a preset: ``"seed"`` (point priors, per-user Monte Carlo with ``n_sim`` users per run)
    or ``"bayes"`` (PyMC prior draws, exact population counts). See the module docstring.

    Returns a Dataset with dims (draw, mode): ``delta_core``, ``core_rate``, ``uplift_rate``,
    ``adopters``, ``sessions``, ``minutes``; attrs ``preset``, ``seed``, ``population``,
    ``n_population``, ``n_high`` and the ``prior_spec`` (PriorSet JSON) used.
    """
    priors = priors or VideoPriors()
    if preset == "seed":
        return simulate_users(priors.as_point(), draws, seed, n_sim=n_sim, population=population)
    if preset == "bayes":
        ss = np.random.SeedSequence(seed)
        s_params, s_pop = (int(c.generate_state(1)[0]) for c in ss.spawn(2))
        params = prior_draws(priors, draws, s_params)
        ds = simulate_population(params, priors, s_pop, population=population)
        ds.attrs["seed"] = int(seed)
        return ds
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")


def load_priors(path: str | os.PathLike | None) -> VideoPriors:
    """The declaration of ``--priors FILE`` (default: the shipped one).

    A ``.csv`` is an edited copy of ``priors/video_priors.csv``; a ``.json`` / ``.toml`` file
    replaces entries of the prior set (stated as a belief or declared; see
    :meth:`priors.video.VideoPriors.from_file`). Any problem raises
    :class:`bayes.io.InputError` naming the file and the entry (exit code 2 on the CLI).
    """
    from pathlib import Path

    from bayes.io import InputError
    from priors.spec import PriorError

    if path is None:
        return VideoPriors()
    path = Path(path)
    if not path.is_file():
        raise InputError("prior file not found", source=path)
    try:
        return VideoPriors.from_file(path)
    except PriorError as exc:
        msg = str(exc)
        for prefix in (f"{path}: ", f"{path.resolve()}: "):
            msg = msg.removeprefix(prefix)
        raise InputError(msg, source=path) from exc


def prior_predictive(
    priors: VideoPriors | None = None, *, draws: int = 4000, seed: int = 0, prob: float = 0.9
) -> pd.DataFrame:
    """The prior predictive of the headline quantity, before any data: ΔCore of each mode and
    their difference on the high-engagement base (preset ``bayes``), with ``mean, sd, median,
    lower_90, upper_90`` and P(standalone better)."""
    from bayes.video.decide import decide, decision_table

    ds = simulate(priors, preset="bayes", draws=draws, seed=seed)
    return decision_table(decide(ds["delta_core"], prob=prob), prob=prob)


# --------------------------------------------------------------------------- §10.1 checks
def _with_columns(priors: VideoPriors, **columns) -> VideoPriors:
    table = priors.table.copy()
    for name, values in columns.items():
        table[name] = values
    return priors.replace(table=table)


def verification_checks(
    priors: VideoPriors | None = None,
    *,
    draws: int = 300,
    n_sim: int = 10_000,
    seed: int = 0,
    z: float = 4.0,
):
    """The sanity checks of seed §10.1, run on the seed preset; one row per check.

    1. equal priors (standalone = integrated adoption, uplift and sessions) give identical
       draws in both modes (common random numbers);
    2. zero adoption gives R_0 in both modes: identical draws, mean ΔCore within ``z`` Monte
       Carlo standard errors of 0;
    3. doubling every δ doubles the mean uplift (within ``z`` standard errors of the
       difference, same users and uniforms);
    4. the Monte Carlo mean matches the closed form N Σ_c π_c p_c (clip(b_c + δ_c) − b_c);
    5. the sign pattern of the sensitivity heatmap is the same for two different seeds.

    Returns a DataFrame with columns ``check``, ``statistic``, ``tolerance``, ``passed``.
    """
    import pandas as pd

    priors = priors or VideoPriors()
    t = priors.table
    rows = []

    def run(p):
        return simulate_users(p, draws, seed, n_sim=n_sim)["delta_core"].to_numpy()

    def se(x):
        return float(x.std(ddof=1) / np.sqrt(len(x)))

    eq = run(
        _with_columns(
            priors,
            p_adopt_standalone=t["p_adopt_integrated"],
            delta_standalone=t["delta_integrated"],
            mean_sessions_standalone=t["mean_sessions_integrated"],
        )
    )
    stat = float(np.max(np.abs(eq[:, 0] - eq[:, 1])))
    rows.append(("equal priors: max |ΔCore_int − ΔCore_stand|", stat, 0.0, stat == 0.0))

    zero = run(_with_columns(priors, p_adopt_integrated=0.0, p_adopt_standalone=0.0))
    same = bool(np.array_equal(zero[:, 0], zero[:, 1]))
    stat = float(zero[:, 0].mean())
    tol = z * se(zero[:, 0])
    rows.append(
        ("zero adoption: mean ΔCore (both modes identical)", stat, tol, same and abs(stat) < tol)
    )

    base = run(priors)
    doubled = run(
        _with_columns(
            priors,
            delta_integrated=2 * t["delta_integrated"],
            delta_standalone=2 * t["delta_standalone"],
        )
    )
    for m, mode in enumerate(MODES):
        comb = doubled[:, m] - 2 * base[:, m]
        stat = float(comb.mean())
        tol = z * se(comb)
        rows.append(
            (f"δ × 2: mean ΔCore_{mode}(2δ) − 2 mean ΔCore_{mode}(δ)", stat, tol, abs(stat) < tol)
        )

    closed = closed_form_delta_core(point_params(priors), priors)[0]
    for m, mode in enumerate(MODES):
        stat = float(base[:, m].mean() - closed[m])
        tol = z * se(base[:, m])
        rows.append(
            (f"closed form: mean ΔCore_{mode} − {closed[m]:,.0f}", stat, tol, abs(stat) < tol)
        )

    from .sensitivity import sensitivity_grid

    g1 = sensitivity_grid(priors, draws=draws, seed=seed, n_sim=n_sim)
    g2 = sensitivity_grid(priors, draws=draws, seed=seed + 1, n_sim=n_sim)
    # cells within z standard errors of D = 0 may flip sign by chance; no other may
    near = np.abs(g1.to_numpy()) < z * np.hypot(g1.attrs["mc_se_max"], g2.attrs["mc_se_max"])
    flips = int(((np.sign(g1.to_numpy()) != np.sign(g2.to_numpy())) & ~near).sum())
    rows.append(
        ("heatmap: cells (away from D = 0) whose sign changes with the seed", flips, 0, flips == 0)
    )
    return pd.DataFrame(rows, columns=["check", "statistic", "tolerance", "passed"])
