"""The experiments domain (seed 004, "Plan & evaluate experiments"): estimators and models.

============================  ===============================================================
:mod:`.stats`                 sufficient statistics per arm (:class:`ArmMoments`), NumPy
                              reference, exact combination of arms and days
:mod:`.estimators`            difference in means, CUPED (Deng et al. 2013), regression
                              adjustment (Lin 2013) from sums and with HC SEs, ratio metrics
:mod:`.power`                 power, sample size and MDE for proportions and means
:mod:`.sizing`                Bayesian sizing: expected loss after n users, EVSI (closed form)
:mod:`.guards`                sample-ratio mismatch, confidence sequences, Holm / BH
:mod:`.likelihood`            conjugate closed forms and the PyMC models
:mod:`.readout`               :class:`BetaBinomialReadout`, :class:`NormalReadout` (exact)
:mod:`.library`               :class:`LiftLibrary`: the prior for the next lift (NUTS)
============================  ===============================================================
"""

from models.experiments.estimators import (
    Estimate,
    EstimationError,
    cuped,
    difference_in_means,
    ratio_metric,
    regression_adjustment,
    regression_hc,
)
from models.experiments.library import LiftLibrary
from models.experiments.readout import BetaBinomialReadout, NormalReadout
from models.experiments.stats import ArmMoments, combine, moments_from_arrays

__all__ = [
    "ArmMoments",
    "BetaBinomialReadout",
    "Estimate",
    "EstimationError",
    "LiftLibrary",
    "NormalReadout",
    "combine",
    "cuped",
    "difference_in_means",
    "moments_from_arrays",
    "ratio_metric",
    "regression_adjustment",
    "regression_hc",
]
