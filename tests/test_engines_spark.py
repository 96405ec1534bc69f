"""Spark (local mode) against the pandas reference: identical counts, audiences, RFM, cohorts.

One Spark session for the module (start-up takes seconds); small data; the inputs and the
hand-made dirty rows are those of tests/test_engines.py. Needs pyspark (the ``spark`` extra,
installed by ``make install``/``make test``) and Java 17+.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - the CI machine has Java 17
    pytest.skip("Spark needs Java", allow_module_level=True)

from bayes.engines import EngineSpec, count_signups, retention_matrix, rfm_summary, use_engine  # noqa: E402
from bayes.io import InputError  # noqa: E402
from tests.test_engines import (  # noqa: E402
    ODD_IDS,
    assert_same_counts,
    assert_string_rules,
    dirty_rows,
    write_inputs,
    write_odd_id_files,
)

SPARK = EngineSpec("spark", "local[2]")


@pytest.fixture(scope="module")
def spark():
    from bayes.engines.backends import _SESSIONS, spark_session

    session = spark_session(SPARK.spark_master)
    yield session
    _SESSIONS.pop(SPARK.spark_master, None)
    session.stop()


def test_spark_counts_and_audiences_equal_pandas(spark, tmp_path):
    from bayes.signup.audience import AudienceRules, score

    p = write_inputs(tmp_path, "csv", recipients=400, block=250)
    ref = count_signups(p["events"], p["campaigns"], p["signups"], engine="pandas")
    got = count_signups(p["events"], p["campaigns"], p["signups"], engine=SPARK)
    assert_same_counts(ref, got)
    assert got.engine == "spark (local[2])"
    rules = AudienceRules(goal="new", top_n=15, recency_days=40)
    audiences = {}
    for engine in ("pandas", SPARK):
        with use_engine(engine):
            audiences[str(engine)] = score(*p.values(), rules=rules).audience
    pd.testing.assert_frame_equal(*audiences.values())
    # in-memory frames (Unicode case, every str.strip() character, copies, zones)
    events, campaigns, signups = dirty_rows()
    assert_same_counts(
        count_signups(events, campaigns, signups, engine="pandas"),
        count_signups(events, campaigns, signups, engine=SPARK),
    )


def test_spark_string_rules(spark):
    from bayes.engines.backends import Spark
    from bayes.engines.sql import DIALECTS

    with Spark(SPARK.spark_master) as db:
        assert_string_rules(db, DIALECTS["spark"])


def test_spark_rfm_and_cohorts_equal_pandas(spark, tmp_path):
    from bayes.growth.data import write_growth_files

    g = write_growth_files(tmp_path, 500, seed=3, fmt="parquet", block_users=300)
    for kw in ({}, {"calibration_end": "2024-04-01"}):
        ref, ref_hold = rfm_summary(g["orders"], engine="pandas", **kw)
        got, hold = rfm_summary(g["orders"], engine=SPARK, **kw)
        pd.testing.assert_index_equal(ref.index, got.index)
        for col in ("frequency", "recency", "T"):
            np.testing.assert_array_equal(ref[col].to_numpy(), got[col].to_numpy())
        np.testing.assert_allclose(got["monetary_value"], ref["monetary_value"], rtol=4e-15)
        duck, _ = rfm_summary(g["orders"], engine="duckdb", **kw)
        pd.testing.assert_frame_equal(duck, got, check_exact=True)  # exact decimal sums
        if ref_hold is not None:
            pd.testing.assert_frame_equal(ref_hold, hold, check_dtype=False, rtol=1e-14)
    ref = retention_matrix(g["users"], g["events"], segment="device", engine="pandas")
    got = retention_matrix(g["users"], g["events"], segment="device", engine=SPARK)
    pd.testing.assert_frame_equal(ref, got)
    # the LTV inputs (monetary policy, holdout): Spark's exact sums equal DuckDB's
    from bayes.engines.growth import ltv_rfm

    duck = ltv_rfm(g["orders"], holdout_days=30, engine="duckdb")
    spark_ = ltv_rfm(g["orders"], holdout_days=30, engine=SPARK)
    pd.testing.assert_frame_equal(duck.summary, spark_.summary, check_exact=True)
    pd.testing.assert_frame_equal(duck.holdout, spark_.holdout, check_exact=True)
    assert duck.policy == spark_.policy


def test_spark_keeps_csv_ids_as_text(spark, tmp_path):
    """`007`, `7`, `00`, `1e5`... are distinct customers and campaigns on Spark as on pandas."""
    p = write_odd_id_files(tmp_path)
    ref, _ = rfm_summary(p["orders"], engine="pandas")
    got, _ = rfm_summary(p["orders"], engine=SPARK)
    assert list(got.index) == sorted(ODD_IDS)
    pd.testing.assert_frame_equal(ref, got)
    assert_same_counts(
        count_signups(p["events"], p["campaigns"], p["signups"], engine="pandas"),
        count_signups(p["events"], p["campaigns"], p["signups"], engine=SPARK),
    )


def test_spark_errors_name_file_column_and_count(spark, tmp_path):
    events, campaigns, signups = dirty_rows()
    events.loc[[2, 5], "event_ts"] = "not a time"
    path = tmp_path / "events.csv"
    events.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        count_signups(path, campaigns, signups, engine=SPARK)
    assert err.value.column == "event_ts" and err.value.rows is None
    assert str(err.value).startswith(f"{path}: column 'event_ts': cannot parse as a timestamp")
    assert "(2 rows; Spark does not number rows" in str(err.value)


def test_spark_experiment_sums_equal_numpy(spark, tmp_path):
    """The experiments' per-arm sums (overall and per UTC day) on Spark equal the NumPy
    reference on CSV, Parquet and a DataFrame; the read-out is DuckDB's; a bad value is
    refused naming the file, the column and the number of rows."""
    from bayes.experiments.analyze import analyze
    from bayes.experiments.data import generate_experiment, read_experiment, write_experiment
    from bayes.experiments.engine import daily_moments, moments, scan

    exp = generate_experiment(2_000, seed=5)
    write_experiment(exp, tmp_path, "csv")
    write_experiment(exp, tmp_path, "parquet")
    kw = {
        "arm": "arm",
        "metrics": ["revenue", "converted"],
        "covariates": ["pre_revenue"],
        "time": "exposed_ts",
    }
    ref = read_experiment(exp.frame, **kw)
    m_ref, days_ref = moments(ref, engine="numpy"), daily_moments(ref, engine="numpy")
    for source in (tmp_path / "experiment.csv", tmp_path / "experiment.parquet", exp.frame):
        table = scan(source, **kw, engine=SPARK)
        assert table.binary == {"revenue": False, "converted": True}
        m = moments(table, engine=SPARK)
        assert m.arms == m_ref.arms and (m.n == m_ref.n).all()
        np.testing.assert_allclose(m.mean, m_ref.mean, rtol=1e-12)
        np.testing.assert_allclose(m.scatter, m_ref.scatter, rtol=1e-9)
        days = daily_moments(table, engine=SPARK)
        assert [d for d, _ in days] == [d for d, _ in days_ref]
        for (_, a), (_, b) in zip(days, days_ref, strict=True):
            assert (a.n == b.n).all()
            np.testing.assert_allclose(a.scatter, b.scatter, rtol=1e-9, atol=1e-9)
    run = {k: v for k, v in kw.items() if k != "time"}
    duck = analyze(tmp_path / "experiment.parquet", method="cuped", **run)
    on_spark = analyze(tmp_path / "experiment.parquet", method="cuped", engine=SPARK, **run)
    pd.testing.assert_frame_equal(
        duck.estimates_table(), on_spark.estimates_table(), check_exact=False, rtol=1e-9
    )
    bad = exp.frame.assign(revenue=exp.frame["revenue"].astype(str))
    bad.loc[[12, 1500], "revenue"] = "n/a"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        scan(path, **kw, engine=SPARK)
    assert err.value.column == "revenue" and err.value.rows is None
    assert str(err.value).startswith(f"{path}: column 'revenue': missing, non-numeric")
    assert "(2 rows; Spark does not number rows" in str(err.value)
    nanos = tmp_path / "nanos.parquet"
    exp.frame.to_parquet(nanos, index=False)  # pandas' nanosecond timestamps
    with pytest.raises(InputError, match="Spark reads no nanosecond timestamps"):
        scan(nanos, **kw, engine=SPARK)
