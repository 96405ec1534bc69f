"""The uplift truth: four response types in known shares, with probabilities that depend on
the features — so every user's true uplift is known.

A user is one of four types (Radcliffe & Surry 2011):

========================  ==================  =================
type                      buys without promo  buys with promo
========================  ==================  =================
``persuadable``           no                  yes
``sure_thing``            yes                 yes
``lost_cause``            no                  no
``sleeping_dog``          yes                 no
========================  ==================  =================

Given features ``x``, the type probabilities are a softmax ``pi_k(x) ∝ exp(b_k + eta_k(x))``
(``lost_cause`` the reference); the intercepts ``b`` are solved so that the population mean of
``pi_k`` equals the declared share of every type, exactly. Then, without noise beyond the
type draw,

* ``p_control(x) = pi_sure(x) + pi_dog(x)``, ``p_treated(x) = pi_sure(x) + pi_pers(x)``,
* the true uplift (CATE) ``tau(x) = pi_pers(x) - pi_dog(x)`` — the best any learner can
  estimate from ``x`` — and each user's individual effect ``Y(1) - Y(0)`` ∈ {+1, 0, -1}
  from their drawn type.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = [
    "RESPONSE_TYPES",
    "calibrate_intercepts",
    "draw_types",
    "potential_outcomes",
    "true_effects",
    "type_probabilities",
]

RESPONSE_TYPES: tuple[str, ...] = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")
_BUY_CONTROL = np.array([0, 1, 0, 1])
_BUY_TREATED = np.array([1, 1, 0, 0])


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def calibrate_intercepts(eta: np.ndarray, shares, *, tol: float = 1e-12, max_iter: int = 500):
    """Intercepts ``b`` (one per type, reference type fixed at 0 in the mean) such that
    ``mean_i softmax(b + eta_i) = shares``: a fixed-point iteration
    ``b_k += log(share_k / mean_k)`` (the softmax mean is monotone in each ``b_k``)."""
    shares = np.asarray(shares, dtype=float)
    if shares.shape != (eta.shape[1],) or np.any(shares <= 0) or abs(shares.sum() - 1) > 1e-9:
        raise ValueError(f"shares must be {eta.shape[1]} positive numbers summing to 1")
    b = np.log(shares)
    for _ in range(max_iter):
        mean = _softmax(eta + b).mean(axis=0)
        step = np.log(shares / mean)
        b = b + step
        b -= b.mean()
        if np.max(np.abs(step)) < tol:
            break
    else:  # pragma: no cover - the iteration converges in tens of steps
        raise RuntimeError("intercept calibration did not converge")
    return b


def type_probabilities(eta: np.ndarray, shares: Mapping[str, float] | np.ndarray):
    """``pi`` (users × 4, columns in :data:`RESPONSE_TYPES` order) with population means equal
    to ``shares``, and the intercepts."""
    if isinstance(shares, Mapping):
        missing = set(RESPONSE_TYPES) - set(shares)
        if missing:
            raise ValueError(f"shares missing for {sorted(missing)}")
        shares = np.array([shares[k] for k in RESPONSE_TYPES], dtype=float)
    b = calibrate_intercepts(eta, shares)
    return _softmax(eta + b), b


def draw_types(rng: np.random.Generator, pi: np.ndarray) -> np.ndarray:
    """One type index per user (inverse CDF, vectorised)."""
    u = rng.random(len(pi))[:, None]
    return np.minimum((u > np.cumsum(pi, axis=1)).sum(axis=1), pi.shape[1] - 1)


def potential_outcomes(types: np.ndarray):
    """``(Y(0), Y(1))`` of each user from their type."""
    return _BUY_CONTROL[types], _BUY_TREATED[types]


def true_effects(pi: np.ndarray):
    """``(p_control, p_treated, tau)`` of each user from the type probabilities."""
    p0 = pi @ _BUY_CONTROL
    p1 = pi @ _BUY_TREATED
    return p0, p1, p1 - p0
