"""A Laplace approximation of a PyMC posterior, and NUTS started from it.

PyMC's default start — a unit jitter around the prior's centre and a diagonal mass matrix
learnt from scratch — pays for its tuning in long trajectories when the posterior is narrow
and correlated (products of parameters that only the data's product identifies, spreads of
hierarchies). Started from the Laplace approximation instead, NUTS has the right scales and
correlations from its first iteration:

1. :func:`laplace`: the posterior mode on the unconstrained scale (L-BFGS on the compiled log
   density and gradient) and the covariance from the Hessian there (central differences of
   the gradient, ``2 n`` gradients), every direction's curvature floored so that it is a
   proper Gaussian;
2. :func:`nuts_step`: PyMC's NUTS with a **dense** mass matrix that starts at that covariance
   (counted as :data:`LAPLACE_WEIGHT` draws in the first adaptation window, then adapted as
   usual) and one start per chain drawn from the approximation at half its width (dispersed,
   not in the tails).

The log density is compiled once per model (:func:`compiled_logp`) and shared by the mode
search, the Hessian and the sampler, so a study that refits one model on new ``pm.Data``
(simulation-based calibration, recovery) compiles nothing after its first fit. Everything here
is deterministic given the data and the seed.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LAPLACE_WEIGHT",
    "Laplace",
    "compiled_logp",
    "initial_point",
    "initvals",
    "laplace",
    "nuts_step",
    "sample_kwargs",
]

#: curvature floor of the Laplace covariance: no direction wider than a unit Normal
MIN_PRECISION = 1.0
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


#: ``model -> ({value variable: (slice, shape)}, initial point)``, ``model -> compiled log
#: density`` and ``model -> back-transforms``: each costs a compile, so each is made once per model
_SLICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BACKWARD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def initial_point(model) -> dict:
    """``model.initial_point()`` (a compiled function: seconds on a large model), computed
    once per model; a fresh dict at every call."""
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
    initial_point(model)
    return _SLICES[model][0]


def ravel(model, point: dict) -> np.ndarray:
    """The value variables of ``point`` as one vector, in the model's order."""
    return np.concatenate([np.ravel(point[v.name]) for v in model.value_vars]).astype(float)


def unravel(model, q: np.ndarray) -> dict:
    """The inverse of :func:`ravel`."""
    return {name: q[sl].reshape(shape) for name, (sl, shape) in _slices(model).items()}


def compiled_logp(model):
    """``model``'s log density and gradient on one raveled vector, compiled once per model
    (it reads the model's ``pm.Data`` at every call, so new data need no recompile)."""
    f = _COMPILED.get(model)
    if f is None:
        f = model.logp_dlogp_function(ravel_inputs=True)
        f.set_extra_values({})
        f.trust_input = True  # as PyMC sets it: callers pass float64 arrays
        _COMPILED[model] = f
    return f


def hessian(f, q: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Hessian of the log density by central differences of its gradient (2 n gradients)."""
    n = q.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (f(q + e)[1] - f(q - e)[1]) / (2 * h)
    return 0.5 * (H + H.T)


def covariance(H: np.ndarray) -> np.ndarray:
    """``inv(-H)`` with every eigenvalue of ``-H`` at least :data:`MIN_PRECISION` (away from
    the mode, or along a flat direction, the Hessian need not be negative definite)."""
    lam, V = np.linalg.eigh(-H)
    lam = np.where(np.isfinite(lam), np.maximum(np.abs(lam), MIN_PRECISION), MIN_PRECISION)
    cov = (V / lam) @ V.T
    return 0.5 * (cov + cov.T)


def laplace(model, start: dict | None = None, *, maxiter: int = 2000) -> Laplace:
    """Mode and Laplace covariance of ``model``'s posterior on its unconstrained scale."""
    from scipy import optimize

    f = compiled_logp(model)
    q0 = ravel(model, start if start is not None else initial_point(model))

    def neg(q):
        lp, g = f(np.asarray(q, dtype=float))
        if not np.isfinite(lp):
            return 1e300, np.zeros_like(q)
        return -float(lp), -np.asarray(g, float)

    res = optimize.minimize(
        neg, q0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-6}
    )
    q = np.asarray(res.x, dtype=float)
    return Laplace(unravel(model, q), q, covariance(hessian(f, q)), bool(res.success))


def nuts_step(
    model,
    start: dict | Laplace,
    *,
    target_accept: float,
    chains: int,
    seed: int,
    weight: int = LAPLACE_WEIGHT,
    step_cls=None,
    **step_kwargs,
):
    """A PyMC NUTS step whose dense mass matrix starts at the Laplace covariance at ``start``
    (a point, or a :class:`Laplace` fit whose covariance is used as it is), then adapted as
    usual, and one start per chain (value variables) drawn from that approximation at half
    its width. The step reuses :func:`compiled_logp` (PyMC would compile its own).
    ``step_cls`` (a subclass of ``pm.NUTS``) and ``step_kwargs`` make another kind of NUTS
    step (:class:`models.ltv.surrogate.SurrogateNUTS`)."""
    import pymc as pm
    from pymc.step_methods.hmc.quadpotential import QuadPotentialFullAdapt

    f = compiled_logp(model)
    if isinstance(start, Laplace):
        q, cov = start.mean, start.cov
    else:
        q = ravel(model, start)
        cov = covariance(hessian(f, q))
    step = (step_cls or pm.NUTS)(
        model=model,
        target_accept=target_accept,
        potential=QuadPotentialFullAdapt(q.size, q, cov, weight),
        logp_dlogp_func=f,
        initial_point=unravel(model, q),
        **step_kwargs,
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
        inits.append(unravel(model, cand))
    return step, inits


def sample_kwargs(model, start: dict | Laplace, cfg, **step_kwargs) -> dict:
    """``pm.sample`` arguments (for :func:`models.sampling.sample`) that start NUTS at
    ``start`` as :func:`nuts_step` does, with ``cfg``'s (a
    :class:`~models.sampling.SamplerConfig`) target acceptance, chains and seed: the step
    and each chain's ``initvals``. ``step_kwargs`` go to :func:`nuts_step`."""
    step, starts = nuts_step(
        model,
        start,
        target_accept=cfg.target_accept,
        chains=cfg.chains,
        seed=cfg.seed,
        **step_kwargs,
    )
    return {"step": step, "initvals": [initvals(model, p) for p in starts]}


def initvals(model, point: dict) -> dict:
    """``pm.sample``'s ``initvals`` (random variables on their own scale) for a ``point`` of
    value variables (unconstrained). The common transforms are inverted in NumPy (log,
    log-odds, and any transform with a ``backward_numpy`` method); the others through one
    function per model compiled on first need (a ``.eval()`` per variable and chain would
    compile each time: seconds per fit)."""
    from pymc.logprob.transforms import LogOddsTransform, LogTransform
    from scipy.special import expit

    out, rest = {}, []
    for rv in model.free_RVs:
        value = np.asarray(point[model.rvs_to_values[rv].name], dtype=float)
        tr = model.rvs_to_transforms.get(rv)
        if tr is None:
            out[rv.name] = value
        elif isinstance(tr, LogTransform):
            out[rv.name] = np.exp(value)
        elif isinstance(tr, LogOddsTransform):
            out[rv.name] = expit(value)
        elif hasattr(tr, "backward_numpy"):
            out[rv.name] = np.asarray(tr.backward_numpy(value), dtype=float)
        else:
            rest.append(rv)
    if rest:
        values = _backward_fn(model)(
            *(np.asarray(point[v.name], dtype=float) for v in model.value_vars)
        )
        for rv, v in zip(model.free_RVs, values, strict=True):
            if rv in rest:
                out[rv.name] = np.asarray(v, dtype=float)
    return {rv.name: out[rv.name] for rv in model.free_RVs}


def _backward_fn(model):
    """Every free variable on its own scale from the value variables (compiled once)."""
    fn = _BACKWARD.get(model)
    if fn is None:
        import pytensor

        outs = []
        for rv in model.free_RVs:
            value = model.rvs_to_values[rv]
            tr = model.rvs_to_transforms.get(rv)
            outs.append(value if tr is None else tr.backward(value, *rv.owner.inputs))
        fn = pytensor.function(
            model.value_vars,
            model.replace_rvs_by_values(outs),
            on_unused_input="ignore",
            mode="FAST_COMPILE",
        )
        _BACKWARD[model] = fn
    return fn
