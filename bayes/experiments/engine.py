"""Sufficient statistics of an experiment on DuckDB (embedded, out of core; the default),
Spark (local mode or a cluster, for experiments that live in a data lake) or NumPy (the
small-data reference, :func:`models.experiments.stats.moments_from_arrays`).

DuckDB and Spark are the workbench's engine layer, :mod:`bayes.engines` (its connections, its
reading of files, globs, folders of Parquet files, lake URIs and DataFrames, its numbering of
rows in errors); the SQL below is written once for both (:class:`bayes.engines.sql.Dialect`
spells identifiers and timestamps). Spark has no row order: its errors give the number of
offending rows instead of their line numbers.

:func:`scan` validates a file (CSV/Parquet) or a DataFrame in SQL without loading it into
pandas — the arm labels, and per metric/covariate column the missing, non-numeric, NaN or
infinite values with the first offending rows, constant covariates, 0/1 metrics — so a
10M-user experiment is checked and summarised in two passes over the file.
:func:`moments` returns :class:`~models.experiments.stats.ArmMoments` per arm;
:func:`daily_moments` the same per UTC day of exposure, for the sequential readout. The
centred cross-products come from ``covar_pop`` (an online, numerically stable algorithm on
both engines) times the count.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from bayes.experiments.data import ExperimentTable, resolve_arms
from bayes.io import InputError
from models.experiments.stats import ArmMoments, moments_from_arrays

__all__ = ["ENGINES", "SQL_ENGINES", "daily_moments", "engine_name", "moments", "rows", "scan"]

ENGINES: tuple[str, ...] = ("duckdb", "spark", "numpy")
#: the engines that read the source in SQL (:func:`scan`) rather than into pandas
SQL_ENGINES: tuple[str, ...] = ("duckdb", "spark")
#: column types read as numbers without a per-value TRY_CAST
_NUMERIC_TYPES = frozenset(
    {
        "DOUBLE",
        "FLOAT",
        "REAL",
        "BIGINT",
        "INTEGER",
        "INT",
        "SMALLINT",
        "TINYINT",
        "HUGEINT",
        "UBIGINT",
        "UINTEGER",
        "USMALLINT",
        "UTINYINT",
        "BOOLEAN",
    }
)
_MAX_ROWS = 5
_DAY_US = 86_400 * 10**6
_SPARK_NOTE = " ({n:,} rows; Spark does not number rows: --engine duckdb lists them)"


class _Source:
    """The experiment as the view ``src`` on a backend of the workbench's engine layer
    (:mod:`bayes.engines.backends`: DuckDB in UTC with a private spill folder, or a Spark
    session; files, globs, folders of Parquet files, URIs and DataFrames through
    :func:`~bayes.engines.backends.source_of`, CSV columns read as text). ``$BAYES_CORES``
    caps DuckDB's threads."""

    def __init__(self, source, engine=None):
        from bayes.engines import resolve_engine
        from bayes.engines.backends import DuckDB, connect, source_of
        from bayes.engines.sql import DIALECTS

        spec = resolve_engine(engine or "duckdb")
        if spec.name not in SQL_ENGINES:
            raise ValueError(f"engine must be one of {SQL_ENGINES}, got {spec.name!r}")
        self.source = source_of(source, what="DataFrame")
        self.label = self.source.label
        self.d = DIALECTS[spec.name]
        if spec.name == "duckdb":
            threads = os.environ.get("BAYES_CORES")
            self.db = DuckDB(threads=int(threads) if threads else spec.threads)
        else:
            self.db = connect(spec)
        try:
            self.db.view("src", self.source)
        except BaseException:
            self.db.close()
            raise
        self.columns()

    def columns(self) -> list[str]:
        self.types = dict(self.db.column_types["src"])
        self.text = set(self.db.text_columns["src"])
        return list(self.types)

    def q(self, name: str) -> str:
        return self.d.quote(name)

    def query(self, sql: str) -> list[tuple]:
        """The rows of ``sql`` as tuples."""
        got = self.db.arrow(sql)
        return list(zip(*(c.to_pylist() for c in got.columns), strict=True))

    def rows(self, condition: str) -> list[int] | None:
        """Line numbers (header = line 1; Parquet and frames: row + 2) of the first rows
        matching ``condition``, in the file holding the first of them (None on Spark)."""
        if self.db.name == "spark":
            return None
        scan = self.db.scan(self.source, numbered=True)
        sql = (
            f"SELECT _file, _row FROM {scan} src WHERE {condition} "
            f"ORDER BY _file, _row LIMIT {_MAX_ROWS}"
        )
        got = self.db.arrow(sql) if self.source.kind == "parquet" else self.db.numbered(sql)
        files, rows = got.column("_file").to_pylist(), got.column("_row").to_pylist()
        return [int(r) + 2 for f, r in zip(files, rows, strict=True) if f == files[0]]

    def error(self, message: str, column: str, condition: str, n_bad: int) -> InputError:
        """The :class:`InputError` of ``n_bad`` rows meeting ``condition`` in ``column``."""
        rows = self.rows(condition)
        if rows is None:
            message += _SPARK_NOTE.format(n=n_bad)
        return InputError(message, source=self.label, column=column, rows=rows)

    def close(self):
        self.db.close()

    def num(self, c: str) -> str:
        """``c`` as a number (NULL where it is not one). On text columns the ``trim`` keeps
        DuckDB 2.0 from pushing the cast into the CSV reader as a strict one; numeric columns
        (Parquet, DataFrames) are used as they are."""
        kind = self.types.get(c, "STRING")
        if kind in _NUMERIC_TYPES:
            return self.q(c) if kind == "DOUBLE" else f"CAST({self.q(c)} AS DOUBLE)"
        col = f"trim({self.q(c)})" if c in self.text else self.q(c)
        return f"TRY_CAST({col} AS DOUBLE)"

    def micros(self, c: str) -> str:
        """``c`` as UTC microseconds (naive = UTC; NULL where it does not parse)."""
        if c in self.text:
            return self.d.utc_micros(f"trim({self.q(c)})")
        return self.d.utc_micros(self.q(c), text=False)

    @staticmethod
    def finite(x: str) -> str:
        """``x`` is neither NaN nor infinite (both engines order NaN above +inf)."""
        return f"abs({x}) < CAST('Infinity' AS DOUBLE)"


def scan(
    source: str | os.PathLike | pd.DataFrame,
    *,
    arm: str,
    metrics,
    covariates=(),
    control: str | None = None,
    time: str | None = None,
    engine=None,
) -> ExperimentTable:
    """Validate an experiment on a SQL engine (``duckdb``, the default, or ``spark``; a name
    or an :class:`~bayes.engines.EngineSpec`) with the checks of
    :func:`bayes.experiments.data.read_experiment` and its errors, without loading its rows;
    the returned table has ``frame=None`` and remembers the source for :func:`moments`."""
    metrics, covariates = tuple(metrics), tuple(covariates or ())
    if not metrics:
        raise InputError("name at least one metric column")
    if set(metrics) & set(covariates) or arm in metrics or arm in covariates:
        raise InputError("a column cannot be both arm, metric and covariate")
    src = _Source(source, engine)
    try:
        have = src.columns()
        need = [arm, *metrics, *covariates] + ([time] if time else [])
        missing = [c for c in need if c not in have]
        if missing:
            raise InputError(
                f"missing required column(s) {missing}; found {have}", source=src.label
            )
        numeric = [*metrics, *covariates]
        bad_cond = {c: f"({src.num(c)} IS NULL OR NOT {src.finite(src.num(c))})" for c in numeric}
        parts = [f"CAST({src.q(arm)} AS STRING)", "count(*)"]
        parts += [f"count(*) FILTER (WHERE {bad_cond[c]})" for c in numeric]
        parts += [f"min({src.num(c)}), max({src.num(c)})" for c in covariates]
        parts += [f"bool_and({src.num(c)} IN (0, 1))" for c in metrics]
        if time:
            parts.append(f"count(*) FILTER (WHERE {src.micros(time)} IS NULL)")
        k = 2 + len(numeric) + 2 * len(covariates) + len(metrics) + bool(time)  # result columns
        # one pass: the checks and the sums of every column, per arm label
        stats_sql, pairs = _moment_parts(src, numeric)
        groups = src.query(f"SELECT {_aliased(parts + stats_sql)} FROM src GROUP BY 1 ORDER BY 1")
        if not groups:
            raise InputError("the table is empty (no data rows)", source=src.label)
        missing_arm = sum(r[1] for r in groups if r[0] is None)
        if missing_arm:
            raise src.error(
                "missing values (NaN/empty) are not allowed",
                arm,
                f"{src.q(arm)} IS NULL",
                missing_arm,
            )
        pos = 2
        for c in numeric:
            n_bad = sum(r[pos] for r in groups)
            if n_bad:
                raise src.error(
                    "missing, non-numeric, NaN or infinite values are not allowed in a metric "
                    "or covariate",
                    c,
                    bad_cond[c],
                    n_bad,
                )
            pos += 1
        for c in covariates:
            lo, hi = min(r[pos] for r in groups), max(r[pos + 1] for r in groups)
            if lo == hi:
                raise InputError(
                    f"the covariate is constant (every row is {lo:g}), so it cannot adjust "
                    "anything",
                    source=src.label,
                    column=c,
                )
            pos += 2
        binary = {}
        for c in metrics:
            binary[c] = all(bool(r[pos]) for r in groups)
            pos += 1
        if time and sum(r[pos] for r in groups):
            n_bad = sum(r[pos] for r in groups)
            raise src.error(
                "cannot parse as a timestamp", time, f"{src.micros(time)} IS NULL", n_bad
            )
        ctl, trt = resolve_arms(
            [r[0] for r in groups], [r[1] for r in groups], control, src.label, arm
        )
        per_arm = {r[0]: _parse_moments(r[1], r[k:], len(numeric), pairs) for r in groups}
        cached = _assemble(per_arm, (ctl, trt), numeric)
    finally:
        src.close()
    return ExperimentTable(
        frame=None,
        arm=arm,
        control=ctl,
        treatment=trt,
        metrics=metrics,
        covariates=covariates,
        time=time,
        source=src.label,
        binary=binary,
        origin=source,
        cache={tuple(numeric): cached},
    )


def _moment_parts(src: _Source, cols) -> tuple[list[str], list[tuple[int, int]]]:
    """SQL aggregates of the means and centred cross-products (``covar_pop`` × n) of ``cols``."""
    pairs = [(i, j) for i in range(len(cols)) for j in range(i, len(cols))]
    sql = [f"avg({src.num(c)})" for c in cols]
    sql += [f"covar_pop({src.num(cols[i])}, {src.num(cols[j])})" for i, j in pairs]
    return sql, pairs


def _aliased(parts) -> str:
    """``parts`` as a SELECT list with plain names (Spark would name them after the SQL)."""
    return ", ".join(f"{p} AS c{i}" for i, p in enumerate(parts))


def _parse_moments(n, values, p: int, pairs):
    mean = np.array(values[:p], dtype=float)
    cov = np.zeros((p, p))
    for (i, j), v in zip(pairs, values[p:], strict=True):
        cov[i, j] = cov[j, i] = 0.0 if v is None else v
    return int(n), mean, cov * int(n)


def _assemble(per_arm: dict, arms, cols) -> ArmMoments:
    p = len(cols)
    empty = (0, np.zeros(p), np.zeros((p, p)))
    got = [per_arm.get(a, empty) for a in arms]
    return ArmMoments(
        tuple(arms),
        tuple(cols),
        np.array([g[0] for g in got]),
        np.array([g[1] for g in got]),
        np.array([g[2] for g in got]),
    )


def _moments_sql(src: _Source, arm: str, columns, arms, by: str | None):
    cols = list(columns)
    stats_sql, pairs = _moment_parts(src, cols)
    sel = [f"CAST({src.q(arm)} AS STRING)", "count(*)", *stats_sql]
    group = "1"
    if by:
        sel.insert(0, f"CAST(floor({src.micros(by)} / {_DAY_US:.1f}) AS BIGINT)")
        group = "1, 2"
    sql = f"SELECT {_aliased(sel)} FROM src GROUP BY {group} ORDER BY {group}"
    out: dict = {}
    for r in src.query(sql):
        key, r = (r[0], r[1:]) if by else (None, r)
        out.setdefault(key, {})[r[0]] = _parse_moments(r[1], r[2:], len(cols), pairs)
    return [(key, _assemble(per_arm, arms, cols)) for key, per_arm in out.items()]


def engine_name(engine) -> str:
    """The name of ``engine`` (one of :data:`ENGINES`, or an :class:`~bayes.engines.EngineSpec`)."""
    name = getattr(engine, "name", engine)
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return name


def moments(table: ExperimentTable, columns=None, *, engine="duckdb") -> ArmMoments:
    """Per-arm statistics of ``columns`` (default: metrics then covariates), control first;
    ``engine``: ``duckdb``, ``spark`` (or an :class:`~bayes.engines.EngineSpec`) or ``numpy``."""
    columns = list(columns or (*table.metrics, *table.covariates))
    if engine_name(engine) == "numpy":
        frame = rows(table, columns)
        return moments_from_arrays(
            (frame[table.arm].astype(str).to_numpy() == table.treatment).astype(np.int64),
            frame[columns].to_numpy(dtype=float),
            arms=table.arms,
            columns=columns,
        )
    hit = table.cache.get(tuple(columns))
    if hit is not None and hit.arms == table.arms:
        return hit  # computed in the same pass as the validation (scan)
    src = _Source(_origin(table), engine)
    try:
        ((_, m),) = _moments_sql(src, table.arm, columns, table.arms, None)
    finally:
        src.close()
    return m


def daily_moments(table: ExperimentTable, columns=None, *, engine="duckdb") -> list:
    """``[(day, ArmMoments), ...]`` per UTC day of ``table.time``, in day order (``day`` a
    ``pandas.Timestamp``). Combine a prefix with :func:`models.experiments.stats.combine` for
    the cumulative statistics at each look."""
    if not table.time:
        raise ValueError("daily statistics need a time column")
    columns = list(columns or (*table.metrics, *table.covariates))
    if engine_name(engine) == "numpy":
        frame = rows(table, columns + [table.time])
        ts = pd.to_datetime(frame[table.time], utc=True)
        day = ts.dt.floor("D")
        out = []
        for d in sorted(day.unique()):
            sub = frame[(day == d).to_numpy()]
            out.append(
                (
                    pd.Timestamp(d),
                    moments_from_arrays(
                        (sub[table.arm].astype(str).to_numpy() == table.treatment).astype(np.int64),
                        sub[columns].to_numpy(dtype=float),
                        arms=table.arms,
                        columns=columns,
                    ),
                )
            )
        return out
    src = _Source(_origin(table), engine)
    try:
        per_day = _moments_sql(src, table.arm, columns, table.arms, table.time)
    finally:
        src.close()
    return [(pd.Timestamp(int(k) * 86400, unit="s", tz="UTC"), m) for k, m in per_day]


def _origin(table: ExperimentTable):
    return table.frame if table.frame is not None else table.origin


def rows(table: ExperimentTable, columns) -> pd.DataFrame:
    """The rows of ``table`` with ``columns`` (and the arm), read from its source when the
    table came from :func:`scan` (e.g. for a regression on the rows)."""
    if table.frame is not None:
        return table.frame
    origin = table.origin
    if isinstance(origin, pd.DataFrame):
        return origin
    from bayes.io import read_table

    return read_table(origin, read_columns=[table.arm, *dict.fromkeys(columns)])
