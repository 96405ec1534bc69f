"""The experiment generator (known truth), the validated readers and the two engines."""

import numpy as np
import pandas as pd
import pytest

from bayes.experiments.analyze import analyze
from bayes.experiments.data import (
    ExperimentTruth,
    generate_experiment,
    generate_library,
    read_experiment,
    read_library,
    write_experiment,
)
from bayes.experiments.engine import daily_moments, moments, scan
from bayes.io import InputError
from models.experiments import difference_in_means, moments_from_arrays


@pytest.fixture(scope="module")
def exp():
    return generate_experiment(30_000, seed=4)


@pytest.fixture(scope="module")
def files(exp, tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    write_experiment(exp, d, "csv")
    write_experiment(exp, d, "parquet")
    return d


def test_generator_schema_truth_and_determinism(exp):
    f = exp.frame
    assert list(f.columns) == [
        "user_id",
        "country",
        "device",
        "acq_channel",
        "arm",
        "exposed_ts",
        "pre_orders",
        "pre_revenue",
        "orders",
        "revenue",
        "converted",
    ]
    assert set(f["arm"]) == {"control", "treatment"}
    assert f["converted"].eq(f["orders"].gt(0).astype(int)).all()
    assert (f["revenue"] >= 0).all() and (f.loc[f["orders"] == 0, "revenue"] == 0).all()
    t = exp.truth
    assert t["lift_by_device"] == {"ios": 0.08, "android": 0.04, "web": 0.0}
    # E[revenue_1]/E[revenue_0] - 1 is the users' rate-weighted device lift: between 0 and 8%
    assert 0 < t["relative_lift"]["revenue"] < 0.08
    assert t["pre_post_correlation_revenue"] > 0.3
    again = generate_experiment(30_000, seed=4)
    pd.testing.assert_frame_equal(f, again.frame)
    assert again.truth == t


@pytest.mark.slow
def test_generator_truth_is_recovered_by_device():
    """On a large experiment the estimated lift per device lands on the declared lifts."""
    d = generate_experiment(
        400_000, seed=9, truth=ExperimentTruth(lift_by_device=(0.15, 0.05, -0.05))
    )
    f = d.frame
    for dev, lift in zip(("ios", "android", "web"), (0.15, 0.05, -0.05), strict=True):
        g = f[f["device"] == dev]
        m = moments_from_arrays(
            (g["arm"] == "treatment").to_numpy().astype(int),
            g[["orders"]].to_numpy(float),
            arms=("control", "treatment"),
            columns=["orders"],
        )
        e = difference_in_means(m, "orders")
        assert abs(e.relative - lift) < 4 * e.se_relative
    # the sample ATE (both potential outcomes known) is within sampling error of the estimate
    m = moments_from_arrays(
        (f["arm"] == "treatment").to_numpy().astype(int),
        f[["revenue"]].to_numpy(float),
        arms=("control", "treatment"),
        columns=["revenue"],
    )
    e = difference_in_means(m, "revenue")
    assert abs(e.diff - d.truth["sample_ate"]["revenue"]) < 4 * e.se


def test_engines_agree_on_csv_parquet_and_frames(exp, files):
    ref = read_experiment(
        exp.frame,
        arm="arm",
        metrics=["revenue", "converted"],
        covariates=["pre_revenue"],
        time="exposed_ts",
    )
    m_ref = moments(ref, engine="numpy")
    for src in (files / "experiment.csv", files / "experiment.parquet", exp.frame):
        t = scan(
            src,
            arm="arm",
            metrics=["revenue", "converted"],
            covariates=["pre_revenue"],
            time="exposed_ts",
        )
        assert t.binary == {"revenue": False, "converted": True}
        m = moments(t)
        assert m.arms == ("control", "treatment") and (m.n == m_ref.n).all()
        np.testing.assert_allclose(m.mean, m_ref.mean, rtol=1e-12)
        np.testing.assert_allclose(m.scatter, m_ref.scatter, rtol=1e-9)
        days = daily_moments(t)
        ref_days = daily_moments(ref, engine="numpy")
        assert [d for d, _ in days] == [d for d, _ in ref_days] and len(days) == 14
        for (_, a), (_, b) in zip(days, ref_days, strict=True):
            np.testing.assert_allclose(a.scatter, b.scatter, rtol=1e-9)


def _bad(frame, tmp_path, name="bad.csv"):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


CASES = {
    "three labels": (
        lambda f: f.assign(arm=np.where(np.arange(len(f)) == 5, "holdout", f["arm"])),
        {},
        "exactly two arms; found 3",
    ),
    "control missing": (
        lambda f: f,
        {"control": "ctrl"},
        "control label 'ctrl' is not in the data",
    ),
    "an arm with no users": (lambda f: f.assign(arm="control"), {}, "the other arm has no users"),
    "NaN metric": (
        lambda f: f.assign(revenue=np.where(np.arange(len(f)) == 3, np.nan, f["revenue"])),
        {},
        "column 'revenue': rows 5",
    ),
    "inf metric": (
        lambda f: f.assign(revenue=np.where(np.arange(len(f)) == 7, np.inf, f["revenue"])),
        {},
        "column 'revenue': rows 9",
    ),
    "text in a metric": (
        lambda f: f.assign(
            revenue=np.where(np.arange(len(f)) == 0, "abc", f["revenue"].astype(str))
        ),
        {},
        "column 'revenue': rows 2",
    ),
    "constant covariate": (
        lambda f: f.assign(pre_revenue=1.0),
        {},
        "column 'pre_revenue': the covariate is constant",
    ),
    "missing column": (lambda f: f.drop(columns="pre_revenue"), {}, "missing required column"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("reader", ["scan", "pandas"])
def test_bad_input_is_named_by_file_column_and_rows(exp, tmp_path, case, reader):
    make, kw, match = CASES[case]
    path = _bad(make(exp.frame.head(200).copy()), tmp_path)
    fn = scan if reader == "scan" else read_experiment
    with pytest.raises(InputError, match=match) as err:
        fn(path, arm="arm", metrics=["revenue"], covariates=["pre_revenue"], **kw)
    assert str(path) in str(err.value)


def test_analyze_defaults_and_frequentist_methods(exp):
    a = analyze(
        exp.frame,
        arm="arm",
        metrics=["revenue", "converted"],
        covariates=["pre_revenue"],
        method="cuped",
    )
    assert a.table.control == "control" and a.decision["rule"] == "confidence interval"
    est = a.estimates_table()
    assert set(est["method"]) == {"difference", "cuped"}
    cu = est[est["method"] == "cuped"]
    assert cu["p_holm"].notna().all() and (cu["p_holm"] >= cu["p_value"] - 1e-15).all()
    assert "confidence interval" in a.headline and "p = " in a.headline
    r = analyze(
        exp.frame,
        arm="arm",
        metrics=["revenue"],
        covariates=["pre_revenue", "pre_orders"],
        method="regression",
    )
    assert r.estimates[0].method == "regression_hc2"
    assert r.estimates[0].diff == pytest.approx(
        analyze(
            exp.frame,
            arm="arm",
            metrics=["revenue"],
            covariates=["pre_revenue", "pre_orders"],
            method="cuped",
        )
        .estimates[0]
        .diff,
        rel=1e-9,
    )


def test_analyze_ratio_metrics_by_the_delta_method(exp):
    from models.experiments import ratio_metric

    a = analyze(
        exp.frame,
        arm="arm",
        metrics=["revenue"],
        covariates=["pre_revenue"],
        ratios=["revenue/orders"],
        method="cuped",
    )
    ratio = a.estimates[-1]
    f = exp.frame
    m = moments_from_arrays(
        (f["arm"] == "treatment").to_numpy().astype(int),
        f[["revenue", "orders"]].to_numpy(float),
        arms=("control", "treatment"),
        columns=["revenue", "orders"],
    )
    ref = ratio_metric(m, "revenue", "orders")
    assert ratio.metric == "revenue/orders" and ratio.diff == pytest.approx(ref.diff, rel=1e-9)
    assert ratio.se == pytest.approx(ref.se, rel=1e-9)
    g = f.groupby("arm")[["revenue", "orders"]].sum()
    assert ratio.mean[1] == pytest.approx(
        g.loc["treatment", "revenue"] / g.loc["treatment", "orders"]
    )
    assert len(a.multiple) == 2 and "across 2 metrics" in a.headline
    with pytest.raises(InputError, match="NUMERATOR/DENOMINATOR"):
        analyze(exp.frame, arm="arm", metrics=["revenue"], ratios=["revenue"])


def test_library_generator_and_reader(tmp_path):
    lib = generate_library(10, seed=1)
    assert list(lib.columns) == ["experiment", "lift", "se", "true_lift"] and lib["se"].gt(0).all()
    p = tmp_path / "past.csv"
    lib.drop(columns="true_lift").to_csv(p, index=False)
    assert len(read_library(p)) == 10
    lib.assign(se=np.where(np.arange(10) == 2, 0.0, lib["se"])).to_csv(p, index=False)
    with pytest.raises(InputError, match="column 'se': rows 4"):
        read_library(p)
