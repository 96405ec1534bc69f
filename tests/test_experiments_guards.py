"""Guards: SRM, Holm / BH, confidence sequences; interval coverage over simulated experiments."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bayes.experiments.data import ExperimentTruth, generate_experiment
from bayes.growth.data import generate_growth_data
from models.experiments import cuped, moments_from_arrays
from models.experiments.guards import (
    SRM_THRESHOLD,
    benjamini_hochberg,
    confidence_sequence,
    holm,
    srm_test,
)


def test_srm_is_pearsons_chi2():
    r = srm_test([50_421, 49_112], [0.5, 0.5], arms=["control", "treatment"])
    chi = stats.chisquare([50_421, 49_112])
    assert r["chi2"] == pytest.approx(chi.statistic) and r["p_value"] == pytest.approx(chi.pvalue)
    assert r["mismatch"] and "sample-ratio mismatch" in r["message"]
    ok = srm_test([9_000, 21_000], [0.3, 0.7])
    assert not ok["mismatch"] and ok["p_value"] == pytest.approx(1.0)
    assert SRM_THRESHOLD == 0.001


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holm_and_bh_equal_statsmodels(seed):
    p = np.random.default_rng(seed).uniform(0, 0.2, 12) ** 2
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)
    np.testing.assert_allclose(
        benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-14
    )


def test_confidence_sequence_is_wider_than_a_fixed_interval_and_shrinks():
    n = np.array([1e3, 1e4, 1e5, 1e6])
    se = 10 / np.sqrt(n)
    lo, hi = confidence_sequence(n, 0.0, se, alpha=0.1)
    assert np.all(hi > 1.6449 * se)
    assert np.all(np.diff(hi) < 0)
    # tightest relative to the fixed interval near the tuning size N* = 5000
    ratio = hi / (1.6449 * se)
    assert ratio[1] < ratio[3]


@pytest.mark.slow
def test_peeking_keeps_the_sequential_promise_but_breaks_the_fixed_interval():
    """A/A tests looked at 40 times: the always-valid band excludes 0 at some look in at most
    alpha of them; the fixed interval does in far more (the peeking problem)."""
    rng = np.random.default_rng(5)
    reps, looks, batch, alpha = 2000, 40, 250, 0.1
    y = rng.exponential(10.0, (reps, looks, 2, batch))  # skewed, no effect
    s = y.sum(-1).cumsum(1)
    s2 = (y**2).sum(-1).cumsum(1)
    n = batch * np.arange(1, looks + 1)[None, :, None]
    mean = s / n
    var = (s2 - n * mean**2) / (n - 1)
    diff = mean[..., 1] - mean[..., 0]
    se = np.sqrt(var[..., 0] / n[..., 0] + var[..., 1] / n[..., 0])
    lo, hi = confidence_sequence(2 * n[..., 0], diff, se, alpha=alpha)
    seq_err = np.mean(np.any((lo > 0) | (hi < 0), axis=1))
    z = stats.norm.isf(alpha / 2)
    fix_err = np.mean(np.any(np.abs(diff / se) > z, axis=1))
    mc = 4 * math.sqrt(alpha * (1 - alpha) / reps)
    assert seq_err <= alpha + mc
    assert fix_err > 2 * alpha


@pytest.mark.slow
def test_cuped_intervals_cover_the_true_effect_at_the_nominal_level():
    """Experiments simulated on the same growth users: the 90% CUPED interval covers the
    generator's expected average treatment effect in 90% of them."""
    users = generate_growth_data(20_000, seed=1).users
    reps, hits, red = 300, 0, []
    for i in range(reps):
        d = generate_experiment(users=users, seed=100 + i)
        f = d.frame
        arm = (f["arm"] == "treatment").to_numpy().astype(int)
        m = moments_from_arrays(
            arm,
            f[["revenue", "pre_revenue"]].to_numpy(float),
            arms=("control", "treatment"),
            columns=["revenue", "pre_revenue"],
        )
        e = cuped(m, "revenue", "pre_revenue")
        truth = d.truth["expected_ate"]["revenue"]
        lo, hi = e.interval(0.9)
        hits += lo <= truth <= hi
        red.append(e.details["variance_reduction"])
    tol = 4 * math.sqrt(0.09 / reps)
    assert abs(hits / reps - 0.9) < tol
    assert np.mean(red) > 0.1  # the pre-period revenue does reduce variance


def test_generator_srm_fault_is_caught_and_a_fair_split_is_not():
    users = generate_growth_data(40_000, seed=2).users
    fair = generate_experiment(users=users, seed=3)
    bad = generate_experiment(users=users, seed=3, truth=ExperimentTruth(srm=0.3))
    counts = lambda d: d.frame["arm"].value_counts().reindex(["control", "treatment"]).to_numpy()  # noqa: E731
    assert not srm_test(counts(fair))["mismatch"]
    assert srm_test(counts(bad))["mismatch"]
    assert bad.truth["users_lost_to_srm"] > 0
