"""Guards a trustworthy experimentation platform runs before believing a readout.

* :func:`srm_test` — sample-ratio mismatch: Pearson's χ² goodness of fit of the arms' user
  counts to the planned split (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch"); a
  p-value below ``0.001`` flags the experiment (GrowthBook's default: a platform runs this
  check on every experiment every day, so a threshold far below 0.05 keeps false alarms rare).
* :func:`confidence_sequence` — always-valid intervals for peeking: the asymptotic confidence
  sequence of Waudby-Smith, Arnold, Wu, Lindon, Ramdas & Howard (2023) (normal-mixture boundary
  of Howard et al. 2021), the method GrowthBook uses, with its tuning ``N* = 5000`` users. The
  chance that the interval *ever* excludes the true effect, over all looks, is at most α (as
  the sample grows); a fixed-horizon interval looked at daily does not keep that promise.
* :func:`holm` and :func:`benjamini_hochberg` — adjusted p-values across metrics: Holm (1979)
  controls the family-wise error rate, Benjamini & Hochberg (1995) the false discovery rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as st

__all__ = [
    "SRM_THRESHOLD",
    "benjamini_hochberg",
    "confidence_sequence",
    "holm",
    "srm_test",
]

#: p-value below which a sample-ratio mismatch is flagged
SRM_THRESHOLD = 0.001
#: GrowthBook's default tuning of the confidence sequence (users at which it is tightest)
SEQUENTIAL_TUNING = 5000


def srm_test(
    counts: Sequence[int],
    expected_shares: Sequence[float] | None = None,
    *,
    arms: Sequence[str] | None = None,
    threshold: float = SRM_THRESHOLD,
) -> dict:
    """χ² test of the observed users per arm against the planned split.

    Returns ``counts``, ``expected``, ``observed_shares``, ``expected_shares``, ``chi2``,
    ``p_value``, ``threshold``, ``mismatch`` (p < threshold) and a sentence ``message``.
    """
    counts = np.asarray(counts, dtype=float)
    k = counts.size
    shares = np.full(k, 1.0 / k) if expected_shares is None else np.asarray(expected_shares, float)
    if shares.size != k or np.any(shares <= 0):
        raise ValueError(f"expected shares {shares.tolist()} do not fit {k} arms")
    shares = shares / shares.sum()
    total = counts.sum()
    expected = total * shares
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    p = float(st.chi2.sf(chi2, k - 1))
    names = list(arms) if arms is not None else [f"arm{i}" for i in range(k)]
    obs_shares = counts / total
    mismatch = p < threshold
    split = " / ".join(f"{s:.1%}" for s in obs_shares)
    plan = " / ".join(f"{s:.1%}" for s in shares)
    message = (
        f"sample-ratio mismatch: observed {split} against the planned {plan} "
        f"(chi2 = {chi2:.1f}, p = {p:.2g} < {threshold:g}); the assignment or the logging is "
        "broken, so the readout below cannot be trusted"
        if mismatch
        else f"no sample-ratio mismatch: observed {split} against the planned {plan} (p = {p:.2g})"
    )
    return {
        "arms": names,
        "counts": counts.astype(int).tolist(),
        "expected": expected.tolist(),
        "observed_shares": obs_shares.tolist(),
        "expected_shares": shares.tolist(),
        "chi2": chi2,
        "p_value": p,
        "threshold": threshold,
        "mismatch": bool(mismatch),
        "message": message,
    }


def confidence_sequence(
    n_total,
    estimate,
    se,
    *,
    alpha: float = 0.1,
    tuning: float = SEQUENTIAL_TUNING,
) -> tuple[np.ndarray, np.ndarray]:
    """Always-valid ``1 − α`` interval of an effect at each look.

    ``n_total`` users so far (both arms), ``estimate`` the effect estimate and ``se`` its
    standard error at that look (arrays over looks). With ``σ̂² = N · se²`` the per-user
    variance of the estimator, the half-width is (Waudby-Smith et al. 2023, Eq. 6)

        σ̂ · √( 2(Nρ² + 1) / (N² ρ²) · log(√(Nρ² + 1) / α) ),

    with ``ρ² = (−2 log α + log(−2 log α + 1)) / N*`` making it tightest at ``N = N*``
    (``tuning``). Returns ``(lower, upper)``.
    """
    n = np.asarray(n_total, dtype=float)
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
    sigma = se * np.sqrt(n)
    half = sigma * np.sqrt(
        2 * (n * rho2 + 1) / (n**2 * rho2) * np.log(np.sqrt(n * rho2 + 1) / alpha)
    )
    return est - half, est + half


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: ``max_{j ≤ i} min(1, (m − j + 1) p_(j))`` in the
    order of the sorted p-values, returned in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj = np.maximum.accumulate(adj)
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): ``min_{j ≥ i} min(1, m p_(j) / j)``,
    returned in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
