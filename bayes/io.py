"""Input validation and atomic output for every file the workbench reads or writes.

Two rules hold everywhere:

* every input table is validated on load, and a bad one raises :class:`InputError`
  naming the file, the column and the offending rows;
* every output is written to a temporary file in the same folder and renamed into place,
  so a failure never leaves a half-written file behind.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.storage import atomic_path, write_netcdf

__all__ = [
    "Column",
    "DirectFile",
    "InputError",
    "atomic_path",
    "data_hash",
    "is_identifier",
    "read_table",
    "row_numbers",
    "save_figure",
    "to_jsonable",
    "validate_frame",
    "write_json",
    "write_netcdf",
    "write_table",
    "write_text",
]

_MAX_ROWS_SHOWN = 5


class InputError(ValueError):
    """A bad input: the message names the source, the column and the rows at fault."""

    def __init__(
        self,
        message: str,
        *,
        source: str | os.PathLike | None = None,
        column: str | None = None,
        rows: Sequence[Any] | None = None,
    ):
        self.source = None if source is None else str(source)
        self.column = column
        self.rows = None if rows is None else list(rows)
        parts = []
        if self.source:
            parts.append(self.source)
        if column:
            parts.append(f"column '{column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:_MAX_ROWS_SHOWN])
            more = len(self.rows) - _MAX_ROWS_SHOWN
            parts.append(f"rows {shown}" + (f" (and {more} more)" if more > 0 else ""))
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


@dataclass(frozen=True)
class Column:
    """Schema of one input column.

    ``kind`` is one of ``int``, ``float``, ``str``, ``bool``, ``datetime``.
    ``allowed`` restricts values to a set, ``min``/``max`` bound numbers; numbers must be
    finite (no ``inf``) unless ``finite=False``.
    """

    name: str
    kind: str = "float"
    required: bool = True
    nullable: bool = False
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    finite: bool = True


def row_numbers(mask, index: pd.Index | None = None, *, limit: int | None = None) -> list:
    """Rows flagged by a boolean ``mask``, as CSV line numbers (1-based after the header) for a
    default index, else as index labels; at most ``limit`` of them (the first ones)."""
    positions = np.flatnonzero(np.asarray(mask))[:limit]
    if index is None or isinstance(index, pd.RangeIndex):
        return [int(p) + 2 for p in positions]
    return list(index[positions])


def validate_frame(
    df: pd.DataFrame,
    columns: Sequence[Column],
    *,
    source: str = "<table>",
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Check and coerce ``df`` against ``columns``; return a new frame (the input is not mutated).

    Row numbers in errors are the line numbers of a CSV file (header on line 1). An empty
    table is refused unless ``allow_empty`` (a table with no rows yet can be a normal state,
    e.g. no signups so far); its columns are still checked.
    """
    if len(df) == 0 and not allow_empty:
        raise InputError("the table is empty (no data rows)", source=source)
    missing = [c.name for c in columns if c.required and c.name not in df.columns]
    if missing:
        raise InputError(
            f"missing required column(s) {missing}; found {list(df.columns)}", source=source
        )
    out = df.copy()
    for col in columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        null = s.isna().to_numpy()
        if null.any() and not col.nullable:
            raise InputError(
                "missing values (NaN/empty) are not allowed",
                source=source,
                column=col.name,
                rows=row_numbers(null, out.index),
            )
        out[col.name] = s = _coerce(s, col, source, out.index)
        notnull = ~s.isna().to_numpy()
        if col.kind in ("int", "float") and col.finite:
            bad = notnull & ~np.isfinite(s.to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                raise InputError(
                    "infinite values are not allowed",
                    source=source,
                    column=col.name,
                    rows=row_numbers(bad, out.index),
                )
        if col.allowed is not None:
            bad = notnull & ~s.isin(col.allowed).to_numpy()
            if bad.any():
                values = sorted({str(v) for v in s[bad].unique()})[:_MAX_ROWS_SHOWN]
                raise InputError(
                    f"unknown value(s) {values}; expected one of {list(col.allowed)}",
                    source=source,
                    column=col.name,
                    rows=row_numbers(bad, out.index),
                )
        if col.min is not None:
            bad = notnull & (s.to_numpy() < col.min)
            if bad.any():
                raise InputError(
                    f"values below the minimum {col.min}",
                    source=source,
                    column=col.name,
                    rows=row_numbers(bad, out.index),
                )
        if col.max is not None:
            bad = notnull & (s.to_numpy() > col.max)
            if bad.any():
                raise InputError(
                    f"values above the maximum {col.max}",
                    source=source,
                    column=col.name,
                    rows=row_numbers(bad, out.index),
                )
    return out


def _coerce(s: pd.Series, col: Column, source: str, index: pd.Index) -> pd.Series:
    kind = col.kind
    if kind == "str":
        return s.astype("string").astype(object).where(s.notna(), None)
    if kind == "datetime":
        parsed = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
        bad = parsed.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            raise InputError(
                "cannot parse as a timestamp",
                source=source,
                column=col.name,
                rows=row_numbers(bad, index),
            )
        return parsed
    if kind == "bool":
        if s.dtype == bool:
            return s
        mapping = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
        lowered = s.astype(str).str.strip().str.lower()
        bad = ~lowered.isin(mapping) & s.notna()
        if bad.any():
            raise InputError(
                "expected a boolean (0/1/true/false)",
                source=source,
                column=col.name,
                rows=row_numbers(bad.to_numpy(), index),
            )
        return lowered.map(mapping)
    if kind in ("int", "float"):
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            raise InputError(
                f"expected numbers, found non-numeric values such as {s[bad].iloc[0]!r}",
                source=source,
                column=col.name,
                rows=row_numbers(bad, index),
            )
        if kind == "int":
            inf = np.isinf(num.to_numpy(dtype=float, na_value=np.nan))
            if inf.any():
                raise InputError(
                    "infinite values are not allowed",
                    source=source,
                    column=col.name,
                    rows=row_numbers(inf, index),
                )
            finite = num.dropna()
            frac = (finite % 1 != 0).reindex(num.index, fill_value=False).to_numpy()
            if frac.any():
                raise InputError(
                    "expected whole numbers (counts)",
                    source=source,
                    column=col.name,
                    rows=row_numbers(frac, index),
                )
            return num if num.isna().any() else num.astype(np.int64)
        return num.astype(float)
    raise ValueError(f"unknown column kind {kind!r}")


def is_identifier(name) -> bool:
    """Whether a column is an identifier by the workbench's naming: ``id``, ``email`` or a name
    ending in ``_id`` (``customer_id``, ``user_id``, ``msg_id``, ``campaign_id``...)."""
    name = str(name).strip().lower()
    return name in ("id", "email") or name.endswith("_id")


def text_columns(names, columns: Sequence[Column] | None = None) -> list[str]:
    """The columns of a CSV file with header ``names`` to read as text, not as numbers: those
    ``columns`` declares ``str`` and the identifiers (:func:`is_identifier`) it does not
    declare otherwise. ``007``, ``00`` and ``1e5`` are ids, not the numbers 7, 0 and 100000:
    read so, the pandas engine keeps them as DuckDB and Spark do (they read CSV as text)."""
    kinds = {c.name: c.kind for c in columns or ()}
    return [n for n in names if kinds.get(n, "str" if is_identifier(n) else None) == "str"]


def read_table(
    path: str | os.PathLike,
    columns: Sequence[Column] | None = None,
    *,
    read_columns: Sequence[str] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Read a CSV or Parquet file (by suffix) and validate it against ``columns``.

    CSV identifier columns are read as text (:func:`text_columns`): ``007`` stays ``007``, as
    on the SQL engines. Parquet columns keep their own types."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=path)
    if path.is_dir():
        raise InputError("expected a file, found a folder", source=path)
    if path.stat().st_size == 0:
        raise InputError("the file is empty (not even a header row)", source=path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path, columns=list(read_columns) if read_columns else None)
        elif suffix in (".csv", ".txt", ".gz"):
            header = pd.read_csv(path, nrows=0).columns
            text = text_columns(header, columns)
            # round_trip: a number written by to_csv reads back as the same float
            df = pd.read_csv(
                path,
                usecols=list(read_columns) if read_columns else None,
                dtype=dict.fromkeys(text, str) or None,
                float_precision="round_trip",
            )
        else:
            raise InputError(f"unsupported file type {suffix!r}; use .csv or .parquet", source=path)
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", source=path) from exc
    except (ValueError, OSError) as exc:  # unreadable Parquet, bad usecols, ...
        raise InputError(f"cannot read the file ({exc})", source=path) from exc
    if columns is None:
        if len(df) == 0 and not allow_empty:
            raise InputError("the table is empty (no data rows)", source=path)
        return df
    return validate_frame(df, columns, source=str(path), allow_empty=allow_empty)


# --------------------------------------------------------------------------- outputs


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


class DirectFile:
    """A new file written around the page cache (``O_DIRECT``), for large outputs written once:
    the bytes go through an aligned staging buffer straight to the disk, so the kernel does
    not copy them into fresh page-cache pages — on this project's VMs that copy costs ~3.7 s
    of CPU for a 1.7 GB audience file, against ~1 s directly (docs/engines.md, ninth round)
    — and the page cache keeps what it held (the events just read). The unaligned tail is
    written through the cache; a file system that refuses direct I/O (or a system without
    ``O_DIRECT``) gets ordinary writes. Same bytes either way. Use as a context manager;
    :meth:`write` takes any bytes-like object."""

    ALIGN = 4096  # the largest logical block size of common disks: every alignment rule met

    def __init__(self, path: str | os.PathLike, *, stage_bytes: int = 8 << 20):
        import mmap

        flag = getattr(os, "O_DIRECT", 0)
        base = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        self.fd = -1
        if flag:
            try:
                self.fd = os.open(path, base | flag, 0o666)
            except OSError:  # (EINVAL: the file system has no direct I/O)
                flag = 0
        if self.fd < 0:
            self.fd = os.open(path, base, 0o666)
        self.direct = bool(flag)
        stage_bytes = max(self.ALIGN, stage_bytes - stage_bytes % self.ALIGN)
        try:
            self._stage = mmap.mmap(-1, stage_bytes)  # (page-aligned anonymous memory)
        except BaseException:
            os.close(self.fd)
            raise
        self._view = memoryview(self._stage)
        self._fill = 0

    def write(self, data) -> None:
        data = memoryview(data).cast("B")
        while len(data):
            n = min(len(data), len(self._view) - self._fill)
            self._view[self._fill : self._fill + n] = data[:n]
            self._fill += n
            data = data[n:]
            if self._fill == len(self._view):
                self._write_all(self._view)
                self._fill = 0

    def _write_all(self, view: memoryview) -> None:
        while len(view):
            try:
                n = os.write(self.fd, view)
            except OSError as exc:
                if not (self.direct and exc.errno == errno.EINVAL):
                    raise
                self._stop_direct()  # refused at the first write: ordinary writes from here
                continue
            view = view[n:]

    def _stop_direct(self) -> None:
        import fcntl

        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~os.O_DIRECT)
        self.direct = False

    def close(self, *, discard: bool = False) -> None:
        """Write what is staged (unless ``discard``: after a failure) and close the file."""
        if self.fd < 0:
            return
        try:
            if not discard:
                aligned = self._fill - self._fill % self.ALIGN
                self._write_all(self._view[:aligned])
                if self._fill > aligned:  # the tail, under a block: through the cache
                    if self.direct:
                        self._stop_direct()
                    self._write_all(self._view[aligned : self._fill])
        finally:
            self._view.release()
            self._stage.close()
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(discard=exc_type is not None)
        return False


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, index: bool = False) -> Path:
    """Write CSV or Parquet according to the suffix, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix in (".parquet", ".pq"):
            df.to_parquet(tmp, index=index)
        elif suffix == ".csv":
            df.to_csv(tmp, index=index)
        else:
            raise InputError(
                f"unsupported output type {suffix!r}; use .csv or .parquet", source=path
            )
    return path


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers into plain JSON types (NaN -> None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False)


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    return write_text(dumps(obj) + "\n", path)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 110, close: bool = True) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def data_hash(obj: pd.DataFrame | str | os.PathLike | bytes) -> str:
    """SHA-256 of a file's bytes or of a DataFrame's contents (row order included)."""
    h = hashlib.sha256()
    if isinstance(obj, pd.DataFrame):
        h.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
        h.update(",".join(map(str, obj.columns)).encode())
    elif isinstance(obj, bytes):
        h.update(obj)
    else:
        with open(obj, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
