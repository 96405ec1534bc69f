"""Exact NUTS on large LTV fits with cheap trajectories: the surrogate transition method.

With 100,000 customers in a segment the BG/NBD log-likelihood of its four parameters is, over
the posterior's bulk, a quadratic in ``log theta`` to within a few hundredths (Bernstein-von
Mises); yet every leapfrog step of NUTS evaluates it over all the compressed rows (0.65-2.6
ms for 1M customers in 10 segments, by the machine's load), ~15 steps an iteration. Here the
trajectories run on a *surrogate* posterior — the declared priors, the same hierarchy, and
each segment's BG/NBD likelihood replaced by its second-order expansion
(:func:`quadratic_expansion`; :class:`~models.ltv.LTVModel` keeps Gamma-Gamma exact) — and each
NUTS transition's end point is accepted or not against the *exact* posterior
(:class:`SurrogateNUTS`):

    accept with probability min(1, w(theta') / w(theta)),  log w = loglike - surrogate,

one exact log-likelihood per iteration instead of ~15. This is the surrogate transition method
([Liu01]_ §9.4.3; delayed acceptance, [CF05]_): NUTS leaves the surrogate posterior ``q``
invariant and is reversible with respect to it ([HG14]_ §3; PyMC's top-level choice between
a tree's halves, min(1, W_new / W_old), is a Metropolis step between them), so a NUTS transition on ``q`` followed by this
Metropolis-Hastings correction is reversible with respect to the exact posterior ``pi`` —
``q(theta) K(theta, theta') = q(theta') K(theta', theta)`` turns the Metropolis-Hastings ratio
``pi(theta') K(theta', theta) / (pi(theta) K(theta, theta'))`` into ``w(theta') / w(theta)``.
The draws are from the exact posterior whatever the surrogate; a poor one (small segments,
whose likelihood is far from quadratic) only costs rejections, which the fit reports
(``surrogate_accept`` in ``sample_stats``; the fit's diagnostics fail below
:data:`models.diagnostics.SURROGATE_ACCEPTANCE_MIN`). The tests check the exactness where the truth is known in closed form
and against plain NUTS on the LTV model. This module imports PyMC: import it when a fit runs.

References
----------
.. [Liu01] Liu, J. S. (2001). *Monte Carlo Strategies in Scientific Computing*. Springer,
   §9.4.3 "Surrogate transition method".
.. [HG14] Hoffman, M. D. & Gelman, A. (2014). The No-U-Turn Sampler. *Journal of Machine
   Learning Research* 15, 1593-1623.
.. [CF05] Christen, J. A. & Fox, C. (2005). Markov chain Monte Carlo using an approximation.
   *Journal of Computational and Graphical Statistics* 14(4), 795-810.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymc.step_methods.hmc.nuts import NUTS

__all__ = [
    "LogWeight",
    "QuadraticLoglike",
    "SurrogateNUTS",
    "quadratic_expansion",
    "quadratic_node",
]

#: least curvature of a segment's expansion (log scale): a flat or concave direction (a tiny
#: segment, a point far from its mode) still gives a proper surrogate
_MIN_CURVATURE = 1e-3


@dataclass(frozen=True)
class QuadraticLoglike:
    """``l(phi) ~ sum_s [g_s . d_s - d_s' P_s d_s / 2]``, ``d_s = phi_s - center_s``, with
    ``phi = log theta`` per segment: ``center`` and ``grad`` are ``(n_params, n_segments)``,
    ``precision`` is ``(n_segments, n_params, n_params)`` (positive definite)."""

    center: np.ndarray
    grad: np.ndarray
    precision: np.ndarray

    def __call__(self, phi: np.ndarray) -> float:
        """The expansion at ``phi`` (``(n_params, n_segments)``), up to its constant."""
        d = np.asarray(phi, float) - self.center
        return float(np.sum(self.grad * d) - 0.5 * np.einsum("ps,spq,qs->", d, self.precision, d))


def quadratic_expansion(kernel, center: np.ndarray, h: float = 1e-4) -> QuadraticLoglike:
    """Second-order expansion of a likelihood kernel (``kernel(*theta) -> (value, d/dtheta_1,
    ...)``, parameters vectors over segments) in ``log theta`` at ``center`` (``(n_params,
    n_segments)``): the gradient exactly, the Hessian by central differences of the gradient.
    Segments are independent given their parameters, so each parameter is perturbed in every
    segment at once (``2 n_params`` kernel calls in all)."""
    center = np.asarray(center, float)
    n_params, n_seg = center.shape

    def grad_log(phi):
        theta = np.exp(phi)
        return np.stack([np.asarray(g, float) for g in kernel(*theta)[1:]]) * theta

    grad = grad_log(center)
    hess = np.empty((n_seg, n_params, n_params))
    for j in range(n_params):
        e = np.zeros_like(center)
        e[j] = h
        hess[:, :, j] = ((grad_log(center + e) - grad_log(center - e)) / (2 * h)).T
    hess = 0.5 * (hess + hess.transpose(0, 2, 1))
    lam, vec = np.linalg.eigh(-hess)
    lam = np.where(np.isfinite(lam), np.maximum(np.abs(lam), _MIN_CURVATURE), _MIN_CURVATURE)
    precision = np.einsum("spk,sk,sqk->spq", vec, lam, vec)
    return QuadraticLoglike(center=center, grad=grad, precision=precision)


def quadratic_node(quad: QuadraticLoglike, *params):
    """:class:`QuadraticLoglike` at PyTensor ``params`` (natural scale, scalars or vectors
    over segments) as a scalar tensor."""
    import pytensor.tensor as pt

    n_seg = quad.center.shape[1]
    phi = pt.stack([pt.log(pt.reshape(pt.as_tensor_variable(z), (n_seg,))) for z in params])
    d = phi - quad.center
    quadratic = pt.sum(d.T[:, :, None] * quad.precision * d.T[:, None, :])
    return pt.sum(quad.grad * d) - 0.5 * quadratic


class LogWeight:
    """``log w(q) = log pi(q) - log q(q)`` on the raveled value variables: the exact model's
    log density minus the surrogate's (the priors cancel; what is left is the likelihood's
    departure from its expansion). Both are PyMC's compiled functions (picklable, so each
    chain's process gets its own)."""

    def __init__(self, exact_logp, surrogate_logp):
        self.exact_logp, self.surrogate_logp = exact_logp, surrogate_logp

    def __call__(self, q: np.ndarray) -> float:
        value = float(self.exact_logp(q)[0]) - float(self.surrogate_logp(q)[0])
        return value if np.isfinite(value) else -np.inf


class SurrogateNUTS(NUTS):
    """PyMC's NUTS on a surrogate model whose end points are accepted against the exact
    posterior (see the module docstring). ``log_weight`` is a :class:`LogWeight`; the step's
    ``model`` is the surrogate. Stats: NUTS's (of the surrogate trajectory) plus
    ``surrogate_accept`` (the correction's acceptance probability) and
    ``surrogate_log_weight`` (``log w`` at the chain's new state)."""

    name = "surrogate_nuts"
    stats_dtypes_shapes = {
        **NUTS.stats_dtypes_shapes,
        "surrogate_accept": (np.float64, []),
        "surrogate_log_weight": (np.float64, []),
    }

    def __init__(self, *args, log_weight: LogWeight, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_weight = log_weight
        self._current: tuple[bytes, float] | None = None

    def _weight_at(self, q: np.ndarray) -> float:
        if self._current is not None and self._current[0] == q.tobytes():
            return self._current[1]
        return self.log_weight(q)

    def astep(self, q0):
        q1, stats = super().astep(q0)
        lw0 = self._weight_at(q0.data)
        lw1 = lw0 if np.array_equal(q1.data, q0.data) else self.log_weight(q1.data)
        log_accept = min(0.0, lw1 - lw0) if np.isfinite(lw1) else -np.inf
        if np.log(self.rng.uniform()) < log_accept:
            new, lw = q1, lw1
        else:
            new, lw = q0, lw0
        self._current = (new.data.tobytes(), lw)
        stats[0]["surrogate_accept"] = float(np.exp(log_accept))
        stats[0]["surrogate_log_weight"] = lw
        return new, stats
