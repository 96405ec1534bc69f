"""Priors of the LTV domain (seed 004, "LTV: BG/NBD + Gamma-Gamma"): one :class:`PriorSet`.

* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): a customer's
  purchase rate is ``lambda ~ Gamma(r, alpha)`` (shape ``r``, rate ``alpha``, so ``alpha`` is a
  *duration*) and the dropout probability after each purchase is ``p ~ Beta(a, b)``.
* Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013): a transaction's
  value is ``z ~ Gamma(p, nu)`` with the customer's ``nu ~ Gamma(q, v)``; ``v`` is in currency
  units, ``p v / (q - 1)`` the population mean spend.
* Segments (``*_segment_sd``): with a segment column and partial pooling, each parameter varies
  by segment as ``log theta_s ~ Normal(log theta_median, theta_segment_sd)``; the declared prior
  of ``theta`` becomes the prior of the population median ``theta_median``.

All entries are proper, weakly informative LogNormals (spreads: HalfNormals on the log scale).
:func:`add_ltv_parameters` — the one place these declarations become PyMC variables — creates
``log_r ~ Normal(mu, sigma)`` and ``r = exp(log_r)``: NUTS and ``pm.find_MAP`` both work on the
log scale, where the weakly identified ``a`` and ``b`` are close to Gaussian (on CDNOW the mode
is within 0.6% of the MLE and the posterior median within 3% of the published values).

**Time unit.** ``alpha`` is declared in **weeks** (:data:`DECLARED_TIME_UNIT`, the CDNOW
convention), and a prior file states it in weeks too. A fit in days or months rescales it
(:func:`rescale_time`: ``alpha_days = 7 alpha_weeks``), which is the same belief, so the same
customers in days or in weeks give the same LTV.

>>> print(LTV_PRIORS["r"])
LogNormal(mu=-0.6931, sigma=2)
>>> print(rescale_time(LTV_PRIORS, 7.0)["alpha"])
LogNormal(mu=3.555, sigma=3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from priors.spec import Prior, PriorError, PriorSet

__all__ = [
    "BGNBD_PARAMS",
    "DECLARED_TIME_UNIT",
    "GAMMA_GAMMA_PARAMS",
    "LTV_PRIORS",
    "POOLINGS",
    "add_ltv_parameters",
    "ltv_prior_names",
    "rescale_time",
    "segment_sd_name",
    "spread_from_unconstrained",
    "spread_to_unconstrained",
    "spread_transform",
]

BGNBD_PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS: tuple[str, ...] = ("p", "q", "v")
#: time unit in which ``alpha`` is declared (and stated in prior files)
DECLARED_TIME_UNIT = "week"
#: ways segments share strength: ``partial`` (hierarchical), ``none`` (independent)
POOLINGS: tuple[str, ...] = ("partial", "none")


def segment_sd_name(name: str) -> str:
    """``"r"`` -> ``"r_segment_sd"``: the spread of ``log r`` across segments."""
    return f"{name}_segment_sd"


_SPREAD = Prior("HalfNormal", {"sigma": 0.5})

#: The LTV priors. BG/NBD medians: r 0.5, alpha 5 weeks, a 1, b 2 (a prior median dropout
#: probability a / (a + b) of one third); log-scale sd 2 for all but alpha (3): 90% intervals
#: spanning a factor of ~700 (alpha ~19,000). CDNOW's r = 0.243, alpha = 4.414, a = 0.793,
#: b = 2.426 sit near the medians, so the prior moves the mode by < 0.1% (exact optimum).
#: Gamma-Gamma: p, q shapes (CDNOW p = 6.25, q = 3.74), v in currency units (CDNOW 15.4);
#: ``q > 1`` is needed for a finite mean spend, and draws with ``q <= 1`` give NaN spend
#: rather than a silent number. Segment spreads: HalfNormal(0.5) on the log scale (a median
#: spread of 0.34, i.e. segments typically within ±40% of each other; 90% below 0.82).
LTV_PRIORS = PriorSet(
    {
        "r": Prior("LogNormal", {"mu": float(np.log(0.5)), "sigma": 2.0}),
        "alpha": Prior("LogNormal", {"mu": float(np.log(5.0)), "sigma": 3.0}),
        "a": Prior("LogNormal", {"mu": 0.0, "sigma": 2.0}),
        "b": Prior("LogNormal", {"mu": float(np.log(2.0)), "sigma": 2.0}),
        "p": Prior("LogNormal", {"mu": float(np.log(2.0)), "sigma": 2.0}),
        "q": Prior("LogNormal", {"mu": float(np.log(3.0)), "sigma": 2.0}),
        "v": Prior("LogNormal", {"mu": float(np.log(20.0)), "sigma": 3.0}),
        **{segment_sd_name(n): _SPREAD for n in BGNBD_PARAMS + GAMMA_GAMMA_PARAMS},
    },
    domain="ltv",
    descriptions={
        "r": "BG/NBD: shape of the purchase-rate Gamma",
        "alpha": "BG/NBD: scale of the purchase-rate Gamma, in weeks (rescaled to the fit's unit)",
        "a": "BG/NBD: dropout Beta a (median dropout a / (a + b))",
        "b": "BG/NBD: dropout Beta b",
        "p": "Gamma-Gamma: shape of a transaction's value",
        "q": "Gamma-Gamma: shape of the customers' value rates (q > 1: finite mean spend)",
        "v": "Gamma-Gamma: scale of the value rates, in currency units",
        **{
            segment_sd_name(n): f"segments (partial pooling): sd of log {n} across segments"
            for n in BGNBD_PARAMS + GAMMA_GAMMA_PARAMS
        },
    },
)


def ltv_prior_names(*, spend: bool = True, pooling: str | None = None) -> list[str]:
    """The entries a configuration uses: BG/NBD (+ Gamma-Gamma), plus the segment spreads
    under partial pooling."""
    names = list(BGNBD_PARAMS) + (list(GAMMA_GAMMA_PARAMS) if spend else [])
    if pooling == "partial":
        names += [segment_sd_name(n) for n in list(names)]
    return names


def _scale(prior: Prior, c: float, name: str) -> Prior:
    """The prior of ``c * theta`` when ``theta`` has ``prior`` (``c > 0``)."""
    p = {k: np.asarray(v, dtype=float) for k, v in prior.params.items()}
    d = prior.dist
    if d == "LogNormal":
        p["mu"] = p.get("mu", np.float64(0.0)) + np.log(c)
    elif d == "Gamma":
        p["beta"] = p["beta"] / c
    elif d == "Exponential":
        p["lam"] = p["lam"] / c
    elif d in ("HalfNormal", "Normal", "TruncatedNormal", "Point"):
        for k in ("mu", "sigma", "lower", "upper", "value"):
            if k in p:
                p[k] = p[k] * c
    else:
        raise PriorError(f"prior {name!r}: a {d} prior cannot describe a duration")
    return Prior(d, {k: v.tolist() for k, v in p.items()}, prior.dims)


def rescale_time(priors: PriorSet, units_per_week: float, unit_name: str = "") -> PriorSet:
    """The same beliefs with durations in another unit: ``alpha`` (declared in weeks) becomes
    ``units_per_week * alpha`` (7 for days, 12 / 52.18 for months)."""
    c = float(units_per_week)
    if c == 1.0:
        return priors
    out = priors.with_overrides({"alpha": _scale(priors["alpha"], c, "alpha")})
    desc = dict(out.descriptions)
    desc["alpha"] = f"{desc.get('alpha', 'alpha')} [x {c:.4g}: {unit_name or 'this unit'} per week]"
    return PriorSet(dict(out), domain=out.domain, descriptions=desc, coords=out.coords)


# ------------------------------------------------------------------ the spreads' coordinate
#
# A spread whose data cannot tell it from 0 (segments that agree within their standard errors)
# has a posterior density that stays positive at ``tau = 0`` and falls off where ``tau``
# exceeds the standard errors. On PyMC's default log scale that becomes an exponential left
# tail in ``log tau`` (density ~ ``tau = exp(u)``): skewed (-1.3 to -2 at 1M customers in 10
# segments), its curvature changing along the tail, and NUTS mixes it slowly (lag-1
# autocorrelation ~0.5). The coordinate below keeps ``tau`` linear where the data resolve it
# and gives it a Gaussian left tail where they do not:
#
#     tau = c g(u),   g(u) = u Phi(u) + phi(u) = E[max(0, u + Z)],   dtau/du = c Phi(u),
#
# a smooth increasing map of the real line onto (0, inf) (a "Gaussian softplus": ``g(u) ~ u``
# for ``u >> 0``, ``~ phi(u) / u^2`` for ``u << 0``); ``c`` is where the two regimes meet,
# from the pilot (the segments' standard errors and their spread). A change of coordinates
# only: the declared prior of ``tau`` is unchanged (PyMC adds ``log |dtau/du|``).


def _g(u: np.ndarray) -> np.ndarray:
    """``u Phi(u) + phi(u)``, without cancellation for ``u < 0`` (via ``erfcx``)."""
    from scipy import special

    u = np.asarray(u, dtype=float)
    phi = np.exp(-0.5 * u**2) / np.sqrt(2 * np.pi)
    neg = phi * (1.0 + u * np.sqrt(np.pi / 2) * special.erfcx(-np.minimum(u, 0.0) / np.sqrt(2)))
    return np.where(u < 0, np.maximum(neg, 0.0), u * special.ndtr(u) + phi)


def spread_from_unconstrained(u, scale: float) -> np.ndarray:
    """``tau = scale * g(u)`` (NumPy; see :func:`spread_transform`)."""
    return float(scale) * _g(u)


def spread_to_unconstrained(tau, scale: float) -> np.ndarray:
    """The inverse of :func:`spread_from_unconstrained`: Newton on the concave ``log g``
    (``g`` is log-concave) from a point left of the root (monotone convergence)."""
    from scipy import special

    y = np.asarray(tau, dtype=float) / float(scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = -np.sqrt(np.maximum(-2.0 * np.log(y * np.sqrt(2 * np.pi)), 0.0))
        u = np.minimum(y - 0.4, left)  # g(u) <= y there: g <= max(u, 0) + phi(0), g <= phi
        for _ in range(60):
            g = _g(u)
            step = (np.log(g) - np.log(y)) * g / special.ndtr(u)
            u = u - np.where(np.isfinite(step), step, 0.0)
    return u


_TRANSFORMS: dict = {}
#: spread priors on (0, inf) whose coordinate :func:`spread_transform` may replace
_POSITIVE = frozenset(
    {
        "HalfNormal",
        "HalfCauchy",
        "HalfStudentT",
        "Exponential",
        "Gamma",
        "LogNormal",
        "InverseGamma",
    }
)


def spread_transform(scale: float):
    """The PyMC transform of a segment spread: ``tau = scale * (u Phi(u) + phi(u))``, named
    ``spread`` (value variable ``<n>_segment_sd_spread__``)."""
    if "class" not in _TRANSFORMS:
        _TRANSFORMS["class"] = _spread_transform_class()
    return _TRANSFORMS["class"](scale)


def _spread_transform_class():
    import pytensor.tensor as pt
    from pymc.distributions.dist_math import normal_lcdf
    from pymc.logprob.transforms import Transform
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op

    class _Inverse(Op):
        """``tau -> u`` (NumPy Newton; only the start of a fit needs it, no gradient)."""

        __props__ = ("scale",)

        def __init__(self, scale):
            self.scale = float(scale)

        def make_node(self, x):
            x = pt.as_tensor_variable(x)
            return Apply(self, [x], [x.type()])

        def perform(self, node, inputs, outputs):
            outputs[0][0] = np.asarray(
                spread_to_unconstrained(inputs[0], self.scale), dtype=node.outputs[0].dtype
            )

    class SpreadTransform(Transform):
        name = "spread"
        ndim_supp = 0

        def __init__(self, scale):
            self.scale = float(scale)

        def forward(self, value, *inputs):
            return _Inverse(self.scale)(value)

        def backward(self, value, *inputs):
            u = value
            phi = pt.exp(-0.5 * u**2) / np.sqrt(2 * np.pi)
            mills = np.sqrt(np.pi / 2) * pt.erfcx(-pt.minimum(u, 0.0) / np.sqrt(2))
            neg = pt.maximum(phi * (1.0 + u * mills), 0.0)  # u < 0: no cancellation
            pos = u * 0.5 * pt.erfc(-u / np.sqrt(2)) + phi
            return self.scale * pt.switch(pt.lt(u, 0.0), neg, pos)

        def log_jac_det(self, value, *inputs):
            return np.log(self.scale) + normal_lcdf(0.0, 1.0, value)

        def backward_numpy(self, value):
            """:meth:`backward` in NumPy (starting values without a compile)."""
            return spread_from_unconstrained(value, self.scale)

        def __str__(self):
            return f"SpreadTransform(scale={self.scale:.4g})"

    return SpreadTransform


def _log_normal_args(prior: Prior, name: str) -> tuple[float, float]:
    if prior.dist != "LogNormal" or prior.dims:
        raise PriorError(
            f"prior {name!r}: segment models need a scalar LogNormal here (the median of the "
            f"segments), got {prior}"
        )
    return float(prior.params.get("mu", 0.0)), float(prior.params["sigma"])


def add_ltv_parameters(
    priors: Mapping[str, Prior],
    names: Sequence[str],
    *,
    segment_dim: str | None = None,
    pooling: str = "partial",
    pilot: Mapping[str, tuple] | None = None,
) -> dict:
    """Create the PyMC variables of ``names`` in the current model; return ``name -> tensor``.

    * No ``segment_dim``: a LogNormal prior becomes ``log_<n> ~ Normal(mu, sigma)`` and the
      deterministic ``<n> = exp(log_<n>)`` (same prior, explicit log scale); other priors use
      :meth:`Prior.to_pymc`.
    * ``pooling="none"``: each segment gets the declared prior independently (``dims=segment``).
    * ``pooling="partial"``: ``log_<n>_median ~ Normal(mu, sigma)`` (the declared prior),
      ``<n>_segment_sd`` (``tau``) from its own entry, and
      ``log <n>_s ~ Normal(log_<n>_median, tau)`` for every segment. ``<n>`` (dims segment)
      and ``<n>_median`` are deterministics.

    **How the segments are sampled.** Without ``pilot``, non-centred:
    ``log <n>_s = median + tau * <n>_raw_s`` with ``<n>_raw_s ~ Normal(0, 1)``. With
    ``pilot = {n: (estimates, standard_errors)}`` — each segment's ``log <n>`` and its
    standard error ``sigma_s`` from an independent fit — the coordinate adapts to the
    spread: with ``q = tau^2 / sigma_s^2``, ``B = 1 / (1 + q)`` (the shrinkage of a
    Normal-Normal model) and ``k = 1 / sqrt(1 + q)``,

    ``log <n>_s = B median + (1 - B) estimate_s + tau k raw_s``,
    ``raw_s ~ Normal((1 - B)(median - estimate_s) / (tau k), 1 / k)``,

    which is the same prior (``log <n>_s - median ~ Normal(0, tau)``) for any estimates
    and errors. A third entry ``pilot[n] = (estimates, standard_errors, c)`` also samples
    the spread ``tau`` in the coordinate of :func:`spread_transform` with scale ``c``
    (linear where the data resolve the spread, a Gaussian tail towards 0 where they do not;
    the declared prior of the spread is unchanged) instead of PyMC's ``log tau``. Where the data pin the segment down (``tau >> sigma_s``) it is centred and
    standardised by the data; where the hierarchy does (``tau << sigma_s``) it is the
    non-centred form; and if the likelihood were Normal around the estimates, ``raw_s``
    would be ``Normal(0, 1)`` given the median and spread *whatever they are* — the funnel
    between a spread and its segments is gone, not just moved. No fixed choice does that for
    a parameter whose spread is about its standard errors (Papaspiliopoulos, Roberts & Sköld
    2007 on partial centring; this is its conditionally whitened form).
    """
    import pymc as pm
    import pytensor.tensor as pt

    missing = [n for n in names if n not in priors]
    if missing:
        raise PriorError(f"no LTV prior declared for {missing}")
    out = {}
    for n in names:
        prior = priors[n]
        if segment_dim is None:
            if prior.dist == "LogNormal" and not prior.dims:
                mu, sigma = _log_normal_args(prior, n)
                out[n] = pm.Deterministic(n, pm.math.exp(pm.Normal(f"log_{n}", mu, sigma)))
            else:
                out[n] = prior.to_pymc(n)
            continue
        mu, sigma = _log_normal_args(prior, n)
        if pooling == "none":
            log_n = pm.Normal(f"log_{n}", mu, sigma, dims=segment_dim)
        elif pooling == "partial":
            center = pm.Normal(f"log_{n}_median", mu, sigma)
            pm.Deterministic(f"{n}_median", pm.math.exp(center))
            sd_prior = priors[segment_sd_name(n)]
            if (
                pilot is not None
                and len(pilot.get(n, ())) > 2
                and sd_prior.dist in _POSITIVE
                and not sd_prior.dims
            ):
                tr = {"transform": spread_transform(pilot[n][2]), "default_transform": None}
            else:
                tr = {}
            tau = sd_prior.to_pymc(segment_sd_name(n), **tr)
            if pilot is not None and n in pilot:
                est, se = (np.asarray(v, dtype=float) for v in pilot[n][:2])
                prec = 1.0 / np.maximum(se, 1e-12) ** 2  # 1 / sigma_s^2
            else:
                est = prec = np.zeros(len(pm.modelcontext(None).coords[segment_dim]))
            q = tau**2 * prec
            shrink = 1.0 / (1.0 + q)
            k = pt.sqrt(shrink)
            # (1 - B) (median - est) / (tau k) = tau prec k (median - est): finite at tau = 0
            raw = pm.Normal(f"{n}_raw", tau * prec * k * (center - est), 1.0 / k, dims=segment_dim)
            log_n = pm.Deterministic(
                f"log_{n}",
                shrink * center + (1.0 - shrink) * est + tau * k * raw,
                dims=segment_dim,
            )
        else:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        out[n] = pm.Deterministic(n, pm.math.exp(log_n), dims=segment_dim)
    return out
