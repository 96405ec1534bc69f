"""Hyperpriors of the hierarchical beta-binomial signup model (seed 003, design card).

The seed (§4) shrinks every recipient towards its topic's empirical rate with a *fixed*
pseudo-count ``alpha = 2``. The hierarchical model learns both from the data: for each
stage (``click`` = click per send, ``sc`` = signup given click) and each topic ``t``

.. math::

    p_{i} \\sim \\mathrm{Beta}(\\mu_t \\kappa_t,\\ (1-\\mu_t)\\kappa_t), \\quad
    \\operatorname{logit}\\mu_t \\sim \\mathcal{N}(m,\\ s), \\quad
    \\log\\kappa_t \\sim \\mathcal{N}(m_\\kappa,\\ s_\\kappa),

partially pooled across topics through the hyperpriors on ``m, s, m_kappa, s_kappa`` declared
below (proper and weakly informative; no flat priors). The seed's estimator is the special
case ``kappa_t = 2`` and ``mu_t`` = the topic's empirical prior ``p0``.

Each entry of :data:`SIGNUP_PRIORS` is a :class:`priors.spec.Prior` (printable, serialisable);
:func:`topic_rate_variables` is the one function that turns them into PyMC variables with dims
``topic``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from priors.spec import Prior, PriorError

__all__ = [
    "SIGNUP_PRIORS",
    "STAGES",
    "TOPIC_PARAMS",
    "priors_table",
    "signup_priors",
    "topic_rate_variables",
]

#: the two stages of seed §5: click per send, signup given click
STAGES: tuple[str, ...] = ("click", "sc")
#: the per-topic deterministics :func:`topic_rate_variables` creates, stage by stage
TOPIC_PARAMS: tuple[str, ...] = tuple(f"{st}_{p}" for st in STAGES for p in ("mu", "kappa"))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


#: one declaration per belief: ``{stage}_{parameter}`` -> Prior
SIGNUP_PRIORS: dict[str, Prior] = {
    # click per send: typical marketing e-mail click rates are 0.5%-15%; centre 3%, and the
    # 90% interval of the location m spans logit^-1(logit(0.03) +- 1.645*1.5) = 0.3%-26%
    "click_logit_mu_loc": Prior("Normal", {"mu": _logit(0.03), "sigma": 1.5}),
    # spread of topic means on the logit scale (half-normal, 90% below ~1.6)
    "click_logit_mu_scale": Prior("HalfNormal", {"sigma": 1.0}),
    # concentration kappa = alpha + beta of the recipient-level Beta: median 20, 90% of the
    # location between ~1.7 and ~240 (kappa = 2 is the seed's choice, well inside)
    "click_log_kappa_loc": Prior("Normal", {"mu": float(np.log(20.0)), "sigma": 1.5}),
    "click_log_kappa_scale": Prior("HalfNormal", {"sigma": 0.5}),
    # signup given click: centre 10%, 90% of the location between 1% and 50%
    "sc_logit_mu_loc": Prior("Normal", {"mu": _logit(0.10), "sigma": 1.5}),
    "sc_logit_mu_scale": Prior("HalfNormal", {"sigma": 1.0}),
    "sc_log_kappa_loc": Prior("Normal", {"mu": float(np.log(20.0)), "sigma": 1.5}),
    "sc_log_kappa_scale": Prior("HalfNormal", {"sigma": 0.5}),
}

_PARAMS = ("logit_mu_loc", "logit_mu_scale", "log_kappa_loc", "log_kappa_scale")
_DESCRIPTIONS = {
    "logit_mu_loc": "m: centre of logit(mu_t) across topics",
    "logit_mu_scale": "s: spread of logit(mu_t) across topics",
    "log_kappa_loc": "m_kappa: centre of log(kappa_t) across topics",
    "log_kappa_scale": "s_kappa: spread of log(kappa_t) across topics",
}


def signup_priors(overrides: dict | None = None) -> dict[str, Prior]:
    """The declared hyperpriors, optionally with some entries replaced.

    ``overrides`` maps names of :data:`SIGNUP_PRIORS` to :class:`Prior` objects or their
    ``to_dict()`` form; unknown names raise :class:`PriorError`.
    """
    out = dict(SIGNUP_PRIORS)
    for name, value in (overrides or {}).items():
        if name not in SIGNUP_PRIORS:
            raise PriorError(
                f"unknown signup prior {name!r}; expected one of {list(SIGNUP_PRIORS)}"
            )
        out[name] = value if isinstance(value, Prior) else Prior.from_dict(value)
    for stage in STAGES:
        for p in ("logit_mu_scale", "log_kappa_scale"):
            prior = out[f"{stage}_{p}"]
            if prior.dist not in ("HalfNormal", "Gamma", "Exponential", "LogNormal", "Point"):
                raise PriorError(f"{stage}_{p} must be a positive distribution, got {prior.dist}")
    return out


def priors_table(priors: dict[str, Prior] | None = None) -> pd.DataFrame:
    """The hyperpriors as a reviewable table (name, stage, meaning, distribution, 90% interval)."""
    priors = signup_priors() if priors is None else priors
    rows = []
    for stage in STAGES:
        for p in _PARAMS:
            prior = priors[f"{stage}_{p}"]
            lo, hi = prior.interval(0.9)
            rows.append(
                {
                    "name": f"{stage}_{p}",
                    "stage": stage,
                    "meaning": _DESCRIPTIONS[p],
                    "prior": str(prior),
                    "mean": prior.mean(),
                    "q05": lo,
                    "q95": hi,
                }
            )
    return pd.DataFrame(rows)


def topic_rate_variables(
    stage: str, priors: dict[str, Prior] | None = None, *, centered: bool | dict = True
):
    """Create the per-topic mean ``mu`` and concentration ``kappa`` of one stage.

    Must be called inside a ``pm.Model`` whose coords contain ``topic``. Creates the hyperpriors
    ``{stage}_logit_mu_loc`` ... from the declarations, the per-topic ``{stage}_logit_mu`` and
    ``{stage}_log_kappa`` (``Normal(loc, scale)``, dims ``topic``) and the deterministics
    ``{stage}_mu = invlogit(.)`` and ``{stage}_kappa = exp(.)``; returns ``(mu, kappa)``.

    ``centered`` (a bool, or a dict ``{"logit_mu": bool, "log_kappa": bool}``) picks the
    parameterisation: centred suits a latent the data pin down (topic means with many
    recipients); non-centred, ``loc + scale * z`` with standard normal ``z``
    (``{stage}_logit_mu_z``, ``{stage}_log_kappa_z``), avoids the funnel of weakly identified
    ones (concentrations, sparse topics).
    """
    import pymc as pm

    if stage not in STAGES:
        raise PriorError(f"unknown stage {stage!r}; expected one of {STAGES}")
    priors = signup_priors() if priors is None else priors
    hyper = {p: priors[f"{stage}_{p}"].to_pymc(f"{stage}_{p}") for p in _PARAMS}
    latent = {}
    for name, loc, scale in (
        ("logit_mu", hyper["logit_mu_loc"], hyper["logit_mu_scale"]),
        ("log_kappa", hyper["log_kappa_loc"], hyper["log_kappa_scale"]),
    ):
        c = centered.get(name, True) if isinstance(centered, dict) else centered
        if c:
            latent[name] = pm.Normal(f"{stage}_{name}", loc, scale, dims="topic")
        else:
            z = pm.Normal(f"{stage}_{name}_z", 0.0, 1.0, dims="topic")
            latent[name] = pm.Deterministic(f"{stage}_{name}", loc + scale * z, dims="topic")
    mu = pm.Deterministic(f"{stage}_mu", pm.math.invlogit(latent["logit_mu"]), dims="topic")
    kappa = pm.Deterministic(f"{stage}_kappa", pm.math.exp(latent["log_kappa"]), dims="topic")
    return mu, kappa
