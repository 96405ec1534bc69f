"""Where NUTS starts and how it is parameterised: a Laplace pilot of the LTV posterior.

With a million customers the posterior of the BG/NBD parameters is a few thousandths wide and
strongly correlated (``log r`` with ``log alpha``, ``log a`` with ``log b``). PyMC's default
start — a unit jitter around the prior's centre and an identity mass matrix — then spends its
first tuning iterations at the maximum tree depth (1,023 leapfrog steps each) before the dense
mass matrix has learnt the scales. The pilot removes that phase:

1. :func:`laplace`: the posterior mode (L-BFGS on the compiled log density and gradient) and
   the covariance from the Hessian there (central differences of the gradient), the curvature
   floored so that every direction is a proper Gaussian;
2. by segment, the pilot is the *independent* model (``pooling="none"``, every segment its own
   declared prior: a proper posterior with a mode, which the hierarchical one lacks as its
   spread goes to 0). Its estimates and standard errors (:func:`segment_pilot`) set how the
   hierarchical model samples each segment (:func:`priors.ltv.add_ltv_parameters`:
   coordinates whitened by the data, centred where the data dominate and non-centred where
   the hierarchy does, continuously in the spread), and :func:`segment_spread` estimates each
   parameter's spread across segments (DerSimonian & Laird's moment estimator, as in a
   random-effects meta-analysis) for the start;
3. :func:`hierarchical_start` maps the independent modes onto the hierarchical model's
   coordinates; the Hessian there gives the first mass matrix (:func:`nuts_step`: PyMC's
   dense adaptation, the Laplace covariance counted as :data:`LAPLACE_WEIGHT` draws in its
   first window), and Laplace draws give each chain its own start.

Everything here is deterministic given the data and the seed.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Laplace",
    "hierarchical_start",
    "initvals",
    "laplace",
    "nuts_step",
    "segment_pilot",
    "segment_spread",
]

#: curvature floor of the Laplace covariance: no direction wider than a unit Normal
_MIN_PRECISION = 1.0
#: spread floor (log scale) when the independent modes agree within their errors
_MIN_SPREAD = 0.02
#: pseudo-draws of the Laplace covariance in the first adaptation window of the mass matrix
LAPLACE_WEIGHT = 200


@dataclass(frozen=True)
class Laplace:
    """Mode ``point`` (dict of value variables), its raveled ``mean`` and the ``cov``."""

    point: dict
    mean: np.ndarray
    cov: np.ndarray
    converged: bool

    def sd(self, model, name: str) -> np.ndarray:
        """Laplace standard deviation of the value variable ``name`` (its shape)."""
        sl = _slices(model)[name]
        return np.sqrt(np.diag(self.cov)[sl[0]]).reshape(sl[1])


#: ``model -> {value variable: (slice, shape)}``; each ``model.initial_point()`` compiles a
#: function (seconds on a large model), so it is computed once per model
_SLICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _initial_point(model) -> dict:
    """``model.initial_point()``, computed (and compiled) once per model."""
    if model not in _SLICES:
        point = model.initial_point()
        out, i = {}, 0
        for v in model.value_vars:
            shape = tuple(point[v.name].shape)
            n = int(np.prod(shape, dtype=int))
            out[v.name] = (slice(i, i + n), shape)
            i += n
        _SLICES[model] = (out, point)
    return dict(_SLICES[model][1])


def _slices(model) -> dict:
    _initial_point(model)
    return _SLICES[model][0]


def _ravel(model, point: dict) -> np.ndarray:
    return np.concatenate([np.ravel(point[v.name]) for v in model.value_vars]).astype(float)


def _unravel(model, q: np.ndarray) -> dict:
    return {name: q[sl].reshape(shape) for name, (sl, shape) in _slices(model).items()}


def _logp_dlogp(model):
    f = model.logp_dlogp_function(ravel_inputs=True)
    f.set_extra_values({})
    return f


def _hessian(f, q: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Hessian of the log density by central differences of its gradient (2 n gradients)."""
    n = q.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (f(q + e)[1] - f(q - e)[1]) / (2 * h)
    return 0.5 * (H + H.T)


def _covariance(H: np.ndarray) -> np.ndarray:
    """``inv(-H)`` with every eigenvalue of ``-H`` at least :data:`_MIN_PRECISION` (away from
    the mode, or along a flat direction, the Hessian need not be negative definite)."""
    lam, V = np.linalg.eigh(-H)
    lam = np.where(np.isfinite(lam), np.maximum(np.abs(lam), _MIN_PRECISION), _MIN_PRECISION)
    cov = (V / lam) @ V.T
    return 0.5 * (cov + cov.T)


def laplace(model, start: dict | None = None, *, maxiter: int = 2000) -> Laplace:
    """Mode and Laplace covariance of ``model``'s posterior on its unconstrained scale."""
    from scipy import optimize

    f = _logp_dlogp(model)
    q0 = _ravel(model, start if start is not None else _initial_point(model))

    def neg(q):
        lp, g = f(q)
        if not np.isfinite(lp):
            return 1e300, np.zeros_like(q)
        return -float(lp), -np.asarray(g, float)

    res = optimize.minimize(
        neg, q0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-6}
    )
    q = res.x
    cov = _covariance(_hessian(f, q))
    return Laplace(_unravel(model, q), q, cov, bool(res.success))


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

    point = _initial_point(model)
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


def nuts_step(model, start: dict, *, target_accept: float, chains: int, seed: int):
    """A PyMC NUTS step whose dense mass matrix starts at the Laplace covariance at
    ``start`` (then adapted as usual), and one start per chain drawn from that Laplace
    approximation (half its width: dispersed, but not in the tails)."""
    import pymc as pm
    from pymc.step_methods.hmc.quadpotential import QuadPotentialFullAdapt

    f = _logp_dlogp(model)
    q = _ravel(model, start)
    cov = _covariance(_hessian(f, q))
    potential = QuadPotentialFullAdapt(q.size, q, cov, LAPLACE_WEIGHT)
    f.trust_input = True  # as PyMC sets it: the sampler passes float64 arrays
    # the step reuses this compiled log density (PyMC would compile its own: seconds)
    step = pm.NUTS(
        model=model,
        target_accept=target_accept,
        potential=potential,
        logp_dlogp_func=f,
        initial_point=_unravel(model, q),
    )
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(cov)
    inits = []
    for _ in range(chains):
        for _ in range(20):
            cand = q + 0.5 * chol @ rng.standard_normal(q.size)
            if np.isfinite(f(cand)[0]):
                break
        else:
            cand = q
        inits.append(_unravel(model, cand))
    return step, inits


def initvals(model, point: dict) -> dict:
    """``pm.sample``'s ``initvals`` (random variables on their own scale) for a ``point`` of
    value variables (unconstrained)."""
    import pytensor.tensor as pt
    from pymc.logprob.transforms import LogTransform

    from priors.ltv import spread_from_unconstrained

    out = {}
    for rv in model.free_RVs:
        value = point[model.rvs_to_values[rv].name]
        tr = model.rvs_to_transforms.get(rv)
        if isinstance(tr, LogTransform):  # the transforms of this model in NumPy: .eval()
            value = np.exp(value)  # compiles a function per call (seconds per fit)
        elif getattr(tr, "name", "") == "spread":
            value = spread_from_unconstrained(value, tr.scale)
        elif tr is not None:
            value = tr.backward(pt.as_tensor_variable(value), *rv.owner.inputs).eval()
        out[rv.name] = np.asarray(value, dtype=float)
    return out
