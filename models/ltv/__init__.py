"""The LTV domain's models: BG/NBD + Gamma-Gamma (seed 004), by segment with partial pooling.

* :mod:`models.ltv.likelihood` — the likelihoods (FHL 2005 eq. 6, FH 2013 eq. 3) and their
  compressed, factored PyTensor forms;
* :mod:`models.ltv.closed_form` — predictions as broadcasting NumPy functions (P(alive),
  expected purchases, probability of n purchases, expected spend, discounted CLV);
* :mod:`models.ltv.simulate` — the forward simulators;
* :mod:`models.ltv.model` — :class:`LTVModel`, the estimator on the workbench contract;
* :mod:`models.ltv.units` — explicit time units (day, week, month).
"""

from models.ltv.closed_form import (
    clv,
    discounted_expected_purchases,
    discounted_purchases_if_alive,
    expected_purchases,
    expected_purchases_if_alive,
    expected_purchases_new,
    expected_spend,
    prob_alive,
    prob_n_purchases,
    prob_n_purchases_new,
)
from models.ltv.likelihood import (
    CompressedRFM,
    CompressedSpend,
    bgnbd_loglike,
    bgnbd_loglike_factored,
    bgnbd_terms,
    compress_rfm,
    compress_spend,
    gamma_gamma_loglike,
    gamma_gamma_terms,
)
from models.ltv.model import LTVModel
from models.ltv.simulate import simulate_bgnbd, simulate_bgnbd_holdout, simulate_gamma_gamma
from models.ltv.units import WEEKS_PER_MONTH, canonical_unit, units_per_month

__all__ = [
    "WEEKS_PER_MONTH",
    "CompressedRFM",
    "CompressedSpend",
    "LTVModel",
    "bgnbd_loglike",
    "bgnbd_loglike_factored",
    "bgnbd_terms",
    "canonical_unit",
    "clv",
    "compress_rfm",
    "compress_spend",
    "discounted_expected_purchases",
    "discounted_purchases_if_alive",
    "expected_purchases",
    "expected_purchases_if_alive",
    "expected_purchases_new",
    "expected_spend",
    "gamma_gamma_loglike",
    "gamma_gamma_terms",
    "prob_alive",
    "prob_n_purchases",
    "prob_n_purchases_new",
    "simulate_bgnbd",
    "simulate_bgnbd_holdout",
    "simulate_gamma_gamma",
    "units_per_month",
]
