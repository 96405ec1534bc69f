"""BG/NBD and Gamma-Gamma: likelihoods, Bayesian fit, simulators and closed-form predictions.

References
----------
.. [FHL05a] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
   easy way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
.. [FHL05b] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
   curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
.. [FH13] Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
   http://www.brucehardie.com/notes/025/

Notation (as in the papers): a customer has ``x`` repeat purchases (``frequency``), the last
at ``t_x`` (``recency``) after the first, observed for ``T`` since the first; ``m`` is the mean
value of the repeat purchases. Time is in weeks throughout the workbench.

Every prediction (:func:`expected_purchases`, :func:`prob_alive`, :func:`expected_spend`,
:func:`discounted_expected_purchases`, :func:`clv`) is a plain NumPy function that broadcasts:
pass scalars for a point estimate, or parameters shaped ``(draws, 1)`` against customers shaped
``(1, customers)`` for posterior draws.

The likelihoods are evaluated on the **unique** ``(x, t_x, T)`` rows weighted by their counts
(the BG/NBD likelihood depends on the data only through them), which makes the cost of a
gradient independent of the number of customers once the data are on a time grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from priors.ltv import (
    BGNBD_PARAMS,
    BGNBD_PRIORS,
    GAMMA_GAMMA_PARAMS,
    GAMMA_GAMMA_PRIORS,
    priors_to_pymc,
)

__all__ = [
    "WEEKS_PER_MONTH",
    "CompressedRFM",
    "bgnbd_loglike",
    "build_bgnbd_model",
    "build_gamma_gamma_model",
    "build_ltv_model",
    "clv",
    "compress_rfm",
    "discounted_expected_purchases",
    "expected_purchases",
    "expected_purchases_new",
    "expected_spend",
    "fit_bgnbd",
    "sample_model",
    "fit_gamma_gamma",
    "fit_ltv",
    "gamma_gamma_loglike",
    "map_bgnbd",
    "map_gamma_gamma",
    "prob_alive",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
]

#: Weeks in an average month (365.25 / 12 / 7).
WEEKS_PER_MONTH = 365.25 / 12 / 7


# ------------------------------------------------------------------------ compression


@dataclass(frozen=True)
class CompressedRFM:
    """Unique ``(x, t_x, T)`` rows, their counts, and the map back to customers."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    inverse: np.ndarray

    @property
    def n_unique(self) -> int:
        return int(self.x.size)

    @property
    def n_customers(self) -> int:
        return int(self.weight.sum())


def compress_rfm(x, t_x, T) -> CompressedRFM:
    """Sufficient statistics of the BG/NBD likelihood: unique rows with counts.

    ``inverse`` maps every customer to its unique row (``x == out.x[out.inverse]``).
    """
    arr = np.column_stack(
        [np.asarray(x, float).ravel(), np.asarray(t_x, float).ravel(), np.asarray(T, float).ravel()]
    )
    uniq, inverse, counts = np.unique(arr, axis=0, return_inverse=True, return_counts=True)
    return CompressedRFM(uniq[:, 0], uniq[:, 1], uniq[:, 2], counts.astype(float), inverse.ravel())


# ------------------------------------------------------------------------ likelihoods


def _bgnbd_terms(r, alpha, a, b, x, t_x, T):
    """Log-likelihood of one customer, FHL05a eq. (6), on a stable log scale (NumPy).

    ``L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / Gamma(r)
    * [ (alpha+T)^-(r+x) + 1{x>0} a/(b+x-1) (alpha+t_x)^-(r+x) ]``.

    The ``x = 0`` branch evaluates the second term at ``x = 1`` so no NaN appears. The sampler
    uses the same formula factored by distinct values (:func:`_bgnbd_terms_factored`); a test
    checks that the two agree.
    """
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + T)
    xs = np.maximum(x, 1.0)
    a4 = np.log(a) - np.log(b + xs - 1.0) - (r + xs) * np.log(alpha + t_x)
    return a1 + a2 + np.where(x > 0, np.logaddexp(a3, a4), a3)


def _np_lib():
    return {"gammaln": special.gammaln, "log": np.log}


def _pt_lib():
    import pytensor.tensor as pt

    return {"gammaln": pt.gammaln, "log": pt.log}


def bgnbd_loglike(r, alpha, a, b, x, t_x, T, weight=None):
    """Total BG/NBD log-likelihood (FHL05a eq. 6), NumPy; ``weight`` counts repeated rows.

    Broadcasts: parameters of shape ``(S, 1)`` against data ``(N,)`` give ``(S,)`` totals.
    """
    ll = _bgnbd_terms(r, alpha, a, b, *map(np.asarray, (x, t_x, T)))
    w = 1.0 if weight is None else np.asarray(weight, float)
    return np.sum(w * ll, axis=-1)


def _gg_terms(lib, p, q, v, x, m):
    """Log density of the mean spend ``m`` of ``x`` transactions, FH13 eq. (3) / FHL05b.

    ``f(m | p, q, v, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) * v^q (m x)^(px-1) x
    / (v + m x)^(px+q)``.

    ``lib`` supplies ``gammaln`` and ``log`` (NumPy/SciPy or PyTensor) so the same formula
    serves the sampler and the checks.
    """
    gammaln, log = lib["gammaln"], lib["log"]
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * log(v)
        + (px - 1.0) * log(m * x)
        + log(x)
        - (px + q) * log(v + m * x)
    )


def gamma_gamma_loglike(p, q, v, x, m, weight=None):
    """Total Gamma-Gamma log-likelihood over repeat customers (``x > 0``), NumPy."""
    ll = _gg_terms(_np_lib(), p, q, v, np.asarray(x, float), np.asarray(m, float))
    w = 1.0 if weight is None else np.asarray(weight, float)
    return np.sum(w * ll, axis=-1)


# ------------------------------------------------------------------------ simulators


def simulate_bgnbd(rng: np.random.Generator, r, alpha, a, b, T, *, return_latent=False):
    """Draw ``(x, t_x)`` for customers observed for ``T`` under BG/NBD (FHL05a §2).

    Each customer has ``lambda ~ Gamma(r, rate=alpha)`` and ``p ~ Beta(a, b)``; purchases form
    a Poisson(lambda) process and after each purchase the customer drops out with probability
    ``p``, so the customer makes at most ``J ~ Geometric(p)`` repeat purchases. With
    ``N ~ Poisson(lambda T)`` arrivals in ``(0, T]``, ``x = min(N, J)`` and ``t_x`` is the
    ``x``-th of ``N`` uniform order statistics: ``t_x = T * Beta(x, N - x + 1)``. Vectorised,
    no loop over customers. Parameters may be arrays broadcasting with ``T``.
    """
    T = np.asarray(T, float)
    shape = np.broadcast_shapes(T.shape, *(np.shape(z) for z in (r, alpha, a, b)))
    lam = rng.gamma(np.broadcast_to(r, shape), 1.0 / np.broadcast_to(alpha, shape))
    p = rng.beta(np.broadcast_to(a, shape), np.broadcast_to(b, shape))
    n = rng.poisson(lam * np.broadcast_to(T, shape))
    j = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(n, j)
    pos = x > 0
    t_x = np.zeros(shape)
    t_x[pos] = np.broadcast_to(T, shape)[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1)
    if return_latent:
        return x, t_x, {"lambda": lam, "p": p, "n": n, "j": j}
    return x, t_x


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


# ------------------------------------------------------------------------ predictions


def expected_purchases_new(t, r, alpha, a, b):
    """Expected purchases in ``(0, t]`` of a new customer, FHL05a eq. (7).

    ``E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``.
    """
    t = np.asarray(t, float)
    z = t / (alpha + t)
    return (
        (a + b - 1.0)
        / (a - 1.0)
        * (1.0 - np.exp(r * np.log(alpha / (alpha + t))) * special.hyp2f1(r, b, a + b - 1.0, z))
    )


def prob_alive(r, alpha, a, b, x, t_x, T):
    """P(customer still alive at ``T`` | x, t_x, T), FHL05a eq. (A.?) / lifetimes.

    ``P(alive) = 1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``; customers with no
    repeat purchase are alive with probability 1 (they cannot have dropped out yet).
    """
    x = np.asarray(x, float)
    xs = np.maximum(x, 1.0)
    log_ratio = (
        np.log(a) - np.log(b + xs - 1.0) + (r + xs) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(x > 0, special.expit(-log_ratio), 1.0)


def expected_purchases(t, r, alpha, a, b, x, t_x, T):
    """Expected purchases in ``(T, T+t]`` given ``(x, t_x, T)``, FHL05a eq. (10).

    ``E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] / [1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)]``.
    The denominator equals ``1 / P(alive)``.
    """
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    z = t / (alpha + T + t)
    head = (a + b + x - 1.0) / (a - 1.0)
    body = 1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * special.hyp2f1(
        r + x, b + x, a + b + x - 1.0, z
    )
    return head * body * prob_alive(r, alpha, a, b, x, t_x, T)


def expected_spend(p, q, v, x, m):
    """Expected value of a customer's future transaction, FHL05b eq. (5) / FH13 eq. (5).

    ``E[M | p, q, v, m, x] = p (v + m x) / (p x + q - 1)`` — a weighted mean of the population
    mean ``p v / (q - 1)`` and the customer's own mean ``m``. Customers with ``x = 0`` get the
    population mean. Draws with ``q <= 1`` (infinite mean) give NaN.
    """
    x = np.asarray(x, float)
    m = np.where(x > 0, np.nan_to_num(np.asarray(m, float)), 0.0)
    q = np.asarray(q, float)
    out = p * (v + m * x) / (p * x + q - 1.0)
    return np.where(q > 1.0, out, np.nan)


def discounted_expected_purchases(
    months: int, r, alpha, a, b, x, t_x, T, *, discount_rate=0.01, weeks_per_month=WEEKS_PER_MONTH
):
    """Discounted expected purchases over ``months`` months (time unit: week).

    ``sum_{i=1..months} (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i`` with ``L`` weeks per month and
    ``d`` the monthly discount rate — the discounted-cash-flow sum of lifetimes'
    ``customer_lifetime_value`` (purchases in month ``i`` are discounted ``i`` months).
    """
    total = 0.0
    prev = 0.0
    for i in range(1, int(months) + 1):
        cur = expected_purchases(i * weeks_per_month, r, alpha, a, b, x, t_x, T)
        total = total + (cur - prev) / (1.0 + discount_rate) ** i
        prev = cur
    return total


def clv(
    months: int,
    bgnbd: Mapping,
    gamma_gamma: Mapping,
    x,
    t_x,
    T,
    m,
    *,
    discount_rate=0.01,
    weeks_per_month=WEEKS_PER_MONTH,
):
    """Discounted customer lifetime value over ``months`` (FHL05b: spend x transactions).

    ``CLV = E[M | m, x] * sum_i (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i`` where ``E[M]`` is the
    Gamma-Gamma expected spend (:func:`expected_spend`) and ``E[Y]`` the BG/NBD conditional
    expectation (:func:`expected_purchases`). ``bgnbd`` maps ``r, alpha, a, b`` and
    ``gamma_gamma`` maps ``p, q, v`` to scalars or broadcastable arrays.
    """
    n = discounted_expected_purchases(
        months,
        *(bgnbd[k] for k in BGNBD_PARAMS),
        x,
        t_x,
        T,
        discount_rate=discount_rate,
        weeks_per_month=weeks_per_month,
    )
    return expected_spend(*(gamma_gamma[k] for k in GAMMA_GAMMA_PARAMS), x, m) * n


# ------------------------------------------------------------------------ PyMC models


def _check_rfm(x, t_x, T):
    x, t_x, T = (np.asarray(z, float).ravel() for z in (x, t_x, T))
    if not (x.size == t_x.size == T.size) or x.size == 0:
        raise ValueError("x, t_x and T must be non-empty arrays of the same length")
    bad = (x < 0) | (t_x < 0) | (t_x > T) | ((x == 0) & (t_x > 0)) | ~np.isfinite(x + t_x + T)
    if bad.any():
        raise ValueError(f"invalid RFM rows at positions {np.flatnonzero(bad)[:5].tolist()}")
    return x, t_x, T


def _add_bgnbd(priors, x, t_x, T):
    """Add BG/NBD priors and the compressed likelihood to the current model (dim ``rfm_row``).

    The unique rows and their counts are registered as ``pm.Data`` (``frequency``,
    ``recency``, ``T``, ``count``) so that the posterior NetCDF carries the data the model
    saw (``constant_data`` group) beside its hash: a reviewer can recompute the likelihood
    from the file alone. They are records, not swappable inputs: the factored likelihood is
    built from the compressed arrays themselves (its gather indices depend on the values),
    so ``pm.set_data`` on these containers is not supported.
    """
    import pymc as pm

    comp = compress_rfm(*_check_rfm(x, t_x, T))
    model = pm.modelcontext(None)
    model.add_coord("rfm_row", np.arange(comp.n_unique))
    theta = priors_to_pymc(priors, BGNBD_PARAMS)
    for name, values in (("frequency", comp.x), ("recency", comp.t_x), ("T", comp.T)):
        pm.Data(name, values, dims="rfm_row")
    wd = pm.Data("count", comp.weight, dims="rfm_row")
    ll = _bgnbd_terms_factored(*(theta[k] for k in BGNBD_PARAMS), comp)
    pm.Potential("bgnbd_loglike", (wd * ll).sum())


def _bgnbd_terms_factored(r, alpha, a, b, comp: CompressedRFM):
    """PyTensor form of :func:`_bgnbd_terms` on the rows of ``comp``, with every special
    function evaluated once per *distinct* value of ``x``, ``t_x`` and ``T`` and gathered
    onto the unique rows.

    The rows differ only through sums, products and one ``logaddexp``, so a gradient costs a
    few ``gammaln``/``log`` calls per distinct value (tens) instead of per row (tens of
    thousands on a million customers): the same log-likelihood, several times faster.
    """
    import pytensor.tensor as pt

    x = comp.x
    ux, ix = np.unique(x, return_inverse=True)
    ut, it = np.unique(comp.t_x, return_inverse=True)
    uT, iT = np.unique(comp.T, return_inverse=True)
    uxs = np.maximum(ux, 1.0)
    # per distinct x: FHL05a eq. (6) terms A1 + A2 and the log a / (b + x - 1) factor of A4
    per_x = (
        pt.gammaln(r + ux)
        - pt.gammaln(r)
        + r * pt.log(alpha)
        + pt.gammaln(a + b)
        + pt.gammaln(b + ux)
        - pt.gammaln(b)
        - pt.gammaln(a + b + ux)
    )
    log_a4 = pt.log(a) - pt.log(b + uxs - 1.0)
    log_alpha_T = pt.log(alpha + uT)
    log_alpha_tx = pt.log(alpha + ut)
    xs = np.maximum(x, 1.0)
    a3 = -(r + x) * log_alpha_T[iT.ravel()]
    a4 = log_a4[ix.ravel()] - (r + xs) * log_alpha_tx[it.ravel()]
    hi = pt.maximum(a3, a4)
    mixed = hi + pt.log1p(pt.exp(-pt.abs(a3 - a4)))
    return per_x[ix.ravel()] + pt.where(x > 0, mixed, a3)


def _add_gamma_gamma(priors, x, m):
    """Add Gamma-Gamma priors and the likelihood on unique repeat-customer ``(x, m)`` rows."""
    import pymc as pm

    x = np.asarray(x, float).ravel()
    m = np.asarray(m, float).ravel()
    keep = x > 0
    if not keep.any():
        raise ValueError("Gamma-Gamma needs at least one repeat customer (frequency > 0)")
    if np.any(~np.isfinite(m[keep]) | (m[keep] <= 0)):
        raise ValueError("monetary values of repeat customers must be positive and finite")
    uniq, counts = np.unique(np.column_stack([x[keep], m[keep]]), axis=0, return_counts=True)
    model = pm.modelcontext(None)
    model.add_coord("spend_row", np.arange(len(uniq)))
    theta = priors_to_pymc(priors, GAMMA_GAMMA_PARAMS)
    xd = pm.Data("repeat_frequency", uniq[:, 0], dims="spend_row")
    md = pm.Data("monetary_value", uniq[:, 1], dims="spend_row")
    wd = pm.Data("spend_count", counts.astype(float), dims="spend_row")
    ll = _gg_terms(_pt_lib(), *(theta[k] for k in GAMMA_GAMMA_PARAMS), xd, md)
    pm.Potential("gamma_gamma_loglike", (wd * ll).sum())


def build_bgnbd_model(x, t_x, T, priors: Mapping | None = None):
    """The BG/NBD model: priors from :mod:`priors.ltv`, likelihood on unique rows.

    The data enter as unique ``(x, t_x, T)`` rows (dim ``rfm_row``) with their counts; the
    weighted log-likelihood is a ``pm.Potential`` (a compressed likelihood has no generative
    form — :func:`simulate_bgnbd` is its simulator).
    """
    import pymc as pm

    with pm.Model() as model:
        _add_bgnbd(dict(BGNBD_PRIORS if priors is None else priors), x, t_x, T)
    return model


def build_gamma_gamma_model(x, m, priors: Mapping | None = None):
    """The Gamma-Gamma model on repeat customers (``x > 0``), unique ``(x, m)`` rows weighted."""
    import pymc as pm

    with pm.Model() as model:
        _add_gamma_gamma(dict(GAMMA_GAMMA_PRIORS if priors is None else priors), x, m)
    return model


def build_ltv_model(x, t_x, T, m, priors: Mapping | None = None):
    """BG/NBD and Gamma-Gamma in one model (independent blocks; one sampler, one posterior).

    The joint model assumes, as FHL05b do, that spend is independent of the transaction
    process, so the two likelihoods simply add.
    """
    import pymc as pm

    priors = {**BGNBD_PRIORS, **GAMMA_GAMMA_PRIORS, **(priors or {})}
    with pm.Model() as model:
        _add_bgnbd(priors, x, t_x, T)
        _add_gamma_gamma(priors, x, m)
    return model


def sample_model(
    model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    cores: int | None = None,
    progressbar: bool = False,
    target_accept: float = 0.8,
):
    """NUTS on one of this module's models; returns ``InferenceData``.

    A dense mass matrix (``init="jitter+adapt_full"``) absorbs the strong posterior
    correlation of ``log r`` with ``log alpha`` and of ``log a`` with ``log b``.
    """
    import pymc as pm

    with model:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=seed,
            init="jitter+adapt_full",
            target_accept=target_accept,
            progressbar=progressbar,
            compute_convergence_checks=False,
        )


def fit_bgnbd(x, t_x, T, priors: Mapping | None = None, **sampler):
    """NUTS on the compressed BG/NBD model (posterior r, alpha, a, b); ``sampler`` as in
    :func:`sample_model`."""
    return sample_model(build_bgnbd_model(x, t_x, T, priors), **sampler)


def fit_gamma_gamma(x, m, priors: Mapping | None = None, **sampler):
    """NUTS on the Gamma-Gamma model (posterior p, q, v); ``sampler`` as in :func:`sample_model`."""
    return sample_model(build_gamma_gamma_model(x, m, priors), **sampler)


def fit_ltv(x, t_x, T, m, priors: Mapping | None = None, **sampler):
    """NUTS on the joint BG/NBD + Gamma-Gamma model (:func:`build_ltv_model`)."""
    return sample_model(build_ltv_model(x, t_x, T, m, priors), **sampler)


def _map(model, names):
    import pymc as pm

    with model:
        point = pm.find_MAP(progressbar=False, seed=0)
    return {k: float(point[k]) for k in names}


def map_bgnbd(x, t_x, T, priors: Mapping | None = None) -> dict:
    """Posterior mode of ``r, alpha, a, b`` (``pm.find_MAP``, optimised on the log scale)."""
    return _map(build_bgnbd_model(x, t_x, T, priors), BGNBD_PARAMS)


def map_gamma_gamma(x, m, priors: Mapping | None = None) -> dict:
    """Posterior mode of ``p, q, v``."""
    return _map(build_gamma_gamma_model(x, m, priors), GAMMA_GAMMA_PARAMS)
