"""``make bench``: run every ``tests/benchmarks/bench_*.py`` and print its figures and ratios.

Each benchmark module exposes ``main()``. Usage: ``python -m tests.benchmarks [NAME ...]``.
"""

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def run(names: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if any(n in m for n in names)]
    failures = 0
    for name in modules:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"tests.benchmarks.{name}").main()
        except Exception as exc:  # keep going; report at the end
            failures += 1
            print(f"!!! {name} failed: {exc!r}")
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s wall", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
