"""Fit a learner on an experiment and evaluate any scored file; on generated data, compare
learners against the truth (AUUC of the true uplift, regret against the oracle policy).

Every function here is what ``bayes uplift fit`` / ``evaluate``, the report and notebook 07
call; the CLI only parses flags and writes files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes.io import InputError
from bayes.uplift.data import read_experiment, read_scores
from models.uplift.learners import LEARNERS, compute_threads, make_learner
from models.uplift.metrics import UpliftCurves, calibration_by_decile, uplift_metrics
from priors.spec import interval_names

__all__ = [
    "FitResult",
    "Evaluation",
    "compare_learners",
    "evaluate_scores",
    "feature_encoder",
    "fit_uplift",
    "split_experiment",
]

SCORE_COLUMNS = ("uplift", "p_control", "p_treated")


def feature_encoder(df: pd.DataFrame, features: Sequence[str]):
    """One-hot for text columns, numbers as they are (a ``ColumnTransformer``, unfitted)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    cat = [f for f in features if not pd.api.types.is_numeric_dtype(df[f])]
    num = [f for f in features if f not in cat]
    parts = []
    if cat:
        parts.append(
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat)
        )
    if num:
        parts.append(("numeric", "passthrough", num))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def split_experiment(df: pd.DataFrame, outcome: str, treatment: str, test_size: float, seed: int):
    """Train/test indices stratified by arm and (binary) outcome."""
    from sklearn.model_selection import train_test_split

    y = df[outcome].to_numpy()
    strata = (
        df[treatment].astype(str)
        + "_"
        + (pd.Series(y, index=df.index).astype(str) if np.unique(y).size <= 2 else "")
    )
    if strata.value_counts().min() < 2:
        strata = df[treatment]
    idx = np.arange(len(df))
    train, test = train_test_split(idx, test_size=test_size, random_state=seed, stratify=strata)
    return np.sort(train), np.sort(test)


@dataclass
class Evaluation:
    """Metrics (each with its interval and normalisation), curves and calibration."""

    metrics: dict
    curves: UpliftCurves | None
    calibration: pd.DataFrame

    def to_dict(self) -> dict:
        return {"metrics": self.metrics, "calibration": self.calibration.to_dict("records")}


@dataclass
class FitResult:
    """A fitted learner, its scores on the held-out rows and their evaluation."""

    learner: object
    learner_name: str
    scores: pd.DataFrame
    evaluation: Evaluation
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "learner": self.learner_name,
            "learner_params": {k: repr(v) for k, v in self.learner.get_params(deep=False).items()},
            **self.settings,
            **self.evaluation.to_dict(),
        }


def evaluate_scores(
    df: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    score: str,
    k: float = 0.3,
    n_boot: int = 200,
    bins: int = 1000,
    prob: float = 0.9,
    seed: int = 0,
    source: str | None = None,
) -> Evaluation:
    """Evaluate the ranking by ``score`` of a scored experiment (any file with outcome,
    treatment and score columns); validated first (:func:`read_scores`)."""
    src = source or "<scores>"
    df = read_scores(df, score=score, outcome=outcome, treatment=treatment, source=src)
    y, t, s = (df[c].to_numpy(float) for c in (outcome, treatment, score))
    try:
        metrics, curves = uplift_metrics(
            y, t, s, k=k, n_boot=n_boot, bins=bins, prob=prob, seed=seed
        )
        cal = calibration_by_decile(y, t, s, n_boot=n_boot, prob=prob, seed=seed)
    except ValueError as exc:
        raise InputError(str(exc), source=src) from exc
    return Evaluation(metrics=metrics, curves=curves, calibration=cal)


def fit_uplift(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    features: Sequence[str],
    learner: str = "two-model",
    estimator=None,
    test_size: float = 0.3,
    k: float = 0.3,
    n_boot: int = 200,
    prob: float = 0.9,
    seed: int = 0,
    source: str | None = None,
) -> FitResult:
    """Validate, split (stratified by arm and outcome), fit ``learner`` on the training rows,
    score the held-out rows and evaluate them.

    The scores frame holds the held-out rows with every input column plus ``uplift``,
    ``p_control``, ``p_treated`` and, where the learner gives one, ``uplift_lower_90`` /
    ``uplift_upper_90``.
    """
    from sklearn.base import is_classifier

    if learner not in LEARNERS:
        raise InputError(f"unknown learner {learner!r}; choose one of {list(LEARNERS)}")
    if not features:
        raise InputError("give at least one feature column (--features)")
    model = make_learner(learner, estimator=estimator, random_state=seed)
    binary = is_classifier(model._outcome_model())
    src = source or "<experiment>"
    df = read_experiment(
        data,
        outcome=outcome,
        treatment=treatment,
        features=features,
        binary_outcome=binary,
        source=src,
    )
    train, test = split_experiment(df, outcome, treatment, test_size, seed)
    for name, idx in (("training", train), ("test", test)):
        arms = set(df[treatment].to_numpy()[idx].tolist())
        if arms != {0, 1}:
            raise InputError(
                f"the {name} split has only arm(s) {sorted(arms)}; add data or change --test-size",
                source=src,
                column=treatment,
            )
    enc = feature_encoder(df, features).fit(df.iloc[train][list(features)])
    X = enc.transform(df[list(features)])
    y = df[outcome].to_numpy(float)
    t = df[treatment].to_numpy(int)
    scores = df.iloc[test].reset_index(drop=True).copy()
    Xt = X[test]
    with compute_threads():
        try:
            model.fit(X[train], y[train], t[train])
        except ValueError as exc:
            raise InputError(f"cannot fit the {learner} learner: {exc}", source=src) from exc
        p0, p1 = model.predict_outcomes(Xt)
        scores["uplift"] = model.predict(Xt)
        scores["p_control"] = p0
        scores["p_treated"] = p1
        if model.has_interval:
            lo, hi = model.predict_interval(Xt, prob=prob)
            lo_name, hi_name = interval_names(prob, "uplift")
            scores[lo_name], scores[hi_name] = lo, hi
    ev = evaluate_scores(
        scores,
        outcome=outcome,
        treatment=treatment,
        score="uplift",
        k=k,
        n_boot=n_boot,
        prob=prob,
        seed=seed,
        source=f"{src} (held-out rows)",
    )
    model.feature_names_ = list(enc.get_feature_names_out())
    settings = {
        "outcome": outcome,
        "treatment": treatment,
        "features": list(features),
        "encoded_features": model.feature_names_,
        "rows": len(df),
        "train_rows": int(train.size),
        "test_rows": int(test.size),
        "test_size": test_size,
        "split": "stratified by arm and outcome; scores and metrics on the held-out rows",
        "interval": "posterior of the linear CATE (Bayesian ridge final stage)"
        if learner == "dr" and model.has_interval
        else ("econml forest confidence interval" if learner == "causal-forest" else None),
        "seed": seed,
    }
    return FitResult(
        learner=model, learner_name=learner, scores=scores, evaluation=ev, settings=settings
    )


def compare_learners(
    data,
    *,
    learners: Sequence[str] = ("two-model", "s", "x", "dr"),
    features: Sequence[str],
    value: float,
    promo_cost: float = 0.0,
    contact_cost: float = 0.0,
    k: float = 0.3,
    n_boot: int = 200,
    test_size: float = 0.3,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """On generated data (:class:`~bayes.uplift.data.UpliftData`): each learner's held-out
    Qini coefficient and AUUC with intervals, beside the same for the *true* uplift, and the
    regret of its policy against the oracle (:func:`bayes.uplift.targeting.policy_regret`).

    Returns the comparison table and the per-learner :class:`FitResult`.
    """
    from bayes.uplift.targeting import policy_regret

    ex = data.experiment
    truth = data.truth.set_index("user_id")
    lo, hi = interval_names(0.9)
    rows, fits = [], {}
    checked = read_experiment(
        ex,
        outcome="converted",
        treatment="treatment_flag",
        features=features,
        binary_outcome=True,
        source="<generated experiment>",
    )
    _, test = split_experiment(checked, "converted", "treatment_flag", test_size, seed)
    for name in ("truth", *learners):
        if name == "truth":  # the same held-out rows as every learner's (same split)
            sc = checked.iloc[test].reset_index(drop=True).copy()
            t = truth.loc[sc["user_id"]]
            sc["uplift"] = t["true_uplift"].to_numpy()
            sc["p_control"] = t["p_control"].to_numpy()
            sc["p_treated"] = t["p_treated"].to_numpy()
            ev = evaluate_scores(
                sc,
                outcome="converted",
                treatment="treatment_flag",
                score="uplift",
                k=k,
                n_boot=n_boot,
                seed=seed,
            )
        else:
            fit = fit_uplift(
                ex,
                outcome="converted",
                treatment="treatment_flag",
                features=features,
                learner=name,
                test_size=test_size,
                k=k,
                n_boot=n_boot,
                seed=seed,
            )
            fits[name] = fit
            sc, ev = fit.scores, fit.evaluation
        t = truth.loc[sc["user_id"]]
        reg = policy_regret(
            predicted_uplift=sc["uplift"].to_numpy(),
            predicted_p_treated=sc["p_treated"].to_numpy(),
            true_uplift=t["true_uplift"].to_numpy(),
            true_p_treated=t["p_treated"].to_numpy(),
            value=value,
            promo_cost=promo_cost,
            contact_cost=contact_cost,
            fraction=k,
        )
        m = ev.metrics
        rows.append(
            {
                "learner": name,
                "qini_coefficient": m["qini_coefficient"]["value"],
                f"qini_coefficient_{lo}": m["qini_coefficient"][lo],
                f"qini_coefficient_{hi}": m["qini_coefficient"][hi],
                "uplift_auc_score": m["uplift_auc_score"]["value"],
                "auuc_per_user": m["auuc_per_user"]["value"],
                f"auuc_per_user_{lo}": m["auuc_per_user"][lo],
                f"auuc_per_user_{hi}": m["auuc_per_user"][hi],
                "uplift_at_k_overall": m["uplift_at_k_overall"]["value"],
                "rank_corr_true_uplift": float(
                    pd.Series(sc["uplift"].to_numpy()).corr(
                        pd.Series(t["true_uplift"].to_numpy()), method="spearman"
                    )
                ),
                **reg,
            }
        )
    return pd.DataFrame(rows), fits
