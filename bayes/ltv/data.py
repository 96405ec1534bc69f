"""LTV inputs: transaction logs, the monetary policy, RFM summaries in an explicit time unit.

Steps, each a function a test also calls:

1. :func:`load_transactions` validates a log (customer id, date, optional amount; the growth
   generator's ``orders`` file works as is). A missing, infinite or unparseable value stops
   with :class:`~bayes.io.InputError` naming the file, column and rows.
2. :func:`apply_monetary_policy` applies the **monetary policy** (below) and warns with the
   number of rows and customers it touched.
3. :func:`rfm_summary` builds RFM with lifetimes' own utilities
   (``summary_data_from_transaction_data`` / ``calibration_and_holdout_data``): daily periods
   (same-day purchases count once), durations in the chosen unit (day, week, month).
   :func:`validate_rfm` / :func:`read_rfm` check an RFM file a user brings.

Monetary policy
---------------
LTV is revenue. An order with a **negative** amount is a refund or return, not a purchase: it
is dropped (it neither counts as a purchase nor lowers the spend). An order with a **zero**
amount (a free order, a fully discounted promotion) *is* a purchase — the customer was active
— but carries no spend: BG/NBD counts it, Gamma-Gamma sees only the positive-value repeat
purchases of each customer (``spend_frequency`` of them, mean ``monetary_value``), and the LTV
multiplies the expected purchases by the share of repeat purchases that had a value
(``paid_share``). Customers whose only orders are free keep their BG/NBD prediction and get
the population's expected spend. A missing or infinite amount is an error, never a guess.
In an RFM file, ``monetary_value`` must be >= 0; 0 with repeat purchases means they were all
free (those customers are left out of the spend model, with a warning).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.io import Column, InputError, read_table, row_numbers, validate_frame
from models.ltv.units import canonical_unit, days_per_unit

__all__ = [
    "ID_NAMES",
    "MonetaryPolicyWarning",
    "apply_monetary_policy",
    "cdnow_master_transactions",
    "cdnow_summary",
    "cdnow_transactions",
    "load_segments",
    "load_transactions",
    "read_rfm",
    "rfm_summary",
    "validate_rfm",
    "warn_monetary_policy",
]

ID_NAMES = ("customer_id", "user_id", "id")
_DATE_NAMES = ("date", "order_ts", "datetime", "timestamp")
_AMOUNT_NAMES = ("amount", "monetary_value", "value")


class MonetaryPolicyWarning(UserWarning):
    """The monetary policy changed or set aside some rows (the message says how many)."""


def pick_column(columns, names, what, source, required=True):
    """The first of ``names`` found in ``columns``; a missing required column is an
    :class:`~bayes.io.InputError` listing the names expected and the columns found."""
    for n in names:
        if n in columns:
            return n
    if required:
        raise InputError(
            f"no {what} column: expected one of {list(names)}; found {list(columns)}",
            source=source,
        )
    return None


def load_transactions(path_or_frame, *, source: str | None = None) -> pd.DataFrame:
    """A validated transaction log with columns ``customer_id``, ``date`` and ``amount``.

    Accepts ``customer_id``/``user_id``, ``date``/``order_ts`` and an optional ``amount``
    (missing -> no spend model). Dates become tz-naive UTC. Amounts may be negative or zero
    (see the monetary policy) but not missing or infinite.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        df, src = path_or_frame, source or "<transactions>"
    else:
        df, src = read_table(path_or_frame), str(path_or_frame)
    idc = pick_column(df.columns, ID_NAMES, "customer id", src)
    dc = pick_column(df.columns, _DATE_NAMES, "date", src)
    ac = pick_column(df.columns, _AMOUNT_NAMES, "amount", src, required=False)
    cols = [Column(idc, "str"), Column(dc, "datetime")]
    if ac:
        cols.append(Column(ac, "float"))
    out = validate_frame(df[[c.name for c in cols]], cols, source=src)
    if ac:
        inf = ~np.isfinite(out[ac].to_numpy(float))
        if inf.any():
            raise InputError(
                "amounts must be finite (found inf)",
                source=src,
                column=ac,
                rows=row_numbers(inf, df.index),
            )
    out = out.rename(columns={idc: "customer_id", dc: "date", **({ac: "amount"} if ac else {})})
    out["date"] = out["date"].dt.tz_convert("UTC").dt.tz_localize(None)
    out.attrs["source"] = src
    return out.reset_index(drop=True)


def apply_monetary_policy(
    transactions: pd.DataFrame, *, source: str | None = None, warn: bool = True
) -> tuple[pd.DataFrame, dict]:
    """Drop refunds (negative amounts) and count free orders; returns ``(log, report)``.

    ``report`` has the rows and customers touched; a :class:`MonetaryPolicyWarning` says the
    same in words when anything was touched.
    """
    src = source or transactions.attrs.get("source", "<transactions>")
    report = {
        "negative_rows_dropped": 0,
        "zero_value_rows": 0,
        "zero_value_first_purchase_rows": 0,
        "customers_only_zero_value": 0,
        "customers_dropped": 0,
    }
    if "amount" not in transactions.columns:
        return transactions, report
    amount = transactions["amount"].to_numpy(float)
    neg = amount < 0
    kept = transactions.loc[~neg].copy()
    kept.attrs = dict(transactions.attrs)
    zero = kept["amount"].to_numpy(float) == 0
    first_day = kept.groupby("customer_id")["date"].transform("min").dt.floor("D")
    on_first = (kept["date"].dt.floor("D") == first_day).to_numpy()
    only_zero = kept.groupby("customer_id")["amount"].max() == 0
    report.update(
        negative_rows_dropped=int(neg.sum()),
        zero_value_rows=int(zero.sum()),
        zero_value_first_purchase_rows=int((zero & on_first).sum()),
        customers_only_zero_value=int(only_zero.sum()),
        customers_dropped=int(
            transactions["customer_id"].nunique() - kept["customer_id"].nunique()
        ),
    )
    if kept.empty:
        raise InputError(
            "no purchases left: every amount is negative (refunds are not purchases)",
            source=src,
            column="amount",
        )
    if warn:
        warn_monetary_policy(report, src, stacklevel=2)
    return kept, report


def warn_monetary_policy(report: dict, source: str, *, stacklevel: int = 2) -> None:
    """The :class:`MonetaryPolicyWarning` saying what :func:`apply_monetary_policy` did (its
    ``report``), when it touched anything (also used by the engines' LTV aggregation)."""
    parts = []
    if report["negative_rows_dropped"]:
        parts.append(
            f"{report['negative_rows_dropped']:,} rows with a negative amount are refunds, "
            f"not purchases: dropped ({report['customers_dropped']:,} customers had nothing "
            "else)"
        )
    if report["zero_value_rows"]:
        parts.append(
            f"{report['zero_value_rows']:,} zero-value orders "
            f"({report['zero_value_first_purchase_rows']:,} on a first purchase day) count "
            "as purchases without spend; "
            f"{report['customers_only_zero_value']:,} customers have only free orders and get "
            "the population's expected spend"
        )
    if parts:
        warnings.warn(
            f"{source}: monetary policy: " + "; ".join(parts),
            MonetaryPolicyWarning,
            stacklevel=stacklevel + 1,
        )


def _positive_repeat_spend(tx: pd.DataFrame, end) -> pd.DataFrame:
    """Per customer: number and mean of the positive-value repeat purchase days up to ``end``
    (same-day orders summed, as lifetimes does)."""
    t = tx[tx["date"] <= end]
    day = t.assign(day=t["date"].dt.floor("D")).groupby(["customer_id", "day"])["amount"].sum()
    day = day.reset_index()
    first = day.groupby("customer_id")["day"].transform("min")
    rep = day[(day["day"] > first) & (day["amount"] > 0)]
    g = rep.groupby("customer_id")["amount"]
    return pd.DataFrame({"spend_frequency": g.size(), "monetary_value": g.mean()})


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    observation_end=None,
    calibration_end=None,
    holdout_end=None,
    time_unit: str = "W",
):
    """RFM with lifetimes' utilities in ``time_unit`` (D, W or M); returns ``(summary, holdout)``.

    Without ``calibration_end`` the whole log is summarised up to ``observation_end`` (default:
    the last date) and ``holdout`` is ``None``. With it, lifetimes'
    ``calibration_and_holdout_data`` splits at ``calibration_end`` and ``holdout_end`` and
    ``holdout`` has ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``.
    ``summary`` has ``frequency, recency, T`` and, with amounts, ``monetary_value`` and
    ``spend_frequency`` per the monetary policy (apply :func:`apply_monetary_policy` first);
    ``summary.attrs["time_unit"]`` records the unit.
    """
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

    unit = canonical_unit(time_unit)
    has_amount = "amount" in transactions.columns
    if has_amount and (transactions["amount"] < 0).any():
        raise ValueError("apply_monetary_policy first: negative amounts are refunds")
    kw = {
        "customer_id_col": "customer_id",
        "datetime_col": "date",
        "freq": "D",
        "freq_multiplier": days_per_unit(unit),
        "monetary_value_col": "amount" if has_amount else None,
    }
    tx = transactions
    src = tx.attrs.get("source", "<transactions>")
    if calibration_end is None:
        end = pd.Timestamp(observation_end) if observation_end is not None else tx["date"].max()
        # lifetimes counts in whole days: an order later on the end day is inside the period
        inside = tx["date"].dt.floor("D") <= end.floor("D")
        if not inside.any():
            raise InputError(f"no transactions on or before {end.date()}", source=src)
        s = summary_data_from_transaction_data(tx[inside], observation_period_end=end, **kw)
        holdout = None
    else:
        end = pd.Timestamp(calibration_end)
        hold = pd.Timestamp(holdout_end) if holdout_end is not None else tx["date"].max()
        if not hold > end:
            raise InputError(
                f"the holdout end {hold.date()} must be after the calibration end {end.date()}",
                source=src,
            )
        if not (tx["date"] <= end).any():
            raise InputError(
                f"no transactions on or before the calibration end {end.date()} "
                f"(the log starts {tx['date'].min().date()})",
                source=src,
            )
        ch = calibration_and_holdout_data(
            tx, calibration_period_end=end, observation_period_end=hold, **kw
        )
        s = ch.rename(columns=lambda c: c[:-4] if c.endswith("_cal") else c)
        holdout = ch[[c for c in ch.columns if c.endswith("_holdout")]].copy()
        holdout.index = holdout.index.astype(str).rename("customer_id")
    s.index = s.index.astype(str).rename("customer_id")
    cols = ["frequency", "recency", "T"]
    if has_amount:
        s["spend_frequency"] = s["frequency"]
        if (tx["amount"] == 0).any():
            pos = _positive_repeat_spend(tx, end)
            pos.index = pos.index.astype(str)
            s["spend_frequency"] = pos["spend_frequency"].reindex(s.index).fillna(0)
            s["monetary_value"] = pos["monetary_value"].reindex(s.index).fillna(0.0)
        cols += ["monetary_value", "spend_frequency"]
    out = s[cols].copy()
    out.attrs["time_unit"] = unit
    return out, holdout


def validate_rfm(
    summary: pd.DataFrame, *, source: str = "<rfm summary>", warn: bool = True
) -> pd.DataFrame:
    """Check an RFM summary; raise :class:`InputError` naming the bad rows.

    Rules: ``frequency`` a whole number >= 0; ``0 <= recency <= T``; ``T > 0``;
    ``recency == 0`` when ``frequency == 0``; ``monetary_value >= 0`` and finite (0 with repeat
    purchases: all free, left out of the spend model with a warning); duplicate customers are
    refused.
    """
    cols = [
        Column("frequency", "int", min=0),
        Column("recency", "float", min=0),
        Column("T", "float"),
        Column("monetary_value", "float", required=False, min=0),
        Column("spend_frequency", "int", required=False, min=0),
    ]
    out = validate_frame(summary, cols, source=source)
    labels = out.index
    num = out[[c for c in ("recency", "T", "monetary_value") if c in out]].to_numpy(float)
    checks = [
        (~np.isfinite(num).all(axis=1), None, "values must be finite (found inf)"),
        (out["T"] <= 0, "T", "T must be positive"),
        (
            out["recency"] > out["T"] + 1e-9,
            "recency",
            "recency exceeds T (last purchase after the end of observation)",
        ),
        (
            (out["frequency"] == 0) & (out["recency"] > 0),
            "recency",
            "recency must be 0 for customers with no repeat purchase",
        ),
    ]
    if "spend_frequency" in out:
        checks.append(
            (
                out["spend_frequency"] > out["frequency"],
                "spend_frequency",
                "spend_frequency exceeds frequency",
            )
        )
    if labels.has_duplicates:
        checks.append((labels.duplicated(), "customer_id", "duplicate customer"))
    for mask, col, msg in checks:
        mask = np.asarray(mask)
        if mask.any():
            raise InputError(msg, source=source, column=col, rows=_rows(mask, labels))
    if "monetary_value" in out and warn:
        free = (out["frequency"] > 0) & (out["monetary_value"] == 0)
        if free.any():
            warnings.warn(
                f"{source}: monetary policy: {int(free.sum()):,} customers with repeat purchases "
                "have monetary_value 0 (all free): left out of the spend model, they get the "
                "population's expected spend",
                MonetaryPolicyWarning,
                stacklevel=2,
            )
    return out


def _rows(mask, labels):
    if isinstance(labels, pd.RangeIndex):
        return row_numbers(mask)
    return list(labels[np.asarray(mask)])


def read_rfm(path, *, segment: str | None = None) -> pd.DataFrame:
    """Read an RFM file (CSV/Parquet: ``customer_id`` or ``user_id``, ``frequency``,
    ``recency``, ``T``, optional ``monetary_value``, ``spend_frequency`` and a segment column)
    and validate it; rows are named by their line number in the file."""
    df = read_table(path)
    src = str(path)
    idc = pick_column(df.columns, ID_NAMES, "customer id", src)
    if segment is not None and segment not in df.columns:
        raise InputError(f"no segment column {segment!r}; found {list(df.columns)}", source=src)
    ids = df[idc].astype(str)
    if ids.duplicated().any():
        raise InputError(
            "duplicate customer",
            source=src,
            column=idc,
            rows=row_numbers(ids.duplicated().to_numpy()),
        )
    out = validate_rfm(df, source=src)
    out.index = pd.Index(ids.to_numpy(), name="customer_id")
    keep = [
        c for c in ("frequency", "recency", "T", "monetary_value", "spend_frequency") if c in out
    ]
    if segment is not None:
        if df[segment].isna().any():
            raise InputError(
                "missing segment values",
                source=src,
                column=segment,
                rows=row_numbers(df[segment].isna().to_numpy()),
            )
        out[segment] = df[segment].astype(str).to_numpy()
        keep.append(segment)
    return out[keep]


def load_segments(path_or_frame, segment: str, *, source: str | None = None) -> pd.Series:
    """Segment per customer from a customers/users table (``customer_id``/``user_id`` + the
    ``segment`` column), one row per customer."""
    if isinstance(path_or_frame, pd.DataFrame):
        df, src = path_or_frame, source or "<customers>"
    else:
        df, src = read_table(path_or_frame), str(path_or_frame)
    idc = pick_column(df.columns, ID_NAMES, "customer id", src)
    if segment not in df.columns:
        raise InputError(f"no segment column {segment!r}; found {list(df.columns)}", source=src)
    out = validate_frame(
        df[[idc, segment]], [Column(idc, "str"), Column(segment, "str")], source=src
    )
    dup = out[idc].duplicated().to_numpy()
    if dup.any():
        raise InputError("duplicate customer", source=src, column=idc, rows=row_numbers(dup))
    return pd.Series(
        out[segment].to_numpy(), index=pd.Index(out[idc], name="customer_id"), name=segment
    )


# ------------------------------------------------------------------------ CDNOW


def cdnow_summary() -> pd.DataFrame:
    """The CDNOW 1/10 sample as shipped by lifetimes (frequency, recency, T in weeks, monetary;
    the 39-week calibration period of FHL05a)."""
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    df = load_cdnow_summary_data_with_monetary_value()
    df.index = df.index.astype(str).rename("customer_id")
    out = df[["frequency", "recency", "T", "monetary_value"]].copy()
    out.attrs["time_unit"] = "week"
    return out


def _lifetimes_dataset_path(name: str) -> Path:
    import lifetimes.datasets

    return Path(lifetimes.datasets.__file__).parent / name


def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW 1/10 sample transaction log shipped by lifetimes (``CDNOW_sample.txt``).

    Columns ``customer_id`` (the sample's 1..2357 numbering, as in the shipped summary),
    ``date``, ``amount``; 1997-01-01 .. 1998-06-30. FHL05a calibrate on the first 39 weeks (to
    1997-09-30) and hold out the remaining 39.
    """
    raw = pd.read_csv(
        _lifetimes_dataset_path("CDNOW_sample.txt"),
        header=None,
        sep=r"\s+",
        names=["master_id", "customer_id", "date", "quantity", "amount"],
        dtype={"date": str},
    )
    raw["customer_id"] = raw["customer_id"].astype(int).astype(str)
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    out = raw[["customer_id", "date", "amount"]]
    out.attrs["source"] = "CDNOW_sample.txt (lifetimes)"
    return out


def cdnow_master_transactions() -> pd.DataFrame:
    """The full CDNOW log shipped by lifetimes (``CDNOW_master.txt``: 23,570 customers of the
    1997Q1 cohort, 69,659 rows, 1997-01-01 .. 1998-06-30). It holds 80 zero-value rows (72 on
    a customer's first purchase day, 8 on repeat days; 68 customers have only free orders) —
    the monetary policy applies."""
    raw = pd.read_csv(
        _lifetimes_dataset_path("CDNOW_master.txt"),
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "quantity", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    raw["customer_id"] = raw["customer_id"].astype(int).astype(str)
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    out = raw[["customer_id", "date", "amount"]]
    out.attrs["source"] = "CDNOW_master.txt (lifetimes)"
    return out
