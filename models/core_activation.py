"""Core_90d activation: baseline classifiers, drivers, lift and segments (seed 000 §3-§4).

Everything here takes a plain ``photos_first_login_features`` frame (see
:mod:`bayes.photos.data`) and never mutates it. Preprocessing is a scikit-learn
:class:`~sklearn.compose.ColumnTransformer` inside a :class:`~sklearn.pipeline.Pipeline`, and the
segmenter follows the estimator contract (``__init__`` stores, ``fit`` learns ``*_`` state and
returns ``self``, ``predict`` never refits).

* :func:`make_logistic` and :func:`make_forest` build the two baselines of seed §3.1;
  :func:`fit_baselines` fits both on a stratified train split and scores the held-out split.
* :func:`drivers` reads the seed §3.2 drivers from logistic coefficients and forest importances.
* :func:`lift_by_decile` and :func:`calibration_table` describe the ranking and the calibration.
* :class:`CoreSegmenter` is the K-means segmentation of seed §4, labelled by cluster profile;
  :func:`segment_table` measures share, baseline Core_90d and behavioural profile per segment in
  the layout :func:`priors.segments.segments_from_table` accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from priors.segments import SEGMENT_KEYS, SEGMENTS

__all__ = [
    "BINARY_FEATURES",
    "CATEGORICAL_FEATURES",
    "COUNT_FEATURES",
    "FEATURES",
    "SEGMENT_FEATURES",
    "TARGET",
    "BaselineResult",
    "CoreSegmenter",
    "auc_standard_error",
    "calibration_table",
    "classification_metrics",
    "drivers",
    "fit_baselines",
    "lift_by_decile",
    "make_forest",
    "make_logistic",
    "measure_segments",
    "segment_table",
]

TARGET = "is_core_90d"
CATEGORICAL_FEATURES: tuple[str, ...] = (
    "attrib_channel_type",
    "attrib_client_tier",
    "entry_client",
    "prime_status_at_first_login",
)
BINARY_FEATURES: tuple[str, ...] = (
    "lead_group_sharing",
    "lead_wakescreen",
    "lead_prints",
    "lead_snapfish",
    "lead_retail_prints",
    "lead_any",
)
COUNT_FEATURES: tuple[str, ...] = (
    "n_upload_events_7d",
    "n_app_launch_7d",
    "n_photo_view_events_7d",
    "n_notifications_opened_7d",
    "n_distinct_platforms_7d",
)
FEATURES: tuple[str, ...] = CATEGORICAL_FEATURES + BINARY_FEATURES + COUNT_FEATURES

#: K-means inputs (seed §4: early behaviour + platform + Prime); counts enter as log1p
SEGMENT_FEATURES: tuple[str, ...] = COUNT_FEATURES + ("prime_status_at_first_login",)
_LOG_COUNTS = COUNT_FEATURES[:4]
_MOBILE = ("Android", "iOS")


# --------------------------------------------------------------------------- classifiers


def _log1p(x):
    return np.log1p(np.asarray(x, dtype=float))


def _is_prime(x):
    return (np.asarray(x) == "Prime").astype(float).reshape(len(x), -1)


def _weigh(x, weights):
    return np.asarray(x, dtype=float) * weights


def _unweigh(x, weights):
    return np.asarray(x, dtype=float) / weights


def _named_log1p() -> FunctionTransformer:
    return FunctionTransformer(_log1p, feature_names_out="one-to-one")


def make_logistic(C: float = 1.0, max_iter: int = 2000) -> Pipeline:
    """Logistic regression of seed §3.1: one-hot categories, lead flags as 0/1, counts as
    standardised ``log1p`` (so a coefficient is the log-odds per standard deviation)."""
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
            ("lead", "passthrough", list(BINARY_FEATURES)),
            (
                "count",
                Pipeline([("log1p", _named_log1p()), ("scale", StandardScaler())]),
                list(COUNT_FEATURES),
            ),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression(C=C, max_iter=max_iter))])


def make_forest(
    n_estimators: int = 200,
    max_depth: int | None = 8,
    min_samples_leaf: int = 50,
    n_jobs: int = 2,
    random_state: int = 0,
) -> Pipeline:
    """Random forest of seed §3.1 on the same features (one-hot categories, raw counts)."""
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
            ("num", "passthrough", list(BINARY_FEATURES + COUNT_FEATURES)),
        ],
        verbose_feature_names_out=False,
    )
    clf = RandomForestClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    return Pipeline([("pre", pre), ("clf", clf)])


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of a ROC AUC (Hanley & McNeil 1982, eq. 2).

    ``SE^2 = [A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)] / (n1 n0)``, with
    ``Q1 = A/(2-A)`` and ``Q2 = 2A^2/(1+A)``.
    """
    a = float(auc)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    return float(np.sqrt(var))


def classification_metrics(y, score, threshold: float = 0.5) -> dict:
    """Accuracy (at ``threshold``), ROC AUC with its standard error, Brier score, log loss,
    expected calibration error (10 equal-width bins) and the base rate."""
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    auc = roc_auc_score(y, score)
    n_pos = int(y.sum())
    cal = calibration_table(y, score, n_bins=10)
    ece = float((cal["n"] * (cal["mean_score"] - cal["core_rate"]).abs()).sum() / len(y))
    return {
        "n_test": len(y),
        "base_rate": float(y.mean()),
        "accuracy": float(accuracy_score(y, score >= threshold)),
        "roc_auc": float(auc),
        "roc_auc_se": auc_standard_error(auc, n_pos, len(y) - n_pos),
        "brier": float(brier_score_loss(y, score)),
        "log_loss": float(log_loss(y, np.clip(score, 1e-12, 1 - 1e-12))),
        "ece": ece,
    }


@dataclass
class BaselineResult:
    """Both fitted baselines and their held-out scores (seed §3.1)."""

    logistic: Pipeline
    forest: Pipeline
    test_index: pd.Index
    y_test: np.ndarray
    scores: dict[str, np.ndarray]
    fit_seconds: dict[str, float]

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per model: the :func:`classification_metrics` on the test split."""
        rows = {m: classification_metrics(self.y_test, s) for m, s in self.scores.items()}
        out = pd.DataFrame(rows).T
        out.index.name = "model"
        out["n_test"] = out["n_test"].astype(int)
        out["fit_seconds"] = pd.Series(self.fit_seconds)
        return out.reset_index()


def _check_columns(df: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; got {list(df.columns)}")


def fit_baselines(
    df: pd.DataFrame,
    *,
    test_size: float = 0.25,
    seed: int = 0,
    forest: Pipeline | None = None,
    logistic: Pipeline | None = None,
) -> BaselineResult:
    """Fit the logistic and forest baselines on a stratified split; score the held-out part."""
    import time

    _check_columns(df, FEATURES + (TARGET,), "fit_baselines")
    y = df[TARGET].to_numpy().astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError(f"{TARGET} has a single class; cannot fit a classifier")
    X = df[list(FEATURES)]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    models = {
        "logistic": logistic if logistic is not None else make_logistic(),
        "random_forest": forest if forest is not None else make_forest(random_state=seed),
    }
    scores, seconds = {}, {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X_train, y_train)
        seconds[name] = time.perf_counter() - t0
        scores[name] = model.predict_proba(X_test)[:, 1]
    return BaselineResult(
        logistic=models["logistic"],
        forest=models["random_forest"],
        test_index=X_test.index,
        y_test=y_test,
        scores=scores,
        fit_seconds=seconds,
    )


def drivers(logistic: Pipeline, forest: Pipeline | None = None) -> pd.DataFrame:
    """Drivers of Core_90d (seed §3.2): logistic coefficients (log-odds per unit of a 0/1 or
    one-hot feature, per SD of ``log1p`` count) with their odds ratios and sign, and, when a
    forest is given, its impurity importances per original feature (one-hot levels kept)."""
    check_is_fitted(logistic)
    names = logistic.named_steps["pre"].get_feature_names_out()
    coef = logistic.named_steps["clf"].coef_[0]
    out = pd.DataFrame({"feature": names, "coefficient": coef})
    out["odds_ratio"] = np.exp(out["coefficient"])
    out["direction"] = np.where(out["coefficient"] >= 0, "positive", "negative")
    if forest is not None:
        check_is_fitted(forest)
        imp = pd.Series(
            forest.named_steps["clf"].feature_importances_,
            index=forest.named_steps["pre"].get_feature_names_out(),
        )
        out["rf_importance"] = out["feature"].map(imp).fillna(0.0).to_numpy()
    return out.sort_values("coefficient", key=np.abs, ascending=False, ignore_index=True)


def lift_by_decile(y, score, n_bins: int = 10) -> pd.DataFrame:
    """Core_90d rate by score decile (decile 10 = highest scores) with lift over the base rate
    and the cumulative share of Core customers captured from the top down."""
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    # rank first so ties never create empty bins
    ranks = pd.Series(score).rank(method="first").to_numpy()
    decile = np.ceil(ranks * n_bins / len(ranks)).astype(int)
    t = (
        pd.DataFrame({"decile": decile, "y": y, "score": score})
        .groupby("decile")
        .agg(
            n=("y", "size"),
            mean_score=("score", "mean"),
            core_rate=("y", "mean"),
            core=("y", "sum"),
        )
        .reset_index()
    )
    t["lift"] = t["core_rate"] / y.mean()
    t = t.sort_values("decile", ascending=False, ignore_index=True)
    t["cum_capture"] = t["core"].cumsum() / max(y.sum(), 1)
    return t.drop(columns="core")


def calibration_table(y, score, n_bins: int = 10) -> pd.DataFrame:
    """Reliability table: equal-width score bins with mean score vs observed Core_90d rate."""
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    b = np.clip((score * n_bins).astype(int), 0, n_bins - 1)
    t = (
        pd.DataFrame({"bin": b, "y": y, "score": score})
        .groupby("bin")
        .agg(n=("y", "size"), mean_score=("score", "mean"), core_rate=("y", "mean"))
        .reset_index()
    )
    t["bin_low"] = t["bin"] / n_bins
    t["bin_high"] = (t["bin"] + 1) / n_bins
    return t[["bin_low", "bin_high", "n", "mean_score", "core_rate"]]


# --------------------------------------------------------------------------- segments


class CoreSegmenter(ClusterMixin, BaseEstimator):
    """K-means segmentation of seed §4, labelled by profile with the seed's cluster ids.

    Features (:data:`SEGMENT_FEATURES`): ``log1p`` of uploads, launches, photo views and
    notifications opened, the number of distinct platforms, and a Prime indicator; all
    standardised before K-means (``k = 4``, fixed ``random_state``).

    Labels come from the cluster profiles, never from the raw K-means index: the most engaged
    cluster (mean standardised ``log1p`` launches + views) is ``power_prime`` (seed cluster 0),
    the least engaged is ``low_engaged`` (1); of the two middle clusters the one with the higher
    Prime share is ``prime_mid`` (2), the other ``mixed_mid`` (3).

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        Preprocessing and the fitted :class:`~sklearn.cluster.KMeans`.
    segment_of_kmeans_ : dict
        Raw K-means index -> segment key.
    labels_ : numpy.ndarray
        Seed cluster id (0, 2, 3, 1) of each training row.
    profile_ : pandas.DataFrame
        Cluster centres in original units, indexed by segment key.
    """

    def __init__(
        self,
        n_clusters: int = 4,
        prime_weight: float = 0.5,
        random_state: int = 0,
        n_init: int = 10,
    ):
        self.n_clusters = n_clusters
        self.prime_weight = prime_weight
        self.random_state = random_state
        self.n_init = n_init

    def _pipeline(self) -> Pipeline:
        pre = ColumnTransformer(
            [
                ("log", _named_log1p(), list(_LOG_COUNTS)),
                ("plat", "passthrough", ["n_distinct_platforms_7d"]),
                (
                    "prime",
                    FunctionTransformer(_is_prime, feature_names_out=lambda *_: ["is_prime"]),
                    ["prime_status_at_first_login"],
                ),
            ],
            verbose_feature_names_out=False,
        )
        km = KMeans(n_clusters=self.n_clusters, random_state=self.random_state, n_init=self.n_init)
        weights = np.ones(len(SEGMENT_FEATURES))
        weights[-1] = self.prime_weight
        weigh = FunctionTransformer(
            _weigh,
            kw_args={"weights": weights},
            inverse_func=_unweigh,
            inv_kw_args={"weights": weights},
            feature_names_out="one-to-one",
        )
        return Pipeline(
            [("pre", pre), ("scale", StandardScaler()), ("weigh", weigh), ("kmeans", km)]
        )

    def fit(self, X: pd.DataFrame, y=None) -> CoreSegmenter:
        if self.n_clusters != len(SEGMENT_KEYS):
            raise ValueError(
                f"the seed's labels need n_clusters={len(SEGMENT_KEYS)}, got {self.n_clusters}"
            )
        _check_columns(X, SEGMENT_FEATURES, "CoreSegmenter")
        pipe = self._pipeline().fit(X[list(SEGMENT_FEATURES)])
        km = pipe.named_steps["kmeans"]
        names = pipe.named_steps["pre"].get_feature_names_out()
        z = pipe.named_steps["weigh"].inverse_transform(km.cluster_centers_)
        centres_z = pd.DataFrame(z, columns=names)
        centres = pd.DataFrame(pipe.named_steps["scale"].inverse_transform(z), columns=names)
        engagement = centres_z["n_app_launch_7d"] + centres_z["n_photo_view_events_7d"]
        order = engagement.sort_values(ascending=False).index.tolist()
        top, middle, bottom = order[0], order[1:3], order[3]
        mid_by_prime = sorted(middle, key=lambda k: -centres.loc[k, "is_prime"])
        self.segment_of_kmeans_ = {
            int(top): "power_prime",
            int(mid_by_prime[0]): "prime_mid",
            int(mid_by_prime[1]): "mixed_mid",
            int(bottom): "low_engaged",
        }
        self.pipeline_ = pipe
        self.n_features_in_ = len(SEGMENT_FEATURES)
        counts = centres.copy()
        counts[list(_LOG_COUNTS)] = np.expm1(counts[list(_LOG_COUNTS)])
        counts.index = [self.segment_of_kmeans_[i] for i in counts.index]
        self.profile_ = counts.loc[list(SEGMENT_KEYS)]
        self.labels_ = self._to_cluster_id(km.labels_)
        return self

    def _to_cluster_id(self, raw: np.ndarray) -> np.ndarray:
        lookup = np.empty(self.n_clusters, dtype=np.int64)
        for k, seg in self.segment_of_kmeans_.items():
            lookup[k] = SEGMENTS.loc[seg, "cluster"]
        return lookup[np.asarray(raw)]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Seed cluster id (0 power, 2 prime mid, 3 mixed mid, 1 low) of each row."""
        check_is_fitted(self, "pipeline_")
        _check_columns(X, SEGMENT_FEATURES, "CoreSegmenter.predict")
        return self._to_cluster_id(self.pipeline_.predict(X[list(SEGMENT_FEATURES)]))

    def predict_segment(self, X: pd.DataFrame) -> np.ndarray:
        """Segment key (:data:`priors.segments.SEGMENT_KEYS`) of each row."""
        key_of_cluster = dict(zip(SEGMENTS["cluster"], SEGMENTS.index, strict=True))
        return np.array([key_of_cluster[c] for c in range(self.n_clusters)], dtype=object)[
            self.predict(X)
        ]


def segment_table(df: pd.DataFrame, segment) -> pd.DataFrame:
    """Share, baseline Core_90d and behavioural profile per segment (seed §4).

    ``segment`` holds one segment key per row of ``df`` (e.g. from
    :meth:`CoreSegmenter.predict_segment`). The result has the columns ``segment``, ``cluster``,
    ``label``, ``n``, ``share``, ``baseline_core_90d`` then profile means (counts, Prime and
    mobile-entry shares), in the seed's table order, and is accepted by
    :func:`priors.segments.segments_from_table`.
    """
    _check_columns(df, SEGMENT_FEATURES + ("entry_client", TARGET), "segment_table")
    seg = pd.Series(np.asarray(segment, dtype=object), index=df.index, name="segment")
    work = pd.DataFrame(
        {
            "segment": seg,
            "y": df[TARGET].astype(float),
            **{c: df[c].astype(float) for c in COUNT_FEATURES},
            "prime_share": (df["prime_status_at_first_login"] == "Prime").astype(float),
            "mobile_entry_share": df["entry_client"].isin(_MOBILE).astype(float),
        }
    )
    g = work.groupby("segment")
    t = g.mean().rename(columns={"y": "baseline_core_90d"})
    t.insert(0, "n", g.size())
    t.insert(1, "share", t["n"] / len(work))
    t = t.reindex(list(SEGMENT_KEYS))
    t["n"] = t["n"].fillna(0).astype(int)
    t["share"] = t["share"].fillna(0.0)
    t.insert(0, "label", SEGMENTS["label"])
    t.insert(0, "cluster", SEGMENTS["cluster"])
    t.index.name = "segment"
    cols = ["cluster", "label", "n", "share", "baseline_core_90d"]
    return t[cols + [c for c in t.columns if c not in cols]].reset_index()


def measure_segments(df: pd.DataFrame, *, random_state: int = 0) -> pd.DataFrame:
    """Fit :class:`CoreSegmenter` on ``df`` and return :func:`segment_table` for it.

    The result feeds :func:`priors.segments.segments_from_table`, so measured shares and
    baselines can replace the declared ones in the video priors.
    """
    segmenter = CoreSegmenter(random_state=random_state).fit(df)
    return segment_table(df, segmenter.predict_segment(df))
