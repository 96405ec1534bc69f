"""Experiments benchmark (seed 004; issue 12).

A 10M-user experiment in Parquet, analysed end to end from sufficient statistics: validation
and per-arm sums in DuckDB (two passes over the file), CUPED on revenue and conversion, the
exact Bayesian readout (4 chains × 1000 draws), SRM, Holm/BH. Target: < 5 s and < 3 GB peak
memory. Each run is a fresh subprocess so the peak RSS (``resource.getrusage``) is that of the
analysis alone; imports are timed apart. The reference is the NumPy engine on the same file
(pandas reads the columns, NumPy computes the sums), whose statistics must agree to 1e-9.

The 10M rows are built once from the growth users (200k, resampled) in 1M-user chunks with
:func:`bayes.experiments.data.generate_experiment` and cached in ``$BAYES_BENCH_CACHE``
(default ``/tmp/bayes_bench_experiments``).

Wall time depends on what else runs on the machine; the CPU time (user + system, all threads)
is printed beside it: on an otherwise idle 2-core machine the wall time is about CPU / 2.

Usage: ``python -m tests.benchmarks experiments`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("BAYES_BENCH_CACHE", "/tmp/bayes_bench_experiments"))
N_USERS = 10_000_000
CHUNK = 1_000_000
COLUMNS = ["arm", "exposed_ts", "pre_revenue", "revenue", "converted"]

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from bayes.experiments.analyze import analyze
from models.sampling import SamplerConfig
import arviz, pymc  # the readout's libraries: imported before the clock starts, timed apart
t_import = time.perf_counter() - t0
path, engine = sys.argv[1], sys.argv[2]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, c = time.perf_counter(), cpu()
res = analyze(path, arm="arm", metrics=["revenue", "converted"], covariates=["pre_revenue"],
              method="bayes", engine=engine,
              sampler=SamplerConfig(draws=1000, chains=4, seed=0, progress=False))
elapsed, cpu_s = time.perf_counter() - t, cpu() - c
m = res.moments
print(json.dumps({
    "seconds": elapsed, "cpu_seconds": cpu_s, "import_seconds": t_import,
    "users": int(m.n.sum()), "mean": m.mean.tolist(), "scatter": m.scatter.tolist(),
    "headline": res.headline, "variance_reduction": res.estimates[0].details["variance_reduction"],
    "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
}))
"""


def ensure_data() -> Path:
    """Write the 10M-user Parquet once (chunks of 1M users)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bayes.experiments.data import generate_experiment
    from bayes.growth.data import generate_growth_data

    path = CACHE / "experiment_10m.parquet"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    base = generate_growth_data(200_000, seed=0).users[["country", "device", "acq_channel"]]
    rng = np.random.default_rng(0)
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for i in range(N_USERS // CHUNK):
            users = base.iloc[rng.integers(0, len(base), CHUNK)].reset_index(drop=True)
            users.insert(0, "user_id", np.arange(i * CHUNK + 1, (i + 1) * CHUNK + 1))
            frame = generate_experiment(users=users, seed=i).frame[COLUMNS]
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            print(f"  wrote chunk {i + 1}/{N_USERS // CHUNK}", flush=True)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, path)
    return path


def _run(path: Path, engine: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), engine],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BAYES_NO_PROGRESS": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    path = ensure_data()
    size_mb = path.stat().st_size / 1e6
    print(f"10M-user experiment: {path} ({size_mb:.0f} MB Parquet)")
    duck = _run(path, "duckdb")
    ref = _run(path, "numpy")
    same = np.allclose(duck["scatter"], ref["scatter"], rtol=1e-9) and np.allclose(
        duck["mean"], ref["mean"], rtol=1e-12
    )
    print(f"users: {duck['users']:,}")
    print(f"headline: {duck['headline']}")
    print(f"CUPED variance reduction (revenue): {duck['variance_reduction']:.1%}")
    for name, r in (("duckdb (default)", duck), ("numpy reference", ref)):
        print(
            f"{name:18s} analysis {r['seconds']:.2f} s wall, {r['cpu_seconds']:.2f} s CPU "
            f"(imports {r['import_seconds']:.1f} s apart), "
            f"peak RSS {r['peak_rss_gb']:.2f} GB, {duck['users'] / r['seconds'] / 1e6:.1f}M users/s"
        )
    print(
        f"target < 5 s and < 3 GB: {'met' if duck['seconds'] < 5 and duck['peak_rss_gb'] < 3 else 'MISSED'}; "
        f"duckdb vs numpy reference: {ref['seconds'] / duck['seconds']:.1f}x faster, "
        f"{ref['peak_rss_gb'] / duck['peak_rss_gb']:.1f}x less memory; statistics agree to 1e-9: {same}"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
