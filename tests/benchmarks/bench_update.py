"""Benchmark of updating after a pilot: NUTS cost, the fast approximation, SBC at full size.

Prints: time of one NUTS update (4 chains × 1000), time per refit on the compiled model,
time of the importance-sampling approximation per pilot and the speed ratio, and SBC with
``BAYES_SBC_REPS`` (default 100) replications with chi-square uniformity p-values for α, β.
"""

import os
import time
import warnings

import numpy as np


def main():
    from bayes.video.pilot import generate_pilot, validate_pilot
    from bayes.video.update import approx_update, sbc_ranks, sbc_uniformity
    from models.video import build_pilot_model, fit

    warnings.simplefilter("ignore")
    pilot = validate_pilot(generate_pilot(1.2, 1.1, 5000, 0))
    model = build_pilot_model(pilot)
    t0 = time.perf_counter()
    fit(model, draws=1000, tune=1000, chains=4, seed=0)
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit(model, draws=200, tune=200, chains=1, seed=1, predictive=False)
    t_refit = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in range(20):
        approx_update(pilot, seed=s)
    t_is = (time.perf_counter() - t0) / 20
    print(f"NUTS update 4x(1000+1000) incl. predictive: {t_full:.1f} s")
    print(f"NUTS refit 1x(200+200) on the compiled model: {t_refit:.2f} s")
    print(f"fast approximation per pilot (4000 IS draws): {t_is * 1e3:.1f} ms")
    print(f"ratio refit / approximation: {t_refit / t_is:,.0f}x")

    reps = int(os.environ.get("BAYES_SBC_REPS", "100"))
    t0 = time.perf_counter()
    ranks = sbc_ranks(reps, users_per_arm=2000, draws=200, tune=200, thin=2, seed=0)
    res = sbc_uniformity(ranks, bins=10)
    print(f"SBC {reps} reps ({time.perf_counter() - t0:.0f} s), L = {int(ranks.L.iloc[0])}:")
    for name, r in res.items():
        verdict = "uniform" if r["p_value"] > 0.01 else "NOT UNIFORM"
        print(
            f"  {name}: bins {r['counts']}  chi2 {r['chi2']:.1f}  p {r['p_value']:.3f}  {verdict}"
        )
    print(f"  divergent replications: {int((ranks.divergences > 0).sum())}/{reps}")
    return {"t_full": t_full, "t_refit": t_refit, "t_is": t_is, "sbc": res}


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
