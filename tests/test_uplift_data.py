"""The promotion-experiment generator (known shares, known uplift) and the validated readers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes.io import InputError
from bayes.uplift.data import (
    DEFAULT_SHARES,
    FEATURES,
    generate_uplift_data,
    read_experiment,
    read_scores,
)
from models.uplift.simulate import RESPONSE_TYPES, calibrate_intercepts, true_effects


@pytest.fixture(scope="module")
def data():
    return generate_uplift_data(6000, seed=4)


def test_shapes_and_schema(data):
    ex, tr = data.experiment, data.truth
    assert list(ex.columns) == [
        "user_id",
        *FEATURES,
        "treatment_flag",
        "converted",
        "promo_flag",
        "margin",
    ]
    assert len(ex) == len(tr) and (ex["user_id"] == tr["user_id"]).all()
    # every customer of the growth data is in the experiment
    assert set(ex["user_id"]) == set(data.orders["user_id"])
    assert set(ex["treatment_flag"]) == {0, 1}
    assert ((ex["margin"] > 0) == (ex["converted"] == 1)).all()
    assert (ex["promo_flag"] == ex["converted"] * ex["treatment_flag"]).all()


def test_expected_shares_equal_declared_exactly(data):
    means = [data.truth[f"p_{k}"].mean() for k in RESPONSE_TYPES]
    np.testing.assert_allclose(means, [DEFAULT_SHARES[k] for k in RESPONSE_TYPES], atol=1e-9)


def test_realised_shares_within_sampling_error(data):
    """Types are independent draws with expected shares = declared: each realised share is
    within 4 standard errors (sd of a sum of independent Bernoullis with the users' pi)."""
    n = len(data.truth)
    for k in RESPONSE_TYPES:
        p = data.truth[f"p_{k}"].to_numpy()
        se = np.sqrt((p * (1 - p)).sum()) / n
        realised = (data.truth["response_type"] == k).mean()
        assert abs(realised - DEFAULT_SHARES[k]) < 4 * se


def test_truth_is_consistent(data):
    tr = data.truth
    pi = tr[[f"p_{k}" for k in RESPONSE_TYPES]].to_numpy()
    p0, p1, tau = true_effects(pi)
    np.testing.assert_allclose(tr["true_uplift"], tau)
    np.testing.assert_allclose(tr["true_uplift"], tr["p_persuadable"] - tr["p_sleeping_dog"])
    ind = tr.groupby("response_type")["individual_uplift"].unique()
    assert list(ind["persuadable"]) == [1] and list(ind["sleeping_dog"]) == [-1]
    assert list(ind["sure_thing"]) == [0] and list(ind["lost_cause"]) == [0]
    # outcomes are the potential outcomes of the assigned arm
    ex = data.experiment
    y0 = tr["response_type"].isin(["sure_thing", "sleeping_dog"]).astype(int)
    y1 = tr["response_type"].isin(["sure_thing", "persuadable"]).astype(int)
    np.testing.assert_array_equal(ex["converted"], np.where(ex["treatment_flag"] == 1, y1, y0))
    # heterogeneity is real: the true uplift varies with the features
    assert tr["true_uplift"].std() > 0.1


def test_observed_ate_matches_true_within_error(data):
    ex = data.experiment
    t = ex["treatment_flag"] == 1
    p1, p0 = ex.loc[t, "converted"].mean(), ex.loc[~t, "converted"].mean()
    se = np.sqrt(p1 * (1 - p1) / t.sum() + p0 * (1 - p0) / (~t).sum())
    assert abs((p1 - p0) - 0.10) < 4 * se


def test_same_seed_same_tables():
    a, b = generate_uplift_data(800, seed=9), generate_uplift_data(800, seed=9)
    pd.testing.assert_frame_equal(a.experiment, b.experiment)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = generate_uplift_data(800, seed=10)
    assert not a.experiment["converted"].equals(c.experiment["converted"])


def test_intercept_calibration(rng):
    eta = rng.normal(size=(500, 4)) * [1, 2, 0, 0.5]
    shares = np.array([0.3, 0.1, 0.4, 0.2])
    b = calibrate_intercepts(eta, shares)
    z = np.exp(eta + b)
    np.testing.assert_allclose((z / z.sum(1, keepdims=True)).mean(0), shares, atol=1e-10)
    with pytest.raises(ValueError, match="summing to 1"):
        calibrate_intercepts(eta, [0.5, 0.5, 0.5, 0.5])


# ----------------------------------------------------------------------------- readers


def _frame():
    return pd.DataFrame(
        {
            "t": [1, 0, 1, 0, 1, 0],
            "y": [1, 0, 0, 1, 1, 0],
            "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "c": list("abcabc"),
            "s": [0.3, 0.1, 0.2, 0.5, 0.0, 0.4],
        }
    )


def test_read_experiment_accepts_true_false_and_names_bad_rows():
    df = _frame().assign(t=["true", "false"] * 3)
    out = read_experiment(df, outcome="y", treatment="t", features=["x", "c"], source="e.csv")
    assert out["t"].tolist() == [1, 0] * 3
    bad = _frame().assign(t=[1, 0, 2, 0, 1, "x"])
    with pytest.raises(InputError) as e:
        read_experiment(bad, outcome="y", treatment="t", source="e.csv")
    msg = str(e.value)
    assert "e.csv" in msg and "column 't'" in msg and "rows 4, 7" in msg and "0/1" in msg


def test_read_experiment_refuses_an_empty_arm_and_a_non_binary_outcome():
    with pytest.raises(InputError, match="control arm .* is empty"):
        read_experiment(_frame().assign(t=1), outcome="y", treatment="t", source="e.csv")
    bad = _frame().assign(y=[1, 0, 0.5, 1, 1, 0])
    with pytest.raises(InputError) as e:
        read_experiment(bad, outcome="y", treatment="t", binary_outcome=True, source="e.csv")
    assert "column 'y'" in str(e.value) and "rows 4" in str(e.value)
    # a continuous outcome is fine when the learner is not a classifier
    assert read_experiment(bad, outcome="y", treatment="t")["y"].iloc[2] == 0.5


def test_read_experiment_names_missing_features():
    bad = _frame().astype({"x": float})
    bad.loc[3, "x"] = np.nan
    with pytest.raises(InputError) as e:
        read_experiment(bad, outcome="y", treatment="t", features=["x"], source="e.csv")
    assert "column 'x'" in str(e.value) and "rows 5" in str(e.value)


def test_read_scores_names_nan_and_inf_rows():
    bad = _frame()
    bad.loc[[1, 4], "s"] = np.nan
    with pytest.raises(InputError) as e:
        read_scores(bad, score="s", source="scores.csv")
    assert "column 's'" in str(e.value) and "rows 3, 6" in str(e.value)
    bad = _frame()
    bad.loc[2, "s"] = np.inf
    with pytest.raises(InputError, match="rows 4"):
        read_scores(bad, score="s", source="scores.csv")
