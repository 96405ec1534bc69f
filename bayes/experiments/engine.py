"""Sufficient statistics of an experiment on DuckDB (embedded, out of core; the default) or
NumPy (the small-data reference, :func:`models.experiments.stats.moments_from_arrays`).

:func:`scan` validates a file (CSV/Parquet) or a DataFrame in SQL without loading it into
pandas — the arm labels, and per metric/covariate column the missing, non-numeric, NaN or
infinite values with the first offending rows, constant covariates, 0/1 metrics — so a
10M-user experiment is checked and summarised in two passes over the file.
:func:`moments` returns :class:`~models.experiments.stats.ArmMoments` per arm;
:func:`daily_moments` the same per UTC day of exposure, for the sequential readout. The
centred cross-products come from DuckDB's ``covar_pop`` (an online, numerically stable
algorithm) times the count.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.experiments.data import ExperimentTable, resolve_arms
from bayes.io import InputError
from models.experiments.stats import ArmMoments, moments_from_arrays

__all__ = ["ENGINES", "daily_moments", "moments", "scan"]

ENGINES: tuple[str, ...] = ("duckdb", "numpy")
_MAX_ROWS = 5


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class _Source:
    """A DuckDB connection with the experiment visible as the view ``src``."""

    def __init__(self, source):
        import duckdb

        self.con = duckdb.connect()
        self.text = False  # CSV: every column read as text
        self.con.execute("SET TimeZone='UTC'")
        threads = os.environ.get("BAYES_CORES")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        if isinstance(source, pd.DataFrame):
            self.con.register("src_df", source)
            self.con.execute("CREATE VIEW src AS SELECT * FROM src_df")
            self.label = "<DataFrame>"
            return
        path = Path(source)
        self.label = str(source)
        if not path.is_file():
            raise InputError("file not found", source=path)
        if path.stat().st_size == 0:
            raise InputError("the file is empty (not even a header row)", source=path)
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            reader = f"read_parquet({_lit(path)})"
        elif suffix in (".csv", ".txt", ".gz"):
            # every column as text, converted by TRY_CAST: a stray word in row 9,000,000 is
            # then a validation error naming its row, not a sniffer failure
            reader = f"read_csv({_lit(path)}, header=true, all_varchar=true)"
            self.text = True
        else:
            raise InputError(f"unsupported file type {suffix!r}; use .csv or .parquet", source=path)
        try:
            self.con.execute(f"CREATE VIEW src AS SELECT * FROM {reader}")
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input
            raise InputError(f"cannot read the file ({exc})", source=path) from exc

    def columns(self) -> list[str]:
        return [r[0] for r in self.con.execute("DESCRIBE src").fetchall()]

    def rows(self, condition: str) -> list[int]:
        """CSV line numbers (header = line 1) of the first rows matching ``condition``."""
        sql = (
            "SELECT rn FROM (SELECT row_number() OVER () AS rn, * FROM src) "
            f"WHERE {condition} ORDER BY rn LIMIT {_MAX_ROWS}"
        )
        return [int(r[0]) + 1 for r in self.con.execute(sql).fetchall()]

    def close(self):
        self.con.close()

    def num(self, c: str, to: str = "DOUBLE") -> str:
        """``c`` as a number (NULL where it is not one). On text columns the ``trim`` keeps
        DuckDB 2.0 from pushing the cast into the CSV reader as a strict one."""
        col = f"trim({_q(c)})" if self.text else _q(c)
        return f"TRY_CAST({col} AS {to})"


def scan(
    source: str | os.PathLike | pd.DataFrame,
    *,
    arm: str,
    metrics,
    covariates=(),
    control: str | None = None,
    time: str | None = None,
) -> ExperimentTable:
    """Validate an experiment in DuckDB (the checks of
    :func:`bayes.experiments.data.read_experiment`, same errors) without loading its rows;
    the returned table has ``frame=None`` and remembers the source for :func:`moments`."""
    metrics, covariates = tuple(metrics), tuple(covariates or ())
    if not metrics:
        raise InputError("name at least one metric column")
    if set(metrics) & set(covariates) or arm in metrics or arm in covariates:
        raise InputError("a column cannot be both arm, metric and covariate")
    src = _Source(source)
    try:
        have = src.columns()
        need = [arm, *metrics, *covariates] + ([time] if time else [])
        missing = [c for c in need if c not in have]
        if missing:
            raise InputError(
                f"missing required column(s) {missing}; found {have}", source=src.label
            )
        numeric = [*metrics, *covariates]
        parts = ["count(*)", f"count(*) FILTER (WHERE {_q(arm)} IS NULL)"]
        bad_cond = {c: f"({src.num(c)} IS NULL OR NOT isfinite({src.num(c)}))" for c in numeric}
        parts += [f"count(*) FILTER (WHERE {bad_cond[c]})" for c in numeric]
        parts += [f"min({src.num(c)}), max({src.num(c)})" for c in covariates]
        parts += [f"bool_and({src.num(c)} IN (0, 1))" for c in metrics]
        if time:
            parts.append(f"count(*) FILTER (WHERE {src.num(time, 'TIMESTAMPTZ')} IS NULL)")
        res = src.con.execute("SELECT " + ", ".join(parts) + " FROM src").fetchone()
        n_rows, arm_null = res[0], res[1]
        if n_rows == 0:
            raise InputError("the table is empty (no data rows)", source=src.label)
        if arm_null:
            raise InputError(
                "missing values (NaN/empty) are not allowed",
                source=src.label,
                column=arm,
                rows=src.rows(f"{_q(arm)} IS NULL"),
            )
        pos = 2
        for c in numeric:
            if res[pos]:
                raise InputError(
                    "missing, non-numeric, NaN or infinite values are not allowed in a metric "
                    "or covariate",
                    source=src.label,
                    column=c,
                    rows=src.rows(bad_cond[c]),
                )
            pos += 1
        for c in covariates:
            lo, hi = res[pos], res[pos + 1]
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
            binary[c] = bool(res[pos])
            pos += 1
        if time and res[pos]:
            raise InputError(
                "cannot parse as a timestamp",
                source=src.label,
                column=time,
                rows=src.rows(f"{src.num(time, 'TIMESTAMPTZ')} IS NULL"),
            )
        labels = src.con.execute(
            f"SELECT CAST({_q(arm)} AS VARCHAR), count(*) FROM src GROUP BY 1 ORDER BY 1"
        ).fetchall()
        ctl, trt = resolve_arms(
            [r[0] for r in labels], [r[1] for r in labels], control, src.label, arm
        )
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
    )


def _moments_sql(src: _Source, arm: str, columns, arms, by: str | None):
    cols = list(columns)
    sel = [f"CAST({_q(arm)} AS VARCHAR) AS arm", "count(*) AS n"]
    sel += [f"avg({src.num(c)})" for c in cols]
    pairs = [(i, j) for i in range(len(cols)) for j in range(i, len(cols))]
    sel += [f"covar_pop({src.num(cols[i])}, {src.num(cols[j])})" for i, j in pairs]
    group = "1"
    if by:
        sel.insert(0, f"CAST(floor(epoch({src.num(by, 'TIMESTAMPTZ')}) / 86400) AS BIGINT) AS day")
        group = "1, 2"
    sql = f"SELECT {', '.join(sel)} FROM src GROUP BY {group} ORDER BY {group}"
    rows = src.con.execute(sql).fetchall()
    p = len(cols)
    out = {}
    for r in rows:
        key = r[0] if by else None
        r = r[1:] if by else r
        label, n = r[0], int(r[1])
        mean = np.array(r[2 : 2 + p], dtype=float)
        cov = np.zeros((p, p))
        for (i, j), v in zip(pairs, r[2 + p :], strict=True):
            cov[i, j] = cov[j, i] = 0.0 if v is None else v
        out.setdefault(key, {})[label] = (n, mean, cov * n)
    result = []
    for key, per_arm in out.items():
        n = np.array([per_arm.get(a, (0, None, None))[0] for a in arms])
        mean = np.array([per_arm[a][1] if a in per_arm else np.zeros(p) for a in arms])
        scatter = np.array([per_arm[a][2] if a in per_arm else np.zeros((p, p)) for a in arms])
        result.append((key, ArmMoments(tuple(arms), tuple(cols), n, mean, scatter)))
    return result


def moments(table: ExperimentTable, columns=None, *, engine: str = "duckdb") -> ArmMoments:
    """Per-arm statistics of ``columns`` (default: metrics then covariates), control first."""
    columns = list(columns or (*table.metrics, *table.covariates))
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "numpy":
        frame = _frame(table, columns)
        return moments_from_arrays(
            (frame[table.arm].astype(str).to_numpy() == table.treatment).astype(np.int64),
            frame[columns].to_numpy(dtype=float),
            arms=table.arms,
            columns=columns,
        )
    src = _Source(_origin(table))
    try:
        ((_, m),) = _moments_sql(src, table.arm, columns, table.arms, None)
    finally:
        src.close()
    return m


def daily_moments(table: ExperimentTable, columns=None, *, engine: str = "duckdb") -> list:
    """``[(day, ArmMoments), ...]`` per UTC day of ``table.time``, in day order (``day`` a
    ``pandas.Timestamp``). Combine a prefix with :func:`models.experiments.stats.combine` for
    the cumulative statistics at each look."""
    if not table.time:
        raise ValueError("daily statistics need a time column")
    columns = list(columns or (*table.metrics, *table.covariates))
    if engine == "numpy":
        frame = _frame(table, columns + [table.time])
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
    src = _Source(_origin(table))
    try:
        rows = _moments_sql(src, table.arm, columns, table.arms, table.time)
    finally:
        src.close()
    return [(pd.Timestamp(int(k) * 86400, unit="s", tz="UTC"), m) for k, m in rows]


def _origin(table: ExperimentTable):
    return table.frame if table.frame is not None else table.origin


def _frame(table: ExperimentTable, columns) -> pd.DataFrame:
    if table.frame is not None:
        return table.frame
    origin = table.origin
    if isinstance(origin, pd.DataFrame):
        return origin
    from bayes.io import read_table

    return read_table(origin, read_columns=[table.arm, *dict.fromkeys(columns)])
