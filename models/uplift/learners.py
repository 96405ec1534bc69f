"""Uplift learners with scikit-learn's contract: ``fit(X, y, treatment)``, ``predict(X)``.

Each learner estimates the conditional average treatment effect (uplift)
``tau(x) = E[Y | X = x, T = 1] - E[Y | X = x, T = 0]`` from a randomised experiment.
``__init__`` only stores (base estimators are cloned in ``fit``); learned state ends in ``_``;
``predict`` never refits; ``get_params``/``set_params``/``clone`` work as for any estimator.

* :class:`TwoModelUplift` — seed 004's two-model approach (the "T-learner"): one model per
  arm, ``tau = mu_1(x) - mu_0(x)``.
* :class:`SLearnerUplift` — one model on ``[x, t]``, ``tau = mu(x, 1) - mu(x, 0)``.
* :class:`XLearnerUplift` — Künzel et al. (2019): imputed effects ``D_1 = Y - mu_0(X)`` on the
  treated and ``D_0 = mu_1(X) - Y`` on the controls, regressed on ``x``; combined as
  ``tau = e(x) tau_0(x) + (1 - e(x)) tau_1(x)`` with the propensity ``e``.
* :class:`DRLearnerUplift` — the cross-fitted doubly robust learner (Kennedy 2023): nuisances
  fitted on K-1 folds give on the held-out fold the pseudo-outcome
  ``phi = mu_1 - mu_0 + T (Y - mu_1) / e - (1 - T)(Y - mu_0) / (1 - e)``, whose regression
  on ``x`` is ``tau``. Its default final stage is a Bayesian ridge regression, which gives a
  posterior interval for the best linear approximation of ``tau`` in the features.
* :class:`CausalForestUplift` — econml's ``CausalForestDML`` (optional extra ``uplift``) with
  its own confidence intervals.

In a randomised experiment the propensity is the treated share (the default); pass a
classifier as ``propensity`` for observational data.

Outcome models are classifiers (``predict_proba``) for a binary outcome and regressors for a
continuous one; a classifier with a non-binary outcome is refused.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "LEARNERS",
    "CausalForestUplift",
    "DRLearnerUplift",
    "SLearnerUplift",
    "TwoModelUplift",
    "XLearnerUplift",
    "default_classifier",
    "default_regressor",
    "make_learner",
]

_CLIP = 0.01  # propensity clipping for the DR pseudo-outcome


def compute_threads():
    """Limit OpenMP/BLAS threads to ``$BAYES_CORES`` (default: every CPU).

    Gradient-boosted trees start one OpenMP thread per CPU; on a shared or busy machine the
    spinning threads wait on each other and a fit of 2 s takes 50 s (measured here). One knob
    for the workbench: the ``BAYES_CORES`` that also sets the NUTS processes.
    """
    from threadpoolctl import threadpool_limits

    env = os.environ.get("BAYES_CORES")
    return threadpool_limits(limits=int(env) if env else (os.cpu_count() or 1))


def _limited(method):
    """Run a learner method under :func:`compute_threads`."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with compute_threads():
            return method(self, *args, **kwargs)

    return wrapper


#: the gradient-boosted trees' conservative settings, shared by the outcome and effect models
_GBM_SETTINGS = dict(
    max_iter=150,
    learning_rate=0.05,
    max_leaf_nodes=15,
    min_samples_leaf=40,
    l2_regularization=1.0,
    early_stopping=False,
)


def default_classifier(random_state: int | None = 0):
    """Gradient-boosted trees with conservative settings (the outcome model by default)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**_GBM_SETTINGS, random_state=random_state)


def default_regressor(random_state: int | None = 0):
    """Gradient-boosted regression trees (the effect model of the X-learner by default)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(**_GBM_SETTINGS, random_state=random_state)


def _bayesian_ridge():
    from sklearn.linear_model import BayesianRidge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), BayesianRidge())


# ----------------------------------------------------------------------------- validation


def check_uplift_data(X, y, treatment, *, binary_outcome: bool = False):
    """Validate the arrays at the boundary; return ``X`` (2-D float), ``y`` (float), ``t``
    (0/1 int). Raises ``ValueError`` saying what was expected and what was received."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=float).ravel()
    t = np.asarray(treatment).ravel()
    if not (len(X) == y.size == t.size):
        raise ValueError(f"X, y and treatment differ in length ({len(X)}, {y.size}, {t.size})")
    if not np.isfinite(X).all():
        raise ValueError("X has NaN or inf values")
    if not np.isfinite(y).all():
        raise ValueError("y has NaN or inf values")
    if not np.isin(t, (0, 1)).all():
        bad = np.unique(t[~np.isin(t, (0, 1))])[:5]
        raise ValueError(f"treatment must be 0/1; found {bad.tolist()}")
    t = t.astype(np.int64)
    if t.min() == t.max():
        raise ValueError(f"both arms need users; all {t.size} rows have treatment = {t[0]}")
    if binary_outcome and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("a classifier outcome model needs a binary (0/1) outcome")
    if binary_outcome:
        for arm in (0, 1):
            if np.unique(y[t == arm]).size < 2:
                raise ValueError(f"the outcome is constant in arm treatment = {arm}")
    return X, y, t


def _proba(model, X):
    if is_classifier(model):
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def _check_X(est, X):
    check_is_fitted(est)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, the learner was fitted on {est.n_features_in_}"
        )
    return X


class _UpliftLearner(BaseEstimator):
    """Shared behaviour: validation, ``n_features_in_``, outcomes, no interval by default."""

    #: whether :meth:`predict_interval` is available
    has_interval = False

    def _outcome_model(self):
        est = getattr(self, "estimator", None)
        return clone(est) if est is not None else default_classifier(self.random_state)

    def _validate(self, X, y, treatment):
        binary = is_classifier(self._outcome_model())
        X, y, t = check_uplift_data(X, y, treatment, binary_outcome=binary)
        self.n_features_in_ = X.shape[1]
        self.treated_share_ = float(t.mean())
        return X, y, t

    @_limited
    def predict_interval(self, X, prob: float = 0.9):
        raise NotImplementedError(f"{type(self).__name__} gives no interval for the uplift")


# ----------------------------------------------------------------------------- two-model


class TwoModelUplift(_UpliftLearner):
    """Seed 004's two-model approach: ``tau(x) = mu_1(x) - mu_0(x)``, one model per arm.

    Parameters
    ----------
    estimator : classifier or regressor, optional
        Outcome model (cloned per arm); default :func:`default_classifier`.
    random_state : int
        Seed of the default estimator.
    """

    def __init__(self, estimator=None, random_state: int | None = 0):
        self.estimator = estimator
        self.random_state = random_state

    @_limited
    def fit(self, X, y, treatment):
        X, y, t = self._validate(X, y, treatment)
        self.model_control_ = self._outcome_model().fit(X[t == 0], y[t == 0])
        self.model_treated_ = self._outcome_model().fit(X[t == 1], y[t == 1])
        return self

    @_limited
    def predict_outcomes(self, X):
        """``(mu_0(x), mu_1(x))``: expected outcome without and with treatment."""
        X = _check_X(self, X)
        return _proba(self.model_control_, X), _proba(self.model_treated_, X)

    @_limited
    def predict(self, X):
        p0, p1 = self.predict_outcomes(X)
        return p1 - p0


# ----------------------------------------------------------------------------- S


class SLearnerUplift(_UpliftLearner):
    """One outcome model on ``[x, t]``: ``tau(x) = mu(x, 1) - mu(x, 0)``.

    Trees may ignore ``t`` where its effect is small, which shrinks ``tau`` toward 0 (the
    S-learner's known bias); it is the most stable learner when effects are weak.
    """

    def __init__(self, estimator=None, random_state: int | None = 0):
        self.estimator = estimator
        self.random_state = random_state

    @_limited
    def fit(self, X, y, treatment):
        X, y, t = self._validate(X, y, treatment)
        self.model_ = self._outcome_model().fit(np.column_stack([X, t]), y)
        return self

    @_limited
    def predict_outcomes(self, X):
        X = _check_X(self, X)
        n = len(X)
        p0 = _proba(self.model_, np.column_stack([X, np.zeros(n)]))
        p1 = _proba(self.model_, np.column_stack([X, np.ones(n)]))
        return p0, p1

    @_limited
    def predict(self, X):
        p0, p1 = self.predict_outcomes(X)
        return p1 - p0


# ----------------------------------------------------------------------------- propensity


def _fixed_or_model(propensity, share):
    """A propensity given as a number, a classifier to fit, or ``None`` (the treated share)."""
    if propensity is None:
        return float(share)
    if isinstance(propensity, (int, float)):
        if not 0 < float(propensity) < 1:
            raise ValueError(f"propensity must lie in (0, 1), got {propensity!r}")
        return float(propensity)
    return clone(propensity)


def _propensity_values(prop, X):
    if isinstance(prop, float):
        return np.full(len(X), prop)
    return np.clip(prop.predict_proba(X)[:, 1], _CLIP, 1 - _CLIP)


# ----------------------------------------------------------------------------- X


class XLearnerUplift(_UpliftLearner):
    """Künzel, Sekhon, Bickel & Yu (2019), *PNAS* 116(10): the X-learner.

    Parameters
    ----------
    estimator : outcome model per arm (default :func:`default_classifier`).
    effect_estimator : regressor for the imputed effects (default :func:`default_regressor`).
    propensity : ``None`` (the treated share: a randomised experiment), a number, or a
        classifier fitted on ``(X, t)``.
    """

    def __init__(
        self, estimator=None, effect_estimator=None, propensity=None, random_state: int | None = 0
    ):
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.propensity = propensity
        self.random_state = random_state

    def _effect_model(self):
        e = self.effect_estimator
        return clone(e) if e is not None else default_regressor(self.random_state)

    @_limited
    def fit(self, X, y, treatment):
        X, y, t = self._validate(X, y, treatment)
        c, tr = t == 0, t == 1
        self.model_control_ = self._outcome_model().fit(X[c], y[c])
        self.model_treated_ = self._outcome_model().fit(X[tr], y[tr])
        d1 = y[tr] - _proba(self.model_control_, X[tr])
        d0 = _proba(self.model_treated_, X[c]) - y[c]
        self.effect_treated_ = self._effect_model().fit(X[tr], d1)
        self.effect_control_ = self._effect_model().fit(X[c], d0)
        prop = _fixed_or_model(self.propensity, self.treated_share_)
        self.propensity_ = prop if isinstance(prop, float) else prop.fit(X, t)
        return self

    @_limited
    def predict_outcomes(self, X):
        X = _check_X(self, X)
        return _proba(self.model_control_, X), _proba(self.model_treated_, X)

    @_limited
    def predict(self, X):
        X = _check_X(self, X)
        e = _propensity_values(self.propensity_, X)
        return e * self.effect_control_.predict(X) + (1 - e) * self.effect_treated_.predict(X)


# ----------------------------------------------------------------------------- DR


class DRLearnerUplift(_UpliftLearner):
    """The cross-fitted doubly robust learner (Kennedy 2023, *Electron. J. Statist.* 17(2)).

    For each of ``n_folds`` folds the outcome models ``mu_0, mu_1`` (and the propensity, if a
    model) are fitted on the other folds and give the pseudo-outcome ``phi`` on the fold
    (see the module docstring); ``final_estimator`` regresses ``phi`` on ``x`` over all rows.
    ``phi`` is unbiased for ``tau(x)`` if either the outcome models or the propensity are
    right — in a randomised experiment the propensity is known, so always.

    The default final stage, a Bayesian ridge regression on standardised features, gives
    :meth:`predict_interval`: the central posterior interval of the best *linear*
    approximation of ``tau`` in the features (conditional on the nuisance fits; it does not
    cover the non-linear part). Pass a tree regressor as ``final_estimator`` for a flexible
    ``tau`` without interval.
    """

    def __init__(
        self,
        estimator=None,
        final_estimator=None,
        propensity=None,
        n_folds: int = 5,
        random_state: int | None = 0,
    ):
        self.estimator = estimator
        self.final_estimator = final_estimator
        self.propensity = propensity
        self.n_folds = n_folds
        self.random_state = random_state

    @_limited
    def fit(self, X, y, treatment):
        X, y, t = self._validate(X, y, treatment)
        if int(self.n_folds) < 2:
            raise ValueError(f"n_folds must be >= 2, got {self.n_folds!r}")
        strata = t * 2 + (y > np.median(y)) if np.unique(y).size > 2 else t * 2 + y.astype(int)
        folds = StratifiedKFold(int(self.n_folds), shuffle=True, random_state=self.random_state)
        mu0, mu1, e = np.empty(len(y)), np.empty(len(y)), np.empty(len(y))
        for train, test in folds.split(X, strata):
            Xa, ya, ta = X[train], y[train], t[train]
            m0 = self._outcome_model().fit(Xa[ta == 0], ya[ta == 0])
            m1 = self._outcome_model().fit(Xa[ta == 1], ya[ta == 1])
            mu0[test], mu1[test] = _proba(m0, X[test]), _proba(m1, X[test])
            prop = _fixed_or_model(self.propensity, ta.mean())
            prop = prop if isinstance(prop, float) else prop.fit(Xa, ta)
            e[test] = _propensity_values(prop, X[test])
        e = np.clip(e, _CLIP, 1 - _CLIP)
        self.pseudo_outcome_ = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
        fin = self.final_estimator
        self.final_ = (clone(fin) if fin is not None else _bayesian_ridge()).fit(
            X, self.pseudo_outcome_
        )
        # outcome models on all rows, for the expected outcomes per arm
        self.model_control_ = self._outcome_model().fit(X[t == 0], y[t == 0])
        self.model_treated_ = self._outcome_model().fit(X[t == 1], y[t == 1])
        return self

    @property
    def has_interval(self) -> bool:  # type: ignore[override]
        return _ridge_parts(self.final_estimator or _bayesian_ridge()) is not None

    @_limited
    def predict_outcomes(self, X):
        X = _check_X(self, X)
        return _proba(self.model_control_, X), _proba(self.model_treated_, X)

    @_limited
    def predict(self, X):
        X = _check_X(self, X)
        return self.final_.predict(X)

    @_limited
    def predict_interval(self, X, prob: float = 0.9):
        """Central ``prob`` posterior interval of the linear CATE (default final stage)."""
        from scipy import stats

        X = _check_X(self, X)
        parts = _ridge_parts(self.final_)
        if parts is None:
            raise NotImplementedError(
                "the interval needs a BayesianRidge final stage (the default)"
            )
        pre, ridge = parts
        Z = pre(X)
        mean = ridge.predict(Z)
        Zc = Z - ridge.X_offset_
        var = np.einsum("ij,jk,ik->i", Zc, ridge.sigma_, Zc) + 1.0 / (ridge.alpha_ * self.n_rows_)
        half = stats.norm.ppf((1 + prob) / 2) * np.sqrt(var)
        return mean - half, mean + half

    @property
    def n_rows_(self) -> int:
        return int(self.pseudo_outcome_.size)


def _ridge_parts(est):
    """``(transform, BayesianRidge)`` of a BayesianRidge or a pipeline ending in one."""
    from sklearn.linear_model import BayesianRidge
    from sklearn.pipeline import Pipeline

    if isinstance(est, BayesianRidge):
        return (lambda X: X), est
    if isinstance(est, Pipeline) and isinstance(est.steps[-1][1], BayesianRidge):
        head = est[:-1]
        return (head.transform if hasattr(head, "transform") else (lambda X: X)), est.steps[-1][1]
    return None


# ----------------------------------------------------------------------------- causal forest


class CausalForestUplift(_UpliftLearner):
    """econml's ``CausalForestDML`` (Athey, Tibshirani & Wager 2019; optional extra
    ``uplift``): a generalised random forest on residualised outcome and treatment, with
    its own ``prob`` confidence intervals (bootstrap of little bags).
    """

    has_interval = True

    def __init__(
        self,
        estimator=None,
        n_estimators: int = 200,
        min_samples_leaf: int = 20,
        n_folds: int = 3,
        random_state: int | None = 0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.n_folds = n_folds
        self.random_state = random_state

    @_limited
    def fit(self, X, y, treatment):
        try:
            from econml.dml import CausalForestDML
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the causal forest needs econml: pip install 'bayes-workbench[uplift]'"
            ) from exc
        from sklearn.dummy import DummyClassifier

        X, y, t = self._validate(X, y, treatment)
        binary = is_classifier(self._outcome_model())
        self.forest_ = CausalForestDML(
            model_y=self._outcome_model(),
            model_t=DummyClassifier(strategy="prior"),  # randomised: e = treated share
            discrete_treatment=True,
            discrete_outcome=binary,
            n_estimators=int(self.n_estimators),
            min_samples_leaf=int(self.min_samples_leaf),
            cv=int(self.n_folds),
            random_state=self.random_state,
            n_jobs=1,
        )
        self.forest_.fit(y, t, X=X)
        self.model_control_ = self._outcome_model().fit(X[t == 0], y[t == 0])
        self.model_treated_ = self._outcome_model().fit(X[t == 1], y[t == 1])
        return self

    @_limited
    def predict_outcomes(self, X):
        X = _check_X(self, X)
        return _proba(self.model_control_, X), _proba(self.model_treated_, X)

    @_limited
    def predict(self, X):
        X = _check_X(self, X)
        return np.asarray(self.forest_.effect(X), dtype=float).ravel()

    @_limited
    def predict_interval(self, X, prob: float = 0.9):
        X = _check_X(self, X)
        lo, hi = self.forest_.effect_interval(X, alpha=1 - prob)
        return np.asarray(lo, float).ravel(), np.asarray(hi, float).ravel()


# ----------------------------------------------------------------------------- registry

#: CLI name -> learner class
LEARNERS = {
    "two-model": TwoModelUplift,
    "s": SLearnerUplift,
    "x": XLearnerUplift,
    "dr": DRLearnerUplift,
    "causal-forest": CausalForestUplift,
}


def make_learner(name: str, *, estimator=None, random_state: int = 0):
    """A learner by its CLI name, with ``estimator`` as the outcome model."""
    try:
        cls = LEARNERS[name]
    except KeyError:
        raise ValueError(f"unknown learner {name!r}; choose one of {list(LEARNERS)}") from None
    return cls(estimator=estimator, random_state=random_state)
