"""Speed of the video forward simulation (issue: seed 000 Part C performance targets).

* preset ``bayes`` on the full 24M base (population="all"), S = 10,000 draws, both modes:
  target < 2 s (prior draws + exact binomial-count simulation; the one-off PyMC compile of the
  prior sampler is reported separately);
* the 17 × 17 (α, β) sensitivity grid with S = 2,000 runs per cell: target < 5 s;
* ratio against a straightforward per-user NumPy simulation of the same §7.1 process at
  N = 1M users (timed for a few draws; per-draw cost compared, and extrapolated to 24M).

Timings are wall-clock on a shared machine and therefore noisy.
"""

from __future__ import annotations

import time

import numpy as np

N_NAIVE = 1_000_000
NAIVE_DRAWS = 3


def _best(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def naive_per_user(priors, params, rng, n_users: int) -> np.ndarray:
    """One run of §7.1 for ``n_users`` users over the whole base (all four segments), one array
    entry per user, both modes sharing users and uniforms (sessions drawn per mode with
    ``rng.poisson``, as one would write it). Returns ΔCore scaled to 24M."""
    shares = priors.shares
    seg = rng.choice(len(shares), size=n_users, p=shares)
    u1, u2 = rng.random(n_users), rng.random(n_users)
    eps = rng.normal(0.0, priors.minutes_log_sd, n_users)
    b = params["baseline"][0]
    out = []
    for m in range(2):
        a = u1 < params["adoption"][0, seg, m]
        s = rng.poisson(params["sessions"][0, seg, m])
        t = s * params["minutes"][0, seg] * np.exp(eps)
        p_i = np.clip(b[seg] + params["uplift"][0, seg, m] * a, 0.0, 0.99)
        y = u2 < p_i
        _ = (a * s).sum(), (a * t).sum()
        out.append((y.mean() - (shares * b).sum()) * priors.active_base)
    return np.array(out)


def main() -> dict:
    from bayes.video.decide import decide
    from bayes.video.sensitivity import sensitivity_grid
    from models.video.simulator import prior_draws, simulate_population, simulate_users
    from priors.video import VideoPriors

    priors = VideoPriors()
    S = 10_000
    t0 = time.perf_counter()
    prior_draws(priors, 10, seed=0)  # compile once (cached per declaration)
    t_compile = time.perf_counter() - t0
    t_params = _best(lambda: prior_draws(priors, S, seed=1))
    params = prior_draws(priors, S, seed=1)
    t_pop = _best(lambda: simulate_population(params, priors, seed=2, population="all"))
    t_bayes = _best(
        lambda: simulate_population(
            prior_draws(priors, S, seed=1), priors, seed=2, population="all"
        )
    )
    res = decide(simulate_population(params, priors, seed=2, population="all")["delta_core"])
    print(f"bayes preset, 24M base, S={S:,} draws, both modes: {t_bayes:.3f} s (target < 2 s)")
    print(f"   prior draws {t_params:.3f} s + population counts {t_pop:.3f} s;")
    print(f"   one-off compile of the PyMC prior sampler {t_compile:.2f} s")
    print(
        f"   ΔCore_int mean {res['integrated']['mean']:,.0f}, "
        f"P(standalone better) {res['difference']['p_standalone_better']:.3f}"
    )

    t_grid = _best(lambda: sensitivity_grid(priors, draws=2000, seed=0), repeat=2)
    print(
        f"sensitivity grid 17 x 17, S=2,000 per cell (seed preset): {t_grid:.3f} s (target < 5 s)"
    )
    t_grid_b = _best(lambda: sensitivity_grid(priors, draws=2000, seed=0, preset="bayes"), 1)
    print(f"sensitivity grid 17 x 17, S=2,000 per cell (bayes preset, 14.88M): {t_grid_b:.3f} s")

    t_users = _best(lambda: simulate_users(priors, 500, seed=0), repeat=1)
    print(
        f"seed preset per-user Monte Carlo, 500 runs x 21,500 users: {t_users:.3f} s "
        f"({t_users / (500 * 21_500) * 1e9:.0f} ns per user-run, both modes)"
    )

    point = prior_draws(priors.as_point(), 1, seed=0)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(NAIVE_DRAWS):
        naive_per_user(priors, point, rng, N_NAIVE)
    t_naive = (time.perf_counter() - t0) / NAIVE_DRAWS
    per_draw_counts = t_bayes / S
    print(
        f"naive per-user NumPy, N = 1M users: {t_naive:.3f} s per draw; "
        f"extrapolated to 24M users: {t_naive * 24:.1f} s per draw"
    )
    print(
        f"counts engine at 24M: {per_draw_counts * 1e6:.1f} µs per draw -> ratio "
        f"{t_naive / per_draw_counts:,.0f}x vs the naive 1M-user run, "
        f"{t_naive * 24 / per_draw_counts:,.0f}x vs the naive 24M-user run"
    )
    return {
        "bayes_24M_10k_s": t_bayes,
        "compile_s": t_compile,
        "grid_s": t_grid,
        "grid_bayes_s": t_grid_b,
        "naive_per_draw_1M_s": t_naive,
        "counts_per_draw_s": per_draw_counts,
        "ratio_1M": t_naive / per_draw_counts,
    }


if __name__ == "__main__":
    main()
