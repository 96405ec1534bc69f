"""Where NUTS starts and how it is parameterised: a Laplace pilot of the LTV posterior.

With a million customers the posterior of the BG/NBD parameters is a few thousandths wide and
strongly correlated (``log r`` with ``log alpha``, ``log a`` with ``log b``). PyMC's default
start — a unit jitter around the prior's centre and an identity mass matrix — then spends its
first tuning iterations at the maximum tree depth (1,023 leapfrog steps each) before the dense
mass matrix has learnt the scales. The pilot removes that phase:

1. :func:`laplace` (:mod:`models.laplace`, shared with the video update): the posterior mode
   (L-BFGS on the compiled log density and gradient) and the covariance from the Hessian
   there (central differences of the gradient), the curvature floored so that every
   direction is a proper Gaussian;
2. by segment, the pilot is the *independent* model (``pooling="none"``, every segment its own
   declared prior: a proper posterior with a mode, which the hierarchical one lacks as its
   spread goes to 0). Its estimates and standard errors (:func:`segment_pilot`) set how the
   hierarchical model samples each segment (:func:`priors.ltv.add_ltv_parameters`:
   coordinates whitened by the data, centred where the data dominate and non-centred where
   the hierarchy does, continuously in the spread), and :func:`segment_spread` estimates each
   parameter's spread across segments (DerSimonian & Laird's moment estimator, as in a
   random-effects meta-analysis) for the start;
3. :func:`hierarchical_start` maps the independent modes onto the hierarchical model's
   coordinates; the Hessian there gives the first mass matrix (:func:`models.laplace.nuts_step`: PyMC's
   dense adaptation, the Laplace covariance counted as :data:`models.laplace.LAPLACE_WEIGHT` draws in its
   first window), and Laplace draws give each chain its own start.

Everything here is deterministic given the data and the seed.
"""

from __future__ import annotations

import numpy as np

from models.laplace import (
    Laplace,
    initial_point,
    laplace,
    sample_kwargs,
)

__all__ = [
    "Laplace",
    "hierarchical_start",
    "laplace",
    "sample_kwargs",
    "segment_pilot",
    "segment_spread",
]

#: spread floor (log scale) when the independent modes agree within their errors
_MIN_SPREAD = 0.02


def segment_spread(est: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    """``(centre, spread)`` of per-segment estimates with standard errors ``se``: the
    DerSimonian-Laird random-effects estimate of the between-segment sd (0 when the
    estimates agree within their errors) and the precision-weighted centre under it."""
    est, se = np.asarray(est, float), np.maximum(np.asarray(se, float), 1e-12)
    w = 1.0 / se**2
    mean_fixed = np.sum(w * est) / np.sum(w)
    q = np.sum(w * (est - mean_fixed) ** 2)
    k = est.size
    denom = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / denom) if denom > 0 else 0.0
    tau = float(np.sqrt(tau2))
    wr = 1.0 / (se**2 + tau**2)
    return float(np.sum(wr * est) / np.sum(wr)), tau


def segment_pilot(fit: Laplace, model, names) -> dict:
    """``{name: (estimates, standard_errors, spread_scale)}`` of each segment's ``log theta``
    from the independent model's Laplace fit ``fit`` (what
    :func:`~priors.ltv.add_ltv_parameters` whitens the hierarchical coordinates with), and
    the scale of the spread's coordinate (:func:`~priors.ltv.spread_transform`):
    ``sqrt(spread^2 + mean(se^2))`` (:func:`segment_spread`), the spread the data can
    resolve at least."""
    out = {}
    for n in names:
        est, se = np.asarray(fit.point[f"log_{n}"], float), fit.sd(model, f"log_{n}")
        _, tau = segment_spread(est, se)
        out[n] = (est, se, float(np.sqrt(tau**2 + np.mean(se**2))))
    return out


def hierarchical_start(model, names, pilot: dict) -> dict:
    """The hierarchical model's value variables at the independent modes: median and spread
    from :func:`segment_spread` (the spread floored at :data:`_MIN_SPREAD`), and each
    segment's ``raw`` coordinate where ``log theta_s`` equals its estimate."""
    from priors.ltv import spread_to_unconstrained

    point = initial_point(model)
    for n in names:
        est, se = pilot[n][:2]
        centre, tau = segment_spread(est, se)
        tau = max(tau, _MIN_SPREAD)
        q = tau**2 / np.maximum(se, 1e-12) ** 2
        shrink, k = 1.0 / (1.0 + q), 1.0 / np.sqrt(1.0 + q)
        point[f"log_{n}_median"] = np.asarray(centre)
        tr = model.rvs_to_transforms[model[f"{n}_segment_sd"]]
        if getattr(tr, "name", "") == "spread":
            point[f"{n}_segment_sd_spread__"] = spread_to_unconstrained(tau, tr.scale)
        else:
            point[f"{n}_segment_sd_log__"] = np.asarray(np.log(tau))
        point[f"{n}_raw"] = shrink * (est - centre) / (tau * k)
    return point
