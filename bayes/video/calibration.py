"""Is the pilot update calibrated? Parameter recovery and simulation-based calibration.

* :func:`recovery_study` — pilots generated at known (α, β) (every other quantity at its
  centre), refitted with NUTS: do the 90% intervals cover the truth?
* :func:`sbc_ranks` / :func:`sbc_uniformity` — simulation-based calibration (Talts et al.
  2018): truths from the prior (the one prior sampler,
  :func:`models.video.simulator.prior_draws`), pilots simulated from them, NUTS; the ranks of
  the truths among the posterior draws are uniform for a correct model and sampler.

Both refit one compiled model (:meth:`models.video.VideoPilotModel.sample_posterior`: counts
swapped through ``pm.Data``, no recompilation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes.video.data import PHASE0_SEGMENTS, generate_pilot, validate_pilot
from models.sampling import SamplerConfig
from priors.spec import interval_names
from priors.video import VideoPriors

__all__ = ["recovery_study", "sbc_ranks", "sbc_uniformity"]


def recovery_study(
    truths: Sequence[tuple[float, float]] = ((1.0, 1.0), (1.4, 1.3), (0.8, 1.2)),
    *,
    seeds: Sequence[int] = (0, 1),
    users_per_arm: int = 5000,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    draws: int = 300,
    tune: int = 300,
    chains: int = 2,
    priors: VideoPriors | None = None,
) -> pd.DataFrame:
    """Parameter recovery: pilots generated at true (α, β) (the rest at the prior centres),
    updated with NUTS on one compiled model. One row per (truth, seed, parameter) with the
    posterior median, the central 90% interval (``lower_90``, ``upper_90``), ``covered`` and
    the divergent transitions of the fit."""
    from models.video import VideoPilotModel

    priors = priors or VideoPriors()
    lo_name, hi_name = interval_names(0.9)
    model = VideoPilotModel(
        priors, SamplerConfig(draws=draws, tune=tune, chains=chains, progress=False)
    )
    rows = []
    for a_true, b_true in truths:
        for seed in seeds:
            pilot = validate_pilot(
                generate_pilot(
                    a_true,
                    b_true,
                    users_per_arm,
                    seed,
                    segments=segments,
                    priors=priors,
                    usage=False,
                )  # fmt: skip
            )
            idata = model.sample_posterior(pilot, seed=seed)
            div = int(idata.sample_stats["diverging"].sum())
            for name, truth in (("alpha", a_true), ("beta", b_true)):
                x = idata.posterior[name].to_numpy().ravel()
                lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
                rows.append(
                    {
                        "alpha_true": a_true,
                        "beta_true": b_true,
                        "seed": seed,
                        "parameter": name,
                        "truth": truth,
                        "median": med,
                        lo_name: lo,
                        hi_name: hi,
                        "covered": bool(lo <= truth <= hi),
                        "divergences": div,
                    }
                )
    return pd.DataFrame(rows)


def sbc_ranks(
    reps: int = 100,
    *,
    users_per_arm: int = 2000,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    draws: int = 200,
    tune: int = 200,
    thin: int = 2,
    seed: int = 0,
    priors: VideoPriors | None = None,
    progressbar: bool = False,
) -> pd.DataFrame:
    """Simulation-based calibration (Talts et al. 2018) of α and β.

    Each replication draws a truth from the prior (:func:`models.video.simulator.prior_draws`,
    the same PyMC model as the fit), simulates a pilot from it (seed §7.1 counts), fits NUTS
    (one chain, one compiled model reused through ``pm.Data``) and records the rank of the
    truth among the ``draws / thin`` thinned posterior draws (L = draws // thin, ranks in
    0..L). For a correct model and sampler the ranks are uniform.
    """
    from bayes.calibration import sbc_rank
    from bayes.progress import progress
    from models.video import VideoPilotModel
    from models.video.simulator import prior_draws, simulate_pilot

    priors = priors or VideoPriors()
    truth = prior_draws(priors, reps, seed)
    model = VideoPilotModel(priors, SamplerConfig(draws=draws, tune=tune, chains=1, progress=False))
    rows = []
    for r in progress(range(reps), total=reps, desc="SBC", enabled=progressbar):
        one = {k: v[r] for k, v in truth.items()}
        pilot = validate_pilot(
            simulate_pilot(
                one,
                users_per_arm,
                seed + 7919 * (r + 1),
                segments=segments,
                minutes_log_sd=priors.minutes_log_sd,
                usage=False,
            )
        )
        idata = model.sample_posterior(pilot, seed=seed + r)
        row = {"rep": r, "divergences": int(idata.sample_stats["diverging"].sum())}
        for name in ("alpha", "beta"):
            x = idata.posterior[name].to_numpy().ravel()[::thin]
            row[f"{name}_true"] = float(one[name])
            row[f"{name}_rank"] = sbc_rank(x, one[name])
        row["L"] = int(x.size)
        rows.append(row)
    return pd.DataFrame(rows)


def sbc_uniformity(ranks: pd.DataFrame, bins: int = 5) -> dict:
    """:func:`bayes.calibration.sbc_uniformity` of the α and β ranks."""
    from bayes.calibration import sbc_uniformity as uniformity

    return uniformity(ranks, ("alpha", "beta"), bins)
