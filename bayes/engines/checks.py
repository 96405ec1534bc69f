"""Input validation on a SQL engine, with the messages of the pandas loaders.

Every problem of a table is counted in **one scan** (``count(*) FILTER (WHERE …)`` per
:class:`Check`); only when one is found are its rows looked up: the first 20, numbered as
:func:`bayes.io.row_numbers` numbers them (CSV line numbers; 0-based row + 2 in Parquet files
and frames), in the file that holds the first one. DuckDB numbers rows with
``file_row_number`` (Parquet) or a one-thread ``row_number()`` scan (CSV, frames). Spark has no
row order: its messages give the number of offending rows instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bayes.engines.backends import Source
from bayes.engines.sql import Dialect, literal
from bayes.io import Column, InputError

__all__ = ["Check", "Table", "dictionary_checks", "require_columns", "validate"]

ROWS_SHOWN = 20  # as bayes.io.row_numbers(limit=20) in the pandas loaders
_SPARK_NOTE = " ({n:,} rows; Spark does not number rows: --engine duckdb lists them)"


@dataclass(frozen=True)
class Check:
    """A rule: rows meeting ``cond`` (SQL over the table's SELECT) are errors in ``column``.

    ``message`` may hold ``{values}`` (up to 5 distinct offending ``values``, a SQL
    expression, in the order of their first row — ``sort_values=False`` — or sorted) and
    ``{first}`` (the first of them).
    """

    name: str
    column: str
    cond: str
    message: str
    values: str | None = None
    sort_values: bool = False


@dataclass(frozen=True)
class Table:
    """An input registered as ``view``; ``select(dialect, table, extra)`` is the SELECT over
    it (normalised columns) that the checks and the aggregations read, ``extra`` being
    columns to carry along (the row numbers)."""

    source: Source
    view: str
    select: Callable[..., str]

    def sql(self, d: Dialect, *, numbered_scan: str | None = None) -> str:
        if numbered_scan is None:
            return self.select(d, self.view, "")
        return self.select(d, numbered_scan, ", src._file, src._row")


def require_columns(found, required, label) -> None:
    """Refuse a table without the ``required`` columns (the pandas loaders' message)."""
    missing = [c for c in required if c not in found]
    if missing:
        raise InputError(f"missing required column(s) {missing}; found {list(found)}", source=label)


def _numbered(db, table: Table, sql: str):
    return db.arrow(sql) if table.source.kind == "parquet" else db.numbered(sql)


def bad_rows(db, d: Dialect, table: Table, cond: str) -> tuple[str, list[int] | None]:
    """``(file, row numbers)`` of the first rows meeting ``cond`` (rows None on Spark)."""
    if db.name == "spark":
        return table.source.label, None
    scan = db.scan(table.source, numbered=True)
    got = _numbered(
        db,
        table,
        f"SELECT _file, _row FROM ({table.sql(d, numbered_scan=scan)}) v WHERE {cond} "
        f"ORDER BY _file, _row LIMIT {ROWS_SHOWN}",
    )
    files, rows = got.column("_file").to_pylist(), got.column("_row").to_pylist()
    if not files:
        return table.source.label, []
    one_file = table.source.single_file or table.source.kind == "frame"
    label = table.source.label if one_file else files[0]
    return label, [int(r) + 2 for f, r in zip(files, rows, strict=True) if f == files[0]]


def _values(db, d: Dialect, table: Table, check: Check) -> list:
    if not check.sort_values and db.name != "spark":
        scan = db.scan(table.source, numbered=True)
        got = _numbered(
            db,
            table,
            f"SELECT {check.values} AS value FROM ({table.sql(d, numbered_scan=scan)}) v "
            f"WHERE {check.cond} GROUP BY {check.values} ORDER BY min(_file), min(_row) LIMIT 5",
        )
    else:
        got = db.arrow(
            f"SELECT DISTINCT {check.values} AS value FROM ({table.sql(d)}) v "
            f"WHERE {check.cond} ORDER BY value LIMIT 5"
        )
    return got.column("value").to_pylist()


def validate(db, d: Dialect, table: Table, checks, *, extra: str = "") -> dict:
    """Count every problem in one scan; raise the first (in ``checks`` order) as
    :class:`InputError` naming the file, the column and the rows. Returns the counts (plus
    ``n_rows`` and any ``extra`` aggregates, e.g. ``", max(ts) AS as_of"``)."""
    counts = ",\n  ".join(f"count(*) FILTER (WHERE {c.cond}) AS {c.name}" for c in checks)
    stats = db.arrow(
        f"SELECT count(*) AS n_rows, {counts}{extra} FROM ({table.sql(d)}) v"
    ).to_pylist()[0]
    for check in checks:
        n_bad = stats[check.name]
        if not n_bad:
            continue
        message = check.message
        if check.values is not None:
            values = _values(db, d, table, check)
            message = message.format(values=values, first=values[0] if values else None)
        label, rows = bad_rows(db, d, table, check.cond)
        if rows is None:
            message += _SPARK_NOTE.format(n=n_bad)
        raise InputError(message, source=label, column=check.column, rows=rows or None)
    return stats


# ----------------------------------------------------------------------------- data dictionary

#: what ``pandas.read_csv`` reads as missing (its default ``na_values``): a CSV cell the
#: pandas loaders refuse as missing is refused by the engines too
PANDAS_NA = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_MISSING = "missing values (NaN/empty) are not allowed"
_INTEGER = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"}
    | {"UINTEGER", "UBIGINT"}
)
_FLOAT = frozenset({"DOUBLE", "FLOAT", "REAL"})
_INF = "CAST('Infinity' AS DOUBLE)"


def _in(values) -> str:
    return "(" + ", ".join(literal(str(v)) for v in values) + ")"


def dictionary_checks(
    columns,
    d: Dialect,
    *,
    types: dict[str, str],
    text: set[str],
    csv: bool,
    raw=lambda name: f"raw_{name}",
    parsed: dict[str, str] | None = None,
) -> tuple[Check, ...]:
    """The checks of :func:`bayes.io.validate_frame` for a data dictionary (``columns``,
    :class:`bayes.io.Column` s), in its order and with its messages, as :class:`Check` s over
    the raw columns (``raw(name)``: their name in the table's SELECT).

    ``types``/``text`` are the backend's column types and string columns; ``csv``: the source
    is CSV, whose cells pandas reads as missing when they spell one of :data:`PANDAS_NA`;
    ``parsed[name]``: an expression of the SELECT already holding a datetime column's UTC µs
    (NULL where it does not parse), else it is parsed here. Per column: missing values, then
    what the coercion refuses (non-numeric, infinite, fractional counts, unparseable times,
    non-booleans), then infinite numbers, values outside ``allowed``, below ``min``, above
    ``max``."""
    parsed = parsed or {}
    out: list[Check] = []
    for col in columns:
        if not isinstance(col, Column) or col.name not in types:
            continue
        name, kind, x = col.name, col.kind, raw(col.name)
        typ, is_text = types[name].upper(), col.name in text
        missing = f"{x} IS NULL"
        if is_text and csv:
            missing += f" OR {x} IN {_in(PANDAS_NA)}"
        if typ in _FLOAT:
            missing += f" OR isnan({x})"
        present = f"NOT ({missing})"
        if not col.nullable:
            out.append(Check(f"{name}_missing", name, missing, _MISSING))
        num = None
        if kind in ("int", "float"):
            if typ in _INTEGER or typ in _FLOAT:
                num = f"CAST({x} AS DOUBLE)"
            else:
                num = f"TRY_CAST(trim(CAST({x} AS STRING)) AS DOUBLE)"
                out.append(
                    Check(
                        f"{name}_number",
                        name,
                        f"{present} AND {num} IS NULL",
                        "expected numbers, found non-numeric values such as {first!r}",
                        values=x,
                    )
                )
            infinite = f"{present} AND abs({num}) = {_INF}"
            if kind == "int" or col.finite:
                out.append(
                    Check(f"{name}_infinite", name, infinite, "infinite values are not allowed")
                )
            if kind == "int" and typ not in _INTEGER:
                out.append(
                    Check(
                        f"{name}_whole",
                        name,
                        f"{present} AND abs({num}) < {_INF} AND {num} <> floor({num})",
                        "expected whole numbers (counts)",
                    )
                )
        elif kind == "datetime":
            us = parsed.get(name) or d.utc_micros(x, text=is_text)
            out.append(
                Check(
                    f"{name}_time",
                    name,
                    f"{present} AND {us} IS NULL",
                    "cannot parse as a timestamp",
                )
            )
        elif kind == "bool" and typ != "BOOLEAN":
            spelled = f"lower(trim(CAST({x} AS STRING)))"
            out.append(
                Check(
                    f"{name}_bool",
                    name,
                    f"{present} AND {spelled} NOT IN ('true', 'false', '1', '0', '1.0', '0.0')",
                    "expected a boolean (0/1/true/false)",
                )
            )
        if col.allowed is not None:
            value = f"CAST({x} AS STRING)"
            out.append(
                Check(
                    f"{name}_allowed",
                    name,
                    f"{present} AND {value} NOT IN {_in(col.allowed)}",
                    f"unknown value(s) {{values}}; expected one of {list(col.allowed)}",
                    values=value,
                    sort_values=True,
                )
            )
        if num is not None and col.min is not None:
            out.append(
                Check(
                    f"{name}_min",
                    name,
                    f"{present} AND {num} < {col.min!r}",
                    f"values below the minimum {col.min}",
                )
            )
        if num is not None and col.max is not None:
            out.append(
                Check(
                    f"{name}_max",
                    name,
                    f"{present} AND {num} > {col.max!r}",
                    f"values above the maximum {col.max}",
                )
            )
    return tuple(out)
