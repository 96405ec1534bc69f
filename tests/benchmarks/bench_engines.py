"""Aggregation engines (issue 16), side by side in one run.

1. Signup scoring, end to end from Parquet (validate, count per ``(email, topic)``, empirical
   Bayes, audience rules, write the CSV) at 10M events on pandas (the in-memory reference,
   today's path), DuckDB and Spark ``local[*]``, then 100M events on DuckDB. Targets: 100M
   events in < 60 s with peak RSS < 4 GB on 2 cores; DuckDB at 10M at least as fast as
   pandas. Spark's figures are for parity, not speed; the three 10M audiences must be
   byte-identical.
2. RFM rows from 50M orders on DuckDB (target < 20 s), at the 3 GB cap and with room not to
   spill (8 GB), and how far the LTV fit's input
   compresses (unique ``(frequency, recency, T)`` rows, :func:`models.ltv.compress_rfm`).

DuckDB runs with ``memory_limit`` 3GB (``$BAYES_DUCKDB_MEMORY_LIMIT``), spilling beyond it.
Every job runs in a fresh subprocess. CPU seconds (user + system, the JVM included) are
printed beside wall seconds, the fairer figure on a shared machine; peak memory is the largest
sampled RSS of the process tree (the Spark JVM included) or the process's own ``ru_maxrss``,
whichever is larger. The inputs are generated once, block by block with constant memory, into
``$BAYES_BENCH_ENGINES`` (default ``/tmp/bayes_bench_engines``; 100M events are ~2.7 GB of
Parquet and take ~15-20 minutes to generate on a loaded machine, 50M orders ~6 minutes).

Usage: ``python -m tests.benchmarks engines`` (or ``make bench``); ``BAYES_BENCH_ENGINES_SIZES``
(default ``10M,100M``; empty: RFM only) picks the signup sizes, ``BAYES_BENCH_RFM_LIMITS``
(default ``3GB,8GB``; empty: no RFM job) the DuckDB memory caps the RFM job runs under. Each
job prints its stages' wall and CPU seconds and peak RSS (signup: ``load``, ``query`` — the
engine's scan(s), one per topic partition when the messages exceed the memory limit, the pair
table streamed out —, ``query_full_trim`` when an e-mail needs it, ``checks``, ``frame`` —
Arrow to pandas and the topic priors —, ``score``, ``rules``, ``write``; RFM: validation scan,
aggregation, frame).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("BAYES_BENCH_ENGINES", "/tmp/bayes_bench_engines"))
#: signup data sets: recipients (~10.5 events each with the generator's defaults), 20 topics
SIGNUP = {"10M": 960_000, "100M": 9_600_000}
N_TOPICS, SEED, BLOCK = 20, 2026, 100_000
ORDER_USERS = 36_300_000  # ~1.38 orders per user over 52 weeks: ~50M orders

_CHILD_PRELUDE = r"""
import json, os, resource, sys, threading, time
import psutil

peak = [0]
samples = []  # (time.perf_counter(), RSS): the peak of each stage from its span
stop = threading.Event()

def sample():
    me = psutil.Process()
    while not stop.is_set():
        try:
            rss = me.memory_info().rss + sum(
                c.memory_info().rss for c in me.children(recursive=True))
        except psutil.Error:
            rss = 0
        peak[0] = max(peak[0], rss)
        samples.append((time.perf_counter(), rss))
        stop.wait(0.1)

threading.Thread(target=sample, daemon=True).start()

def peak_gb():
    stop.set()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return max(peak[0], own) / 1024**3

def stage_peaks_gb(spans):
    # the largest RSS sampled during each stage (name: (start, end))
    return {
        name: max((r for t, r in samples if a <= t <= b), default=0) / 1024**3
        for name, (a, b) in spans.items()
    }

def cpu_seconds():
    # CPU time (user + system) of this process and its live children (the Spark JVM)
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for c in me.children(recursive=True):
        try:
            total += sum(c.cpu_times()[:2])
        except psutil.Error:
            pass
    return total
"""

_SCORE_CHILD = (
    _CHILD_PRELUDE
    + r"""
from bayes.engines import use_engine
from bayes.signup.audience import AudienceRules, score, write_audience
engine, master, d, out = sys.argv[1:5]
with use_engine(engine, spark_master=master):
    if engine == "spark":  # session start-up is reported apart from the job
        from bayes.engines.backends import spark_session
        t = time.perf_counter()
        spark_session(master)
        startup = time.perf_counter() - t
    else:
        startup = 0.0
    t, cpu = time.perf_counter(), cpu_seconds()
    res = score(f"{d}/events.parquet", f"{d}/campaigns.parquet", f"{d}/signups.parquet",
                rules=AudienceRules(goal="new"))
    stages = res.stages
    with stages("write"):
        write_audience(res.audience, out)
    elapsed, cpu = time.perf_counter() - t, cpu_seconds() - cpu
gauge = peak_gb()
try:  # what the hierarchical fit would see: unique (topic, S, C) and (topic, C, Y) rows
    from models.signup import compress
    comp = compress(res.scored)
    compressed = [int(len(comp["click"])), int(len(comp["sc"]))]
except Exception:
    compressed = None
print(json.dumps({
    "compressed_rows": compressed,
    "seconds": elapsed, "cpu_seconds": cpu, "startup_seconds": startup,
    "timings": {**res.timings, "write": elapsed - sum(res.timings.values())},
    "stages": {name: [wall, stages.cpu[name], peak]
               for (name, wall), peak in zip(stages.wall.items(),
                                             stage_peaks_gb(stages.spans).values())},
    "n_events": res.info["n_events"], "n_pairs": res.info["n_pairs"],
    "audience": len(res.audience), "engine": res.info["engine"], "peak_gb": gauge,
}))
"""
)

_RFM_CHILD = (
    _CHILD_PRELUDE
    + r"""
import numpy as np
from bayes.engines import rfm_summary
from models.ltv import compress_rfm
path = sys.argv[1]
t, cpu = time.perf_counter(), cpu_seconds()
summary, _ = rfm_summary(path, engine="duckdb")
elapsed, cpu = time.perf_counter() - t, cpu_seconds() - cpu
comp = compress_rfm(summary["frequency"], summary["recency"], summary["T"])
print(json.dumps({
    "seconds": elapsed, "cpu_seconds": cpu, "customers": len(summary),
    "timings": summary.attrs.get("timings", {}), "cpu": summary.attrs.get("cpu", {}),
    "stage_peak_gb": stage_peaks_gb(summary.attrs.get("spans", {})),
    "compressed_rows": int(len(comp.x)),
    "repeat_share": float(np.mean(summary["frequency"] > 0)), "peak_gb": peak_gb(),
}))
"""
)


def _params_ok(folder: Path, params: dict) -> bool:
    f = folder / "params.json"
    return f.exists() and json.loads(f.read_text()) == params


def ensure_signup(size: str) -> Path:
    """The signup files of ``size`` (generated once, block by block)."""
    from bayes.signup.generate import write_signup_files

    folder = CACHE / f"signup_{size}"
    params = {"recipients": SIGNUP[size], "topics": N_TOPICS, "seed": SEED, "block": BLOCK}
    if not _params_ok(folder, params):
        t = time.perf_counter()
        files = write_signup_files(
            folder, SIGNUP[size], N_TOPICS, seed=SEED, block_recipients=BLOCK, progress=True
        )
        (folder / "params.json").write_text(json.dumps(params))
        print(f"generated {files.rows} in {time.perf_counter() - t:.0f} s -> {folder}")
    return folder


def ensure_orders() -> Path:
    """~50M orders (orders only: sessions are not simulated), generated once."""
    from bayes.growth.data import write_growth_files

    folder = CACHE / "orders_50M"
    params = {"users": ORDER_USERS, "seed": SEED, "tables": ["orders"]}
    if not _params_ok(folder, params):
        t = time.perf_counter()
        got = write_growth_files(folder, ORDER_USERS, seed=SEED, tables=("orders",), progress=True)
        (folder / "params.json").write_text(json.dumps(params))
        print(f"generated {got['rows']} in {time.perf_counter() - t:.0f} s -> {folder}")
    return folder / "orders.parquet"


#: DuckDB's memory limit in the benchmark (it spills to disk beyond it); the process's peak RSS
#: is this plus the Arrow result and Python (``$BAYES_DUCKDB_MEMORY_LIMIT`` overrides it)
MEMORY_LIMIT = os.environ.get("BAYES_DUCKDB_MEMORY_LIMIT", "3GB")


#: DuckDB memory limits of the RFM job: the signup jobs' cap, where its first aggregation
#: (~50M (customer, day) groups) spills, and room for it (``$BAYES_BENCH_RFM_LIMITS``)
RFM_LIMITS = [
    x for x in os.environ.get("BAYES_BENCH_RFM_LIMITS", f"{MEMORY_LIMIT},8GB").split(",") if x
]


def _child(code: str, *args: str, memory_limit: str = MEMORY_LIMIT) -> dict:
    env = {**os.environ, "BAYES_DUCKDB_MEMORY_LIMIT": memory_limit}
    run = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip().splitlines()[-1] if run.stderr else "failed")
    return json.loads(run.stdout.strip().splitlines()[-1])


def bench_score(size: str, engine: str, master: str = "local[*]") -> dict:
    d = ensure_signup(size)
    out = d / f"audience_{engine}.csv"
    r = _child(_SCORE_CHILD, engine, master, str(d), str(out))
    r.update(size=size, audience_file=str(out))
    extra = f" (+{r['startup_seconds']:.1f} s session start)" if engine == "spark" else ""
    print(
        f"{size} events on {r['engine']}: {r['n_events']:,} events -> {r['n_pairs']:,} pairs "
        f"-> audience {r['audience']:,} in {r['seconds']:.1f} s ({r['cpu_seconds']:.1f} s CPU)"
        f"{extra}; "
        f"{r['n_events'] / r['seconds']:,.0f} events/s; peak RSS {r['peak_gb']:.2f} GB",
        flush=True,
    )
    for name, (wall, cpu, peak) in r["stages"].items():
        print(f"  {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:.2f} GB")
    if r["compressed_rows"]:
        click, sc = r["compressed_rows"]
        print(
            f"  the hierarchical fit would see {click:,} (topic, S, C) + {sc:,} (topic, C, Y) rows"
        )
    return r


def bench_rfm(memory_limit: str = MEMORY_LIMIT) -> dict:
    import pyarrow.parquet as pq

    path = ensure_orders()
    n_orders = pq.ParquetFile(path).metadata.num_rows
    r = _child(_RFM_CHILD, str(path), memory_limit=memory_limit)
    r.update(orders=n_orders, memory_limit=memory_limit)
    print(
        f"RFM on duckdb ({memory_limit} cap): {n_orders:,} orders -> {r['customers']:,} "
        f"customers in {r['seconds']:.1f} s ({r['cpu_seconds']:.1f} s CPU) [target < 20 s]; "
        f"peak RSS {r['peak_gb']:.2f} GB; the LTV fit sees {r['compressed_rows']:,} unique "
        f"(frequency, recency, T) rows; load average {os.getloadavg()[0]:.1f} after",
        flush=True,
    )
    for name, wall in r.get("timings", {}).items():
        print(
            f"  {name}: {wall:.1f} s wall, {r['cpu'].get(name, float('nan')):.1f} s CPU, "
            f"peak RSS {r['stage_peak_gb'].get(name, float('nan')):.2f} GB"
        )
    return r


def main() -> dict:
    print(
        f"DuckDB memory limit {MEMORY_LIMIT}; {os.cpu_count()} cores; os.getloadavg() "
        f"{os.getloadavg()[0]:.1f} at the start",
        flush=True,
    )
    sizes = os.environ.get("BAYES_BENCH_ENGINES_SIZES", "10M,100M").split(",")
    res: dict = {"score": []}
    if "10M" in sizes:
        ten = [bench_score("10M", e) for e in ("pandas", "duckdb", "spark")]
        res["score"] += ten
        files = [Path(r["audience_file"]).read_bytes() for r in ten]
        same = all(f == files[0] for f in files)
        pandas_s, duck_s = ten[0]["seconds"], ten[1]["seconds"]
        print(
            f"10M: DuckDB {duck_s:.1f} s / {ten[1]['peak_gb']:.2f} GB vs pandas {pandas_s:.1f} s "
            f"/ {ten[0]['peak_gb']:.2f} GB: x{pandas_s / duck_s:.2f} faster, "
            f"x{ten[0]['peak_gb'] / ten[1]['peak_gb']:.2f} less memory [target: at least as "
            f"fast]; Spark local[*] {ten[2]['seconds']:.1f} s; audiences identical on the "
            f"three engines: {same}",
            flush=True,
        )
    if "100M" in sizes:
        r = bench_score("100M", "duckdb")
        res["score"].append(r)
        print(
            f"100M on DuckDB: {r['seconds']:.1f} s, peak {r['peak_gb']:.2f} GB "
            "[targets < 60 s, < 4 GB on 2 cores]",
            flush=True,
        )
    res["rfm"] = [bench_rfm(limit) for limit in RFM_LIMITS]
    return res


if __name__ == "__main__":
    main()
