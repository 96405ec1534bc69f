"""Priors of the experiments domain (seed 004, "Plan & evaluate experiments"), declared once.

Four beliefs, one :class:`~priors.spec.PriorSet` (``domain="experiments"``); each model of
:mod:`models.experiments` uses the entries it needs (:func:`experiment_priors` with ``names``):

``conversion_rate``
    Each arm's conversion rate before the experiment: ``Beta(1, 1)``, uniform on [0, 1]. The
    exact Beta-Binomial readout adds the arm's conversions and non-conversions to it.
``relative_lift``
    The treatment's relative lift on a metric's mean, ``(mu_t - mu_c) / mu_c``:
    ``Normal(0, 0.3)`` — GrowthBook's default proper prior (mean 0, sd 30%), which says lifts
    beyond ±50% are rare and shrinks noisy estimates towards no effect. A library of past
    experiments replaces it by what the company's experiments actually did
    (:class:`models.experiments.LiftLibrary`), which is usually far tighter.
``lift_mean`` and ``lift_sd``
    The hyperpriors of that library: true relative lifts of past experiments are
    ``Normal(lift_mean, lift_sd)``. ``lift_mean ~ Normal(0, 0.05)`` (the typical experiment
    moves its metric by well under ±10%) and ``lift_sd ~ HalfNormal(0.05)`` (90% below
    8%): weakly informative on the scale of real A/B lifts (Kohavi, Tang & Xu 2020 report
    most product changes moving key metrics by less than a few percent).

A prior file (``--priors FILE``) changes any of them, e.g. ``{"relative_lift": {"dist":
"Normal", "median": 0.0, "interval": [-0.05, 0.05]}}``: "90% sure the lift is within ±5%".
"""

from __future__ import annotations

from priors.spec import Prior, PriorSet

__all__ = [
    "CONVERSION_PRIORS",
    "LIBRARY_PRIORS",
    "LIFT_PRIORS",
    "experiment_priors",
]

DOMAIN = "experiments"

_PRIORS = {
    "conversion_rate": Prior("Beta", {"alpha": 1.0, "beta": 1.0}),
    "relative_lift": Prior("Normal", {"mu": 0.0, "sigma": 0.3}),
    "lift_mean": Prior("Normal", {"mu": 0.0, "sigma": 0.05}),
    "lift_sd": Prior("HalfNormal", {"sigma": 0.05}),
}
_DESCRIPTIONS = {
    "conversion_rate": "each arm's conversion rate before the data (the same Beta for every arm)",
    "relative_lift": "treatment's relative lift on a metric's mean, (mu_t - mu_c) / mu_c",
    "lift_mean": "average true relative lift of past experiments (library hyperprior)",
    "lift_sd": "spread of true relative lifts across past experiments (library hyperprior)",
}

#: entries used by each model
CONVERSION_PRIORS: tuple[str, ...] = ("conversion_rate",)
LIFT_PRIORS: tuple[str, ...] = ("relative_lift",)
LIBRARY_PRIORS: tuple[str, ...] = ("lift_mean", "lift_sd")


def experiment_priors(names=None) -> PriorSet:
    """The declared priors of the domain (all of them, or the entries ``names``)."""
    full = PriorSet(_PRIORS, domain=DOMAIN, descriptions=_DESCRIPTIONS)
    return full if names is None else full.subset(names)
