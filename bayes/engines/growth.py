"""Growth aggregations on DuckDB or Spark: RFM rows from orders (and the LTV fit's inputs),
the cohort retention matrix, the survival counts.

Each is defined once in SQL (:mod:`bayes.engines.sql`) and agrees with its pandas reference:

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
* :func:`ltv_rfm` with :func:`bayes.ltv.workflow.prepare_rfm` (``bayes ltv fit
  --transactions``): the loader's checks, the monetary policy, RFM in any time unit, the
  holdout split.
* :func:`activity_lifetimes` and :func:`seasonality_counts` with
  :mod:`bayes.growth.survival` (``bayes growth survival``): each user's last session, the
  daily counts of repeat and first orders, shaped by the reference's own functions.

The checks of a log run first, in a scan of their own: for the transactions one that only
says whether any row is refused (plus the row count and the first and last times), the
per-check counts and the rows looked up only then, to name them; for users and events
:func:`~bayes.engines.checks.validate`'s counts. The aggregations carry no check flags
through their hash tables.
The fits see only these compressed rows: 50M orders become one row per customer, and the LTV
model compresses those again to unique ``(frequency, recency, T)`` rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes.engines import EngineSpec, resolve_engine
from bayes.engines.backends import connect, source_of
from bayes.engines.checks import Check, Table, dictionary_checks, require_columns, validate
from bayes.engines.sql import DIALECTS, Dialect
from bayes.io import InputError
from bayes.progress import Stages

__all__ = [
    "LTVInputs",
    "activity_lifetimes",
    "ltv_rfm",
    "retention_matrix",
    "rfm_summary",
    "seasonality_counts",
]

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
    """The transactions, normalised (the id in its own type — grouping on an integer id is
    much cheaper than on its text —, UTC µs, DECIMAL amount) with problem flags;
    ``cols["date_text"]``: the date column holds strings (else typed timestamps)."""

    def select(d: Dialect, table: str, extra: str) -> str:
        amount = ""
        if cols["amount"]:
            a = f"TRY_CAST(src.{cols['amount']} AS DOUBLE)"
            amount = f""",
              src.{cols["amount"]} IS NULL OR coalesce(isnan({a}), false) AS amount_missing,
              CAST(src.{cols["amount"]} AS STRING) AS amount_raw,
              {a} AS amount_value,
              TRY_CAST({a} AS DECIMAL(38, 10)) AS amount"""
        return f"""
            SELECT
              src.{cols["id"]} IS NULL AS id_missing,
              src.{cols["id"]} AS customer_id,
              src.{cols["date"]} IS NULL AS date_missing,
              {d.utc_micros(f"src.{cols['date']}", text=cols["date_text"])} AS us{amount}{extra}
            FROM {table} src"""

    return select


def _tx_checks(cols: dict, *, refunds: bool = False) -> tuple[Check, ...]:
    """The transactions' checks; ``refunds``: negative amounts are allowed (the LTV monetary
    policy drops them), as :func:`bayes.ltv.data.load_transactions`."""
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
            *(
                []
                if refunds
                else [Check("amount_negative", a, "amount_value < 0", "values below the minimum 0")]
            ),
            Check(
                "amount_infinite",
                a,
                "NOT amount_missing AND abs(amount_value) = CAST('Infinity' AS DOUBLE)",
                "infinite values are not allowed",
            ),
            Check(  # beyond DECIMAL(38, 10), the exact sums' type
                "amount_range",
                a,
                "amount IS NULL AND abs(amount_value) < CAST('Infinity' AS DOUBLE)",
                "values of 1e28 or more are not supported",
            ),
        ]
    return tuple(out)


def _bad_tx(checks) -> str:
    """A row the checks refuse (the union of their conditions)."""
    return " OR ".join(f"coalesce({c.cond}, false)" for c in checks)


#: integer id types (DuckDB's and Spark's names) that come back as int64 and are turned into
#: text in Arrow, not per row in SQL
_INT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)
#: the customer index of the engines' RFM rows: the ids' text, in Arrow (~12 bytes per id
#: instead of a ~60-byte Python string)
_ID_DTYPE = "string[pyarrow]"
_POW10 = np.array([10**k for k in range(1, 20)], dtype=np.uint64)
#: 10**0 .. 10**19: the padding factor of an id with ``nd + 1`` digits is a lookup, not a power
_SCALE10 = np.array([10**k for k in range(20)], dtype=np.uint64)


def _id_out(cols: dict) -> str:
    """The id as the result carries it: in its own type when an integer, else as text."""
    return "customer_id" if cols.get("id_type") in _INT_TYPES else "CAST(customer_id AS STRING)"


def _text_order(ids: np.ndarray) -> np.ndarray:
    """The permutation sorting integer ids by their decimal text (``"-7" < "1" < "10" < "2"``),
    computed on the integers: negatives first (``"-"`` sorts before the digits), then by the
    digits padded to the longest id's width ``D``, the shorter text first. With ``D <= 18`` the
    two keys fit one ``uint64`` (``padded * D + digits - 1 < 10**D * D <= 1.8e19``), and when
    that key, the sign and the row number fit 64 bits together (ids below ~10**11 at 20M rows)
    the rows are ordered by one in-place sort of the packed values (~5x faster than argsort,
    which reads its keys at random)."""
    ids = np.asarray(ids, dtype=np.int64)
    has_neg = bool(len(ids)) and int(ids.min()) < 0
    neg = ids < 0 if has_neg else np.zeros(len(ids), dtype=bool)
    # (abs of int64 min wraps to 2**63: right as uint64); non-negative ids are only viewed
    a = np.abs(ids).astype(np.uint64) if has_neg else ids.view(np.uint64)
    nd = np.searchsorted(_POW10, a, side="right")  # digits - 1
    width = int(nd.max()) + 1 if len(nd) else 1
    if width > 18:
        padded = a * _SCALE10.take(18 - nd)
        return np.lexsort((nd, padded, ~neg))
    key = a * _SCALE10.take(width - 1 - nd)
    key *= np.uint64(width)
    key += nd.astype(np.uint64)
    row_bits = max(len(ids) - 1, 1).bit_length()
    key_bits = (10**width * width).bit_length() + has_neg
    if key_bits + row_bits <= 64:
        if has_neg:  # the sign above the key: negatives (0) first
            key |= (~neg).astype(np.uint64) << np.uint64(key_bits - 1)
        key <<= np.uint64(row_bits)
        key |= np.arange(len(ids), dtype=np.uint64)
        key.sort()
        key &= np.uint64((1 << row_bits) - 1)
        return key.view(np.int64)  # row numbers < 2**63
    if not has_neg:
        return np.argsort(key)
    rows = np.arange(len(ids))
    return np.concatenate([rows[neg][np.argsort(key[neg])], rows[~neg][np.argsort(key[~neg])]])


def _text_sort(ids):
    """``(order, text)`` of the customers' ids (an Arrow column): the permutation into the
    order of their text — the pandas reference's index is the ids as strings, sorted — and a
    function that returns the ids' text in that order (Arrow strings: it releases the GIL, so
    :func:`_customer_frame` runs it beside the columns' gathers). Integer ids are ordered as
    integers (:func:`_text_order`) and turned into text in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(ids.type):
        values = ids.to_numpy()
        order = _text_order(values)
        return order, lambda: pc.cast(pa.array(values[order]), pa.string())
    text = pc.cast(ids, pa.string())
    order = pc.sort_indices(text).to_numpy()
    return order, lambda: text.take(order)


def _text_index(text) -> pd.Index:
    """Arrow strings as the frames' index (``string[pyarrow]``: no Python object per id)."""
    import pyarrow as pa

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return pd.Index(pd.arrays.ArrowStringArray(text), name="customer_id")


def _customer_index(ids) -> tuple[np.ndarray, pd.Index]:
    """``(order, index)``: :func:`_text_sort`'s permutation and the ids' text in that order
    as the index."""
    order, text = _text_sort(ids)
    return order, _text_index(text())


def _customer_frame(table, names, columns) -> pd.DataFrame:
    """The customers with a purchase day in the period (``n_days > 0``) in the order of their
    ids' text, with the float ``columns(arrays)`` computes from the table's columns ``names``
    (NumPy arrays in the table's order). The columns are computed before the one gather into
    the text order, straight into the frame's single block, on two threads beside the one that
    turns the ids into text (Arrow's cast and NumPy's take release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.compute as pc

    if pc.min(table.column("n_days")).as_py() == 0:  # (never without a period limit)
        table = table.filter(pc.greater(table.column("n_days"), 0))
    order, text = _text_sort(table.column("customer_id"))
    with ThreadPoolExecutor(2) as pool:
        pending = pool.submit(text)
        raw = columns({c: table.column(c).to_numpy(zero_copy_only=False) for c in names})
        block = np.empty((len(raw), order.size))
        gathers = [  # random reads: memory-bound, so two threads gather faster than one
            pool.submit(np.take, np.asarray(values, dtype=float), order, out=row)
            for row, values in zip(block, raw.values(), strict=True)
        ]
        for done in gathers:
            done.result()
        index = _text_index(pending.result())
    return pd.DataFrame(block.T, index=index, columns=list(raw), copy=False)


def _rfm_sql(tx: str, cols: dict, *, end_day: int | None, upto_us: int | None) -> str:
    """Per customer of the transactions ``tx`` (a SELECT, already validated): the purchase days
    (``n_days``, ``first_day``, ``last_day``, days since the epoch) and ``repeat_spend`` (the
    spend of the days after the first, summed exactly), counting the rows with
    ``us <= upto_us`` (the calibration period) on days up to ``end_day`` (None: no limit).

    Two hash aggregations on fixed-width keys (the id in its own type, the day an integer)
    that carry only what the result needs: no check flags (the checks run in their own scan
    first, :func:`_tx_stats`), no latest day (that scan has it too); without a period limit
    (the common case) no ``FILTER`` and no count of the day's rows. The id comes back in its
    own type when it is an integer, unordered (:func:`_customer_index` sorts it by its text,
    as the pandas reference's string index)."""
    amount = cols["amount"] is not None
    day = _floor_div("us", _DAY_US)
    period = f" FILTER (WHERE us <= {int(upto_us)})" if upto_us is not None else ""
    n_day = f", count(*){period} AS n" if upto_us is not None else ""
    limits = (["n > 0"] if upto_us is not None else []) + (
        [f"day <= {int(end_day)}"] if end_day is not None else []
    )
    kept = f" FILTER (WHERE {' AND '.join(limits)})" if limits else ""
    day_amount = f", sum(amount){period} AS amount" if amount else ""
    spend = (
        f", CAST(sum(amount){kept} - min_by(amount, day){kept} AS DOUBLE) AS repeat_spend"
        if amount
        else ""
    )
    return f"""
    WITH days AS (
      SELECT customer_id, {day} AS day{n_day}{day_amount}
      FROM ({tx}) v GROUP BY customer_id, {day}
    )
    SELECT {_id_out(cols)} AS customer_id,
      count(*){kept} AS n_days, min(day){kept} AS first_day, max(day){kept} AS last_day{spend}
    FROM days GROUP BY customer_id"""


def _tx_stats(db, tx: str, checks, extra: str = "") -> dict:
    """One scan of the transactions ``tx``: the row count ``n``, ``bad`` (a row the ``checks``
    refuse; only then are they run, to name the rows), the first and last times ``first_us``,
    ``last_us``, and any ``extra`` aggregates (``", expr AS name"``). Cheaper than carrying
    the checks through the hash tables: a scan with a few comparisons per row."""
    return db.arrow(
        f"SELECT count(*) AS n, bool_or({_bad_tx(checks)}) AS bad, min(us) AS first_us, "
        f"max(us) AS last_us{extra} FROM ({tx}) v"
    ).to_pylist()[0]


def _rfm_frame(table, end_day: int, amount: bool) -> pd.DataFrame:
    """lifetimes' columns from the per-customer days (customers with a kept day only), in
    weeks: ``frequency = n_days - 1``, ``recency = (last - first) / 7``,
    ``T = (end - first) / 7``, ``monetary_value`` = repeat spend / repeat days (0 with none)."""
    names = ["n_days", "first_day", "last_day"] + (["repeat_spend"] if amount else [])

    def columns(got):
        n_days, first, last = (got[c].astype(np.int64, copy=False) for c in names[:3])
        out = {
            "frequency": (n_days - 1).astype(float),
            "recency": (last - first).astype(float) / 7,
            "T": (end_day - first).astype(float) / 7,
        }
        if amount:
            spend = got["repeat_spend"].astype(float, copy=False)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["monetary_value"] = np.where(n_days > 1, spend / (n_days - 1), 0.0)
        return out

    return _customer_frame(table, names, columns)


def _holdout_sql(tx: str, cols: dict, cal_us: int, hold_us: int) -> str:
    """Per customer with a purchase after the calibration end: distinct days and mean amount
    (of the transactions, as lifetimes' ``calibration_and_holdout_data``)."""
    amount = cols["amount"] is not None
    mean = ", CAST(sum(amount) AS DOUBLE) / count(*) AS monetary_value_holdout" if amount else ""
    return f"""
    SELECT CAST(customer_id AS STRING) AS customer_id,
      count(DISTINCT {_floor_div("us", _DAY_US)}) AS frequency_holdout{mean}
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
    """RFM in weeks from a transaction log; returns ``(summary, holdout)`` with the values of
    :func:`bayes.growth.ltv.rfm_summary` (the pandas engine *is* that function), indexed by
    the customer ids' text in the same (string) order; on every engine the index is
    Arrow-backed strings (``string[pyarrow]``), so 20M customers do not cost 20M Python
    strings.

    ``transactions`` is a path (CSV/Parquet, glob, folder, URI) or a DataFrame with a customer
    id (``customer_id``/``user_id``/``id``), a date (``date``/``order_ts``/…) and optionally an
    amount. Without ``calibration_end`` everything up to ``observation_end`` (default: the last
    date) is summarised and ``holdout`` is None; with it, the calibration summary and the
    holdout columns ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``.

    On a SQL engine the summary's ``attrs`` hold the stages' wall seconds (``timings``:
    ``validate`` — one scan for the checks, the row count and the last time —, ``aggregate``,
    ``frame``, ``holdout``), their CPU seconds (``cpu``) and ``spans``.
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
        # the engines' RFM has lifetimes' four columns (the LTV fit's spend count stays
        # there) and their index type: the ids as Arrow-backed strings
        summary = summary.drop(columns=["spend_frequency"], errors="ignore")
        summary.index = summary.index.astype(_ID_DTYPE)
        if holdout is not None:
            holdout.index = holdout.index.astype(_ID_DTYPE)
        return summary, holdout
    from bayes.ltv.data import pick_column  # (its package imports the LTV model: lazily)

    stages = Stages()
    d = DIALECTS[spec.name]
    src = source_of(transactions, what="transactions")
    cal_us = _us(calibration_end) if calibration_end is not None else None
    hold_us = _us(holdout_end) if holdout_end is not None else None
    if cal_us is not None and hold_us is not None and not hold_us > cal_us:
        raise InputError(
            f"holdout end {_day_of(hold_us)} must be after calibration end {_day_of(cal_us)}"
        )
    with connect(spec) as db:
        columns = db.view(_TX, src)
        cols = {
            "id": pick_column(columns, _ID_NAMES, "customer id", src.label),
            "date": pick_column(columns, _DATE_NAMES, "date", src.label),
            "amount": pick_column(columns, _AMOUNT_NAMES, "amount", src.label, required=False),
        }
        cols["date_text"] = cols["date"] in db.text_columns[_TX]
        cols["id_type"] = db.column_types[_TX][cols["id"]]
        table = Table(src, _TX, _tx_select(cols))
        checks = _tx_checks(cols)
        tx = table.sql(d)
        with stages("validate"):
            stats = _tx_stats(db, tx, checks)
            if stats["n"] == 0:
                raise InputError("the table is empty (no data rows)", source=src.label)
            if stats["bad"]:  # name the file, column and rows
                validate(db, d, table, checks)
                raise AssertionError("the RFM scan flagged rows that no check names")
        last_day = stats["last_us"] // _DAY_US
        if cal_us is None:  # everything up to the observation end
            # no observation end: no limit in the query (no FILTER), the last day for T
            limit = None if observation_end is None else _us(observation_end) // _DAY_US
            end_day = last_day if limit is None else limit
            with stages("aggregate"):
                got = db.arrow(_rfm_sql(tx, cols, end_day=limit, upto_us=None))
            with stages("frame"):
                summary = _rfm_frame(got, end_day, cols["amount"] is not None)
            return stages.attach(summary), None
        with stages("aggregate"):
            got = db.arrow(_rfm_sql(tx, cols, end_day=cal_us // _DAY_US, upto_us=cal_us))
        with stages("frame"):
            summary = _rfm_frame(got, cal_us // _DAY_US, cols["amount"] is not None)
        del got
        if hold_us is None:  # up to the last transaction
            hold_us, hold_day = stats["last_us"], last_day
        else:
            hold_day = hold_us // _DAY_US
        if not hold_us > cal_us:
            raise InputError(
                f"holdout end {_day_of(hold_us)} must be after calibration end {_day_of(cal_us)}"
            )
        if summary.empty:
            raise InputError(f"no transactions on or before the calibration end {_day_of(cal_us)}")
        with stages("holdout"):
            held = _frame(db.arrow(_holdout_sql(tx, cols, cal_us, hold_us)))
    if held.empty:
        raise InputError(
            "no transactions after the calibration end and up to the holdout end "
            f"({_day_of(cal_us)} .. {_day_of(hold_us)})"
        )
    holdout = held.reindex(summary.index).fillna(0.0).astype(float)
    holdout["duration_holdout"] = float(hold_day - cal_us // _DAY_US) / 7
    return stages.attach(summary), holdout


def _day_of(us: int):
    return pd.Timestamp(us * 1000).date()


# ----------------------------------------------------------------------------- LTV inputs


@dataclass
class LTVInputs:
    """What :func:`bayes.ltv.workflow.prepare_rfm` builds from a transaction log, aggregated
    by an engine: the RFM ``summary`` (with ``monetary_value`` and ``spend_frequency`` under
    the monetary policy; ``attrs["time_unit"]``), the ``holdout`` columns, the ``policy``
    report and the calibration and holdout ends (naive UTC) when split."""

    summary: pd.DataFrame
    holdout: pd.DataFrame | None = None
    policy: dict = field(default_factory=dict)
    calibration_end: pd.Timestamp | None = None
    holdout_end: pd.Timestamp | None = None


def _naive(us: int) -> pd.Timestamp:
    return pd.Timestamp(int(us) * 1000)


def _ltv_sql(tx: str, amount: bool, *, period: str, spend: str, id_out: str) -> str:
    """Per customer, in one scan: the purchase days of the ``period`` rows (``n_days``,
    ``first_day``, ``last_day``), the positive-value repeat days of the ``spend`` rows and
    their spend (exact sums), and the monetary policy's counts over every row; the id as
    ``id_out`` (:func:`_id_out`), unordered."""
    day = _floor_div("us", _DAY_US)
    if not amount:
        return f"""
    WITH days AS (
      SELECT customer_id, {day} AS day, count(*) FILTER (WHERE {period}) AS n
      FROM ({tx}) v GROUP BY customer_id, {day}
    )
    SELECT {id_out} AS customer_id,
      count(*) FILTER (WHERE n > 0) AS n_days, min(day) FILTER (WHERE n > 0) AS first_day,
      max(day) FILTER (WHERE n > 0) AS last_day, true AS kept
    FROM days GROUP BY customer_id"""
    keep = "amount_value >= 0"  # refunds (negative amounts) are not purchases
    return f"""
    WITH days AS (
      SELECT customer_id, {day} AS day,
        count(*) FILTER (WHERE {keep} AND {period}) AS n,
        count(*) FILTER (WHERE {keep} AND {spend}) AS s_n,
        sum(amount) FILTER (WHERE {keep} AND {spend}) AS s_amount,
        count(*) FILTER (WHERE {keep}) AS n_kept,
        count(*) FILTER (WHERE amount_value = 0) AS n_zero,
        count(*) FILTER (WHERE amount_value < 0) AS n_negative,
        max(amount_value) FILTER (WHERE {keep}) AS max_amount
      FROM ({tx}) v GROUP BY customer_id, {day}
    ),
    cust AS (
      SELECT customer_id,
        count(*) FILTER (WHERE n > 0) AS n_days,
        min(day) FILTER (WHERE n > 0) AS first_day,
        max(day) FILTER (WHERE n > 0) AS last_day,
        count(*) FILTER (WHERE s_n > 0 AND s_amount > 0) AS positive_days,
        sum(s_amount) FILTER (WHERE s_n > 0 AND s_amount > 0) AS positive_spend,
        min_by(s_amount, day) FILTER (WHERE s_n > 0) AS first_spend,
        sum(n_negative) AS n_negative, sum(n_zero) AS n_zero,
        min_by(n_zero, day) FILTER (WHERE n_kept > 0) AS n_zero_first_day,
        count(*) FILTER (WHERE n_kept > 0) > 0 AS kept,
        max(max_amount) AS max_amount
      FROM days GROUP BY customer_id
    )
    SELECT {id_out} AS customer_id, n_days, first_day, last_day,
      positive_days - CASE WHEN first_spend > 0 THEN 1 ELSE 0 END AS spend_frequency,
      CAST(coalesce(positive_spend, 0)
           - CASE WHEN first_spend > 0 THEN first_spend ELSE 0 END AS DOUBLE) AS repeat_spend,
      n_negative, n_zero, n_zero_first_day, kept, max_amount
    FROM cust"""


def ltv_rfm(
    transactions,
    *,
    time_unit: str = "W",
    observation_end=None,
    calibration_end=None,
    holdout_end=None,
    holdout_days: int | None = None,
    engine: str | EngineSpec | None = None,
) -> LTVInputs:
    """:func:`bayes.ltv.workflow.prepare_rfm`'s RFM from a transaction log on a SQL engine:
    the checks of :func:`bayes.ltv.data.load_transactions`, the monetary policy of
    :func:`bayes.ltv.data.apply_monetary_policy` (refunds dropped, free orders counted as
    purchases without spend; the same report and warning), lifetimes' RFM in ``time_unit``
    (D, W or M) as :func:`bayes.ltv.data.rfm_summary`, and the holdout split
    (``calibration_end``/``holdout_end`` or the last ``holdout_days``).

    Frequency, recency, T and the counts are exact; spends are summed as ``DECIMAL(38, 10)``
    (lifetimes sums floats: ``monetary_value`` agrees to ~1e-15 relative)."""

    from bayes.ltv.data import pick_column, warn_monetary_policy
    from models.ltv.units import canonical_unit, days_per_unit

    unit = canonical_unit(time_unit)
    per = days_per_unit(unit)
    spec = resolve_engine(engine)
    if spec.name == "pandas":
        raise ValueError("ltv_rfm runs on a SQL engine; pandas is bayes.ltv.workflow itself")
    d = DIALECTS[spec.name]
    src = source_of(transactions, what="transactions")
    with connect(spec) as db:
        columns = db.view(_TX, src)
        cols = {
            "id": pick_column(columns, _ID_NAMES, "customer id", src.label),
            "date": pick_column(columns, _DATE_NAMES, "date", src.label),
            "amount": pick_column(columns, _AMOUNT_NAMES, "amount", src.label, required=False),
        }
        cols["date_text"] = cols["date"] in db.text_columns[_TX]
        cols["id_type"] = db.column_types[_TX][cols["id"]]
        amount = cols["amount"] is not None
        table = Table(src, _TX, _tx_select(cols))
        checks = _tx_checks(cols, refunds=True)
        tx = table.sql(d)
        keep = "amount_value >= 0" if amount else "true"
        stats = db.arrow(
            f"SELECT count(*) AS n, bool_or({_bad_tx(checks)}) AS bad, "
            f"max(us) FILTER (WHERE {keep}) AS last_us, "
            f"min(us) FILTER (WHERE {keep}) AS first_us, "
            + (f"count(*) FILTER (WHERE {keep} AND amount_value = 0)" if amount else "0")
            + f" AS n_zero FROM ({tx}) v"
        ).to_pylist()[0]
        if stats["n"] == 0:
            raise InputError("the table is empty (no data rows)", source=src.label)
        if stats["bad"]:
            validate(db, d, table, checks)
            raise AssertionError("the LTV query flagged rows that no check names")
        if stats["last_us"] is None:
            raise InputError(
                "no purchases left: every amount is negative (refunds are not purchases)",
                source=src.label,
                column="amount",
            )
        last = _naive(stats["last_us"])
        cal = hold = None
        if holdout_days is not None:
            if calibration_end is not None:
                raise InputError("give --calibration-end or --holdout-days, not both")
            calibration_end = last.floor("D") - pd.Timedelta(days=int(holdout_days))
            holdout_end = last
        if calibration_end is not None:
            cal = _naive(_us(calibration_end))
            hold = _naive(_us(holdout_end)) if holdout_end is not None else last
            if cal >= last:
                raise InputError(
                    f"the calibration end {cal.date()} is on or after the last transaction "
                    f"{last.date()}: nothing is left to hold out",
                    source=src.label,
                )
            if not hold > cal:
                raise InputError(
                    f"the holdout end {hold.date()} must be after the calibration end {cal.date()}",
                    source=src.label,
                )
            if _us(cal) < stats["first_us"]:
                raise InputError(
                    f"no transactions on or before the calibration end {cal.date()} "
                    f"(the log starts {_naive(stats['first_us']).date()})",
                    source=src.label,
                )
            end_us, end_day = _us(cal), _us(cal) // _DAY_US
            period = spend = f"us <= {end_us}"
        else:
            end = _naive(_us(observation_end)) if observation_end is not None else last
            end_us, end_day = _us(end), _us(end) // _DAY_US
            if stats["first_us"] // _DAY_US > end_day:
                raise InputError(f"no transactions on or before {end.date()}", source=src.label)
            # lifetimes counts whole days; the spend of free-order logs counts up to the time
            period = f"{_floor_div('us', _DAY_US)} <= {end_day}"
            spend = f"us <= {end_us}" if stats["n_zero"] else period
        got = db.arrow(_ltv_sql(tx, amount, period=period, spend=spend, id_out=_id_out(cols)))
        held = None
        if cal is not None:
            held = _frame(
                db.arrow(
                    _holdout_sql(f"SELECT * FROM ({tx}) w WHERE {keep}", cols, _us(cal), _us(hold))
                )
            )
    if held is not None and held.empty:
        raise InputError(
            "no transactions after the calibration end and up to the holdout end "
            f"({cal.date()} .. {hold.date()})",
            source=src.label,
        )
    policy = _policy_report(got, amount)
    if amount:
        warn_monetary_policy(policy, src.label)
    summary = _ltv_frame(got, end_day, per, amount)
    summary.attrs["time_unit"] = unit
    holdout = None
    if cal is not None:
        holdout = held.reindex(summary.index).fillna(0.0).astype(float)
        holdout["duration_holdout"] = (hold.floor("D") - cal.floor("D")).days / per
        holdout.index = holdout.index.rename("customer_id")
    return LTVInputs(summary, holdout, policy, cal, hold)


def _policy_report(got, amount: bool) -> dict:
    """:func:`bayes.ltv.data.apply_monetary_policy`'s report from the per-customer counts."""
    report = {
        "negative_rows_dropped": 0,
        "zero_value_rows": 0,
        "zero_value_first_purchase_rows": 0,
        "customers_only_zero_value": 0,
        "customers_dropped": 0,
    }
    if not amount:
        return report
    kept = np.asarray(got.column("kept").to_numpy(zero_copy_only=False), bool)

    def total(name, mask=None):
        v = got.column(name).to_numpy(zero_copy_only=False)
        v = np.nan_to_num(np.asarray(v, float)) if mask is None else np.asarray(v, float)[mask]
        return int(np.nansum(v))

    report.update(
        negative_rows_dropped=total("n_negative"),
        zero_value_rows=total("n_zero"),
        zero_value_first_purchase_rows=total("n_zero_first_day", kept),
        customers_only_zero_value=int(
            (
                np.asarray(got.column("max_amount").to_numpy(zero_copy_only=False), float)[kept]
                == 0
            ).sum()
        ),
        customers_dropped=int((~kept).sum()),
    )
    return report


def _ltv_frame(got, end_day: int, per: float, amount: bool) -> pd.DataFrame:
    """:func:`bayes.ltv.data.rfm_summary`'s columns for the customers with a purchase day in
    the period, durations in units of ``per`` days."""
    names = ["n_days", "first_day", "last_day"]
    names += ["spend_frequency", "repeat_spend"] if amount else []

    def columns(cols):
        n_days, first, last = (cols[c].astype(np.int64, copy=False) for c in names[:3])
        out = {
            "frequency": (n_days - 1).astype(float),
            "recency": (last - first).astype(float) / per,
            "T": (end_day - first).astype(float) / per,
        }
        if amount:
            k = cols["spend_frequency"].astype(float)
            spend = cols["repeat_spend"].astype(float, copy=False)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["monetary_value"] = np.where(k > 0, spend / k, 0.0)
            out["spend_frequency"] = k
        return out

    return _customer_frame(got, names, columns)


# ----------------------------------------------------------------------------- cohorts


def _raw(names) -> str:
    """The raw columns ``names`` carried along as ``raw_<name>`` (for the data dictionary)."""
    return "".join(f", src.{n} AS raw_{n}" for n in names)


def _users_select(segment: str | None, ts_text: bool = True, raw=()):
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
              {d.utc_micros("src.signup_ts", text=ts_text)} AS signup_us{_raw(raw)}{seg}{extra}
            FROM {table} src"""

    return select


def _events_select(
    d: Dialect, table: str, extra: str, *, ts_text: bool = True, signup_text: bool = True, raw=()
) -> str:
    """The events with problem flags, joined to their user's signup time (``signup_us``)."""
    return f"""
        SELECT
          src.user_id IS NULL AS id_missing,
          CAST(src.user_id AS STRING) AS user_id,
          CAST(src.event_type AS STRING) AS event_type,
          src.event_ts IS NULL AS ts_missing,
          {d.utc_micros("src.event_ts", text=ts_text)} AS us,
          u.user_id IS NULL AS unknown_user,
          u.signup_us{_raw(raw)}{extra}
        FROM {table} src LEFT JOIN (
          SELECT CAST(user_id AS STRING) AS user_id,
            min({d.utc_micros("signup_ts", text=signup_text)}) AS signup_us
          FROM {_USERS} GROUP BY CAST(user_id AS STRING)
        ) u ON CAST(src.user_id AS STRING) = u.user_id"""


def _user_checks(segment: str | None, dictionary) -> tuple[Check, ...]:
    """The users' data dictionary (:data:`bayes.growth.data.USERS_COLUMNS`, as
    :func:`~bayes.growth.data.read_users`), then no repeated id (as the cohort reference)."""
    out = [*dictionary, Check("repeated", "user_id", "repeated", "duplicate user_id")]
    if segment and segment not in {c.column for c in dictionary}:
        out.append(Check("segment_missing", segment, "segment_missing", _MISSING))
    return tuple(out)


def _event_checks(dictionary) -> tuple[Check, ...]:
    """The events' data dictionary (:data:`bayes.growth.data.EVENTS_COLUMNS`, as
    :func:`~bayes.growth.data.read_events`), then every session of a known user, after
    its signup."""
    return (*dictionary, *_GROWTH_EVENT_CHECKS)


_GROWTH_EVENT_CHECKS = (
    Check(
        "unknown_user",
        "user_id",
        "unknown_user AND event_type = 'session_start'",
        "events of users missing from the users table",
    ),
    Check(  # as bayes.growth.data.check_events_after_signup
        "before_signup",
        "event_ts",
        "us < signup_us",
        "events before the user's signup_ts (impossible: check time zones and user ids)",
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
      SELECT {seg}cohort_day, count(*) AS cohort_size, max(signup_us) AS last_signup_us,
        min(signup_us) AS first_signup_us
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
        from bayes.growth.data import check_events_after_signup, read_events, read_users

        u = users if isinstance(users, pd.DataFrame) else read_users(users)
        e = events if isinstance(events, pd.DataFrame) else read_events(events)
        check_events_after_signup(u, e, source=str(events) if not in_memory else "events")
        return reference(u, e, segment=segment, max_weeks=max_weeks, as_of=as_of)
    d = DIALECTS[spec.name]
    usrc, esrc = source_of(users, what="users"), source_of(events, what="events")
    with connect(spec) as db:
        need = _required("users") + ([segment] if segment else [])
        require_columns(db.view(_USERS, usrc), list(dict.fromkeys(need)), usrc.label)
        require_columns(db.view(_EVENTS, esrc), _required("events"), esrc.label)
        ut, et, uchecks, echecks = _growth_tables(db, d, usrc, esrc, segment)
        validate(db, d, ut, uchecks)
        stats = validate(db, d, et, echecks, extra=", max(us) AS last_us")
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
    if not observed.any():  # the reference's message
        first = pd.Timestamp(int(got["first_signup_us"].min()) * 1000)
        raise InputError(
            f"as-of {as_of.date()}: no cohort has a fully observed week (the first signup is "
            f"{first.date()}); every cell of the cohort matrix would be empty"
        )
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


# ----------------------------------------------------------------------------- survival


def activity_lifetimes(
    users,
    events,
    *,
    as_of=None,
    churn_days: int = 28,
    cohort: str = "month",
    engine: str | EngineSpec | None = None,
) -> pd.DataFrame:
    """:func:`bayes.growth.survival.activity_lifetimes` (one row per user: ``cohort``,
    ``lifetime_days``, ``churned``) with the per-user last session counted by an engine
    straight from the users and events files; the rows are then shaped by the reference's
    :func:`~bayes.growth.survival.lifetimes_table`. Users are in ``user_id`` order."""
    from bayes.growth.survival import activity_lifetimes as reference
    from bayes.growth.survival import lifetimes_table

    if churn_days <= 0:
        raise InputError(f"churn_days must be positive, got {churn_days}")
    in_memory = isinstance(users, pd.DataFrame) and isinstance(events, pd.DataFrame)
    spec = resolve_engine(engine, in_memory=in_memory)
    if spec.name == "pandas":
        from bayes.growth.data import read_events, read_users

        u = users if isinstance(users, pd.DataFrame) else read_users(users)
        e = events if isinstance(events, pd.DataFrame) else read_events(events)
        return reference(u, e, as_of=as_of, churn_days=churn_days, cohort=cohort)
    column = None if cohort in ("month", "week") else cohort
    d = DIALECTS[spec.name]
    usrc, esrc = source_of(users, what="users"), source_of(events, what="events")
    with connect(spec) as db:
        found = db.view(_USERS, usrc)
        if column is not None and column not in found:
            raise InputError(f"unknown cohort {cohort!r}; use month, week or a users column")
        require_columns(found, _required("users"), usrc.label)
        require_columns(db.view(_EVENTS, esrc), _required("events"), esrc.label)
        ut, et, uchecks, echecks = _growth_tables(db, d, usrc, esrc, column)
        first = validate(db, d, ut, uchecks, extra=", min(signup_us) AS first_us")
        stats = validate(db, d, et, echecks, extra=", max(us) AS last_us")
        if as_of is None and stats["last_us"] is None:
            raise InputError("the events table is empty: give as_of", source=esrc.label)
        as_of_ts = (
            pd.Timestamp(int(stats["last_us"]) * 1000, tz="UTC") if as_of is None else _utc(as_of)
        )
        seg = ", u.segment" if column else ""
        got = db.arrow(
            f"""
            SELECT u.user_id, u.signup_us{seg}, s.last_us
            FROM ({ut.sql(d)}) u LEFT JOIN (
              SELECT user_id, max(us) AS last_us FROM ({et.sql(d)}) e
              WHERE event_type = 'session_start' AND us <= {_us(as_of_ts)}
              GROUP BY user_id
            ) s ON u.user_id = s.user_id
            WHERE u.signup_us <= {_us(as_of_ts)}"""
        )
    if got.num_rows == 0:
        first_signup = pd.Timestamp(int(first["first_us"]) * 1000, tz="UTC")
        raise InputError(
            f"--as-of {as_of_ts.date()} is before every signup "
            f"(first {first_signup.date()}): no lifetime is observed"
        )
    ids = got.column("user_id").to_numpy(zero_copy_only=False)
    try:  # the data dictionary's integer ids, as the pandas loader reads them
        ids = ids.astype(np.int64)
    except ValueError:
        pass
    got = got.take(np.argsort(ids, kind="stable"))  # user_id order
    ids = np.sort(ids, kind="stable")
    u = pd.DataFrame(
        {
            "user_id": ids,
            "signup_ts": pd.to_datetime(got.column("signup_us").to_numpy(), unit="us", utc=True),
        }
    )
    if column:
        u[column] = got.column("segment").to_numpy(zero_copy_only=False)
    last_us = got.column("last_us").to_numpy(zero_copy_only=False).astype(float)
    last = pd.Series(pd.to_datetime(last_us, unit="us", utc=True)).to_numpy()
    return lifetimes_table(u, last, as_of=as_of_ts, churn_days=churn_days, cohort=cohort)


def seasonality_counts(orders, *, engine: str | EngineSpec | None = None):
    """The daily counts behind :func:`bayes.growth.survival.seasonality`, by an engine:
    ``(days, repeat_orders, first_orders)`` over every day from the first order to the last
    (feed them to :func:`~bayes.growth.survival.seasonality_table`)."""
    from bayes.ltv.data import pick_column

    spec = resolve_engine(engine, in_memory=isinstance(orders, pd.DataFrame))
    if spec.name == "pandas":
        raise ValueError("seasonality_counts runs on a SQL engine; pandas is seasonality itself")
    d = DIALECTS[spec.name]
    src = source_of(orders, what="orders")
    with connect(spec) as db:
        columns = db.view(_TX, src)
        cols = {
            "id": pick_column(columns, ("user_id", "customer_id"), "customer id", src.label),
            "date": pick_column(columns, ("order_ts", "date"), "date", src.label),
            "amount": pick_column(columns, ("amount",), "amount", src.label, required=False),
        }
        cols["date_text"] = cols["date"] in db.text_columns[_TX]
        cols["id_type"] = db.column_types[_TX][cols["id"]]
        table = Table(src, _TX, _tx_select(cols))
        checks = _tx_checks(cols)
        stats = validate(db, d, table, checks)
        if stats["n_rows"] == 0:
            raise InputError("the table is empty (no data rows)", source=src.label)
        day = _floor_div("us", _DAY_US)
        got = db.arrow(
            f"""
            WITH d AS (
              SELECT customer_id, {day} AS day, count(*) AS n
              FROM ({table.sql(d)}) v GROUP BY customer_id, {day}
            ),
            f AS (SELECT day, n, min(day) OVER (PARTITION BY customer_id) AS first FROM d)
            SELECT day, coalesce(sum(n) FILTER (WHERE day > first), 0) AS repeat_orders,
              count(*) FILTER (WHERE day = first) AS first_orders
            FROM f GROUP BY day ORDER BY day"""
        ).to_pandas()
    first_day, last_day = int(got["day"].min()), int(got["day"].max())
    span = np.arange(first_day, last_day + 1)
    by_day = got.set_index("day").reindex(span, fill_value=0)
    days = pd.DatetimeIndex(pd.to_datetime(span, unit="D"))
    return (
        days,
        by_day["repeat_orders"].to_numpy(np.int64),
        by_day["first_orders"].to_numpy(np.int64),
    )


def _utc(ts) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _required(table: str) -> list[str]:
    """The columns the pandas loader requires (the data dictionary of ``users``/``events``)."""
    from bayes.growth.data import EVENTS_COLUMNS, USERS_COLUMNS

    columns = USERS_COLUMNS if table == "users" else EVENTS_COLUMNS
    return [c.name for c in columns if c.required]


def _growth_tables(db, d: Dialect, usrc, esrc, segment: str | None):
    """The users and events as :class:`~bayes.engines.checks.Table` (views registered) and
    their checks: the data dictionary's (:func:`~bayes.engines.checks.dictionary_checks`,
    the pandas loaders' messages, over the raw columns carried along), then the cohorts'."""
    from bayes.growth.data import EVENTS_COLUMNS, USERS_COLUMNS

    def dictionary(view, src, columns, parsed):
        found = db.column_types[view]
        raw = [c.name for c in columns if c.name in found]
        checks = dictionary_checks(
            columns,
            d,
            types=found,
            text=db.text_columns[view],
            csv=src.kind == "csv",
            parsed=parsed,
        )
        return raw, checks

    uraw, uchecks = dictionary(_USERS, usrc, USERS_COLUMNS, {"signup_ts": "signup_us"})
    eraw, echecks = dictionary(_EVENTS, esrc, EVENTS_COLUMNS, {"event_ts": "us"})
    ut = Table(usrc, _USERS, _users_select(segment, "signup_ts" in db.text_columns[_USERS], uraw))
    et = Table(
        esrc,
        _EVENTS,
        functools.partial(
            _events_select,
            ts_text="event_ts" in db.text_columns[_EVENTS],
            signup_text="signup_ts" in db.text_columns[_USERS],
            raw=eraw,
        ),
    )
    return ut, et, _user_checks(segment, uchecks), _event_checks(echecks)
