"""Simulation-based calibration (Talts et al., 2018): the model-independent part.

A domain's SBC loop draws a truth from its prior, simulates data, fits, and records for every
scalar quantity the rank of the truth among ``L`` (thinned) posterior draws
(:func:`sbc_rank`) in a column ``<name>_rank`` beside a column ``L``. For a correct
likelihood, posterior and sampler the ranks are uniform on ``0..L``;
:func:`sbc_uniformity` tests that. Used by :mod:`bayes.video.calibration` and
:mod:`bayes.signup.calibration`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["expected_interval_coverage", "sbc_rank", "sbc_uniformity"]


def sbc_rank(draws, truth: float) -> int:
    """Rank of ``truth`` among the posterior ``draws``: the number of draws below it."""
    return int(np.sum(np.asarray(draws) < truth))


def sbc_uniformity(ranks: pd.DataFrame, names: Sequence[str], bins: int = 5) -> dict:
    """Per quantity: chi-square test of uniform ranks (``bins`` equal-width bins over
    ``0..L``), the Kolmogorov-Smirnov test of ``(rank + 0.5) / (L + 1)`` against U(0, 1),
    the mean normalised rank (0.5 when calibrated; below = posterior above the truth) and the
    share of ranks in the outer 5% on each side (an over-confident posterior fills them)."""
    from scipy import stats

    L = int(ranks["L"].iloc[0])
    out = {}
    for name in names:
        r = ranks[f"{name}_rank"].to_numpy()
        counts = np.bincount(np.minimum(r * bins // (L + 1), bins - 1), minlength=bins)
        chi2, p = stats.chisquare(counts)
        u = (r + 0.5) / (L + 1)
        out[name] = {
            "counts": counts.tolist(),
            "chi2": float(chi2),
            "p_value": float(p),
            "ks_p_value": float(stats.kstest(u, "uniform").pvalue),
            "mean_rank": float(u.mean()),
            "outer_10pct": float(np.mean((u < 0.05) | (u > 0.95))),
        }
    return out


def expected_interval_coverage(n_draws: int, prob: float = 0.9) -> float:
    """Expected coverage of the ``np.quantile`` (linear) central ``prob`` interval of ``n_draws``
    exact posterior draws: the truth is one more exchangeable draw, so the coverage is the
    distance between the two interpolated order-statistic positions over ``n_draws + 1``."""
    lo, hi = (1 - prob) / 2 * (n_draws - 1), (1 + prob) / 2 * (n_draws - 1)
    return (hi - lo) / (n_draws + 1)
