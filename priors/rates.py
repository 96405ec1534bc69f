"""Hyperpriors of the hierarchical beta-binomial for grouped binomial data (``bayes rates``).

Every unit ``i`` (a recipient, a store, a test cell) has ``k_i`` successes in ``n_i`` trials and
its own rate ``p_i``; units belong to groups ``g`` (topics, regions...) and

.. math::

    p_i \\sim \\mathrm{Beta}(\\mu_g \\kappa_g,\\ (1-\\mu_g)\\kappa_g), \\quad
    \\operatorname{logit}\\mu_g \\sim \\mathcal{N}(m,\\ s), \\quad
    \\log\\kappa_g \\sim \\mathcal{N}(m_\\kappa,\\ s_\\kappa),

so each group has a Beta mean ``mu`` and concentration ``kappa`` (``alpha + beta``: how alike its
units are), partially pooled across groups through the hyperpriors on ``m, s, m_kappa,
s_kappa`` declared here (proper and weakly informative; no flat priors). The empirical-Bayes
estimator ``(k + alpha p0) / (n + alpha)`` is the special case ``kappa_g = alpha``,
``mu_g = p0``.

:data:`RATES_PRIORS` is the one declaration (a :class:`~priors.spec.PriorSet`, printable,
serialisable, reviewable with ``bayes rates fit --show-priors``); :func:`rates_priors` builds it
for any centre and concentration (the signup domain declares its two stages with it), and
:func:`group_rate_variables` is the one function that turns such a set into PyMC variables.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from priors.spec import Prior, PriorError, PriorSet

__all__ = [
    "HYPER_PARAMS",
    "POSITIVE_DISTS",
    "RATES_PRIORS",
    "check_scales",
    "group_rate_variables",
    "rates_priors",
]

#: the four hyperparameters of one beta-binomial hierarchy, in declaration order
HYPER_PARAMS: tuple[str, ...] = (
    "logit_mu_loc",
    "logit_mu_scale",
    "log_kappa_loc",
    "log_kappa_scale",
)
#: distributions a scale hyperprior may take (it must be positive)
POSITIVE_DISTS: tuple[str, ...] = ("HalfNormal", "Gamma", "Exponential", "LogNormal", "Point")

_DESCRIPTIONS = {
    "logit_mu_loc": "m: centre of logit(mu_g) across groups (mu_g = a group's mean rate)",
    "logit_mu_scale": "s: spread of logit(mu_g) across groups",
    "log_kappa_loc": "m_kappa: centre of log(kappa_g) across groups (kappa_g = a+b: how alike "
    "a group's units are)",
    "log_kappa_scale": "s_kappa: spread of log(kappa_g) across groups",
}


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def rates_priors(
    *,
    rate: float = 0.5,
    rate_sd: float = 2.0,
    kappa: float = 20.0,
    prefix: str = "",
    domain: str = "rates",
    what: str = "",
) -> PriorSet:
    """The four hyperpriors of one hierarchy, centred on a typical ``rate`` and ``kappa``.

    ``logit_mu_loc ~ Normal(logit(rate), rate_sd)``, ``logit_mu_scale ~ HalfNormal(1)``,
    ``log_kappa_loc ~ Normal(log(kappa), 1.5)``, ``log_kappa_scale ~ HalfNormal(0.5)``; names
    get ``prefix`` (``"click_"``) so that several hierarchies live in one set.
    """
    if not 0 < rate < 1:
        raise PriorError(f"rate must lie in (0, 1), got {rate!r}")
    if kappa <= 0 or rate_sd <= 0:
        raise PriorError(f"kappa and rate_sd must be positive, got {kappa!r}, {rate_sd!r}")
    priors = {
        f"{prefix}logit_mu_loc": Prior("Normal", {"mu": _logit(rate), "sigma": float(rate_sd)}),
        f"{prefix}logit_mu_scale": Prior("HalfNormal", {"sigma": 1.0}),
        f"{prefix}log_kappa_loc": Prior("Normal", {"mu": float(np.log(kappa)), "sigma": 1.5}),
        f"{prefix}log_kappa_scale": Prior("HalfNormal", {"sigma": 0.5}),
    }
    lead = f"{what}: " if what else ""
    return PriorSet(
        priors,
        domain=domain,
        descriptions={f"{prefix}{k}": lead + v for k, v in _DESCRIPTIONS.items()},
    )


#: the declared hyperpriors of ``bayes rates``: centre 50% with a wide spread (90% of the
#: location between 3.6% and 96%), concentration median 20 (90% of the location ~1.7-240)
RATES_PRIORS: PriorSet = rates_priors()


def check_scales(priors: Mapping[str, Prior], prefix: str = "") -> None:
    """The two scale hyperpriors must be positive distributions (named in the error)."""
    for p in ("logit_mu_scale", "log_kappa_scale"):
        prior = priors[f"{prefix}{p}"]
        if prior.dist not in POSITIVE_DISTS:
            raise PriorError(
                f"{prefix}{p} must be a positive distribution ({', '.join(POSITIVE_DISTS)}), "
                f"got {prior.dist}"
            )


def group_rate_variables(
    priors: Mapping[str, Prior],
    *,
    prefix: str = "",
    dim: str = "group",
    n_groups: int | None = None,
    centered: bool | Mapping[str, bool] = True,
):
    """Create one hierarchy's per-group mean ``mu`` and concentration ``kappa``.

    Must be called inside a ``pm.Model`` whose coords contain ``dim``. Creates the hyperpriors
    ``{prefix}logit_mu_loc`` ... from the declarations, the per-group ``{prefix}logit_mu`` and
    ``{prefix}log_kappa`` (``Normal(loc, scale)``, dims ``dim``) and the deterministics
    ``{prefix}mu = invlogit(.)`` and ``{prefix}kappa = exp(.)``; returns ``(mu, kappa)``.

    ``centered`` (a bool, or ``{"logit_mu": bool, "log_kappa": bool}``) picks the
    parameterisation: centred suits a latent the data pin down (group means with many units);
    non-centred, ``loc + scale * z`` with standard normal ``z`` (``{prefix}logit_mu_z``...),
    avoids the funnel of weakly identified ones (concentrations, sparse groups).

    With ``n_groups == 1`` there is nothing to pool: the group's ``logit mu`` and ``log kappa``
    *are* the location hyperparameters (their priors are the declared ``*_loc`` ones) and the
    two scale priors are not used.
    """
    import pymc as pm

    check_scales(priors, prefix)
    single = n_groups == 1
    names = ("logit_mu_loc", "log_kappa_loc") if single else HYPER_PARAMS
    hyper = {p: priors[f"{prefix}{p}"].to_pymc(f"{prefix}{p}") for p in names}
    latent = {}
    for name in ("logit_mu", "log_kappa"):
        loc = hyper[f"{name}_loc"]
        if single:
            latent[name] = pm.Deterministic(f"{prefix}{name}", loc[None], dims=dim)
            continue
        scale = hyper[f"{name}_scale"]
        c = centered.get(name, True) if isinstance(centered, Mapping) else bool(centered)
        if c:
            latent[name] = pm.Normal(f"{prefix}{name}", loc, scale, dims=dim)
        else:
            z = pm.Normal(f"{prefix}{name}_z", 0.0, 1.0, dims=dim)
            latent[name] = pm.Deterministic(f"{prefix}{name}", loc + scale * z, dims=dim)
    mu = pm.Deterministic(f"{prefix}mu", pm.math.invlogit(latent["logit_mu"]), dims=dim)
    kappa = pm.Deterministic(f"{prefix}kappa", pm.math.exp(latent["log_kappa"]), dims=dim)
    return mu, kappa
