"""Simulation-based calibration (Talts et al. 2018) of the hierarchical signup model.

Truths from the model's own prior (``pm.sample_prior_predictive`` on the declarations of
``priors/signup.py``), data from its generative process (``simulate_recipients``: any signup
among the clicks), one compiled model reused through ``pm.Data`` weights. The 100-replication
study is ``python -m tests.benchmarks signup_sbc`` (docs/signup.md, *Calibration*).
"""

import numpy as np
import pytest

from bayes.signup.calibration import (
    SBC_QUANTITIES,
    expected_interval_coverage,
    sbc_ranks,
    sbc_uniformity,
)


def test_expected_interval_coverage_matches_simulation(rng):
    """The truth as one more exchangeable draw: coverage of the np.quantile 90% interval of 200
    draws is (189.05 - 9.95) / 201 = 0.8910; checked on 20,000 uniform sets (SE 0.0022)."""
    x = rng.random((20_000, 201))
    lo, hi = np.quantile(x[:, :200], [0.05, 0.95], axis=1)
    cover = np.mean((lo <= x[:, 200]) & (x[:, 200] <= hi))
    assert expected_interval_coverage(200) == pytest.approx(0.8910, abs=1e-4)
    assert abs(cover - expected_interval_coverage(200)) < 4 * np.sqrt(0.09 / 20_000)


@pytest.mark.slow
def test_sbc_ranks_uniform_small():
    """20 replications, 3 topics x 1,000 recipients, L = 100 thinned draws, 4 rank bins.

    8 quantities (topic 0's click/sc mu and kappa, three hyper-means, one recipient's
    p_signup). Threshold p > 0.001 per quantity (chi-square with 5 expected per bin, and KS):
    family-wise false alarm about 8 x 2 x 0.001 = 1.6%; a posterior twice too narrow puts ~40%
    of ranks in the outer 10% and fails the chi-square at this size. Recipient coverage: each
    replication's share of recipients inside their 90% interval averages the exact expectation
    0.891 for a calibrated model; replications are the independent units (recipients of one
    data set share its topic posterior), so the tolerance is 4 standard errors of the mean
    over replications.
    """
    ranks = sbc_ranks(20, seed=1)
    res = sbc_uniformity(ranks, bins=4)
    for name in SBC_QUANTITIES:
        assert res[name]["p_value"] > 0.001, (name, res[name])
        assert res[name]["ks_p_value"] > 0.001, (name, res[name])
    cov = ranks["coverage_90"].to_numpy()
    se = cov.std(ddof=1) / np.sqrt(len(cov))
    assert abs(cov.mean() - expected_interval_coverage(200)) < 4 * se, (cov.mean(), se)
    # the sampler mostly works on prior draws (a few divergences at extreme draws)
    assert ranks["divergences"].sum() < 0.05 * 20 * 200
