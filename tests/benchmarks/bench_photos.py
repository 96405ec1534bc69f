"""Photos speed: generation rows/s at 200k and 1M rows, baseline fit and K-means times at 200k.

Timings on a shared 2-core machine are noisy; the figures are printed, not asserted, except a
loose floor on generation throughput (vectorised: well above 100k rows/s).
"""

from __future__ import annotations

import time


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    from bayes.photos.data import DEFAULT_ROWS, generate_photos
    from models.core_activation import CoreSegmenter, fit_baselines

    for n in (DEFAULT_ROWS, 1_000_000):
        df, wall = _timed(generate_photos, n, 0)
        print(f"generate {n:>9,} rows: {wall:6.2f} s  ({n / wall:,.0f} rows/s)")
        if n == DEFAULT_ROWS:
            data = df
            if n / wall < 100_000:
                raise AssertionError(f"generation too slow: {n / wall:,.0f} rows/s")
    res, wall = _timed(fit_baselines, data, seed=0)
    print(
        f"fit baselines at {len(data):,} rows: {wall:6.2f} s "
        f"(logistic {res.fit_seconds['logistic']:.2f} s, "
        f"forest {res.fit_seconds['random_forest']:.2f} s, 200 trees, depth 8, n_jobs=2)"
    )
    seg, wall = _timed(CoreSegmenter(random_state=0).fit, data)
    print(f"K-means segmentation at {len(data):,} rows (n_init=10): {wall:6.2f} s")


if __name__ == "__main__":
    main()
