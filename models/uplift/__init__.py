"""Uplift modelling (seed 004): learners with scikit-learn's contract, evaluation metrics and
the response-type truth used by the generator.

* :mod:`models.uplift.learners` — two-model (seed), S, X, cross-fitted doubly robust, and
  econml's causal forest (optional);
* :mod:`models.uplift.metrics` — Qini and uplift curves, AUUC, Qini coefficient, uplift at k,
  stratified bootstrap bands, calibration by decile;
* :mod:`models.uplift.simulate` — persuadables, sure things, lost causes, sleeping dogs.
"""

from models.uplift.learners import (
    LEARNERS,
    CausalForestUplift,
    DRLearnerUplift,
    SLearnerUplift,
    TwoModelUplift,
    XLearnerUplift,
    make_learner,
)
from models.uplift.metrics import (
    NORMALISATION,
    calibration_by_decile,
    qini_auc_score,
    sort_by_score,
    uplift_at_k,
    uplift_auc_score,
    uplift_metrics,
)
from models.uplift.simulate import RESPONSE_TYPES

__all__ = [
    "LEARNERS",
    "NORMALISATION",
    "RESPONSE_TYPES",
    "CausalForestUplift",
    "DRLearnerUplift",
    "SLearnerUplift",
    "TwoModelUplift",
    "XLearnerUplift",
    "calibration_by_decile",
    "make_learner",
    "qini_auc_score",
    "sort_by_score",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_metrics",
]
