"""The two SQL engines behind one small interface: register inputs as views, run SQL, get Arrow.

:func:`source_of` turns what a user passes — a file, a glob, a folder of Parquet files (Hive
partitions too), a remote URI, or an in-memory DataFrame — into a :class:`Source`;
:func:`connect` opens a :class:`DuckDB` or :class:`Spark` backend on which
``backend.view(name, source)`` registers it (``backend.column_types[name]`` are then its
column types, ``backend.text_columns[name]`` its string columns) and ``backend.arrow(sql)`` runs a query into a ``pyarrow.Table``. Files are read as they are on disk: CSV columns as strings (no type
guessing: ``007`` stays ``007``), Parquet with its own types.

DuckDB runs in this process with the session time zone UTC, spilling to a private temporary
folder (removed on close) beyond its memory limit. Spark sessions are started once per
process and master URL (start-up takes seconds) and kept for later calls.
"""

from __future__ import annotations

import glob as _glob
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes.io import InputError

__all__ = ["DuckDB", "Source", "Spark", "connect", "source_of"]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt", ".gz", ".csv.gz")


@dataclass(frozen=True)
class Source:
    """An input: ``kind`` is ``parquet``, ``csv`` or ``frame``; ``location`` a path, glob or
    URI (``frame``: the DataFrame/Arrow table); ``label`` names it in messages; ``files`` are
    the local files behind it (empty for remote paths and frames)."""

    kind: str
    location: object
    label: str
    files: tuple[str, ...] = ()
    is_dir: bool = False

    @property
    def single_file(self) -> str | None:
        return self.files[0] if len(self.files) == 1 and not self.is_dir else None


def _kind(name: str, source) -> str:
    low = name.lower().rstrip("/")
    if low.endswith(_PARQUET):
        return "parquet"
    if low.endswith(_CSV):
        return "csv"
    raise InputError(
        "unsupported file type; use .csv or .parquet (or a folder of Parquet files)", source=source
    )


def source_of(obj, *, what: str = "table") -> Source:
    """Where to read ``obj`` from (see the module docstring); missing and empty local files
    raise :class:`InputError`."""
    import pyarrow as pa

    if isinstance(obj, (pd.DataFrame, pa.Table)):
        return Source("frame", obj, f"<{what}>")
    text = os.fspath(obj)
    if _URI.match(text) and not text.startswith("file://"):
        low = text.lower().rstrip("/")
        kind = "csv" if low.endswith(_CSV) else "parquet"  # a lake folder: Parquet
        return Source(kind, text, text)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if any(c in text for c in "*?["):
        files = tuple(sorted(_glob.glob(text, recursive=True)))
        if not files:
            raise InputError("no file matches the pattern", source=text)
        return Source(_kind(text, text), text, text, files)
    path = Path(text)
    if not path.exists():
        raise InputError("file not found", source=path)
    if path.is_dir():
        for kind, patterns in (("parquet", ("*.parquet", "*.pq")), ("csv", ("*.csv",))):
            files = sorted(str(f) for p in patterns for f in path.rglob(p))
            if files:
                return Source(kind, str(path), str(path), tuple(files), is_dir=True)
        raise InputError("the folder holds no .parquet or .csv file", source=path)
    if path.stat().st_size == 0:
        raise InputError("the file is empty (not even a header row)", source=path)
    return Source(_kind(path.name, path), str(path), str(path), (str(path),))


# ----------------------------------------------------------------------------- DuckDB


def _sql_list(items) -> str:
    from bayes.engines.sql import literal

    return "[" + ", ".join(literal(str(i)) for i in items) + "]"


class DuckDB:
    """An in-process DuckDB connection (session time zone UTC, private spill folder)."""

    name = "duckdb"

    def __init__(self, *, memory_limit: str | None = None, threads: int | None = None):
        import duckdb

        from bayes.engines import duckdb_settings

        env = duckdb_settings()
        memory_limit = memory_limit or env.get("memory_limit")
        threads = threads or env.get("threads")
        self._tmp = tempfile.mkdtemp(prefix="bayes-duckdb-")
        self._frames: dict[str, object] = {}
        self.column_types: dict[str, dict[str, str]] = {}
        self.text_columns: dict[str, set[str]] = {}
        self.con = duckdb.connect()
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute(f"SET temp_directory = '{self._tmp}'")
            self.con.execute("SET preserve_insertion_order = false")  # queries that care ORDER BY
            try:  # stdout is the user's (--json); under Jupyter without ipywidgets DuckDB
                self.con.execute("SET enable_progress_bar = false")  # refuses the setting
            except duckdb.Error:
                pass
            if memory_limit:
                self.con.execute(f"SET memory_limit = '{memory_limit}'")
            if threads:
                self.con.execute(f"SET threads = {int(threads)}")
        except duckdb.Error as exc:  # e.g. a bad $BAYES_DUCKDB_MEMORY_LIMIT: no folder left behind
            self.close()
            raise InputError(f"cannot configure DuckDB ({_first_line(exc)})") from exc

    def scan(self, source: Source, *, numbered: bool = False) -> str:
        """A table expression reading ``source``; ``numbered`` adds ``_file`` and ``_row``
        (0-based row within its file; CSV numbering needs one thread, see :meth:`numbered`)."""
        from bayes.engines.sql import literal

        if source.kind == "frame":
            name = f"_bayes_frame_{len(self._frames)}"
            self._frames[name] = source.location
            self.con.register(name, source.location)
            if numbered:
                return (
                    f"(SELECT *, {literal(source.label)} AS _file, "
                    f"row_number() OVER () - 1 AS _row FROM {name})"
                )
            return name
        where = _sql_list(source.files) if source.files else literal(str(source.location))
        if source.kind == "parquet":
            extra = ", hive_partitioning = true, union_by_name = true" if source.is_dir else ""
            if numbered:
                return (
                    f"(SELECT * EXCLUDE (filename, file_row_number), filename AS _file, "
                    f"file_row_number AS _row FROM read_parquet({where}, filename = true, "
                    f"file_row_number = true{extra}))"
                )
            return f"read_parquet({where}{extra})"
        opts = "header = true, all_varchar = true, union_by_name = true"
        if numbered:
            return (
                f"(SELECT * EXCLUDE (filename), filename AS _file, row_number() OVER "
                f"(PARTITION BY filename) - 1 AS _row FROM read_csv({where}, {opts}, "
                "filename = true))"
            )
        return f"read_csv({where}, {opts})"

    def view(self, name: str, source: Source) -> list[str]:
        """Register ``source`` as view ``name``; return its column names."""
        import duckdb

        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {self.scan(source)}"
            )
            described = self.con.execute(f"SELECT * FROM {name} LIMIT 0").description
        except duckdb.Error as exc:
            raise InputError(
                f"cannot read the file ({_first_line(exc)})", source=source.label
            ) from exc
        self.column_types[name] = {c: str(t).upper() for c, t, *_ in described}
        self.text_columns[name] = {c for c, t in self.column_types[name].items() if t == "VARCHAR"}
        return [c for c, *_ in described]

    def arrow(self, sql: str):
        """Run ``sql``; the result as a ``pyarrow.Table``."""
        rel = self.con.sql(sql)
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing (``CREATE TEMP TABLE … AS``, ``INSERT``)."""
        self.con.execute(sql)

    def memory_limit_bytes(self) -> float:
        """DuckDB's memory limit (``SET memory_limit``; by default 80% of the machine's);
        infinite when DuckDB spells it in a way :func:`_bytes` does not read."""
        text = self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        try:
            return _bytes(str(text))
        except ValueError:
            return float("inf")

    def reuse_blocks(self) -> None:
        """Back DuckDB's buffer blocks with memory taken once, up to the memory limit, and
        reused until :meth:`close` (DuckDB's ``block_allocator_memory``; taken as it is
        needed). For a job of several large queries — the topic partitions of
        :func:`~bayes.engines.count_signups` — whose blocks would otherwise go back to the
        operating system after each query and be faulted in again by the next: at 100M
        events ~3 GB per partition, ~3.5 s of the query (docs/engines.md, ninth round). Not
        the default: the blocks stay resident until the connection closes, which raises the
        peak of a job that builds its frame with the connection open (RFM: +0.5 GB at a
        3 GB limit). DuckDB before 1.3 has no such setting: skipped."""
        import duckdb

        limit = self.memory_limit_bytes()
        if limit == float("inf"):
            return
        try:
            self.con.execute(f"SET block_allocator_memory = '{int(limit)}B'")
        except duckdb.Error:
            pass

    def batches(self, sql: str, rows: int = 1 << 20):
        """Run ``sql``; its result as ``pyarrow.RecordBatch`` es of about ``rows`` rows, streamed
        (the whole result never exists a second time in Arrow), a few batches ahead on a
        thread: DuckDB converts the next batches while the caller works on this one (at
        100M events the 17M pairs stream in ~3 s, a third of it DuckDB's)."""
        rel = self.con.sql(sql)
        reader = rel.to_arrow_reader(rows) if hasattr(rel, "to_arrow_reader") else None
        return _ahead(reader if reader is not None else rel.fetch_record_batch(rows))

    def numbered(self, sql: str):
        """Run ``sql`` on one thread with insertion order kept, so that ``row_number()`` over a
        CSV scan follows the file (used only to name the rows of an error)."""
        self.con.execute("SET threads = 1")
        self.con.execute("SET preserve_insertion_order = true")
        try:
            return self.arrow(sql)
        finally:
            self.con.execute("RESET threads")
            self.con.execute("SET preserve_insertion_order = false")

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _bytes(text: str) -> float:
    """A DuckDB size setting in bytes: ``2.7 GiB``, ``476.8 MiB``, ``3GB``, ``1000 bytes``."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?)b?(?:ytes?)?\s*", text.lower())
    if not m:
        raise ValueError(f"cannot read the size {text!r}")
    number, unit, binary = m.groups()
    return float(number) * (1024 if binary else 1000) ** " kmgt".index(unit)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ----------------------------------------------------------------------------- Spark

_SESSIONS: dict[str, object] = {}


def spark_session(master: str):
    """The Spark session for ``master``, started once per process (UTC session time zone,
    Arrow transfers, no UI). A session for another master is stopped first: one JVM per
    process."""
    from pyspark.sql import SparkSession

    if master in _SESSIONS:
        return _SESSIONS[master]
    for other in list(_SESSIONS):
        _SESSIONS.pop(other).stop()
    builder = (
        SparkSession.builder.master(master)
        .appName("bayes")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # one shuffle partition per core (Spark's 200 are meant for clusters) and room for
        # the driver, which is also the executor in local mode
        cores = re.fullmatch(r"local\[(\d+)\]", master)
        partitions = int(cores.group(1)) if cores else os.cpu_count() or 2
        builder = builder.config(
            "spark.sql.shuffle.partitions",
            os.environ.get("BAYES_SPARK_PARTITIONS", str(2 * partitions)),
        ).config("spark.driver.memory", os.environ.get("BAYES_SPARK_DRIVER_MEMORY", "4g"))
    elif os.environ.get("BAYES_SPARK_PARTITIONS"):
        builder = builder.config(
            "spark.sql.shuffle.partitions", os.environ["BAYES_SPARK_PARTITIONS"]
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _SESSIONS[master] = session
    return session


class Spark:
    """A Spark session (see :func:`spark_session`) with views registered by :meth:`view`."""

    name = "spark"

    def __init__(self, master: str):
        self.master = master
        self.spark = spark_session(master)
        self._views: list[str] = []
        self.column_types: dict[str, dict[str, str]] = {}
        self.text_columns: dict[str, set[str]] = {}

    def _reader(self, source: Source):
        if source.kind == "frame":
            return _spark_frame(self.spark, source.location)
        paths = list(source.files) if source.files and not source.is_dir else [source.location]
        paths = [p if _URI.match(p) else str(Path(p).resolve()) for p in paths]
        if source.kind == "parquet":
            return self.spark.read.parquet(*paths)
        # RFC 4180: "" inside quotes, quoted fields may hold line breaks (so a CSV file is
        # read whole, not split: give Spark Parquet for big logs); every column a string
        return (
            self.spark.read.option("header", True)
            .option("escape", '"')
            .option("multiLine", True)
            .option("inferSchema", False)
            .option("mode", "FAILFAST")
            .csv(paths)
        )

    def view(self, name: str, source: Source) -> list[str]:
        from pyspark.errors import PySparkException

        try:
            df = self._reader(source)
        except (PySparkException, OSError) as exc:
            hint = ""
            if "TIMESTAMP(NANOS" in str(exc):  # pandas' default; Spark reads micros at most
                hint = (
                    "; Spark reads no nanosecond timestamps: write the file with "
                    "df.to_parquet(path, coerce_timestamps='us', "
                    "allow_truncated_timestamps=True), or use --engine duckdb"
                )
            raise InputError(
                f"cannot read the file ({_first_line(exc)}){hint}", source=source.label
            ) from exc
        df.createOrReplaceTempView(name)
        self._views.append(name)
        self.column_types[name] = {c: t.upper() for c, t in df.dtypes}
        self.text_columns[name] = {c for c, t in df.dtypes if t == "string"}
        return list(df.columns)

    def arrow(self, sql: str):
        df = self.spark.sql(sql)
        return df.toArrow() if hasattr(df, "toArrow") else _arrow_of_pandas(df.toPandas())

    def batches(self, sql: str, rows: int = 1 << 20):
        """Run ``sql``; its result as ``pyarrow.RecordBatch`` es (collected by Spark first)."""
        return iter(self.arrow(sql).to_batches(rows))

    def close(self) -> None:
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _ahead(items, depth: int = 4):
    """Iterate ``items`` with up to ``depth`` of them fetched ahead on a thread. An error of
    the producer is raised in the caller; when the caller stops early (an error, an
    interrupt, ``close()``), the thread stops after the item it is fetching."""
    import queue
    import threading

    box: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()
    failure: list[BaseException] = []

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            failure.append(exc)
        put(end)

    thread = threading.Thread(target=produce, name="bayes-batches", daemon=True)
    thread.start()
    try:
        while (item := box.get()) is not end:
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        thread.join()


def _spark_type(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "INT" if dtype.itemsize <= 4 else "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP"
    return "STRING"


def _spark_frame(spark, data):
    """A Spark DataFrame of an in-memory table, with an explicit schema (so that empty tables
    work too): categoricals and objects as strings, nulls kept; naive datetimes are UTC."""
    if not isinstance(data, pd.DataFrame):
        data = data.to_pandas()
    out = {}
    for name in data.columns:
        col = data[name]
        if _spark_type(col.dtype) == "STRING":
            col = col.astype(object).where(col.notna(), None)
            col = col.map(lambda v: v if v is None else str(v), na_action="ignore")
        elif pd.api.types.is_datetime64_any_dtype(col.dtype) and col.dt.tz is None:
            col = col.dt.tz_localize("UTC")
        out[name] = col
    schema = ", ".join(f"`{n}` {_spark_type(data[n].dtype)}" for n in data.columns)
    return spark.createDataFrame(pd.DataFrame(out, index=data.index), schema=schema)


def _arrow_of_pandas(df: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


def connect(spec):
    """A backend for an :class:`~bayes.engines.EngineSpec` (``duckdb`` or ``spark``)."""
    if spec.name == "duckdb":
        return DuckDB(memory_limit=spec.memory_limit, threads=spec.threads)
    if spec.name == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise InputError(
                "--engine spark needs pyspark: pip install 'bayes-workbench[spark]' "
                "(and Java 17 or newer)"
            ) from exc
        return Spark(spec.spark_master)
    raise ValueError(f"no SQL backend for engine {spec.name!r}")
