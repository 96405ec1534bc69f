"""Hyperpriors of the hierarchical signup model (seed 003, design card).

The seed (§4) shrinks every recipient towards its topic's empirical rate with a *fixed*
pseudo-count ``alpha = 2``. The hierarchical model learns both from the data. It is two
hierarchies of the general beta-binomial estimator (:mod:`priors.rates`), one per stage
(``click`` = click per send, ``sc`` = signup given click), over topics ``t``:

.. math::

    p_{i} \\sim \\mathrm{Beta}(\\mu_t \\kappa_t,\\ (1-\\mu_t)\\kappa_t), \\quad
    \\operatorname{logit}\\mu_t \\sim \\mathcal{N}(m,\\ s), \\quad
    \\log\\kappa_t \\sim \\mathcal{N}(m_\\kappa,\\ s_\\kappa),

partially pooled across topics through the hyperpriors on ``m, s, m_kappa, s_kappa`` declared
below (proper and weakly informative; no flat priors). The seed's estimator is the special
case ``kappa_t = 2`` and ``mu_t`` = the topic's empirical prior ``p0``.

:data:`SIGNUP_PRIORS` is the one declaration (a :class:`~priors.spec.PriorSet` with entries
``{stage}_{parameter}``); :func:`topic_rate_variables` turns one stage into PyMC variables
with dims ``topic`` through :func:`priors.rates.group_rate_variables`.
"""

from __future__ import annotations

from collections.abc import Mapping

from priors.rates import HYPER_PARAMS, check_scales, group_rate_variables, rates_priors
from priors.spec import Prior, PriorError, PriorSet

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


def _declare() -> PriorSet:
    # click per send: typical marketing e-mail click rates are 0.5%-15%; centre 3%, and the
    # 90% interval of the location m spans logit^-1(logit(0.03) +- 1.645*1.5) = 0.3%-26%;
    # concentration kappa = alpha + beta: median 20, 90% of the location between ~1.7 and ~240
    # (kappa = 2 is the seed's choice, well inside)
    click = rates_priors(rate=0.03, rate_sd=1.5, prefix="click_", domain="signup", what="click")
    # signup given click: centre 10%, 90% of the location between 1% and 50%
    sc = rates_priors(rate=0.10, rate_sd=1.5, prefix="sc_", domain="signup", what="signup|click")
    return PriorSet(
        {**click, **sc},
        domain="signup",
        descriptions={**click.descriptions, **sc.descriptions},
    )


#: one declaration per belief: ``{stage}_{parameter}`` -> Prior
SIGNUP_PRIORS: PriorSet = _declare()


def signup_priors(overrides: Mapping[str, Prior | Mapping] | PriorSet | None = None) -> PriorSet:
    """The declared hyperpriors, optionally with some entries replaced.

    ``overrides`` maps names of :data:`SIGNUP_PRIORS` to :class:`Prior` objects or their
    ``to_dict()`` form (or is a full :class:`PriorSet`); unknown names raise
    :class:`PriorError`, and so does a scale hyperprior that is not a positive distribution.
    """
    if isinstance(overrides, PriorSet):
        out = SIGNUP_PRIORS.with_overrides(dict(overrides))
    else:
        out = SIGNUP_PRIORS.with_overrides(overrides)
    for stage in STAGES:
        check_scales(out, f"{stage}_")
    return out


def priors_table(priors: PriorSet | None = None, prob: float = 0.9):
    """The hyperpriors as the review table of every domain (:meth:`PriorSet.table`)."""
    return (SIGNUP_PRIORS if priors is None else priors).table(prob)


def topic_rate_variables(
    stage: str,
    priors: Mapping[str, Prior] | None = None,
    *,
    centered: bool | Mapping = True,
    n_topics: int | None = None,
):
    """Create the per-topic mean ``mu`` and concentration ``kappa`` of one stage (see
    :func:`priors.rates.group_rate_variables`; variables ``{stage}_mu`` ... with dims
    ``topic``). Must be called inside a ``pm.Model`` whose coords contain ``topic``."""
    if stage not in STAGES:
        raise PriorError(f"unknown stage {stage!r}; expected one of {STAGES}")
    priors = SIGNUP_PRIORS if priors is None else priors
    missing = [f"{stage}_{p}" for p in HYPER_PARAMS if f"{stage}_{p}" not in priors]
    if missing:
        raise PriorError(f"signup priors lack {missing}")
    return group_rate_variables(
        priors, prefix=f"{stage}_", dim="topic", n_groups=n_topics, centered=centered
    )
