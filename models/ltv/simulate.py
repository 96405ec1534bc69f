"""Forward simulators of BG/NBD and Gamma-Gamma: vectorised, a ``numpy.random.Generator`` in.

The compressed likelihoods of :mod:`models.ltv.likelihood` are ``pm.Potential`` terms with no
generative form; these simulators are the model's forward side (posterior predictive checks,
the growth data generator, parameter recovery and the pooling study).
"""

from __future__ import annotations

import numpy as np

__all__ = ["simulate_bgnbd", "simulate_bgnbd_holdout", "simulate_gamma_gamma"]


def _latent(rng, r, alpha, a, b, shape):
    lam = rng.gamma(np.broadcast_to(r, shape), 1.0 / np.broadcast_to(alpha, shape))
    p = rng.beta(np.broadcast_to(a, shape), np.broadcast_to(b, shape))
    return lam, p


def simulate_bgnbd(rng: np.random.Generator, r, alpha, a, b, T, *, return_latent=False):
    """Draw ``(x, t_x)`` for customers observed for ``T`` under BG/NBD (FHL05a §2).

    Each customer has ``lambda ~ Gamma(r, rate=alpha)`` and ``p ~ Beta(a, b)``; purchases form
    a Poisson(lambda) process and after each repeat purchase the customer drops out with
    probability ``p``, so they make at most ``J ~ Geometric(p)`` repeat purchases. With
    ``N ~ Poisson(lambda T)`` arrivals in ``(0, T]``, ``x = min(N, J)`` and ``t_x`` is the
    ``x``-th of ``N`` uniform order statistics: ``t_x = T * Beta(x, N - x + 1)``. Parameters may
    be arrays broadcasting with ``T`` (per-customer or per-segment truths).
    """
    T = np.asarray(T, float)
    shape = np.broadcast_shapes(T.shape, *(np.shape(z) for z in (r, alpha, a, b)))
    lam, p = _latent(rng, r, alpha, a, b, shape)
    n = rng.poisson(lam * np.broadcast_to(T, shape))
    j = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(n, j)
    pos = x > 0
    t_x = np.zeros(shape)
    t_x[pos] = np.broadcast_to(T, shape)[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1)
    if return_latent:
        return x, t_x, {"lambda": lam, "p": p, "n": n, "j": j}
    return x, t_x


def simulate_bgnbd_holdout(rng: np.random.Generator, r, alpha, a, b, T, holdout):
    """Calibration ``(x, t_x)`` over ``(0, T]`` and holdout purchases in ``(T, T + holdout]``.

    The same process as :func:`simulate_bgnbd`: ``N_c ~ Poisson(lambda T)`` and
    ``N_h ~ Poisson(lambda holdout)`` arrivals, at most ``J`` purchases in all, so
    ``x = min(N_c, J)`` and ``y = min(N_h, max(J - N_c, 0))``. Returns ``(x, t_x, y, latent)``
    with the latent ``lambda``, ``p`` and ``alive`` (alive at ``T``) per customer.
    """
    T = np.asarray(T, float)
    shape = np.broadcast_shapes(
        T.shape, np.shape(holdout), *(np.shape(z) for z in (r, alpha, a, b))
    )
    lam, p = _latent(rng, r, alpha, a, b, shape)
    Tb = np.broadcast_to(T, shape)
    n_cal = rng.poisson(lam * Tb)
    n_hold = rng.poisson(lam * np.broadcast_to(holdout, shape))
    j = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(n_cal, j)
    y = np.minimum(n_hold, np.maximum(j - n_cal, 0))
    pos = x > 0
    t_x = np.zeros(shape)
    t_x[pos] = Tb[pos] * rng.beta(x[pos], n_cal[pos] - x[pos] + 1)
    return x, t_x, y, {"lambda": lam, "p": p, "alive": j > n_cal}


def simulate_gamma_gamma(rng: np.random.Generator, p, q, v, x, *, return_latent=False):
    """Mean spend ``m`` of ``x`` transactions under Gamma-Gamma (FH13 §2).

    ``nu ~ Gamma(q, rate=v)`` per customer and each transaction ``z ~ Gamma(p, rate=nu)``, so
    the sum of ``x`` transactions is ``Gamma(p x, rate=nu)``. Returns ``m`` (NaN where
    ``x == 0``).
    """
    x = np.asarray(x)
    shape = np.broadcast_shapes(x.shape, *(np.shape(z) for z in (p, q, v)))
    nu = rng.gamma(np.broadcast_to(q, shape), 1.0 / np.broadcast_to(v, shape))
    xb = np.broadcast_to(x, shape).astype(float)
    m = np.full(shape, np.nan)
    pos = xb > 0
    m[pos] = rng.gamma(np.broadcast_to(p, shape)[pos] * xb[pos], 1.0 / nu[pos]) / xb[pos]
    if return_latent:
        return m, {"nu": nu}
    return m
