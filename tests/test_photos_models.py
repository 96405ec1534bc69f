"""Core_90d baselines, drivers, lift and segments (seed 000 §3-§4) and their calibration.

Tolerances: the seed's metric ranges are +-0.02 around their centres. At n_test = 15,000 the
Hanley-McNeil standard error of an AUC near 0.74 is about 0.0045 and that of an accuracy near
0.70 about 0.0037, so each range is more than 4 standard errors wide on either side; the tests
check that too, so shrinking the sample makes them say why they fail.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from bayes.photos.analysis import SEED_DRIVER_SIGNS, analyze, seed_drivers_check
from bayes.photos.data import DEFAULT_ROWS, generate_photos
from models.core_activation import (
    FEATURES,
    CoreSegmenter,
    auc_standard_error,
    calibration_table,
    classification_metrics,
    fit_baselines,
    lift_by_decile,
    make_forest,
    make_logistic,
    measure_segments,
    segment_table,
)
from priors.segments import SEGMENT_KEYS, SEGMENTS, segments_from_table

# seed §3.1 ranges (accuracy, ROC AUC)
RANGES = {
    "logistic": {"accuracy": (0.68, 0.72), "roc_auc": (0.72, 0.76)},
    "random_forest": {"accuracy": (0.69, 0.73), "roc_auc": (0.73, 0.77)},
}


@pytest.fixture(scope="module")
def default_data():
    return generate_photos(DEFAULT_ROWS, seed=0)


@pytest.fixture(scope="module")
def sample_analysis():
    df = generate_photos(60_000, seed=0)
    return analyze(df, seed=0)


# --------------------------------------------------------------------------- segments


@pytest.fixture(scope="module")
def default_segments(default_data):
    return measure_segments(default_data, random_state=0)


def test_segments_reproduce_the_declared_priors(default_segments):
    """The calibration target of priors.segments on the default data (200,000 rows, seed 0).

    The declared values are rounded to two decimals (error <= 0.005) and the measured ones carry
    binomial sampling error, sqrt(p(1-p)/n) over all rows for a share (about 0.001) and over the
    segment's rows for a baseline (about 0.003 for the smallest segment), so each is allowed
    0.005 + 3 standard errors. Measured on this data: at most 0.006 (shares) and 0.007
    (baselines) away from the declaration.
    """
    measured = default_segments.set_index("segment")
    n_total = measured["n"].sum()
    assert n_total == DEFAULT_ROWS
    for key in SEGMENT_KEYS:
        share, base = SEGMENTS.loc[key, "share"], SEGMENTS.loc[key, "baseline_core_90d"]
        share_tol = 0.005 + 3 * np.sqrt(share * (1 - share) / n_total)
        base_tol = 0.005 + 3 * np.sqrt(base * (1 - base) / measured.loc[key, "n"])
        assert abs(measured.loc[key, "share"] - share) <= share_tol, key
        assert abs(measured.loc[key, "baseline_core_90d"] - base) <= base_tol, key
        assert measured.loc[key, "cluster"] == SEGMENTS.loc[key, "cluster"]
        assert measured.loc[key, "label"] == SEGMENTS.loc[key, "label"]


def test_segment_profiles_match_the_seed_descriptions(default_segments):
    s = default_segments.set_index("segment")
    assert list(s["cluster"]) == [0, 2, 3, 1]
    assert s.loc["power_prime", "n_app_launch_7d"] >= 30
    launches = s["n_app_launch_7d"]
    assert launches.is_monotonic_decreasing
    assert s["n_photo_view_events_7d"].is_monotonic_decreasing
    assert s["baseline_core_90d"].is_monotonic_decreasing
    assert s.loc["power_prime", "prime_share"] > 0.8 and s.loc["prime_mid", "prime_share"] > 0.7
    assert 0.3 < s.loc["mixed_mid", "prime_share"] < 0.7
    assert s.loc["low_engaged", "prime_share"] < 0.3
    assert s.loc["power_prime", "mobile_entry_share"] == s["mobile_entry_share"].max()


def test_measured_table_swaps_into_the_priors(default_segments):
    out = segments_from_table(default_segments)
    assert list(out.index) == list(SEGMENT_KEYS)
    np.testing.assert_allclose(out["share"].sum(), 1.0)
    np.testing.assert_allclose(
        out["baseline_core_90d"], default_segments["baseline_core_90d"].to_numpy()
    )


def test_labels_follow_profiles_not_kmeans_indices():
    """Different K-means seeds permute the raw indices; the profile labels stay put."""
    df = generate_photos(20_000, seed=5)
    a = CoreSegmenter(random_state=0, n_init=3).fit(df)
    b = CoreSegmenter(random_state=7, n_init=3).fit(df)
    assert (a.predict(df) == b.predict(df)).mean() > 0.97
    assert (a.labels_ == a.predict(df)).all()
    assert set(a.segment_of_kmeans_.values()) == set(SEGMENT_KEYS)
    # relabelled by hand: shuffle rows, the mapping still names the same customers
    perm = np.random.default_rng(0).permutation(len(df))
    c = CoreSegmenter(random_state=0, n_init=3).fit(df.iloc[perm])
    assert (c.predict(df) == a.predict(df)).mean() > 0.97


def test_segmenter_follows_the_estimator_contract():
    df = generate_photos(3_000, seed=2)
    before = df.copy()
    seg = CoreSegmenter(random_state=4)
    assert seg.get_params() == {
        "n_clusters": 4,
        "prime_weight": 0.5,
        "random_state": 4,
        "n_init": 10,
    }
    assert not hasattr(seg, "labels_")
    with pytest.raises(NotFittedError):
        seg.predict(df)
    assert seg.fit(df) is seg
    pd.testing.assert_frame_equal(df, before)
    assert clone(seg).get_params() == seg.get_params()
    assert list(seg.profile_.index) == list(SEGMENT_KEYS)
    with pytest.raises(ValueError, match="n_clusters"):
        CoreSegmenter(n_clusters=3).fit(df)
    with pytest.raises(ValueError, match="n_app_launch_7d"):
        seg.predict(df.drop(columns="n_app_launch_7d"))


def test_segment_table_worked_example():
    df = pd.DataFrame(
        {
            "n_upload_events_7d": [1, 3, 0, 0],
            "n_app_launch_7d": [30, 10, 2, 4],
            "n_photo_view_events_7d": [100, 50, 1, 3],
            "n_notifications_opened_7d": [5, 1, 0, 0],
            "n_distinct_platforms_7d": [3, 2, 1, 1],
            "prime_status_at_first_login": ["Prime", "Prime", "Trial", "NonPrime"],
            "entry_client": ["iOS", "Android", "PhotosWeb", "iOS"],
            "is_core_90d": [1, 0, 0, 1],
        }
    )
    t = segment_table(df, ["power_prime", "prime_mid", "low_engaged", "low_engaged"])
    t = t.set_index("segment")
    assert t.loc["low_engaged", "share"] == 0.5
    assert t.loc["low_engaged", "baseline_core_90d"] == 0.5
    assert t.loc["low_engaged", "n_app_launch_7d"] == 3.0
    assert t.loc["low_engaged", "mobile_entry_share"] == 0.5
    assert t.loc["mixed_mid", "n"] == 0 and t.loc["mixed_mid", "share"] == 0.0


# --------------------------------------------------------------------------- classifiers


def _check_ranges(metrics: pd.DataFrame) -> None:
    m = metrics.set_index("model")
    for model, targets in RANGES.items():
        for metric, (lo, hi) in targets.items():
            value = m.loc[model, metric]
            assert lo <= value <= hi, f"{model} {metric} = {value:.4f} outside [{lo}, {hi}]"


def test_metric_ranges_are_wide_enough_for_the_sample(sample_analysis):
    m = sample_analysis.metrics.set_index("model")
    n = m.loc["logistic", "n_test"]
    assert n == 15_000
    acc_se = np.sqrt(0.7 * 0.3 / n)
    assert 0.02 / m["roc_auc_se"].max() > 4 and 0.02 / acc_se > 4


def test_baseline_metrics_land_in_the_seed_ranges(sample_analysis):
    _check_ranges(sample_analysis.metrics)
    m = sample_analysis.metrics.set_index("model")
    assert m.loc["random_forest", "roc_auc"] > m.loc["logistic", "roc_auc"]


@pytest.mark.slow
def test_baseline_metrics_on_the_default_data(default_data):
    res = fit_baselines(default_data, seed=0)
    _check_ranges(res.metrics)
    m = res.metrics.set_index("model")
    assert m.loc["random_forest", "roc_auc"] > m.loc["logistic", "roc_auc"]
    assert m.loc["random_forest", "accuracy"] > m.loc["logistic", "accuracy"]


def test_drivers_have_the_seed_signs(sample_analysis):
    check = seed_drivers_check(sample_analysis.drivers)
    assert len(check) == len(SEED_DRIVER_SIGNS)
    assert check["agrees"].all(), check[~check["agrees"]]
    d = sample_analysis.drivers.set_index("feature")
    assert (d["rf_importance"] >= 0).all()
    np.testing.assert_allclose(d["rf_importance"].sum(), 1.0, atol=1e-9)
    assert (
        d.loc["n_distinct_platforms_7d", "rf_importance"] > d.loc["lead_snapfish", "rf_importance"]
    )


def test_lift_top_decile_well_above_bottom(sample_analysis):
    for model, t in sample_analysis.lift.groupby("model"):
        t = t.set_index("decile").sort_index()
        assert len(t) == 10 and t["n"].sum() == 15_000
        assert t.loc[10, "core_rate"] > 3 * t.loc[1, "core_rate"], model
        # nearly monotone: rank correlation of decile and Core rate
        assert t["core_rate"].rank().corr(pd.Series(t.index, index=t.index).rank()) > 0.9
        assert t["cum_capture"].iloc[0] == pytest.approx(1.0)


def test_calibration_is_reported_and_reasonable(sample_analysis):
    m = sample_analysis.metrics.set_index("model")
    assert (m["ece"] < 0.04).all()
    assert (m["brier"] < 0.22).all()
    cal = sample_analysis.calibration
    assert set(cal["model"]) == {"logistic", "random_forest"}
    assert cal.groupby("model")["n"].sum().eq(15_000).all()


def test_lift_by_decile_worked_example():
    score = np.arange(100) / 100
    y = (np.arange(100) >= 70).astype(int)  # the top 30 scores are Core
    t = lift_by_decile(y, score).set_index("decile")
    assert t["n"].eq(10).all()
    assert list(t.loc[[10, 9, 8, 7], "core_rate"]) == [1.0, 1.0, 1.0, 0.0]
    assert t.loc[10, "lift"] == pytest.approx(1 / 0.3)
    assert t.loc[8, "cum_capture"] == pytest.approx(1.0)


def test_calibration_table_and_metrics_worked_example():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.05, 0.15, 0.85, 0.95])
    t = calibration_table(y, s)
    assert list(t["n"]) == [1, 1, 1, 1]
    m = classification_metrics(y, s)
    assert m["accuracy"] == 1.0 and m["roc_auc"] == 1.0
    assert m["brier"] == pytest.approx(np.mean([0.05**2, 0.15**2, 0.15**2, 0.05**2]))
    assert m["ece"] == pytest.approx(0.1)


def test_auc_standard_error_matches_monte_carlo(rng):
    """Hanley-McNeil SE against the spread of AUCs over 400 simulated binormal samples."""
    from sklearn.metrics import roc_auc_score

    n_pos, n_neg, shift = 150, 250, 0.9
    aucs = []
    for _ in range(400):
        s = np.r_[rng.normal(shift, 1, n_pos), rng.normal(0, 1, n_neg)]
        y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
        aucs.append(roc_auc_score(y, s))
    aucs = np.array(aucs)
    se = auc_standard_error(aucs.mean(), n_pos, n_neg)
    # the SD of 400 draws has a relative standard error of about 1/sqrt(2*399) = 3.5%
    assert abs(aucs.std(ddof=1) / se - 1) < 0.15


def test_pipelines_are_unfitted_sklearn_estimators():
    for make in (make_logistic, make_forest):
        pipe = make()
        assert not hasattr(pipe.named_steps["clf"], "classes_")
        assert clone(pipe).get_params().keys() == pipe.get_params().keys()


def test_fit_baselines_rejects_a_single_class_and_missing_features():
    df = generate_photos(400, seed=1)
    with pytest.raises(ValueError, match="single class"):
        fit_baselines(df.assign(is_core_90d=0))
    with pytest.raises(ValueError, match="lead_any"):
        fit_baselines(df.drop(columns="lead_any"))
    assert "lead_any" in FEATURES
