"""Uplift evaluation speed: 1M scored users -> Qini, AUUC, uplift at k and 200 stratified
bootstrap replicates of every metric and both curves (target: under 10 s), against
scikit-uplift (one pass of its qini_auc_score + uplift_auc_score + uplift_at_k x 2, no bands)
as the reference. Also the targeting simulator on 100k users x 200 value draws.

Figures are printed, not asserted (a shared 2-core machine is noisy).
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def _case(n, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    s = rng.normal(size=n)
    y = (rng.random(n) < 0.2 + 0.1 * t * (s > 0)).astype(np.int8)
    return y, t, s


def main() -> None:
    from models.uplift.metrics import uplift_metrics

    n = 1_000_000
    y, t, s = _case(n)
    uplift_metrics(y[:1000], t[:1000], s[:1000], n_boot=10)  # warm imports
    t0 = time.perf_counter()
    m, curves = uplift_metrics(y, t, s, k=0.3, n_boot=200, bins=1000, seed=0)
    ours = time.perf_counter() - t0
    print(
        f"1M users: Qini, AUUC, uplift@k (2 strategies), both curves, 200 "
        f"stratified bootstrap replicates on {curves.fraction.size - 1} cut points: {ours:.2f} s "
        f"(target < 10 s: {'met' if ours < 10 else 'NOT met'})"
    )
    t0 = time.perf_counter()
    uplift_metrics(y, t, s, k=0.3, n_boot=0)
    point = time.perf_counter() - t0
    print(f"1M users, point values only (no bootstrap): {point:.2f} s")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score

            t0 = time.perf_counter()
            q = qini_auc_score(y, s, t)
            uplift_auc_score(y, s, t)
            uplift_at_k(y, s, t, strategy="overall", k=0.3)
            uplift_at_k(y, s, t, strategy="by_group", k=0.3)
            ref = time.perf_counter() - t0
        print(
            f"scikit-uplift, the same four point values once (no bands): {ref:.2f} s; ours "
            f"point values {point:.2f} s ({ref / point:.1f}x faster); ours with 200 replicates "
            f"is {ours / ref:.1f}x one scikit-uplift pass; a naive 200-replicate bootstrap "
            f"through scikit-uplift would take ~{200 * ref:.0f} s"
        )
        assert abs(q - m["qini_coefficient"]["value"]) < 1e-12
    except ImportError:
        print("scikit-uplift not installed: no reference timing")

    from bayes.uplift.targeting import Costs, simulate_targeting

    n2, S = 100_000, 200
    y2, t2, s2 = _case(n2, 1)
    v = np.random.default_rng(2).gamma(4, 5, (S, 1)) * np.ones((1, n2))
    for est in ("predicted", "observed"):
        t0 = time.perf_counter()
        simulate_targeting(
            s2, value=v, uplift=s2 / 10, p_treated=np.full(n2, 0.3), outcome=y2, treatment=t2,
            costs=Costs(1.0, 0.1), estimator=est, progress=False,
        )  # fmt: skip
        print(f"targeting, {est} estimator, 100k users x {S} value draws: "
              f"{time.perf_counter() - t0:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
