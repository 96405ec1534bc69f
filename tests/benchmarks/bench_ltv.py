"""LTV speed: our compressed BG/NBD vs pymc-marketing's BetaGeoModel (defaults) on CDNOW, and a
1M-customer fit. Prints wall time, min bulk ESS, ESS/s and the ratio; timings on a shared
machine are noisy.

Targets (issue #6): 4 chains, every parameter bulk ESS >= 400 and r-hat <= 1.01; >= 2x the
reference's ESS/s on CDNOW; 1M customers fitted in < 90 s.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

PARAMS = ("r", "alpha", "a", "b")


def _ess_rhat(idata):
    import arviz as az

    post = idata.posterior[list(PARAMS)]
    ess = az.ess(post, method="bulk")
    rhat = az.rhat(post)
    return min(float(ess[k]) for k in PARAMS), max(float(rhat[k]) for k in PARAMS)


def _ours(x, tx, T, seed=0, draws=1000, tune=1000):
    from models.ltv import fit_bgnbd

    t0 = time.perf_counter()
    idata = fit_bgnbd(x, tx, T, chains=4, draws=draws, tune=tune, seed=seed)
    wall = time.perf_counter() - t0
    return wall, *_ess_rhat(idata)


def _reference(df, seed=0):
    import pandas as pd
    from pymc_marketing.clv import BetaGeoModel

    data = pd.DataFrame(
        {
            "customer_id": np.arange(len(df)),
            "frequency": df["frequency"].to_numpy(),
            "recency": df["recency"].to_numpy(),
            "T": df["T"].to_numpy(),
        }
    )
    t0 = time.perf_counter()
    model = BetaGeoModel(data=data)
    idata = model.fit(chains=4, random_seed=seed, progressbar=False)
    wall = time.perf_counter() - t0
    return wall, *_ess_rhat(idata)


def _line(name, wall, ess, rhat):
    print(
        f"{name:<34} wall {wall:7.1f} s  min bulk ESS {ess:7.0f}  r-hat max {rhat:.4f}  "
        f"ESS/s {ess / wall:7.1f}",
        flush=True,
    )
    return ess / wall


def main(skip_reference: bool = False):
    from lifetimes.datasets import load_cdnow_summary

    from models.ltv import compress_rfm

    warnings.simplefilter("ignore")
    df = load_cdnow_summary(index_col=[0])
    x, tx, T = (df[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    print(f"CDNOW: {len(df)} customers, {compress_rfm(x, tx, T).n_unique} unique (x, t_x, T)")
    ours = _line("ours (compressed, log-scale, dense)", *_ours(x, tx, T))
    if skip_reference:
        return _big()
    try:
        ref = _line("pymc-marketing BetaGeoModel (dflt)", *_reference(df))
        print(f"ESS/s ratio ours / pymc-marketing: {ours / ref:.2f}x (target >= 2x)")
    except ImportError as exc:
        print(f"pymc-marketing not installed ({exc}); reference skipped")
    _big()


def _big():
    from models.ltv import compress_rfm, simulate_bgnbd

    rng = np.random.default_rng(1)
    n = 1_000_000
    Tb = rng.integers(1, 53, n).astype(float)  # weeks since first purchase, weekly cohorts
    xb, txb = simulate_bgnbd(rng, 0.25, 4.0, 0.8, 2.5, Tb)
    txb = np.floor(txb)  # weekly periods, as lifetimes' freq='W' summaries
    t0 = time.perf_counter()
    comp = compress_rfm(xb, txb, Tb)
    print(
        f"1M customers: {comp.n_unique} unique rows (compressed in "
        f"{time.perf_counter() - t0:.1f} s)"
    )
    # 4 x 500 draws: CDNOW shows ~6 bulk ESS per draw, so ESS >= 400 with a wide margin
    wall, ess, rhat = _ours(xb, txb, Tb, draws=500, tune=500)
    _line("ours, 1M customers (4 x 500)", wall, ess, rhat)
    print(f"1M fit {'under' if wall < 90 else 'OVER'} the 90 s target")


if __name__ == "__main__":
    import sys

    main(skip_reference="--no-reference" in sys.argv)
