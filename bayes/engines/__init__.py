"""Aggregation engines: event logs -> sufficient statistics, on DuckDB, Spark or pandas.

The heavy part of the workbench is turning logs into the small tables the Bayesian fits see:
counts per ``(email, topic)`` (:func:`count_signups`), RFM rows from orders
(:func:`rfm_summary`), the cohort retention matrix (:func:`retention_matrix`). Each is defined
**once**, as SQL that DuckDB and Spark both run (:mod:`bayes.engines.sql`; the few functions
whose spelling differs are rendered per dialect), and checked against the pandas reference:

* ``duckdb`` (default) — embedded, out of core (spills to a temporary folder beyond its memory
  limit), reads CSV and Parquet files, globs, folders and ``s3://`` paths directly;
* ``spark`` — Apache Spark through pyspark, ``local[*]`` by default or any cluster
  (``--spark-master spark://host:7077``, ``yarn``, ``k8s://…``) reading data-lake paths;
* ``pandas`` — the in-memory reference implementation (:mod:`bayes.signup.counting`,
  lifetimes' RFM utilities, :mod:`bayes.growth.cohorts`).

Which engine runs: the ``engine=`` argument if given, else the one set by :func:`use_engine`
(the ``--engine`` / ``--spark-master`` flags of :func:`add_engine_flags` set it for the
command), else DuckDB for files and pandas for in-memory DataFrames.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_SPARK_MASTER",
    "ENGINES",
    "EngineSpec",
    "active_engine",
    "add_engine_flags",
    "arrow_pages_kept",
    "count_signups",
    "no_huge_page_stalls",
    "resolve_engine",
    "retention_matrix",
    "rfm_summary",
    "use_engine",
]

#: the engines, the default first
ENGINES: tuple[str, ...] = ("duckdb", "spark", "pandas")
DEFAULT_ENGINE = "duckdb"
DEFAULT_SPARK_MASTER = "local[*]"


@dataclass(frozen=True)
class EngineSpec:
    """Which engine, and where Spark runs.

    ``memory_limit`` and ``threads`` tune DuckDB (default: ``$BAYES_DUCKDB_MEMORY_LIMIT``, else
    DuckDB's 80% of RAM; ``$BAYES_DUCKDB_THREADS``, else every core).
    """

    name: str = DEFAULT_ENGINE
    spark_master: str = DEFAULT_SPARK_MASTER
    memory_limit: str | None = None
    threads: int | None = None

    def __post_init__(self):
        if self.name not in ENGINES:
            raise ValueError(f"unknown engine {self.name!r}; use one of {list(ENGINES)}")

    @property
    def label(self) -> str:
        return f"spark ({self.spark_master})" if self.name == "spark" else self.name


_ACTIVE: ContextVar[EngineSpec | None] = ContextVar("bayes_engine", default=None)


def active_engine() -> EngineSpec | None:
    """The engine set by :func:`use_engine` (None outside any)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def use_engine(
    engine: str | EngineSpec = DEFAULT_ENGINE, *, spark_master: str = DEFAULT_SPARK_MASTER
) -> Iterator[EngineSpec]:
    """Run the aggregations inside the block on ``engine``::

    with use_engine("spark", spark_master="spark://head:7077"):
        result = score("s3a://lake/events/", "campaigns.csv", "signups.parquet")
    """
    spec = engine if isinstance(engine, EngineSpec) else EngineSpec(engine, spark_master)
    token = _ACTIVE.set(spec)
    try:
        yield spec
    finally:
        _ACTIVE.reset(token)


def resolve_engine(
    engine: str | EngineSpec | None = None, *, in_memory: bool = False
) -> EngineSpec:
    """The engine to run: ``engine`` if given, else the active one (:func:`use_engine`), else
    DuckDB — or pandas when every input is already an in-memory DataFrame (``in_memory``)."""
    if isinstance(engine, EngineSpec):
        return engine
    if engine is not None:
        active = active_engine()
        master = active.spark_master if active is not None else DEFAULT_SPARK_MASTER
        return EngineSpec(engine, master)
    active = active_engine()
    if active is not None:
        return active
    return EngineSpec("pandas" if in_memory else DEFAULT_ENGINE)


def duckdb_settings() -> dict:
    """DuckDB tuning from the environment (``BAYES_DUCKDB_MEMORY_LIMIT``, ``BAYES_DUCKDB_THREADS``)."""
    out = {}
    if os.environ.get("BAYES_DUCKDB_MEMORY_LIMIT"):
        out["memory_limit"] = os.environ["BAYES_DUCKDB_MEMORY_LIMIT"]
    if os.environ.get("BAYES_DUCKDB_THREADS"):
        out["threads"] = int(os.environ["BAYES_DUCKDB_THREADS"])
    return out


# ----------------------------------------------------------------------------- memory

_THP = "/sys/kernel/mm/transparent_hugepage"


def _thp_setting(name: str) -> str | None:
    """The selected value of a transparent-huge-page setting (``[madvise]`` in the file), or
    None off Linux."""
    try:
        text = Path(_THP, name).read_text(encoding="ascii")
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


def _numpy_huge_page_switch():
    """numpy's ``_set_madvise_hugepage`` (numpy 2, then 1.x), or None."""
    import importlib

    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(module)._set_madvise_hugepage
        except (ImportError, AttributeError):
            continue
    return None


def huge_page_advice_stalls() -> bool:
    """Whether numpy's huge-page advice (``madvise(MADV_HUGEPAGE)`` on every array of 4 MB or
    more) can stall this machine: transparent huge pages are on and the kernel backs an
    advised region by compacting memory *synchronously* when no huge page is free (``defrag``
    = ``madvise``, ``defer+madvise`` or ``always``; the default of most distributions).
    numpy/numpy#31590 describes the stall; Go's runtime stopped giving this advice for it."""
    return _thp_setting("enabled") in ("always", "madvise") and _thp_setting("defrag") in (
        "always",
        "madvise",
        "defer+madvise",
    )


@contextlib.contextmanager
def no_huge_page_stalls() -> Iterator[None]:
    """numpy's huge-page advice off inside the block, where :func:`huge_page_advice_stalls`.

    For the Python stages that follow a large aggregation (the 17M-pair frame, the scores,
    the rules at 100M events): DuckDB has just handed back its memory, the kernel has few
    free huge pages, and each new large array waited for a compaction — 8.8 against 5.8 s
    for those stages on this project's VMs (docs/engines.md, ninth round). The arrays get
    ordinary pages instead; nothing else changes. Left alone when ``NUMPY_MADVISE_HUGEPAGE``
    is set (the user's choice) or numpy has no switch; the previous setting is restored."""
    wanted = "NUMPY_MADVISE_HUGEPAGE" not in os.environ and huge_page_advice_stalls()
    switch = _numpy_huge_page_switch() if wanted else None
    if switch is None:
        yield
        return
    previous = switch(False)
    try:
        yield
    finally:
        switch(previous)


@contextlib.contextmanager
def arrow_pages_kept() -> Iterator[None]:
    """Arrow's new buffers from its jemalloc pool inside the block, where pyarrow's default
    on Linux is mimalloc.

    mimalloc hands freed pages back to the system within milliseconds, so the next buffer
    faults fresh ones in; jemalloc keeps them for Arrow's decay time (a second) and reuses
    them. On this project's VMs a fresh page costs microseconds, and the stages that build
    and free large Arrow arrays one after the other — the 17M pairs collected and joined,
    the 1.66 GB audience CSV encoded block by block — ran 0.5 s faster each at 100M events
    (the whole job 58.2–59.0 → 56.8 s; peak RSS +0.25 GB, 3.64 GB: docs/engines.md, tenth
    round). Left alone when ``ARROW_DEFAULT_MEMORY_POOL`` is set (the user's choice) or
    pyarrow was built without jemalloc; the previous pool is restored."""
    import pyarrow as pa

    try:
        pool = None if "ARROW_DEFAULT_MEMORY_POOL" in os.environ else pa.jemalloc_memory_pool()
    except NotImplementedError:
        pool = None
    if pool is None:
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# ----------------------------------------------------------------------------- CLI


_ENGINE_HELP = (
    "where event logs are aggregated: duckdb (default; embedded, out of core, reads CSV/Parquet "
    "files, globs, folders and s3:// paths), spark (Apache Spark, see --spark-master; reads "
    "data-lake paths such as s3a://bucket/events/ or hdfs://...), pandas (in memory, the "
    "reference). Counts are identical on every engine"
)
_MASTER_HELP = (
    "Spark master URL for --engine spark: local[*] (default: every core of this machine), "
    "local[N], spark://host:7077, yarn, k8s://https://host:443; with a cluster, give paths "
    "the executors can read (s3a://, hdfs://, abfss://)"
)


def add_engine_flags(
    parser: argparse.ArgumentParser, *, default: str = DEFAULT_ENGINE, note: str = ""
) -> None:
    """Declare ``--engine duckdb|spark|pandas`` and ``--spark-master URL`` on a command and run
    the command inside :func:`use_engine`. Call it after ``parser.set_defaults(func=...)``;
    ``default`` is the command's engine, ``note`` is added to the help."""
    func = parser.get_default("func")
    if func is None:
        raise RuntimeError("add_engine_flags: call it after parser.set_defaults(func=...)")
    if default not in ENGINES:
        raise ValueError(f"unknown engine {default!r}; use one of {list(ENGINES)}")
    g = parser.add_argument_group("aggregation engine")
    text = _ENGINE_HELP.replace("duckdb (default; ", "duckdb (")
    text = text.replace(f"{default} (", f"{default} (default; ", 1) + note
    g.add_argument("--engine", choices=ENGINES, default=default, help=text)
    g.add_argument("--spark-master", default=DEFAULT_SPARK_MASTER, metavar="URL", help=_MASTER_HELP)

    @functools.wraps(func)
    def run_on_engine(args):
        from bayes.io import InputError

        if args.spark_master != DEFAULT_SPARK_MASTER and args.engine != "spark":
            raise InputError(f"--spark-master {args.spark_master} needs --engine spark")
        with use_engine(args.engine, spark_master=args.spark_master):
            return func(args)

    parser.set_defaults(func=run_on_engine)


# ----------------------------------------------------------------------------- entry points


def count_signups(events, campaigns, signups=None, *, engine=None):
    """Seed 003 §2 counts per ``(email, topic)`` on an engine; see
    :func:`bayes.engines.signup.count_signups`."""
    from bayes.engines.signup import count_signups as run

    return run(events, campaigns, signups, engine=engine)


def rfm_summary(transactions, **kwargs):
    """RFM rows from a transaction log on an engine; see :func:`bayes.engines.growth.rfm_summary`."""
    from bayes.engines.growth import rfm_summary as run

    return run(transactions, **kwargs)


def retention_matrix(users, events, **kwargs):
    """The weekly cohort retention matrix on an engine; see
    :func:`bayes.engines.growth.retention_matrix`."""
    from bayes.engines.growth import retention_matrix as run

    return run(users, events, **kwargs)
