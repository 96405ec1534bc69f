"""Simulation-based calibration of the hierarchical signup model (Talts et al. 2018).

100 replications of :func:`bayes.signup.calibration.sbc_ranks` (3 topics x 1,000 recipients,
truths from the model's prior, one chain of 300 + 200 NUTS iterations, L = 100 thinned draws,
one compiled model). Prints per quantity the rank histogram (10 bins), chi-square and KS
p-values, mean normalised rank and the share of ranks in the outer 10%; and the recipients'
90%-interval coverage averaged over replications against its exact expectation.

Usage: ``python -m tests.benchmarks signup_sbc`` (about 4-5 minutes on the shared machine).
"""

from __future__ import annotations

import time

import numpy as np

REPS = 100
SEED = 2


def main(reps: int = REPS, seed: int = SEED) -> dict:
    from bayes.signup.calibration import (
        SBC_QUANTITIES,
        expected_interval_coverage,
        sbc_ranks,
        sbc_uniformity,
    )

    t = time.perf_counter()
    ranks = sbc_ranks(reps, seed=seed)
    seconds = time.perf_counter() - t
    res = sbc_uniformity(ranks, bins=10)
    cov = ranks["coverage_90"].to_numpy()
    expected = expected_interval_coverage(200)
    se = cov.std(ddof=1) / np.sqrt(len(cov))
    print(
        f"signup SBC: {reps} replications in {seconds:.0f} s ({seconds / reps:.2f} s each), "
        f"L = {int(ranks['L'].iloc[0])}, divergences {int(ranks['divergences'].sum())} "
        f"in {int((ranks['divergences'] > 0).sum())} replications"
    )
    for name in SBC_QUANTITIES:
        r = res[name]
        print(
            f"  {name:20s} ranks/10 bins {r['counts']}  chi2 p={r['p_value']:.3f}  "
            f"KS p={r['ks_p_value']:.3f}  mean rank {r['mean_rank']:.3f}  "
            f"outer 10% {r['outer_10pct']:.2f}"
        )
    print(
        f"  recipients' true p_signup inside their 90% interval: {cov.mean():.4f} "
        f"(SE {se:.4f} over replications; per-replication sd {cov.std(ddof=1):.3f}, "
        f"range {cov.min():.3f}-{cov.max():.3f}); exact expectation {expected:.4f}"
    )
    return {
        "reps": reps,
        "seconds": seconds,
        "divergences": int(ranks["divergences"].sum()),
        "uniformity": res,
        "coverage_mean": float(cov.mean()),
        "coverage_se": float(se),
        "coverage_sd": float(cov.std(ddof=1)),
        "coverage_expected": expected,
    }


if __name__ == "__main__":
    main()
