"""Numbers for people: thousands separators, no scientific notation, consistent decimals.

One set of rules for the report, the app and ``bayes runs``:

* integers get thousands separators (``1,234,567``);
* floats get a number of decimals chosen from their magnitude (three significant digits for
  numbers below 100, none from 1,000 up) — never scientific notation; a value too small for six
  decimals is written ``< 0.000001``;
* a column of a table gets *one* number of decimals, chosen from its typical magnitude, so
  that the numbers line up (:func:`column_decimals`);
* a missing value (``None``, NaN, NaT) is written ``—`` and, in tables, explained
  (:func:`format_frame` returns the reason beside the cells);
* negative numbers use the minus sign (``−``), booleans read ``yes`` / ``no``;
* :func:`compact` shortens large numbers for sentences: ``57,300`` → ``57.3k``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DASH",
    "FormattedTable",
    "MAX_DECIMALS",
    "column_decimals",
    "compact",
    "decimals_for",
    "fmt_interval",
    "fmt_number",
    "fmt_percent",
    "format_frame",
    "is_missing",
]

DASH = "—"
MINUS = "−"
MAX_DECIMALS = 6
#: reason shown under a table with missing cells when the caller gives none
DEFAULT_NA_REASON = "no value: not applicable to this row, or not estimated for it"


def is_missing(x) -> bool:
    """True for ``None``, NaN, NaT and pandas' NA."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):  # arrays, lists: not a scalar missing value
        return False


def decimals_for(x: float, significant: int = 3) -> int:
    """Decimals that show ``x`` with about ``significant`` significant digits, between 0 and
    :data:`MAX_DECIMALS` (0 from 1,000 up, 1 from 100, 2 from 1...)."""
    a = abs(float(x))
    if a == 0 or not math.isfinite(a):
        return 0
    d = significant - 1 - math.floor(math.log10(a))
    return int(min(MAX_DECIMALS, max(0, d)))


def _sign(text: str, negative: bool) -> str:
    return (MINUS + text) if negative else text


def fmt_number(
    x,
    decimals: int | None = None,
    *,
    unit: str = "",
    prefix: str = "",
    plus: bool = False,
    missing: str = DASH,
) -> str:
    """One number for a person: ``1,234``, ``0.193``, ``−58,210``, ``$71.15``, ``12 %``.

    ``decimals`` fixes the decimals of a float (default: from its magnitude); ``unit`` is
    appended (with a space unless it is ``%``), ``prefix`` (a currency sign) put before the
    digits; ``plus`` writes ``+`` before positive numbers.
    """
    if is_missing(x):
        return missing
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (pd.Timestamp,)):
        return x.isoformat()
    if isinstance(x, (int, np.integer)):
        v = int(x)
        text = f"{abs(v):,}"
        neg = v < 0
    elif isinstance(x, (float, np.floating)):
        v = float(x)
        if math.isinf(v):
            return ("+∞" if plus else "∞") if v > 0 else MINUS + "∞"
        d = decimals_for(v) if decimals is None else int(decimals)
        limit = 0.5 * 10.0**-d
        if v != 0 and abs(v) < limit:
            # too small for the decimals: say so instead of printing 0.000 or 1e-07
            bound = f"{10.0**-d:.{d}f}" if d else "1"
            text = f"< {prefix}{bound}" if v > 0 else f"> {MINUS}{prefix}{bound}"
            return text + _unit(unit)
        text = f"{abs(v):,.{d}f}"
        neg = v < 0 and float(text.replace(",", "")) != 0
    else:
        return str(x)
    if plus and not neg and v != 0:
        text = "+" + prefix + text
    else:
        text = _sign(prefix + text, neg)
    return text + _unit(unit)


def _unit(unit: str) -> str:
    if not unit:
        return ""
    return unit if unit == "%" else f" {unit}"


def fmt_percent(p, decimals: int = 0, *, missing: str = DASH) -> str:
    """A probability as a percentage: ``0.193`` → ``19%``."""
    if is_missing(p):
        return missing
    return fmt_number(100.0 * float(p), decimals, unit="%")


def compact(x, *, plus: bool = False, prefix: str = "", missing: str = DASH) -> str:
    """Large numbers shortened for sentences: ``57,300`` → ``57.3k``, ``1,250,000`` → ``1.25M``;
    below 1,000 as :func:`fmt_number`."""
    if is_missing(x):
        return missing
    v = float(x)
    a = abs(v)
    for div, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            s = fmt_number(v / div, decimals_for(v / div), plus=plus, prefix=prefix)
            return s + suffix
    return fmt_number(x, plus=plus, prefix=prefix)


def fmt_interval(lo, hi, *, fmt=compact, **kw) -> str:
    """``[lo, hi]`` with each end formatted by ``fmt`` (default :func:`compact`)."""
    return f"[{fmt(lo, **kw)}, {fmt(hi, **kw)}]"


def column_decimals(values: Iterable) -> int | None:
    """One number of decimals for a column of floats (``None`` when it has no finite float):
    0 when every value is a whole number, else three significant digits of the column's
    median magnitude (up to two more for its smallest entries), at most :data:`MAX_DECIMALS`."""
    arr = np.asarray([v for v in values if not is_missing(v)], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 1e15):
        return 0
    nonzero = np.abs(arr[arr != 0])
    if not nonzero.size:
        return 0
    typical = decimals_for(float(np.median(nonzero)))
    smallest = decimals_for(float(nonzero.min()))
    # the small entries of a mixed column keep up to two more decimals than the typical one
    return max(typical, min(smallest, typical + 2))


@dataclass
class FormattedTable:
    """A table ready to print: header, rows of strings, which cells are missing, and the
    reason to state under the table when any is."""

    columns: list[str]
    rows: list[list[str]]
    missing: list[list[bool]]
    numeric: list[bool]
    na_reason: str = ""

    @property
    def any_missing(self) -> bool:
        return any(any(r) for r in self.missing)


def format_frame(
    df: pd.DataFrame,
    *,
    decimals: dict[str, int] | None = None,
    units: dict[str, str] | None = None,
    prefixes: dict[str, str] | None = None,
    na_reason: str | None = None,
) -> FormattedTable:
    """Format every cell of ``df`` by the rules of this module, one number of decimals per
    column (overridable per column with ``decimals``), units and currency prefixes per column.
    """
    decimals = dict(decimals or {})
    units = dict(units or {})
    prefixes = dict(prefixes or {})
    cols = [str(c) for c in df.columns]
    rows: list[list[str]] = [[] for _ in range(len(df))]
    missing: list[list[bool]] = [[] for _ in range(len(df))]
    numeric = []
    for j, c in enumerate(df.columns):
        s = df.iloc[:, j]
        is_num = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if s.dtype == object:
            vals = [v for v in s if not is_missing(v)]
            is_num = bool(vals) and all(
                isinstance(v, (int, float, np.integer, np.floating))
                and not isinstance(v, (bool, np.bool_))
                for v in vals
            )
        numeric.append(is_num)
        d = decimals.get(str(c))
        if d is None and is_num:
            floats = [v for v in s if isinstance(v, (float, np.floating))]
            d = column_decimals(floats) if floats else None
        for i, v in enumerate(s):
            miss = is_missing(v)
            missing[i].append(miss)
            if isinstance(v, (float, np.floating)) and not miss and d is not None:
                text = fmt_number(v, d, unit=units.get(str(c), ""), prefix=prefixes.get(str(c), ""))
            else:
                text = fmt_number(v, unit=units.get(str(c), ""), prefix=prefixes.get(str(c), ""))
            rows[i].append(text)
    out = FormattedTable(cols, rows, missing, numeric)
    if out.any_missing:
        out.na_reason = na_reason or DEFAULT_NA_REASON
    return out
