"""ESS per second of every installed NUTS backend on every Bayesian model of the workbench.

For each model (the grouped-binomial rates estimator, the hierarchical signup model on 1M
pairs × 20 topics, and — where their builders are reachable — the video pilot update and the
BG/NBD model on CDNOW) and each backend of :func:`models.sampling.available_backends`
(``pymc`` always; ``nutpie`` with ``pip install -e ".[nutpie]"``), one fit through
:func:`models.sampling.sample` with the one default configuration (4 chains × 1000 draws after
1000 tuning steps) and the same seed. Printed per fit: wall time *including compilation*
(what a user waits for), the smallest bulk ESS over the sampled variables, ESS/s, r̂ max,
divergences, leapfrog steps per draw; and per model the ESS/s ratio of each backend to PyMC.

Usage: ``python -m tests.benchmarks backends`` (``make bench`` runs it too). Figures on the
shared 2-core machine are noisy.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

DEFAULT = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 0, "progress": False}


def _rates_model():
    import pandas as pd

    from models.rates import HierarchicalBetaBinomial, units_from_frame

    rng = np.random.default_rng(1)
    n_g, per = 20, 5000
    mu, kappa = rng.uniform(0.02, 0.3, n_g), rng.uniform(5, 50, n_g)
    g = np.repeat(np.arange(n_g), per)
    n = rng.integers(1, 13, len(g))  # up to 12 trials: ~1,400 unique (group, k, n) rows
    k = rng.binomial(n, rng.beta(mu[g] * kappa[g], (1 - mu[g]) * kappa[g]))
    df = pd.DataFrame({"group": g.astype(str), "successes": k, "trials": n})
    m = HierarchicalBetaBinomial()
    data = units_from_frame(df, group="group")
    return m.build_model(data), f"rates: {len(df):,} units × {n_g} groups"


def _signup_model():
    from models.signup import HierarchicalSignupModel
    from tests.benchmarks.bench_signup import make_pairs

    pairs, _ = make_pairs()
    m = HierarchicalSignupModel()
    return m.build_model(m._prepare(pairs)), f"signup: {len(pairs):,} pairs × 20 topics"


def _video_model():
    from bayes.video.data import generate_pilot, validate_pilot
    from models.video import build_pilot_model

    pilot = validate_pilot(generate_pilot(seed=1))
    return build_pilot_model(pilot), "video pilot update (seed pilot)"


def _ltv_model():
    from lifetimes.datasets import load_cdnow_summary

    from models.ltv import build_bgnbd_model

    df = load_cdnow_summary(index_col=[0])
    model = build_bgnbd_model(df["frequency"], df["recency"], df["T"])
    return model, f"BG/NBD on CDNOW ({len(df):,} customers)"


MODELS = {"rates": _rates_model, "signup": _signup_model, "video": _video_model, "ltv": _ltv_model}


def run_one(model, backend: str, **overrides) -> dict:
    """One fit of ``model`` with ``backend``: wall time (compile included), min bulk ESS over
    the free variables, ESS/s, r̂ max, divergences, leapfrog steps per draw."""
    import arviz as az

    from models.sampling import SamplerConfig, sample

    cfg = SamplerConfig(backend=backend, **{**DEFAULT, **overrides})
    free = [v.name for v in model.free_RVs]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = sample(model, cfg)
    wall = time.perf_counter() - t0
    post = idata.posterior[[v for v in free if v in idata.posterior]]
    ess = float(min(float(az.ess(post, method="bulk")[v].min()) for v in post.data_vars))
    rhat = float(max(float(az.rhat(post)[v].max()) for v in post.data_vars))
    ss = idata.sample_stats
    steps = next((ss[k] for k in ("n_steps", "tree_size", "n_leapfrog") if k in ss), None)
    return {
        "backend": backend,
        "wall_s": wall,
        "ess_bulk_min": ess,
        "ess_per_s": ess / wall,
        "r_hat_max": rhat,
        "divergences": int(ss["diverging"].sum()) if "diverging" in ss else -1,
        "steps_per_draw": float(steps.mean()) if steps is not None else float("nan"),
    }


def main(models=None) -> dict:
    from models.sampling import available_backends

    backends = available_backends()
    print(f"backends installed: {', '.join(backends)}", flush=True)
    out = {}
    for name, build in MODELS.items():
        if models and name not in models:
            continue
        try:
            model, label = build()
        except Exception as exc:  # noqa: BLE001 - a domain whose builder moved is reported
            print(f"{name}: skipped ({type(exc).__name__}: {exc})", flush=True)
            continue
        rows = []
        for b in backends:
            try:
                r = run_one(model, b)
            except Exception as exc:  # noqa: BLE001 - report and keep going
                print(f"  {label} [{b}] failed: {exc!r}", flush=True)
                continue
            rows.append(r)
            print(
                f"{label:<42} {b:<8} wall {r['wall_s']:6.1f} s  min bulk ESS "
                f"{r['ess_bulk_min']:6.0f}  ESS/s {r['ess_per_s']:7.1f}  r-hat "
                f"{r['r_hat_max']:.3f}  div {r['divergences']}  steps/draw "
                f"{r['steps_per_draw']:.1f}",
                flush=True,
            )
        base = next((r for r in rows if r["backend"] == "pymc"), None)
        for r in rows:
            if base and r is not base:
                print(
                    f"  {r['backend']} / pymc: ESS/s x{r['ess_per_s'] / base['ess_per_s']:.2f}, "
                    f"wall x{r['wall_s'] / base['wall_s']:.2f}",
                    flush=True,
                )
        out[name] = rows
    return out


if __name__ == "__main__":
    import sys

    main(sys.argv[1:] or None)
