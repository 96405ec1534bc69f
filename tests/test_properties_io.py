"""Property-based tests (hypothesis) of the readers and validators every domain uses.

Whatever the table, a bad value is refused with an InputError that names the file, the column
and exactly the CSV lines at fault; a good table comes back with the same values; the caller's
frame is never modified; CLI numbers are parsed exactly or refused.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes.cliargs import date, float_range, int_range
from bayes.io import Column, InputError, read_table, validate_frame

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SCHEMA = (
    Column("id", "int", min=0),
    Column("count", "int", min=0),
    Column("amount", "float", min=0.0),
    Column("flag", "bool"),
    Column("kind", "str", allowed=("a", "b")),
)


@st.composite
def good_frames(draw, min_rows=1, max_rows=40):
    n = draw(st.integers(min_rows, max_rows))
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "count": draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n)),
            "amount": draw(
                st.lists(
                    st.floats(0, 1e12, allow_nan=False, allow_infinity=False),
                    min_size=n,
                    max_size=n,
                )
            ),
            "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "kind": draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n)),
        }
    )


@SETTINGS
@given(df=good_frames())
def test_good_tables_round_trip_through_csv_and_parquet(df, tmp_path):
    for suffix in (".csv", ".parquet"):
        path = tmp_path / f"t{suffix}"
        (df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path, index=False))
        out = read_table(path, SCHEMA)
        assert list(out["count"]) == list(df["count"])
        np.testing.assert_allclose(out["amount"], df["amount"], rtol=1e-15)
        assert list(out["flag"]) == list(df["flag"]) and list(out["kind"]) == list(df["kind"])


# a bad value for each column, and the message it must give
BAD = {
    "count": (-1, "below the minimum"),
    "amount": (math.inf, "infinite"),
    "kind": ("c", "unknown value"),
    "flag": ("maybe", "boolean"),
    "id": (2.5, "whole numbers"),
}


@SETTINGS
@given(
    df=good_frames(min_rows=3),
    column=st.sampled_from(sorted(BAD)),
    data=st.data(),
)
def test_a_bad_value_names_file_column_and_exact_csv_lines(df, column, data, tmp_path):
    rows = data.draw(
        st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=len(df), unique=True)
    )
    value, message = BAD[column]
    bad = df.astype({column: object}).copy()
    for r in rows:
        bad.at[r, column] = value
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        read_table(path, SCHEMA)
    err = exc.value
    assert err.source == str(path) and err.column == column and message in str(err)
    assert err.rows == sorted(r + 2 for r in rows)  # CSV line numbers (header is line 1)


@SETTINGS
@given(df=good_frames(), nulls=st.data())
def test_missing_values_are_refused_and_the_input_is_never_modified(df, nulls):
    r = nulls.draw(st.integers(0, len(df) - 1))
    col = nulls.draw(st.sampled_from(["count", "amount", "kind"]))
    bad = df.astype({col: object}).copy()
    bad.at[r, col] = None
    before = bad.copy()
    with pytest.raises(InputError, match="missing values") as exc:
        validate_frame(bad, SCHEMA, source="t.csv")
    assert exc.value.rows == [r + 2]
    pd.testing.assert_frame_equal(bad, before)


def test_empty_tables_are_refused_unless_allowed(tmp_path):
    path = tmp_path / "empty.csv"
    pd.DataFrame(columns=[c.name for c in SCHEMA]).to_csv(path, index=False)
    with pytest.raises(InputError, match="empty"):
        read_table(path, SCHEMA)
    assert len(read_table(path, SCHEMA, allow_empty=True)) == 0
    # the columns of an empty table are still checked
    pd.DataFrame(columns=["id"]).to_csv(path, index=False)
    with pytest.raises(InputError, match="missing required column"):
        read_table(path, SCHEMA, allow_empty=True)


@settings(max_examples=200, deadline=None)
@given(x=st.integers(-(10**12), 10**12), lo=st.integers(-100, 100), hi=st.integers(100, 10**9))
def test_int_range_parses_exactly_or_refuses(x, lo, hi):
    parse = int_range(lo, hi)
    for text in (str(x), f"{x:_}"):
        if lo <= x <= hi:
            assert parse(text) == x
        else:
            with pytest.raises(argparse.ArgumentTypeError, match="must be"):
                parse(text)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(allow_nan=True, allow_infinity=True))
def test_float_range_refuses_non_finite_and_out_of_range(x):
    parse = float_range(0.0, 1.0, lo_open=True)
    if math.isfinite(x) and 0 < x <= 1:
        assert parse(repr(x)) == x
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(repr(x))


@settings(max_examples=100, deadline=None)
@given(
    d=st.dates(
        min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2200-12-31").date()
    )
)
def test_dates_round_trip_as_utc(d):
    ts = date(d.isoformat())
    assert ts.tz is not None and ts.date() == d
