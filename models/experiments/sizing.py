"""Bayesian sizing: how many users until the decision is settled, and what the data are worth.

Before an experiment, the relative lift is ``r ~ Normal(μ₀, τ₀²)`` (the declared
``relative_lift`` prior, or the one a library of past experiments learned). With ``n_c``
control and ``n_t`` treatment users the estimate is ``r̂ ~ Normal(r, se²)`` with
``se² = f · cv² (1/n_c + 1/n_t)`` (delta method near no lift; ``cv`` = the metric's sd / mean
per user, ``√((1 − p)/p)`` for a conversion rate ``p``; ``f`` the CUPED variance factor
``1 − ρ²``). After it we ship iff the posterior mean is above 0 (two actions, linear loss).
This is the video domain's pilot-sizing / EVSI question (Raiffa & Schlaifer 1961), and for a
Normal prior it has a closed form:

* the posterior mean, seen before the data, is ``m ~ Normal(μ₀, s²)`` with
  ``s² = τ₀² − v`` and ``v = 1 / (1/τ₀² + 1/se²)`` the posterior variance;
* ``L(μ, σ) = σ φ(μ/σ) − |μ| Φ(−|μ|/σ)`` is the expected loss of the better action under
  ``Normal(μ, σ²)``; today's expected loss is ``L(μ₀, τ₀)``;
* the expected value of sample information is ``EVSI(n) = L(μ₀, s)``, and the expected loss
  of the decision after the experiment is ``L(μ₀, τ₀) − EVSI(n)``;
* the chance of the right decision is ``P(sign m = sign r)`` for the bivariate Normal
  ``(r, m)`` with ``cov(r, m) = s²``.

:func:`preposterior_simulation` checks all of it by brute force, the video domain's way
(truths drawn from the prior, an experiment simulated at each, the Bayes action taken, the
realised loss averaged, common random numbers across sizes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as st

__all__ = [
    "DEFAULT_SIZES",
    "bayesian_sizing",
    "normal_loss",
    "preposterior_simulation",
    "users_for_expected_loss",
]

#: users per control arm tabulated by default
DEFAULT_SIZES: tuple[int, ...] = (1_000, 5_000, 20_000, 100_000, 500_000, 2_000_000)


def normal_loss(mu, sigma):
    """``σ φ(μ/σ) − |μ| Φ(−|μ|/σ)``: expected loss of the better of ship / keep under
    ``Normal(μ, σ²)`` (0 where ``σ = 0``)."""
    mu = np.abs(np.asarray(mu, dtype=float))
    sigma = np.asarray(sigma, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigma > 0, mu / np.where(sigma > 0, sigma, 1.0), np.inf)
        out = sigma * st.norm.pdf(z) - mu * st.norm.sf(z)
    return np.where(sigma > 0, out, 0.0)


def _parts(mu0, sd0, cv, n_c, ratio, vf):
    n_c = np.asarray(n_c, dtype=float)
    se2 = vf * cv**2 * (1 / n_c + 1 / (n_c * ratio))
    v = 1 / (1 / sd0**2 + 1 / se2)
    s = np.sqrt(np.maximum(sd0**2 - v, 0.0))
    return se2, v, s


def _check(mu0, sd0, cv, ratio, vf):
    if not sd0 > 0:
        raise ValueError(f"the lift prior's sd must be > 0, got {sd0}")
    if not cv > 0:
        raise ValueError(f"cv (sd / mean of the metric per user) must be > 0, got {cv}")
    if not ratio > 0:
        raise ValueError(f"ratio must be > 0, got {ratio}")
    if not 0 < vf <= 1:
        raise ValueError(f"variance_factor must lie in (0, 1], got {vf}")


def bayesian_sizing(
    mu0: float,
    sd0: float,
    *,
    cv: float,
    sizes: Sequence[int] = DEFAULT_SIZES,
    ratio: float = 1.0,
    variance_factor: float = 1.0,
    value: float = 1.0,
) -> pd.DataFrame:
    """One row per size (users per control arm), plus a ``0`` row (decide now):
    ``users_control, users_total, se, posterior_sd, expected_loss, evsi, p_right``.

    Losses and EVSI are in relative-lift units (0.001 = 0.1% of the control mean) times
    ``value`` (e.g. the metric's yearly total, to read them in money).
    """
    _check(mu0, sd0, cv, ratio, variance_factor)
    loss0 = float(normal_loss(mu0, sd0))
    rows = [
        {
            "users_control": 0,
            "users_total": 0,
            "se": math.inf,
            "posterior_sd": sd0,
            "expected_loss": loss0 * value,
            "evsi": 0.0,
            "p_right": float(st.norm.cdf(abs(mu0) / sd0)),
        }
    ]
    for n in sizes:
        se2, v, s = _parts(mu0, sd0, cv, n, ratio, variance_factor)
        evsi = float(normal_loss(mu0, s))
        rows.append(
            {
                "users_control": int(n),
                "users_total": int(round(n * (1 + ratio))),
                "se": float(np.sqrt(se2)),
                "posterior_sd": float(np.sqrt(v)),
                "expected_loss": (loss0 - evsi) * value,
                "evsi": evsi * value,
                "p_right": _p_right(mu0, sd0, float(s)),
            }
        )
    return pd.DataFrame(rows)


def _p_right(mu0: float, sd0: float, s: float) -> float:
    if s <= 0:
        return float(st.norm.cdf(abs(mu0) / sd0))
    cov = np.array([[sd0**2, s**2], [s**2, s**2]])
    both_neg = float(st.multivariate_normal(mean=[mu0, mu0], cov=cov).cdf([0.0, 0.0]))
    p_r_neg = st.norm.cdf(-mu0 / sd0)
    p_m_neg = st.norm.cdf(-mu0 / s)
    both_pos = 1 - p_r_neg - p_m_neg + both_neg
    return float(both_pos + both_neg)


def users_for_expected_loss(
    mu0: float,
    sd0: float,
    threshold: float,
    *,
    cv: float,
    ratio: float = 1.0,
    variance_factor: float = 1.0,
) -> int:
    """Smallest users per control arm whose expected loss after the experiment is at most
    ``threshold`` (relative-lift units); 0 if the prior already meets it."""
    _check(mu0, sd0, cv, ratio, variance_factor)
    if not threshold > 0:
        raise ValueError(f"the expected-loss threshold must be > 0, got {threshold}")
    loss0 = float(normal_loss(mu0, sd0))
    if loss0 <= threshold:
        return 0

    def excess(log_n):
        _, _, s = _parts(mu0, sd0, cv, math.exp(log_n), ratio, variance_factor)
        return loss0 - float(normal_loss(mu0, s)) - threshold

    hi = math.log(1e15)
    if excess(hi) > 0:
        raise ValueError(
            f"no experiment below 1e15 users per arm brings the expected loss under {threshold:g}"
        )
    log_n = optimize.brentq(excess, 0.0, hi, xtol=1e-12)
    return int(math.ceil(math.exp(log_n) - 1e-9))


def preposterior_simulation(
    mu0: float,
    sd0: float,
    *,
    cv: float,
    sizes: Sequence[int] = DEFAULT_SIZES,
    ratio: float = 1.0,
    variance_factor: float = 1.0,
    sims: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Brute-force check of :func:`bayesian_sizing`: truths from the prior, one simulated
    estimate per truth and size, the Bayes action, the realised loss. Columns as there, plus
    ``expected_loss_se`` (Monte Carlo standard error)."""
    _check(mu0, sd0, cv, ratio, variance_factor)
    rng = np.random.default_rng(seed)
    r = rng.normal(mu0, sd0, sims)
    noise = rng.standard_normal(sims)  # common random numbers across sizes
    rows = []
    for n in sizes:
        se2, v, _ = _parts(mu0, sd0, cv, n, ratio, variance_factor)
        r_hat = r + np.sqrt(se2) * noise
        m = v * (mu0 / sd0**2 + r_hat / se2)
        loss = np.where(m > 0, np.maximum(-r, 0), np.maximum(r, 0))
        rows.append(
            {
                "users_control": int(n),
                "expected_loss": float(loss.mean()),
                "expected_loss_se": float(loss.std(ddof=1) / np.sqrt(sims)),
                "p_right": float(np.mean((m > 0) == (r > 0))),
            }
        )
    return pd.DataFrame(rows)
