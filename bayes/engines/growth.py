"""Growth aggregations on DuckDB or Spark: RFM rows from orders, the cohort retention matrix.

Both are defined once in SQL (:mod:`bayes.engines.sql`) and agree with the pandas references:

* :func:`rfm_summary` with lifetimes' ``summary_data_from_transaction_data`` /
  ``calibration_and_holdout_data`` as :func:`bayes.growth.ltv.rfm_summary` calls them (daily
  periods, weeks = days / 7): per customer, the distinct purchase days up to the observation
  end (its day), ``frequency`` = days - 1, ``recency`` = (last - first day) / 7,
  ``T`` = (end day - first day) / 7, ``monetary_value`` = mean spend of the repeat days (0 with
  none). Frequency, recency and T are exact; amounts are summed as ``DECIMAL(38, 10)``, exactly
  and in any order, so ``monetary_value`` is the same on every engine and every run (it agrees
  with lifetimes' float sums to ~1e-15 relative).
* :func:`retention_matrix` with :func:`bayes.growth.cohorts.retention_matrix`: cohorts by the
  Monday (UTC) of the signup week, a user retained in week ``k`` with a ``session_start`` in
  ``[signup + 7k days, signup + 7(k+1) days)``; the per-(cohort, week) counts come from the
  engine, the small matrix is shaped and censored in pandas.

The fits see only these compressed rows: 50M orders become one row per customer, and the LTV
model compresses those again to unique ``(frequency, recency, T)`` rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes.engines import EngineSpec, resolve_engine
from bayes.engines.backends import connect, source_of
from bayes.engines.checks import Check, Table, require_columns, validate
from bayes.engines.sql import DIALECTS, Dialect
from bayes.io import InputError
from bayes.ltv.data import pick_column

__all__ = ["retention_matrix", "rfm_summary"]

_DAY_US = 86_400 * 10**6
_WEEK_US = 7 * _DAY_US
_TX, _USERS, _EVENTS = "bayes_transactions", "bayes_users", "bayes_growth_events"
_ID_NAMES = ("customer_id", "user_id", "id")  # as bayes.growth.ltv.load_transactions
_DATE_NAMES = ("date", "order_ts", "datetime", "timestamp")
_AMOUNT_NAMES = ("amount", "monetary_value", "value")

_MISSING = "missing values (NaN/empty) are not allowed"


def _floor_div(expr: str, unit_us: int) -> str:
    return f"CAST(floor(({expr}) / {float(unit_us)!r}) AS BIGINT)"


def _us(ts) -> int:
    """A timestamp as UTC microseconds (naive = UTC)."""
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.value // 1000


# ----------------------------------------------------------------------------- RFM


def _tx_select(cols: dict):
    """The transactions, normalised (string id, UTC µs, DECIMAL amount) with problem flags."""

    def select(d: Dialect, table: str, extra: str) -> str:
        amount = ""
        if cols["amount"]:
            a = f"TRY_CAST(src.{cols['amount']} AS DOUBLE)"
            amount = f""",
              src.{cols["amount"]} IS NULL OR coalesce(isnan({a}), false) AS amount_missing,
              CAST(src.{cols["amount"]} AS STRING) AS amount_raw,
              {a} AS amount_value,
              CAST({a} AS DECIMAL(38, 10)) AS amount"""
        return f"""
            SELECT
              src.{cols["id"]} IS NULL AS id_missing,
              CAST(src.{cols["id"]} AS STRING) AS customer_id,
              src.{cols["date"]} IS NULL AS date_missing,
              {d.utc_micros(f"src.{cols['date']}")} AS us{amount}{extra}
            FROM {table} src"""

    return select


def _tx_checks(cols: dict) -> tuple[Check, ...]:
    out = [
        Check("id_missing", cols["id"], "id_missing", _MISSING),
        Check("date_missing", cols["date"], "date_missing", _MISSING),
        Check(
            "date_bad",
            cols["date"],
            "NOT date_missing AND us IS NULL",
            "cannot parse as a timestamp",
        ),
    ]
    if cols["amount"]:
        a = cols["amount"]
        out += [
            Check("amount_missing", a, "amount_missing", _MISSING),
            Check(
                "amount_bad",
                a,
                "NOT amount_missing AND amount_value IS NULL",
                "expected numbers, found non-numeric values such as {first!r}",
                values="amount_raw",
            ),
            Check("amount_negative", a, "amount_value < 0", "values below the minimum 0"),
            Check(
                "amount_infinite",
                a,
                "NOT amount_missing AND abs(amount_value) = CAST('Infinity' AS DOUBLE)",
                "infinite values are not allowed",
            ),
        ]
    return tuple(out)


def _rfm_sql(tx: str, cols: dict, end_day: str, *, upto_us: int | None = None) -> str:
    """Per customer of the transactions ``tx`` (a SELECT): frequency, recency, T (weeks) and
    monetary value, sorted by id. Rows with ``us <= upto_us`` only (the calibration period),
    and days up to ``end_day`` (SQL)."""
    amount = cols["amount"] is not None
    where = f"WHERE us <= {upto_us}" if upto_us is not None else ""
    day_amount = ", sum(amount) AS amount" if amount else ""
    cust_amount = ", sum(amount) AS total, min_by(amount, day) AS first_amount" if amount else ""
    monetary = (
        """,
          CASE WHEN n_days > 1 THEN CAST(total - first_amount AS DOUBLE) / (n_days - 1)
               ELSE 0.0 END AS monetary_value"""
        if amount
        else ""
    )
    return f"""
    WITH tx AS (SELECT customer_id, us{", amount" if amount else ""} FROM ({tx}) v {where}),
    days AS (
      SELECT customer_id, {_floor_div("us", _DAY_US)} AS day{day_amount}
      FROM tx GROUP BY customer_id, {_floor_div("us", _DAY_US)}
    ),
    kept AS (SELECT * FROM days WHERE day <= ({end_day})),
    cust AS (
      SELECT customer_id, count(*) AS n_days, min(day) AS first_day, max(day) AS last_day
        {cust_amount}
      FROM kept GROUP BY customer_id
    )
    SELECT customer_id,
      CAST(n_days - 1 AS DOUBLE) AS frequency,
      CAST(last_day - first_day AS DOUBLE) / 7 AS recency,
      CAST(({end_day}) - first_day AS DOUBLE) / 7 AS T{monetary}
    FROM cust ORDER BY customer_id"""


def _holdout_sql(tx: str, cols: dict, cal_us: int, hold_us: int) -> str:
    """Per customer with a purchase after the calibration end: distinct days and mean amount
    (of the transactions, as lifetimes' ``calibration_and_holdout_data``)."""
    amount = cols["amount"] is not None
    mean = ", CAST(sum(amount) AS DOUBLE) / count(*) AS monetary_value_holdout" if amount else ""
    return f"""
    SELECT customer_id, count(DISTINCT {_floor_div("us", _DAY_US)}) AS frequency_holdout{mean}
    FROM ({tx}) v WHERE us > {cal_us} AND us <= {hold_us}
    GROUP BY customer_id"""


def _frame(table, index: str = "customer_id") -> pd.DataFrame:
    df = table.to_pandas()
    df[index] = df[index].astype(object)
    return df.set_index(index)


def rfm_summary(
    transactions,
    *,
    observation_end=None,
    calibration_end=None,
    holdout_end=None,
    engine: str | EngineSpec | None = None,
):
    """RFM in weeks from a transaction log; returns ``(summary, holdout)`` exactly as
    :func:`bayes.growth.ltv.rfm_summary` (the pandas engine *is* that function).

    ``transactions`` is a path (CSV/Parquet, glob, folder, URI) or a DataFrame with a customer
    id (``customer_id``/``user_id``/``id``), a date (``date``/``order_ts``/…) and optionally an
    amount. Without ``calibration_end`` everything up to ``observation_end`` (default: the last
    date) is summarised and ``holdout`` is None; with it, the calibration summary and the
    holdout columns ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``.
    """
    spec = resolve_engine(engine, in_memory=isinstance(transactions, pd.DataFrame))
    if spec.name == "pandas":
        from bayes.growth.ltv import load_transactions
        from bayes.growth.ltv import rfm_summary as reference

        tx = load_transactions(transactions)
        summary, holdout = reference(
            tx,
            observation_end=observation_end,
            calibration_end=calibration_end,
            holdout_end=holdout_end,
        )
        # the engines' RFM has lifetimes' four columns; the LTV fit's spend count stays there
        return summary.drop(columns=["spend_frequency"], errors="ignore"), holdout
    d = DIALECTS[spec.name]
    src = source_of(transactions, what="transactions")
    with connect(spec) as db:
        columns = db.view(_TX, src)
        cols = {
            "id": pick_column(columns, _ID_NAMES, "customer id", src.label),
            "date": pick_column(columns, _DATE_NAMES, "date", src.label),
            "amount": pick_column(columns, _AMOUNT_NAMES, "amount", src.label, required=False),
        }
        table = Table(src, _TX, _tx_select(cols))
        stats = validate(db, d, table, _tx_checks(cols), extra=", max(us) AS last_us")
        if stats["n_rows"] == 0:
            raise InputError("the table is empty (no data rows)", source=src.label)
        tx = table.sql(d)
        if calibration_end is None:
            end_us = _us(observation_end) if observation_end is not None else stats["last_us"]
            end_day = _floor_div(str(end_us), _DAY_US)
            got = db.arrow(_rfm_sql(tx, cols, end_day))
            return _frame(got), None
        cal_us = _us(calibration_end)
        hold_us = _us(holdout_end) if holdout_end is not None else stats["last_us"]
        cal, hold = pd.Timestamp(cal_us * 1000), pd.Timestamp(hold_us * 1000)
        if not hold_us > cal_us:
            raise InputError(
                f"holdout end {hold.date()} must be after calibration end {cal.date()}"
            )
        end_day = _floor_div(str(cal_us), _DAY_US)
        summary = _frame(db.arrow(_rfm_sql(tx, cols, end_day, upto_us=cal_us)))
        if summary.empty:
            raise InputError(f"no transactions on or before the calibration end {cal.date()}")
        held = _frame(db.arrow(_holdout_sql(tx, cols, cal_us, hold_us)))
    if held.empty:
        raise InputError(
            "no transactions after the calibration end and up to the holdout end "
            f"({cal.date()} .. {hold.date()})"
        )
    holdout = held.reindex(summary.index).fillna(0.0).astype(float)
    holdout["duration_holdout"] = (hold.floor("D") - cal.floor("D")).days / 7
    return summary, holdout


# ----------------------------------------------------------------------------- cohorts


def _users_select(segment: str | None):
    def select(d: Dialect, table: str, extra: str) -> str:
        # which copy of a repeated id is "the repeat" matters only when naming rows
        order = "src._file, src._row" if extra else "CAST(src.user_id AS STRING)"
        seg = (
            f", CAST(src.{segment} AS STRING) AS segment, src.{segment} IS NULL AS segment_missing"
            if segment
            else ""
        )
        return f"""
            SELECT
              src.user_id IS NULL AS id_missing,
              CAST(src.user_id AS STRING) AS user_id,
              row_number() OVER (PARTITION BY CAST(src.user_id AS STRING) ORDER BY {order}) > 1
                AS repeated,
              src.signup_ts IS NULL AS ts_missing,
              {d.utc_micros("src.signup_ts")} AS signup_us{seg}{extra}
            FROM {table} src"""

    return select


def _events_select(d: Dialect, table: str, extra: str) -> str:
    return f"""
        SELECT
          src.user_id IS NULL AS id_missing,
          CAST(src.user_id AS STRING) AS user_id,
          CAST(src.event_type AS STRING) AS event_type,
          src.event_ts IS NULL AS ts_missing,
          {d.utc_micros("src.event_ts")} AS us,
          u.user_id IS NULL AS unknown_user{extra}
        FROM {table} src LEFT JOIN (SELECT DISTINCT CAST(user_id AS STRING) AS user_id
                                    FROM {_USERS}) u
          ON CAST(src.user_id AS STRING) = u.user_id"""


def _user_checks(segment: str | None) -> tuple[Check, ...]:
    out = [
        Check("id_missing", "user_id", "id_missing", _MISSING),
        Check("ts_missing", "signup_ts", "ts_missing", _MISSING),
        Check(
            "ts_bad",
            "signup_ts",
            "NOT ts_missing AND signup_us IS NULL",
            "cannot parse as a timestamp",
        ),
        Check("repeated", "user_id", "repeated", "duplicate user_id"),
    ]
    if segment:
        out.append(Check("segment_missing", segment, "segment_missing", _MISSING))
    return tuple(out)


_GROWTH_EVENT_CHECKS = (
    Check("id_missing", "user_id", "id_missing", _MISSING),
    Check("ts_missing", "event_ts", "ts_missing", _MISSING),
    Check("ts_bad", "event_ts", "NOT ts_missing AND us IS NULL", "cannot parse as a timestamp"),
    Check(
        "unknown_user",
        "user_id",
        "unknown_user AND event_type = 'session_start'",
        "events of users missing from the users table",
    ),
)


def _cohort_sql(d: Dialect, users: str, events: str, segment: str | None, max_weeks: int) -> str:
    seg = "segment, " if segment else ""
    day = _floor_div("signup_us", _DAY_US)
    return f"""
    WITH u AS (
      SELECT user_id, signup_us, {seg}
        {day} - (({day} + 3) % 7 + 7) % 7 AS cohort_day
      FROM ({users}) x
    ),
    w AS (
      SELECT DISTINCT e.user_id, {_floor_div("e.us - u.signup_us", _WEEK_US)} AS week
      FROM ({events}) e JOIN u ON e.user_id = u.user_id
      WHERE e.event_type = 'session_start'
    ),
    active AS (
      SELECT {seg}cohort_day, week, count(*) AS active
      FROM w JOIN u ON w.user_id = u.user_id
      WHERE week >= 0 AND week <= {int(max_weeks)}
      GROUP BY {seg}cohort_day, week
    ),
    sizes AS (
      SELECT {seg}cohort_day, count(*) AS cohort_size, max(signup_us) AS last_signup_us
      FROM u GROUP BY {seg}cohort_day
    )
    SELECT s.*, a.week, a.active
    FROM sizes s LEFT JOIN active a
      ON s.cohort_day = a.cohort_day {"AND s.segment = a.segment" if segment else ""}"""


def retention_matrix(
    users,
    events,
    *,
    segment: str | None = None,
    max_weeks: int = 12,
    as_of=None,
    engine: str | EngineSpec | None = None,
) -> pd.DataFrame:
    """Cohort x week retention fractions, as :func:`bayes.growth.cohorts.retention_matrix`
    (the pandas engine; same columns, rows and censoring) but counted by an engine straight
    from the users and events files (paths, globs, folders, URIs, or DataFrames)."""
    from bayes.growth.cohorts import SEGMENTS

    if segment is not None and segment not in SEGMENTS:
        raise InputError(f"unknown segment {segment!r}; use one of {list(SEGMENTS)}")
    if max_weeks < 0:
        raise InputError("max_weeks must be >= 0")
    in_memory = isinstance(users, pd.DataFrame) and isinstance(events, pd.DataFrame)
    spec = resolve_engine(engine, in_memory=in_memory)
    if spec.name == "pandas":
        from bayes.growth.cohorts import retention_matrix as reference
        from bayes.growth.data import read_events, read_users

        u = users if isinstance(users, pd.DataFrame) else read_users(users)
        e = events if isinstance(events, pd.DataFrame) else read_events(events)
        return reference(u, e, segment=segment, max_weeks=max_weeks, as_of=as_of)
    d = DIALECTS[spec.name]
    usrc, esrc = source_of(users, what="users"), source_of(events, what="events")
    with connect(spec) as db:
        need = ["user_id", "signup_ts"] + ([segment] if segment else [])
        require_columns(db.view(_USERS, usrc), need, usrc.label)
        require_columns(db.view(_EVENTS, esrc), ["user_id", "event_ts", "event_type"], esrc.label)
        ut = Table(usrc, _USERS, _users_select(segment))
        et = Table(esrc, _EVENTS, _events_select)
        validate(db, d, ut, _user_checks(segment))
        stats = validate(db, d, et, _GROWTH_EVENT_CHECKS, extra=", max(us) AS last_us")
        got = db.arrow(_cohort_sql(d, ut.sql(d), et.sql(d), segment, max_weeks)).to_pandas()
    if as_of is None:
        if stats["last_us"] is None:
            raise InputError("the events table is empty: give as_of", source=esrc.label)
        as_of_ts = pd.Timestamp(int(stats["last_us"]) * 1000, tz="UTC")
    else:
        as_of_ts = pd.Timestamp(as_of)
        as_of_ts = as_of_ts.tz_localize("UTC") if as_of_ts.tzinfo is None else as_of_ts
    return _shape_matrix(got, segment, max_weeks, as_of_ts)


def _shape_matrix(got: pd.DataFrame, segment, max_weeks: int, as_of: pd.Timestamp):
    """Counts per (segment, cohort, week) -> the reference's matrix (fractions, censored)."""
    keys = (["segment"] if segment else []) + ["cohort_day"]
    sizes = got.drop_duplicates(keys).set_index(keys)[["cohort_size", "last_signup_us"]]
    sizes = sizes.sort_index()
    weeks = np.arange(max_weeks + 1)
    active = got.dropna(subset=["week"]).astype({"week": np.int64})
    counts = active.pivot_table(
        index=keys, columns="week", values="active", aggfunc="sum", fill_value=0
    ).reindex(index=sizes.index, columns=weeks, fill_value=0)
    frac = counts.fillna(0).to_numpy(float) / sizes["cohort_size"].to_numpy(float)[:, None]
    last = sizes["last_signup_us"].to_numpy(np.int64)
    window_end = last[:, None] + (weeks[None, :] + 1) * _WEEK_US
    observed = window_end <= _us(as_of)
    frac = np.where(observed, frac, np.nan)
    out = pd.DataFrame(frac, columns=[f"week_{w}" for w in weeks])
    cohort = pd.to_datetime(sizes.index.get_level_values("cohort_day"), unit="D")
    if segment:
        out.insert(0, segment, sizes.index.get_level_values("segment").to_numpy(object))
    out.insert(len(out.columns) - len(weeks), "cohort", cohort.strftime("%Y-%m-%d"))
    out.insert(
        len(out.columns) - len(weeks), "cohort_size", sizes["cohort_size"].to_numpy(np.int64)
    )
    return out
