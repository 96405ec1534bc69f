"""Tables written block by block with constant memory, and replaced as a set.

Generators of large data (:func:`bayes.signup.generate.write_signup_files`,
:func:`bayes.growth.data.write_growth_files`) produce one block of rows at a time;
:class:`ChunkedTables` appends each block to its file — a Parquet row group, or CSV rows under
one header — so memory stays that of one block whatever the total size. Every file is written
to a temporary file beside its target; only when the whole set is complete are they renamed
into place, so an error or Ctrl-C leaves the previous files as they were and no temporary file.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pandas as pd

from models.storage import atomic_path

__all__ = ["FORMATS", "ChunkedTables"]

#: file formats the generators write
FORMATS: tuple[str, ...] = ("csv", "parquet")


def _arrow(df: pd.DataFrame):
    """A block as an Arrow table with 32-bit-offset strings (what readers expect)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _plain(table):
    """Dictionary columns decoded (the CSV writer takes plain values)."""
    import pyarrow as pa

    cols = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.Table.from_arrays(cols, names=table.column_names)


class ChunkedTables:
    """Write several tables into ``out_dir`` as ``<name>.<fmt>``, block by block.

    ::

        with ChunkedTables("data/c360", "parquet") as out:
            for block in blocks:
                out.append("events", block.events)   # one Parquet row group per block
            out.append("campaigns", campaigns)
        out.paths  # {"events": Path(...), "campaigns": Path(...)}

    The schema of a table is that of its first non-empty block (later blocks are cast to it);
    a table whose blocks are all empty is written with the columns of its first block.
    """

    def __init__(self, out_dir: str | os.PathLike, fmt: str = "parquet"):
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
        self.out_dir = Path(out_dir)
        self.fmt = fmt
        self.paths: dict[str, Path] = {}
        self.rows: dict[str, int] = {}
        self._stack: contextlib.ExitStack | None = None
        self._tmp: dict[str, Path] = {}
        self._writers: dict[str, object] = {}
        self._schemas: dict[str, object] = {}
        self._empty: dict[str, pd.DataFrame] = {}

    def __enter__(self) -> ChunkedTables:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._stack = contextlib.ExitStack()
        return self

    def append(self, name: str, df: pd.DataFrame) -> None:
        """Append the rows of ``df`` to table ``name`` (created on first use)."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if self._stack is None:
            raise RuntimeError("ChunkedTables must be used as a context manager")
        if name not in self._tmp:
            path = self.out_dir / f"{name}.{self.fmt}"
            self._tmp[name] = self._stack.enter_context(atomic_path(path))
            self.paths[name] = path
            self.rows[name] = 0
        if len(df) == 0:
            self._empty.setdefault(name, df)
            return
        table = _arrow(df)
        if name not in self._writers:
            self._schemas[name] = table.schema
            if self.fmt == "parquet":  # microsecond timestamps: what Spark reads
                self._writers[name] = pq.ParquetWriter(
                    self._tmp[name],
                    table.schema,
                    coerce_timestamps="us",
                    allow_truncated_timestamps=False,
                )
            else:
                self._writers[name] = pacsv.CSVWriter(self._tmp[name], _plain(table).schema)
        else:
            table = table.cast(self._schemas[name])
        writer = self._writers[name]
        if self.fmt == "parquet":
            writer.write_table(table, row_group_size=max(len(df), 1))
        else:
            writer.write_table(_plain(table))
        self.rows[name] += len(df)

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._stack is not None
        try:
            for writer in self._writers.values():
                writer.close()
            if exc_type is None:
                for name, df in self._empty.items():
                    if name not in self._writers:  # every block empty: columns only
                        if self.fmt == "parquet":
                            df.to_parquet(self._tmp[name], index=False)
                        else:
                            df.to_csv(self._tmp[name], index=False)
        except BaseException:
            # a failure while finishing: discard every temporary file, keep the old set
            self._stack.__exit__(*sys.exc_info())
            raise
        # success renames every temporary file into place; an exception removes them all
        return bool(self._stack.__exit__(exc_type, exc, tb))
