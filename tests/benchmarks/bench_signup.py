"""Signup benchmarks (seed 003).

1. 10M events -> audience, end to end from Parquet (load, validate, count, EB, rules, write the
   CSV): target < 20 s and < 6 GB peak memory. Runs in a fresh subprocess so the peak RSS
   (``resource.getrusage``) is that of scoring alone; prints events per second. The 10M-event
   Parquet file is generated once and cached in ``$BAYES_BENCH_CACHE`` (default
   ``/tmp/bayes_bench_signup``).
2. Hierarchical fit (NUTS with the one default sampler configuration, 4 chains x 1000 draws
   after 1000 tuning steps, chains in parallel on every core; compile, prior and predictive
   checks included) on 1M (email, topic) pairs across 20 topics, once per installed backend
   (PyMC; nutpie with ``pip install -e ".[nutpie]"``): target < 40 s (66 s before, with 2 chains
   in sequence). The reference is the same model
   written with one latent rate per recipient and stage (2M latent variables, no
   compression): we time its gradient at 1M pairs against the compressed gradient and
   extrapolate ``time >= gradient time x leapfrog steps of the compressed fit x iterations`` —
   a lower bound, since the reference has the same posterior for the topic parameters plus 2M
   recipient-level latents (a trial NUTS run of the reference on only 5k pairs had not finished
   200 + 200 draws after 6 minutes).

Usage: ``python -m tests.benchmarks signup`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("BAYES_BENCH_CACHE", "/tmp/bayes_bench_signup"))
N_EVENTS_TARGET = 10_000_000
RECIPIENTS = 960_000  # ~10.5 events per recipient with the generator's defaults
N_TOPICS = 20

_SCORE_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from bayes.signup.audience import AudienceRules, score, write_audience
t_import = time.perf_counter() - t0
d = sys.argv[1]
t = time.perf_counter()
res = score(f"{d}/events.parquet", f"{d}/campaigns.parquet", f"{d}/signups.parquet",
            rules=AudienceRules(goal="new"))
write_audience(res.audience, f"{d}/audience.csv")
elapsed = time.perf_counter() - t
print(json.dumps({
    "seconds": elapsed, "import_seconds": t_import,
    "timings": {**res.timings, "write": elapsed - sum(res.timings.values())},
    "n_events": res.info["n_events"], "n_pairs": res.info["n_pairs"],
    "audience": len(res.audience),
    "expected_signups": float(res.expected.iloc[-1]["expected_signups"]),
    "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
}))
"""


def ensure_events() -> Path:
    """Generate the 10M-event Parquet inputs once."""
    from bayes.signup.generate import generate_signup_data, write_signup_data

    marker = CACHE / "events.parquet"
    if not marker.exists():
        t = time.perf_counter()
        data = generate_signup_data(RECIPIENTS, N_TOPICS, seed=2026)
        write_signup_data(data, CACHE, fmt="parquet")
        print(
            f"generated {len(data.events):,} events in {time.perf_counter() - t:.1f} s -> {CACHE}"
        )
    return CACHE


def bench_score() -> dict:
    d = ensure_events()
    out = subprocess.run(
        [sys.executable, "-c", _SCORE_CHILD, str(d)], capture_output=True, text=True, check=True
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["events_per_second"] = r["n_events"] / r["seconds"]
    print(
        f"score 10M: {r['n_events']:,} events -> {r['n_pairs']:,} pairs -> audience "
        f"{r['audience']:,} in {r['seconds']:.1f} s (+{r['import_seconds']:.1f} s imports); "
        f"{r['events_per_second']:,.0f} events/s; peak RSS {r['peak_rss_gb']:.2f} GB "
        f"[target < 20 s, < 6 GB]"
    )
    print("  stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items()))
    return r


def make_pairs(n_pairs: int = 1_000_000, n_topics: int = N_TOPICS, seed: int = 1):
    """(email, topic) pairs drawn from the model itself (known truth)."""
    import pandas as pd

    from models.signup import simulate_recipients

    rng = np.random.default_rng(seed)
    mu_c, kappa_c = rng.uniform(0.03, 0.15, n_topics), rng.uniform(8, 40, n_topics)
    mu_s, kappa_s = rng.uniform(0.05, 0.3, n_topics), rng.uniform(4, 20, n_topics)
    topic = rng.integers(0, n_topics, n_pairs)
    sends = 1 + rng.poisson(3, n_pairs)
    sim = simulate_recipients(rng, mu_c, kappa_c, mu_s, kappa_s, topic, sends)
    names = [f"T{t:02d}" for t in range(n_topics)]
    pairs = pd.DataFrame(
        {
            "email": pd.Categorical.from_codes(
                np.arange(n_pairs), [f"e{i}" for i in range(n_pairs)]
            ),
            "topic": pd.Categorical.from_codes(topic, names),
            "sends": sends,
            "clicks": sim["clicks"],
            "signed_up": sim["signed_up"],
        }
    )
    truth = {"mu_click": mu_c, "kappa_click": kappa_c, "mu_sc": mu_s, "kappa_sc": kappa_s}
    truth["p_signup"] = sim["p_click"] * sim["p_sc"]
    return pairs, truth


def build_uncompressed_model(pairs):
    """Reference: the same hierarchy with one latent rate per recipient and stage."""
    import pymc as pm

    from models.signup import CENTERED
    from priors.signup import SIGNUP_PRIORS, topic_rate_variables

    t = pairs["topic"].cat.codes.to_numpy()
    s = pairs["sends"].to_numpy()
    c = pairs["clicks"].to_numpy()
    y = np.minimum(pairs["signed_up"].to_numpy(), c)
    coords = {"topic": list(pairs["topic"].cat.categories), "pair": np.arange(len(pairs))}
    with pm.Model(coords=coords) as model:
        mc, kc = topic_rate_variables("click", SIGNUP_PRIORS, centered=CENTERED["click"])
        ms, ks = topic_rate_variables("sc", SIGNUP_PRIORS, centered=CENTERED["sc"])
        p_click = pm.Beta("p_click", mc[t] * kc[t], (1 - mc[t]) * kc[t], dims="pair")
        p_sc = pm.Beta("p_sc", ms[t] * ks[t], (1 - ms[t]) * ks[t], dims="pair")
        pm.Binomial("clicks", n=s, p=p_click, observed=c, dims="pair")
        pm.Binomial("signups", n=c, p=p_sc, observed=y, dims="pair")
    return model


def _grad_seconds(model, n_evals: int) -> float:
    f = model.logp_dlogp_function(ravel_inputs=True)
    f.set_extra_values({})
    x = np.concatenate([np.ravel(v) for v in model.initial_point().values()])
    f(x)  # warm up
    t = time.perf_counter()
    for _ in range(n_evals):
        f(x)
    return (time.perf_counter() - t) / n_evals


def fit_hierarchical(pairs, backend: str = "pymc"):
    """The default-configured fit of the benchmark, timed (compile and checks included)."""
    import warnings

    from models.sampling import SamplerConfig
    from models.signup import HierarchicalSignupModel

    t = time.perf_counter()
    model = HierarchicalSignupModel(sampler=SamplerConfig(backend=backend, seed=3, progress=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(pairs)
    return model, time.perf_counter() - t


def bench_hierarchical() -> dict:
    from models.sampling import available_backends
    from models.signup import build_model, compress
    from priors.signup import STAGES

    pairs, truth = make_pairs()
    fits = {}
    for backend in available_backends():
        model, fit_s = fit_hierarchical(pairs, backend)
        d = model.diagnostics_
        steps = next(
            (
                model.idata_.sample_stats[k]
                for k in ("n_steps", "tree_size")
                if k in model.idata_.sample_stats
            ),
            None,
        )
        fits[backend] = (model, fit_s, float(steps.mean()) if steps is not None else float("nan"))
        print(
            f"hierarchical fit on {len(pairs):,} pairs [{backend}]: {fit_s:.1f} s, "
            f"{model.sampler_.chains} chains x {model.sampler_.draws} draws; {d}",
            flush=True,
        )
    backend = min(fits, key=lambda b: fits[b][1])
    model, fit_s, steps_mean = fits[backend]
    post = model.idata_.posterior
    per_param = {}
    for st in STAGES:
        for p in ("mu", "kappa"):
            lo, hi = post[f"{st}_{p}"].quantile([0.05, 0.95], ("chain", "draw")).values
            per_param[f"{st}_{p}"] = float(
                np.mean((lo <= truth[f"{p}_{st}"]) & (truth[f"{p}_{st}"] <= hi))
            )
    # every parameter has one value per topic, so the overall share is the mean of the shares
    cover = float(np.mean(list(per_param.values())))
    pred = model.pair_table(pairs)
    ts = truth["p_signup"]
    rec_cover = float(
        np.mean(
            (pred["p_signup_lower_90"].to_numpy() <= ts)
            & (ts <= pred["p_signup_upper_90"].to_numpy())
        )
    )
    comp = compress(pairs)
    g_comp = _grad_seconds(build_model(comp), 200)
    ref = build_uncompressed_model(pairs)
    g_ref = _grad_seconds(ref, 5)
    print(
        f"gradients: compressed {g_comp * 1e3:.3f} ms, uncompressed {g_ref * 1e3:.1f} ms",
        flush=True,
    )
    # the reference needs at least as many leapfrog steps per draw as the compressed model
    # (same posterior for the topic parameters plus 2M recipient-level latents); using the
    # compressed model's step count and iterations gives a lower bound on its NUTS time
    cfg = model.sampler_
    ref_est = g_ref * steps_mean * cfg.chains * (cfg.draws + cfg.tune)
    r = {
        "pairs": len(pairs),
        "click_rows": len(comp["click"]),
        "sc_rows": len(comp["sc"]),
        "fit_seconds": {b: f[1] for b, f in fits.items()},
        "fastest_backend": backend,
        "leapfrog_steps_per_draw": steps_mean,
        "divergences": int(model.diagnostics_.divergences),
        "truth_in_90pct_interval": cover,
        "truth_in_90pct_interval_per_parameter": per_param,
        "p_signup_90pct_coverage": rec_cover,
        "signup_likelihood": model.signup_likelihood,
        "grad_ms_compressed": g_comp * 1e3,
        "grad_ms_uncompressed": g_ref * 1e3,
        "grad_ratio": g_ref / g_comp,
        "uncompressed_estimated_seconds": ref_est,
        "fit_ratio_lower_bound": ref_est / fit_s,
    }
    times = ", ".join(f"{b} {s:.1f} s" for b, s in r["fit_seconds"].items())
    print(
        f"hierarchical fit on {r['pairs']:,} pairs x {N_TOPICS} topics ({cfg.chains} chains x "
        f"{cfg.draws} draws after {cfg.tune}): {times} [target < 40 s]; compressed to "
        f"{r['click_rows']:,} (S, C) + {r['sc_rows']:,} (C, Y) rows; {backend}: "
        f"{r['leapfrog_steps_per_draw']:.1f} leapfrog steps/draw, {r['divergences']} "
        f"divergences; {cover:.0%} of true topic parameters inside the 90% intervals "
        f"({', '.join(f'{k} {v:.0%}' for k, v in per_param.items())}); 90% p_signup intervals "
        f"cover {rec_cover:.1%} of the recipients' true rates"
    )
    print(
        f"  gradient: compressed {r['grad_ms_compressed']:.3f} ms vs one-rate-per-recipient "
        f"{r['grad_ms_uncompressed']:.1f} ms (x{r['grad_ratio']:,.0f})"
    )
    print(
        f"  one-rate-per-recipient NUTS at 1M pairs >= {ref_est:,.0f} s (gradient time x the "
        f"compressed model's steps; x{r['fit_ratio_lower_bound']:,.0f} the compressed fit, "
        "lower bound)"
    )
    return r


def main() -> dict:
    return {"score": bench_score(), "hierarchical": bench_hierarchical()}


if __name__ == "__main__":
    main()
