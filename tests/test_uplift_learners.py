"""Uplift learners: scikit-learn's contract, recovery of a known CATE, the DR interval against
statsmodels' OLS interval, and econml's causal forest (the optional extra)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression

from models.uplift.learners import (
    LEARNERS,
    CausalForestUplift,
    DRLearnerUplift,
    SLearnerUplift,
    TwoModelUplift,
    XLearnerUplift,
    check_uplift_data,
)

LOGIT = LogisticRegression(max_iter=1000)


def _logistic_data(rng, n=6000):
    """P(y | x, t) = sigmoid(-1 + x1 + t (0.8 + 1.2 x2)): a known CATE per user."""
    X = rng.normal(size=(n, 3))
    t = rng.integers(0, 2, n)

    def p(tt):
        return 1 / (1 + np.exp(-(-1 + X[:, 0] + tt * (0.8 + 1.2 * X[:, 1]))))

    y = (rng.random(n) < p(t)).astype(float)
    return X, y, t, p(1) - p(0)


@pytest.mark.parametrize("name", ["two-model", "s", "x", "dr"])
def test_sklearn_contract(rng, name):
    cls = LEARNERS[name]
    est = cls(estimator=LOGIT, random_state=3)
    assert est.get_params()["random_state"] == 3
    assert "estimator" in repr(est) or cls.__name__ in repr(est)
    c = clone(est)
    assert c.get_params()["random_state"] == 3 and not hasattr(c, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((2, 3)))
    X, y, t, _ = _logistic_data(rng, 600)
    X0 = X.copy()
    assert est.fit(X, y, t) is est
    np.testing.assert_array_equal(X, X0)  # the input is not mutated
    assert est.n_features_in_ == 3
    u1 = est.predict(X[:50])
    np.testing.assert_array_equal(u1, est.predict(X[:50]))  # predict never refits
    p0, p1 = est.predict_outcomes(X[:50])
    assert ((p0 >= 0) & (p0 <= 1) & (p1 >= 0) & (p1 <= 1)).all()
    with pytest.raises(ValueError, match="features"):
        est.predict(np.zeros((2, 4)))


@pytest.mark.parametrize("name", ["two-model", "s", "x", "dr"])
def test_recovers_a_known_cate(name):
    """Every learner ranks new users by their true CATE and gets its mean. Outcome models:
    logistic per arm (correctly specified for the two-model, X and DR learners); the S-learner
    keeps its default gradient-boosted trees, since a logistic model on ``[x, t]`` has no
    ``x·t`` interaction and cannot represent the heterogeneity at all."""
    rng = np.random.default_rng(11)
    X, y, t, tau = _logistic_data(rng, 8000)
    Xn, _, _, tau_n = _logistic_data(np.random.default_rng(12), 2000)
    est = LEARNERS[name](estimator=None if name == "s" else LOGIT).fit(X, y, t)
    pred = est.predict(Xn)
    assert np.corrcoef(pred, tau_n)[0, 1] > 0.85
    assert pred.mean() == pytest.approx(tau_n.mean(), abs=0.03)


def test_validation():
    X = np.zeros((4, 1))
    with pytest.raises(ValueError, match="0/1"):
        check_uplift_data(X, [0, 1, 0, 1], [0, 1, 2, 1])
    with pytest.raises(ValueError, match="both arms"):
        check_uplift_data(X, [0, 1, 0, 1], [1, 1, 1, 1])
    with pytest.raises(ValueError, match="binary"):
        check_uplift_data(X, [0, 0.5, 0, 1], [0, 1, 0, 1], binary_outcome=True)
    with pytest.raises(ValueError, match="binary"):
        TwoModelUplift(estimator=LOGIT).fit(np.zeros((4, 1)), [0, 2, 0, 1], [0, 1, 0, 1])


def test_continuous_outcome_with_regressors(rng):
    n = 3000
    X = rng.normal(size=(n, 2))
    t = rng.integers(0, 2, n)
    tau = 2 + 3 * X[:, 0]
    y = X[:, 1] + t * tau + rng.normal(size=n)
    for cls in (TwoModelUplift, SLearnerUplift, XLearnerUplift, DRLearnerUplift):
        kw = {"effect_estimator": LinearRegression()} if cls is XLearnerUplift else {}
        if cls is SLearnerUplift:
            continue  # additive in t with a linear model: no heterogeneity by construction
        est = cls(estimator=LinearRegression(), **kw).fit(X, y, t)
        assert np.corrcoef(est.predict(X), tau)[0, 1] > 0.95


def test_dr_interval_matches_ols_on_the_pseudo_outcome(rng):
    """The DR learner's interval is the posterior of the linear CATE. With a weak prior it
    must agree with the classical OLS confidence interval of the mean (statsmodels) on the
    same pseudo-outcome: an independent implementation of the same quantity."""
    import statsmodels.api as sm

    n = 4000
    X = rng.normal(size=(n, 2))
    t = rng.integers(0, 2, n)
    y = X[:, 1] + t * (1 + 0.5 * X[:, 0]) + rng.normal(size=n)
    est = DRLearnerUplift(estimator=LinearRegression(), n_folds=3).fit(X, y, t)
    assert est.has_interval
    lo, hi = est.predict_interval(X[:20], prob=0.9)
    ols = sm.OLS(est.pseudo_outcome_, sm.add_constant(X)).fit()
    ci = ols.get_prediction(sm.add_constant(X[:20], has_constant="add")).conf_int(alpha=0.1)
    np.testing.assert_allclose(lo, ci[:, 0], rtol=0.05, atol=0.01)
    np.testing.assert_allclose(hi, ci[:, 1], rtol=0.05, atol=0.01)
    mid = est.predict(X[:20])
    np.testing.assert_allclose(mid, (lo + hi) / 2, atol=1e-9)
    # the truth 1 + 0.5 x0 is linear here: the intervals cover it
    truth = 1 + 0.5 * X[:20, 0]
    assert ((lo <= truth) & (truth <= hi)).mean() >= 0.75


def test_dr_without_ridge_final_stage_has_no_interval(rng):
    X, y, t, _ = _logistic_data(rng, 600)
    est = DRLearnerUplift(estimator=LOGIT, final_estimator=LinearRegression(), n_folds=2)
    assert not est.has_interval
    est.fit(X, y, t)
    with pytest.raises(NotImplementedError):
        est.predict_interval(X[:3])
    with pytest.raises(NotImplementedError):
        TwoModelUplift(estimator=LOGIT).fit(X, y, t).predict_interval(X[:3])


def test_causal_forest_recovers_and_covers():
    pytest.importorskip("econml", reason="the causal forest is the optional extra 'uplift'")
    rng = np.random.default_rng(5)
    n = 4000
    X = rng.normal(size=(n, 2))
    t = rng.integers(0, 2, n)
    tau = np.where(X[:, 0] > 0, 0.25, 0.0)
    y = (rng.random(n) < 0.2 + t * tau).astype(float)
    est = CausalForestUplift(estimator=LOGIT, n_estimators=200).fit(X, y, t)
    Xn = rng.normal(size=(400, 2))
    tn = np.where(Xn[:, 0] > 0, 0.25, 0.0)
    pred = est.predict(Xn)
    assert np.corrcoef(pred, tn)[0, 1] > 0.7
    lo, hi = est.predict_interval(Xn, prob=0.9)
    assert (lo <= pred).all() and (pred <= hi).all()
    assert ((lo <= tn) & (tn <= hi)).mean() > 0.6
