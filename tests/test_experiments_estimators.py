"""Sufficient statistics and the frequentist readouts against closed forms and oracles.

CUPED θ, adjusted means and difference equal the per-user closed form of Deng et al. (2013) to
1e-9; Lin's regression from sums equals statsmodels' interacted OLS to 1e-9; the HC2 version is
statsmodels itself; Welch's readout equals scipy's ``ttest_ind(equal_var=False)``.
"""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from models.experiments import (
    EstimationError,
    combine,
    cuped,
    difference_in_means,
    moments_from_arrays,
    ratio_metric,
    regression_adjustment,
    regression_hc,
)

ARMS = ("control", "treatment")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 6000
    arm = (rng.random(n) < 0.45).astype(int)
    x1 = rng.gamma(2.0, 20.0, n) + 1000.0  # a large mean: centred sums must stay exact
    x2 = rng.normal(0, 1, n)
    y = 50 + 0.6 * (x1 - 1000) + 3 * x2 + arm * (4 + 0.2 * (x1 - 1000) / 10) + rng.normal(0, 15, n)
    return arm, y, x1, x2


def _m(arm, *cols, names):
    return moments_from_arrays(arm, np.column_stack(cols), arms=ARMS, columns=names)


def test_moments_and_exact_combination(data):
    arm, y, x1, _ = data
    m = _m(arm, y, x1, names=["y", "x"])
    for a in (0, 1):
        sel = arm == a
        assert m.n[a] == sel.sum()
        np.testing.assert_allclose(m.cov()[a], np.cov(np.vstack([y[sel], x1[sel]])), rtol=1e-12)
    # parts combine to the whole (Chan et al.), e.g. days into the cumulative total
    cut = np.arange(arm.size) % 3
    parts = [_m(arm[cut == k], y[cut == k], x1[cut == k], names=["y", "x"]) for k in range(3)]
    whole = combine(parts)
    np.testing.assert_allclose(whole.mean, m.mean, rtol=1e-13)
    np.testing.assert_allclose(whole.scatter, m.scatter, rtol=1e-11)
    pooled = m.pooled()
    np.testing.assert_allclose(pooled.cov()[0], np.cov(np.vstack([y, x1])), rtol=1e-12)


def test_difference_in_means_is_welch(data):
    arm, y, _, _ = data
    e = difference_in_means(_m(arm, y, names=["y"]), "y")
    t = stats.ttest_ind(y[arm == 1], y[arm == 0], equal_var=False)
    assert e.diff / e.se == pytest.approx(t.statistic, rel=1e-12)
    assert e.p_value == pytest.approx(t.pvalue, rel=1e-9)
    assert e.df == pytest.approx(t.df, rel=1e-12)
    lo, hi = e.interval(0.9)
    ci = t.confidence_interval(0.9)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_cuped_equals_the_per_user_closed_form(data):
    arm, y, x1, _ = data
    e = cuped(_m(arm, y, x1, names=["y", "x"]), "y", "x")
    theta = np.cov(y, x1)[0, 1] / np.var(x1, ddof=1)  # pooled data (Deng et al. 2013)
    y_adj = y - theta * (x1 - x1.mean())
    assert e.details["theta"] == pytest.approx(theta, rel=1e-9)
    for a in (0, 1):
        assert e.mean[a] == pytest.approx(y_adj[arm == a].mean(), rel=1e-9, abs=1e-9)
        assert e.unit_var[a] == pytest.approx(np.var(y_adj[arm == a], ddof=1), rel=1e-9)
    assert e.diff == pytest.approx(y_adj[arm == 1].mean() - y_adj[arm == 0].mean(), rel=1e-9)
    plain = difference_in_means(_m(arm, y, names=["y"]), "y")
    assert e.details["variance_reduction"] == pytest.approx(1 - e.se**2 / plain.se**2, rel=1e-12)
    assert e.details["variance_reduction"] > 0.5  # ρ² is high by construction
    assert e.details["rho2"] == pytest.approx(np.corrcoef(y, x1)[0, 1] ** 2, rel=1e-9)


def test_lin_regression_from_sums_equals_interacted_ols(data):
    arm, y, x1, x2 = data
    m = _m(arm, y, x1, x2, names=["y", "x1", "x2"])
    e = regression_adjustment(m, "y", ["x1", "x2"])
    x = np.column_stack([x1, x2])
    xc = x - x.mean(axis=0)
    design = np.column_stack([np.ones_like(y), arm, xc, arm[:, None] * xc])
    ols = sm.OLS(y, design).fit()
    assert e.diff == pytest.approx(ols.params[1], rel=1e-9)
    assert e.mean[0] == pytest.approx(ols.params[0], rel=1e-9)
    # the exact robust SE from the rows; the sums' SE is its large-sample limit (O(k/n) apart)
    hc = regression_hc(y, arm, x, covariate_names=["x1", "x2"])
    assert hc.diff == pytest.approx(ols.params[1], rel=1e-9)
    hc2 = sm.OLS(y, design).fit(cov_type="HC2")
    assert hc.se == pytest.approx(hc2.bse[1], rel=1e-10)
    lo, hi = hc.interval(0.95)
    assert (lo, hi) == pytest.approx(tuple(hc2.conf_int(0.05)[1]), rel=1e-10)
    assert e.se == pytest.approx(hc.se, rel=10 * 3 / arm.size)


def test_ratio_metric_delta_method():
    rng = np.random.default_rng(3)
    n, reps = 3000, 400
    z = []
    ses = []
    for _ in range(reps):
        arm = (rng.random(n) < 0.5).astype(int)
        orders = rng.poisson(2.0, n) + 1
        revenue = orders * rng.gamma(4.0, 10.0, n) * (1 + 0.05 * arm)
        e = ratio_metric(_m(arm, revenue, orders, names=["revenue", "orders"]), "revenue", "orders")
        z.append(e.diff)
        ses.append(e.se)
    # the delta-method SE matches the sampling sd across replications (Monte Carlo se of an sd
    # estimate from 400 reps is ~3.5%)
    assert np.mean(ses) == pytest.approx(np.std(z, ddof=1), rel=0.12)
    # with a constant denominator it is the mean's readout
    arm = (rng.random(500) < 0.5).astype(int)
    y = rng.normal(3, 1, 500)
    r = ratio_metric(_m(arm, y, np.ones(500), names=["y", "one"]), "y", "one")
    d = difference_in_means(_m(arm, y, names=["y"]), "y")
    assert r.diff == pytest.approx(d.diff, rel=1e-12) and r.se == pytest.approx(d.se, rel=1e-12)


def test_relative_lift_delta_method(data):
    arm, y, _, _ = data
    e = difference_in_means(_m(arm, y, names=["y"]), "y")
    mc, mt = e.mean
    vc, vt = e.cov[0][0], e.cov[1][1]
    assert e.relative == pytest.approx(mt / mc - 1)
    assert e.se_relative == pytest.approx(np.sqrt(vt / mc**2 + mt**2 * vc / mc**4), rel=1e-12)


def test_bad_statistics_are_named():
    arm = np.array([0, 0, 1, 1, 0, 1])
    y = np.arange(6.0)
    with pytest.raises(EstimationError, match="'x' is constant"):
        cuped(_m(arm, y, np.ones(6), names=["y", "x"]), "y", "x")
    with pytest.raises(EstimationError, match="fewer than 2 users"):
        difference_in_means(_m(np.array([0, 0, 0, 1]), np.arange(4.0), names=["y"]), "y")
    with pytest.raises(EstimationError, match="too few"):
        regression_adjustment(_m(arm, y, y**2, y**3, names=["y", "a", "b"]), "y", ["a", "b"])
