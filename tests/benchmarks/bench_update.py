"""Benchmark of updating after a pilot: NUTS cost per sampler backend, the fast approximation,
SBC at full size.

Prints: one full update (``VideoPilotModel.fit``, 4 chains × (1000 + 1000), with prior and
posterior predictive and the log-likelihood); ESS per second of the NUTS step per installed
backend (PyMC, and nutpie where ``pip install nutpie`` put it: it is an optional extra, never a
dependency), first call (compile included) and second call; time per refit on the compiled
model; the importance-sampling approximation per pilot and the speed ratio; and SBC with
``BAYES_SBC_REPS`` (default 100) replications with chi-square uniformity p-values for α, β.
``BAYES_BENCH_SKIP_SBC=1`` skips the SBC, ``BAYES_BENCH_SKIP_FULL=1`` the full fit.
"""

import os
import time
import warnings

import numpy as np


def _ess_per_s(idata, names, seconds: float) -> tuple[float, float]:
    import arviz as az

    ess_ds = az.ess(idata.posterior[list(names)], method="bulk")
    ess = min(float(ess_ds[v].min()) for v in names)
    return ess, ess / seconds


def backend_figures(pilot, backends=None, draws: int = 1000, tune: int = 1000, chains: int = 4):
    """ESS/s (minimum bulk ESS over the sampled parameters per second of NUTS) per backend."""
    from models.sampling import SamplerConfig, available_backends
    from models.video import VideoPilotModel

    rows = {}
    for backend in backends or available_backends():
        cfg = SamplerConfig(
            backend=backend, draws=draws, tune=tune, chains=chains, seed=0, progress=False
        )
        # one model object: the warm-up compiles PyMC's logp once (reused by the timed run);
        # nutpie compiles its own (numba) function on every call, inside the timed run
        model = VideoPilotModel(sampler=cfg.replace(draws=10, tune=10))
        names = model._diag_vars(None)
        t0 = time.perf_counter()
        model.sample_posterior(pilot, seed=0)  # compile (and a few steps)
        times = [time.perf_counter() - t0]
        model.sampler = cfg
        t0, c0 = time.perf_counter(), time.process_time()
        idata = model.sample_posterior(pilot, seed=1)
        times.append(time.perf_counter() - t0)
        # CPU of this process: PyMC's chains run here with BAYES_CORES=1, nutpie's threads too
        cpu = time.process_time() - c0
        ess, rate = _ess_per_s(idata, names, times[1])
        div = int(idata.sample_stats["diverging"].sum())
        rows[backend] = {
            "first_s": times[0],
            "second_s": times[1],
            "cpu_s": cpu,
            "ess_bulk_min": ess,
            "ess_per_s": rate,
            "ess_per_cpu_s": ess / cpu,
            "divergences": div,
        }
        print(
            f"  {backend:>7}: compile + 10 steps {times[0]:.1f} s; sampling {times[1]:.1f} s "
            f"wall, {cpu:.1f} s CPU; min bulk ESS {ess:.0f} -> {rate:.1f} ESS/s, "
            f"{ess / cpu:.1f} ESS per CPU s; divergences {div}"
        )
    if "pymc" in rows and len(rows) > 1:
        ref = rows["pymc"]
        for b, r in rows.items():
            if b != "pymc":
                print(
                    f"  ratio {b} / pymc: {r['ess_per_s'] / ref['ess_per_s']:.2f}x ESS/s, "
                    f"{r['ess_per_cpu_s'] / ref['ess_per_cpu_s']:.2f}x ESS per CPU second"
                )
    return rows


def main():
    from bayes.video.calibration import sbc_ranks, sbc_uniformity
    from bayes.video.data import generate_pilot, validate_pilot
    from bayes.video.sizing import approx_update
    from models.sampling import SamplerConfig
    from models.video import VideoPilotModel

    warnings.simplefilter("ignore")
    pilot = validate_pilot(generate_pilot(1.2, 1.1, 5000, 0))
    t_full = float("nan")
    if not os.environ.get("BAYES_BENCH_SKIP_FULL"):
        t0 = time.perf_counter()
        full = VideoPilotModel(sampler=SamplerConfig(seed=0, progress=False)).fit(pilot)
        t_full = time.perf_counter() - t0
        print(f"VideoPilotModel.fit 4x(1000+1000) incl. predictive and log-lik: {t_full:.1f} s")
        print(f"  diagnostics: {full.diagnostics_}")
    print("NUTS per backend, 4 chains x (1000 + 1000), same pilot and model:")
    backends = backend_figures(pilot)
    refit = VideoPilotModel(sampler=SamplerConfig(draws=200, tune=200, chains=1, progress=False))
    refit.sample_posterior(pilot, seed=0)  # compile
    t0 = time.perf_counter()
    refit.sample_posterior(pilot, seed=1)
    t_refit = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in range(20):
        approx_update(pilot, seed=s)
    t_is = (time.perf_counter() - t0) / 20
    print(f"NUTS refit 1x(200+200) on the compiled model: {t_refit:.2f} s")
    print(f"fast approximation per pilot (4000 IS draws): {t_is * 1e3:.1f} ms")
    print(f"ratio refit / approximation: {t_refit / t_is:,.0f}x")
    out = {"t_full": t_full, "backends": backends, "t_refit": t_refit, "t_is": t_is}
    if os.environ.get("BAYES_BENCH_SKIP_SBC"):
        return out

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
    return {**out, "sbc": res}


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
