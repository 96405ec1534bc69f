"""Simulators of the video decision: integrated feed vs standalone app (seed 000 §7).

Everything random about the video domain is drawn here, from one declaration of beliefs
(:class:`priors.video.VideoPriors`):

* :func:`prior_draws` — the one prior sampler: every quantity of the PyMC prior
  (:func:`priors.video.build_video_model`), vectorised over draws;
* :func:`simulate_users` and :func:`simulate_population` — the population (below);
* :func:`simulate_pilot_counts` and :func:`simulate_pilot` — pilot tables (seed §7.1 counts).

:mod:`bayes.video.simulate` runs them as two presets:

``seed``
    The seed's Monte Carlo to the letter (§7.1–§7.3): fixed (point) priors, ``N_sim`` users
    simulated one by one (vectorised over users and runs), scaled to ``N_high``. The spread of
    ΔCore is the sampling noise of ``R_m`` from ``N_sim`` users; ``N_sim`` = :data:`N_SIM_SEED`
    reproduces the seed's 90% intervals (see :func:`n_sim_for_sd`).
``bayes`` (default)
    Parameters drawn from the PyMC prior (:func:`prior_draws`) and the whole population
    simulated *exactly* by binomial counts per segment (:func:`simulate_population`): the spread
    is what we do not know about adoption and uplift, not simulation noise.

Both modes are always simulated with common random numbers (CRN): the same users and the same
uniforms ``U1`` (adoption, ``A = U1 < p_m``), ``U2`` (Core, ``Y = U2 < p_i``), ``U3`` (sessions,
inverse CDF) and ``Z`` (minutes noise), so that differences between modes are not blurred by
independent noise, and equal priors give identical draws.

The count-level simulator uses the fact that, per user, ``(U1, U2)`` is uniform on the unit
square and every event of §7.1 is a rectangle of it: cut the square at the adoption
probabilities ``p_{c,m}`` (axis U1) and at the Core probabilities ``b_c`` and
``clip(b_c + δ_{c,m}, 0, 0.99)`` (axis U2); the number of users of segment ``c`` in each cell
is Multinomial(N_c, cell areas). Every mode's adopters and Core count are sums of cells of the
*same* draw, which is exactly the per-user process with CRN, at the cost of a few binomials per
segment instead of one uniform per user. :mod:`bayes.video.sensitivity` uses the same cells for
the (α, β) grid.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from models.video.likelihood import ARMS, CORE_CAP  # §7.1 step 4: p_i clipped into [0, 0.99]
from priors.segments import SEGMENT_KEYS
from priors.spec import PriorSet
from priors.video import DIMS, MODES, VideoPriors, standalone_multipliers

__all__ = [
    "N_SIM_SEED",
    "PARAM_NAMES",
    "PRIOR_NAMES",
    "POPULATIONS",
    "closed_form_delta_core",
    "coupled_poisson",
    "cut_rank",
    "n_sim_for_sd",
    "point_params",
    "population_counts",
    "prior_draws",
    "rect_counts",
    "rect_events",
    "simulate_pilot",
    "simulate_pilot_counts",
    "simulate_population",
    "simulate_users",
]

#: the quantities of the §7.1 process (what the population simulators need)
PARAM_NAMES: tuple[str, ...] = ("baseline", "adoption", "uplift", "sessions", "minutes")
#: every quantity :func:`prior_draws` returns: the process's plus the raw p, δ, α, β
PRIOR_NAMES: tuple[str, ...] = (*PARAM_NAMES, "p_adopt", "delta", "alpha", "beta")
POPULATIONS: tuple[str, ...] = ("high", "all")

#: Users per run in the seed preset. The seed's spread (§8.1, p5–p95 ≈ 224k–391k, i.e. an sd
#: of ≈ 50.8k) is the binomial noise of R_m: sd(ΔCore) = N_high · sqrt(q̄ (1 − q̄) / N_sim) with
#: q̄ = Σ π_c (b_c + p_c δ_c) ≈ 0.516, which gives N_sim ≈ 21,460 (:func:`n_sim_for_sd`).
N_SIM_SEED = 21_500

#: Cap on the per-user arrays of one chunk (runs × users) in :func:`simulate_users`.
_CHUNK_USERS = 1 << 21


# --------------------------------------------------------------------------- population
def population_counts(priors: VideoPriors, population: str = "high"):
    """Segments simulated and their sizes.

    Returns ``(mask, pi, counts)``: a boolean mask over :data:`SEGMENT_KEYS`, the shares π_c
    *within* the simulated population (seed §7.2), and the exact segment sizes
    ``N_c = round(N · π_c)``. ``population="high"`` is the seed's high-engagement base
    (clusters 0, 2, 3; ``N = N_high``), ``"all"`` the whole active base (24M).
    """
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
    if population == "high":
        mask = priors.high_engagement.copy()
        total = priors.n_high
    else:
        mask = np.ones(len(SEGMENT_KEYS), dtype=bool)
        total = priors.active_base
    shares = priors.shares[mask]
    pi = shares / shares.sum()
    counts = np.rint(total * pi).astype(np.int64)
    return mask, pi, counts


# --------------------------------------------------------------------------- parameters
def point_params(
    priors: VideoPriors, draws: int = 1, *, alpha: float | None = None, beta: float | None = None
) -> dict[str, np.ndarray]:
    """The central values of the declaration (the seed's fixed priors: the table, α = β = 1)
    repeated over a leading ``draw`` axis of length ``draws``.

    ``alpha`` and ``beta`` replace the multipliers' centres (a pilot at true (α, β) with every
    other quantity at its centre, seed §11). Also returns ``alpha`` and ``beta``.
    """
    ps = priors.as_point().declarations()
    v = {n: np.asarray(ps[n].params["value"], dtype=float) for n in DIMS}
    if alpha is not None:
        v["alpha"] = np.asarray(alpha, dtype=float)
    if beta is not None:
        v["beta"] = np.asarray(beta, dtype=float)
    adoption, uplift = standalone_multipliers(v["p_adopt"], v["delta"], v["alpha"], v["beta"])
    values = {
        "baseline": v["baseline"],
        "adoption": adoption,
        "uplift": uplift,
        "sessions": v["sessions"],
        "minutes": v["minutes"],
        "alpha": v["alpha"],
        "beta": v["beta"],
    }
    return {k: np.broadcast_to(x, (draws, *x.shape)).copy() for k, x in values.items()}


@functools.lru_cache(maxsize=8)
def _compiled_prior_sampler(spec_json: str):
    """Compile once per declaration a function ``f(draws)`` returning every prior quantity.

    The free random variables of :func:`priors.video.build_video_model` are resized to a
    symbolic leading ``draw`` dimension and the Deterministics (``adoption``, ``uplift``) are
    vectorised over it, so that one call yields every draw (no Python loop over draws, which
    is what ``pm.draw`` does).
    """
    import pymc as pm
    import pytensor.tensor as pt
    from pymc.distributions.shape_utils import change_dist_size
    from pytensor.graph.replace import vectorize_graph

    from priors.video import build_video_model

    model = build_video_model(PriorSet.from_json(spec_json))
    n = pt.lscalar("draws")
    batched = {rv: change_dist_size(rv, new_size=(n,), expand=True) for rv in model.free_RVs}
    outputs = vectorize_graph([model[name] for name in PRIOR_NAMES], replace=batched)
    # FAST_COMPILE: the graph is a handful of vectorised RVs; C compilation costs seconds and
    # buys nothing here (one call draws every parameter at once).
    fn = pm.pytensorf.compile(
        [n], outputs, random_seed=0, mode="FAST_COMPILE", on_unused_input="ignore"
    )
    rngs = [v for v in fn.get_shared() if isinstance(v.type, pt.random.type.RandomGeneratorType)]
    return fn, rngs


def prior_draws(priors: VideoPriors | PriorSet, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Draws of every quantity of the PyMC prior (:func:`priors.video.build_video_model`):
    the one prior sampler of the video domain (forward simulation, pilot sizing, SBC).

    Returns arrays with a leading draw axis: ``baseline`` (draw, segment), ``adoption``,
    ``uplift``, ``sessions`` (draw, segment, mode), ``minutes`` (draw, segment) — the §7.1
    quantities, ``adoption`` and ``uplift`` with the standalone column multiplied by α and β
    (seed §9) — and the raw ``p_adopt``, ``delta`` (draw, segment, mode), ``alpha``, ``beta``
    (draw). The model is compiled once per declaration; the same ``seed`` gives the same draws.
    """
    from pymc.pytensorf import reseed_rngs

    draws = int(draws)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    ps = priors.declarations() if isinstance(priors, VideoPriors) else priors
    fn, rngs = _compiled_prior_sampler(ps.to_json())
    reseed_rngs(rngs, seed)
    out = fn(draws)
    ndim = {name: 1 + len(DIMS.get(name, ("segment", "mode"))) for name in PRIOR_NAMES}
    ndim.update(adoption=3, uplift=3)
    params = {}
    for name, value in zip(PRIOR_NAMES, out, strict=True):
        value = np.asarray(value, dtype=float)
        if value.ndim < ndim[name]:  # a point-valued entry has no draw axis
            value = np.broadcast_to(value, (draws, *value.shape)).copy()
        params[name] = value
    return params


def _check_params(params: dict[str, np.ndarray]) -> int:
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params lacks {missing}; expected {PARAM_NAMES}")
    draws = {np.shape(params[k])[0] for k in PARAM_NAMES}
    if len(draws) != 1:
        raise ValueError(f"params have different numbers of draws: {draws}")
    return draws.pop()


def closed_form_delta_core(
    params: dict[str, np.ndarray], priors: VideoPriors, *, population: str = "high"
) -> np.ndarray:
    """Expected ΔCore per draw and mode, (draw, mode).

    E[ΔCore_m] = Σ_c N_c · p_{c,m} · (clip(b_c + δ_{c,m}, 0, 0.99) − b_c), which is the seed's
    N_high Σ_c π_c p_{c,m} δ_{c,m} when no clipping occurs (seed §7.1–§7.2).
    """
    mask, _, counts = population_counts(priors, population)
    b = params["baseline"][:, mask]
    p = params["adoption"][:, mask]
    d = params["uplift"][:, mask]
    gain = np.clip(b[..., None] + d, 0.0, CORE_CAP) - b[..., None]
    return (counts[None, :, None] * p * gain).sum(axis=1)


def n_sim_for_sd(priors: VideoPriors, target_sd: float, mode: str = "integrated") -> float:
    """Users per run giving ``sd(ΔCore_m) = target_sd`` in the seed preset.

    With segments drawn by π_c, each Y_i is Bernoulli(q̄_m), q̄_m = Σ_c π_c (b_c + p_{c,m} δ_{c,m})
    (clipping aside), so sd(ΔCore_m) = N_high · sqrt(q̄_m (1 − q̄_m) / N_sim) (seed §7.2).
    """
    params = point_params(priors)
    mask, pi, _ = population_counts(priors, "high")
    m = MODES.index(mode)
    b = params["baseline"][0, mask]
    q = np.clip(b + params["adoption"][0, mask, m] * params["uplift"][0, mask, m], 0, CORE_CAP)
    qbar = float((pi * q).sum())
    return qbar * (1 - qbar) * (priors.n_high / target_sd) ** 2


# --------------------------------------------------------------------------- per-user (seed)
def _poisson_cdf_table(lam: np.ndarray, tol: float = 1e-13) -> np.ndarray:
    """CDF of Poisson(λ) on 0..K for each λ (rows), K large enough that 1 − F(K) < tol."""
    from scipy import stats

    lam = np.asarray(lam, dtype=float).ravel()
    kmax = int(np.max(stats.poisson.isf(tol, np.maximum(lam, 1e-12)))) + 2
    k = np.arange(kmax + 1)
    return stats.poisson.cdf(k[None, :], lam[:, None])


class _PoissonICDF:
    """Inverse CDF of Poisson(λ_c) for users of segment ``c``, by a guide table.

    ``guide[c, g]`` is the quantile at u = g / G; a user's draw starts there and steps up while
    ``u ≥ F(s)`` (rarely more than once), which is exact and far cheaper than a binary search.
    """

    def __init__(self, lam: np.ndarray, bins: int = 4096):
        self.cdf = _poisson_cdf_table(lam)  # (segment, K + 1)
        self.kmax = self.cdf.shape[1] - 1
        grid = np.arange(bins + 1) / bins
        self.guide = np.stack([np.searchsorted(row, grid, side="right") for row in self.cdf])
        self.guide = np.minimum(self.guide, self.kmax)
        self.bins = bins

    def __call__(self, u: np.ndarray, seg: np.ndarray) -> np.ndarray:
        width = self.kmax + 1
        flat_cdf = self.cdf.ravel()
        s = self.guide.ravel()[seg * (self.bins + 1) + (u * self.bins).astype(np.int64)]
        todo = np.flatnonzero(u.ravel() >= flat_cdf[seg.ravel() * width + s.ravel()])
        s_flat = s.reshape(-1)
        while todo.size:
            s_flat[todo] += 1
            s_flat[todo] = np.minimum(s_flat[todo], self.kmax)
            c = seg.ravel()[todo]
            still = u.ravel()[todo] >= flat_cdf[c * width + s_flat[todo]]
            todo = todo[still & (s_flat[todo] < self.kmax)]
        return s


def simulate_users(
    priors: VideoPriors,
    draws: int,
    seed: int,
    *,
    n_sim: int = N_SIM_SEED,
    population: str = "high",
    params: dict[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """The seed's per-user Monte Carlo (§7.1–§7.3), both modes with common random numbers.

    For each of ``draws`` runs and each of ``n_sim`` users (segment drawn with probabilities
    π_c, the shares within the simulated population):

    1. ``A = U1 < p_{c,m}``                       (adoption, Bernoulli)
    2. ``S = F⁻¹_{Poisson(λ_{c,m})}(U3)``         (weekly video sessions)
    3. ``T = S · μ_c · exp(σ Z)``, ``Z ~ N(0, 1)`` (weekly minutes, σ = ``minutes_log_sd``)
    4. ``p_i = clip(b_c + δ_{c,m} A, 0, 0.99)``
    5. ``Y = U2 < p_i``                            (Core_90d)

    with the same ``U1, U2, U3, Z`` and segments in both modes. Per run: ``R_m = mean Y``,
    ``R_0 = Σ π_c b_c``, ``U_m = R_m − R_0``, ``ΔCore_m = U_m · N`` (N = N_high by default).
    Usage totals (sessions and minutes of adopters, ``Σ A S`` and ``Σ A T``) are scaled by
    ``N / n_sim``.

    ``params`` (one parameter set, leading draw axis of length 1) defaults to the point priors.
    Vectorised over users and runs in chunks of at most 2²¹ user-runs; the result depends only
    on ``(priors, draws, seed, n_sim, population)``.
    """
    draws, n_sim = int(draws), int(n_sim)
    if draws < 1 or n_sim < 1:
        raise ValueError("draws and n_sim must be >= 1")
    params = point_params(priors) if params is None else params
    if _check_params(params) != 1:
        raise ValueError("simulate_users takes one parameter set (draw axis of length 1)")
    mask, pi, counts = population_counts(priors, population)
    n_pop = int(counts.sum())
    b = params["baseline"][0, mask]
    p = params["adoption"][0, mask]
    d = params["uplift"][0, mask]
    lam = params["sessions"][0, mask]
    mu = params["minutes"][0, mask]
    thr_adopt = np.clip(b[:, None] + d, 0.0, CORE_CAP)  # (segment, mode)
    thr_none = np.clip(b, 0.0, CORE_CAP)
    icdf = [_PoissonICDF(lam[:, m]) for m in range(p.shape[1])]
    sigma = priors.minutes_log_sd
    cum_pi = np.cumsum(pi)
    cum_pi[-1] = 1.0
    nmode = p.shape[1]

    core = np.empty((draws, nmode))
    adopters = np.empty((draws, nmode))
    sessions = np.empty((draws, nmode))
    minutes = np.empty((draws, nmode))
    block = max(1, _CHUNK_USERS // n_sim)
    starts = range(0, draws, block)
    children = np.random.SeedSequence(seed).spawn(len(starts))
    for start, child in zip(starts, children, strict=True):
        rng = np.random.default_rng(child)
        r = min(block, draws - start)
        sl = slice(start, start + r)
        u0 = rng.random((r, n_sim))
        seg = (u0[..., None] >= cum_pi[:-1]).sum(axis=-1)  # segment by π_c
        u1 = rng.random((r, n_sim))
        u2 = rng.random((r, n_sim))
        u3 = rng.random((r, n_sim))
        minutes_if_session = mu[seg] * np.exp(sigma * rng.standard_normal((r, n_sim)))
        for m in range(nmode):
            a = u1 < p[seg, m]
            y = u2 < np.where(a, thr_adopt[seg, m], thr_none[seg])
            s = icdf[m](u3, seg)
            s_adopt = np.where(a, s, 0)
            core[sl, m] = y.sum(axis=1)
            adopters[sl, m] = a.sum(axis=1)
            sessions[sl, m] = s_adopt.sum(axis=1)
            minutes[sl, m] = (s_adopt * minutes_if_session).sum(axis=1)

    rate = core / n_sim
    r0 = float((pi * b).sum())
    factor = n_pop / n_sim
    base = np.full(draws, r0)
    return _dataset(
        core_rate=rate,
        baseline_rate=base,
        n_pop=n_pop,
        adopters=adopters * factor,
        sessions=sessions * factor,
        minutes=minutes * factor,
        attrs={
            "preset": "seed",
            "method": "per-user Monte Carlo (seed §7.1), CRN across modes",
            "n_sim": n_sim,
            "seed": int(seed),
            "population": population,
        },
        priors=priors.as_point(),  # the seed preset: point priors
    )


# --------------------------------------------------------------------------- counts (bayes)
def rect_counts(rng: np.random.Generator, n, x_cuts, y_cuts) -> np.ndarray:
    """Cumulative cell counts of ``n`` users uniform on the unit square, cut at given values.

    Parameters
    ----------
    n
        Users per batch, integer array of shape ``B`` (e.g. (draw, segment)).
    x_cuts, y_cuts
        Cut points on the U1 (adoption) and U2 (Core) axes, shapes ``B + (kx,)`` and
        ``B + (ky,)``, values in [0, 1], any order, ties allowed.

    Returns
    -------
    K : ndarray, shape ``B + (kx + 2, ky + 2)``
        ``K[..., i, j]`` = number of users with U1 below the ``i``-th smallest x-cut and U2
        below the ``j``-th smallest y-cut (index 0 = nothing, index k+1 = the whole axis).
        With :func:`cut_rank` this turns every rectangle event into a lookup.

    Cell counts are Multinomial(n, cell areas) — exact for i.i.d. uniforms, hence for the
    per-user process of seed §7.1.
    """
    xs = np.sort(np.clip(x_cuts, 0.0, 1.0), axis=-1)
    ys = np.sort(np.clip(y_cuts, 0.0, 1.0), axis=-1)
    wx = np.diff(_pad01(xs), axis=-1)
    wy = np.diff(_pad01(ys), axis=-1)
    area = (wx[..., :, None] * wy[..., None, :]).reshape(*wx.shape[:-1], -1)
    area = np.maximum(area, 0.0)
    area /= area.sum(axis=-1, keepdims=True)
    cells = rng.multinomial(np.asarray(n, dtype=np.int64), area)
    cells = cells.reshape(*wx.shape, wy.shape[-1])
    k = np.zeros((*cells.shape[:-2], cells.shape[-2] + 1, cells.shape[-1] + 1), dtype=np.int64)
    k[..., 1:, 1:] = cells.cumsum(axis=-2).cumsum(axis=-1)
    return k


def _pad01(x: np.ndarray) -> np.ndarray:
    shape = (*x.shape[:-1], 1)
    return np.concatenate([np.zeros(shape), x, np.ones(shape)], axis=-1)


def cut_rank(cuts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index into :func:`rect_counts`' cumulative axis for each value (which must be a cut).

    ``rank = #{cuts <= value}`` along the last axis, so ``K[rank]`` counts users whose
    uniform is below ``value``. Ties between cuts give zero-width cells, so any tie-breaking
    is exact.
    """
    c = np.clip(cuts, 0.0, 1.0)
    v = np.clip(values, 0.0, 1.0)
    return (c[..., None, :] <= v[..., :, None]).sum(axis=-1)


def rect_events(k: np.ndarray, x_cuts, y_cuts, adopt_p, core_p, base_p):
    """Adopters and Core users per scenario from cumulative counts ``k``.

    ``adopt_p``, ``core_p`` (shape ``B + (s,)``) are each scenario's adoption probability and
    Core probability of an adopter; ``base_p`` (shape ``B``) is the Core probability without
    adoption. All must be among the cuts. Core users =
    ``#{U1 < p, U2 < core_p} + #{U1 ≥ p, U2 < base_p}`` (seed §7.1 steps 1, 4, 5).
    """
    rx = cut_rank(x_cuts, adopt_p)
    ry = cut_rank(y_cuts, core_p)
    r0 = cut_rank(y_cuts, np.asarray(base_p)[..., None])  # (..., 1)
    kx_all = k.shape[-2] - 1
    ky_all = k.shape[-1] - 1

    def at(i, j):
        i, j = np.broadcast_arrays(i, j)
        flat = k.reshape(*k.shape[:-2], -1)
        return np.take_along_axis(flat, i * k.shape[-1] + j, axis=-1)

    adopters = at(rx, np.full_like(rx, ky_all))
    base_all = at(np.full_like(r0, kx_all), r0)
    core = at(rx, ry) + base_all - at(rx, np.broadcast_to(r0, rx.shape))
    return adopters, core


def coupled_poisson(rng: np.random.Generator, means: np.ndarray) -> np.ndarray:
    """Poisson draws with the given means along the last axis, coupled across that axis.

    Sort the means, draw independent Poisson increments of their successive differences and
    cumulate: each entry is exactly Poisson(mean) (a sum of independent Poissons), entries are
    monotone in their means, and equal means give equal draws — the count-level analogue of
    common random numbers (what the per-user inverse CDF does user by user).
    """
    means = np.maximum(np.asarray(means, dtype=float), 0.0)
    order = np.argsort(means, axis=-1, kind="stable")
    sorted_means = np.take_along_axis(means, order, axis=-1)
    steps = np.diff(sorted_means, axis=-1, prepend=0.0)
    draws = rng.poisson(np.maximum(steps, 0.0)).cumsum(axis=-1)
    out = np.empty_like(draws)
    np.put_along_axis(out, order, draws, axis=-1)
    return out.astype(float)


def simulate_population(
    params: dict[str, np.ndarray],
    priors: VideoPriors,
    seed: int,
    *,
    population: str = "high",
) -> xr.Dataset:
    """Exact binomial-count simulation of the whole population for every draw and both modes.

    For each parameter draw and segment c of size N_c (N_high users of clusters 0, 2, 3 by
    default; ``population="all"`` for the full 24M base), the users are spread over the cells
    of the unit square cut at ``p_{c,int}, p_{c,stand}`` (U1) and ``b_c``,
    ``clip(b_c + δ_{c,m}, 0, 0.99)`` (U2), by one multinomial draw shared by both modes
    (common random numbers). Then, per mode (seed §7.1–§7.2):

    * adopters ``a_{c,m}`` and Core users are sums of cells (exact, no per-user loop);
    * weekly sessions ``Σ_c Poisson(a_{c,m} λ_{c,m})`` — exact (a sum of independent Poisson
      counts), the modes coupled by :func:`coupled_poisson`;
    * weekly minutes ``Σ_i S_i μ_c exp(ε_i)`` over adopters — drawn from the normal with its
      exact mean ``a λ μ e^{σ²/2}`` and variance
      ``a μ² ((λ + λ²) e^{2σ²} − λ² e^{σ²})`` (central limit over millions of adopters;
      one shared standard normal per (draw, segment)).

    ``ΔCore_m = core_m − Σ_c N_c b_c`` i.e. ``(R_m − R_0) · N`` with R_0 = Σ π_c b_c.

    Returns a Dataset with dims (draw, mode): ``delta_core``, ``core_rate`` (R_m),
    ``uplift_rate`` (U_m), ``adopters``, ``sessions``, ``minutes``, and ``baseline_rate`` (draw).
    """
    draws = _check_params(params)
    mask, pi, counts = population_counts(priors, population)
    n_pop = int(counts.sum())
    b = params["baseline"][:, mask]  # (draw, seg)
    p = np.clip(params["adoption"][:, mask], 0.0, 1.0)  # (draw, seg, mode)
    d = params["uplift"][:, mask]
    lam = params["sessions"][:, mask]
    mu = params["minutes"][:, mask]
    thr = np.clip(b[..., None] + d, 0.0, CORE_CAP)
    base = np.clip(b, 0.0, CORE_CAP)
    y_cuts = np.concatenate([base[..., None], thr], axis=-1)
    n = np.broadcast_to(counts, b.shape)

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    k = rect_counts(rng, n, p, y_cuts)
    adopters, core = rect_events(k, p, y_cuts, p, thr, base)  # (draw, seg, mode)

    sessions = coupled_poisson(rng, adopters * lam)
    sigma = priors.minutes_log_sd
    e1, e2 = np.exp(sigma**2 / 2), np.exp(sigma**2)
    m_mean = adopters * lam * mu[..., None] * e1
    m_var = adopters * mu[..., None] ** 2 * ((lam + lam**2) * e2**2 - lam**2 * e2)
    z = rng.standard_normal(b.shape)[..., None]
    minutes = np.maximum(m_mean + z * np.sqrt(m_var), 0.0)

    core_total = core.sum(axis=1)
    r0 = (counts * b).sum(axis=1) / n_pop
    return _dataset(
        core_rate=core_total / n_pop,
        baseline_rate=r0,
        n_pop=n_pop,
        adopters=adopters.sum(axis=1).astype(float),
        sessions=sessions.sum(axis=1),
        minutes=minutes.sum(axis=1),
        attrs={
            "preset": "bayes",
            "method": "exact binomial counts per segment, CRN across modes",
            "seed": int(seed),
            "population": population,
            "draws": int(draws),
        },
        priors=priors,
        delta_core=core_total - (counts * b).sum(axis=1)[:, None],
    )


def _dataset(
    *, core_rate, baseline_rate, n_pop, adopters, sessions, minutes, attrs, priors, delta_core=None
) -> xr.Dataset:
    draws = core_rate.shape[0]
    uplift = core_rate - baseline_rate[:, None]
    if delta_core is None:
        delta_core = uplift * n_pop
    dm = ("draw", "mode")
    ds = xr.Dataset(
        {
            "delta_core": (dm, np.asarray(delta_core, dtype=float)),
            "core_rate": (dm, core_rate),
            "uplift_rate": (dm, uplift),
            "adopters": (dm, adopters),
            "sessions": (dm, sessions),
            "minutes": (dm, minutes),
            "baseline_rate": (("draw",), baseline_rate),
        },
        coords={"draw": np.arange(draws), "mode": list(MODES)},
    )
    ds["delta_core"].attrs["long_name"] = "incremental Core_90d users, (R_m − R_0) · N (§7.2)"
    ds["sessions"].attrs["long_name"] = "weekly video sessions of adopters"
    ds["minutes"].attrs["long_name"] = "weekly video minutes of adopters"
    ds.attrs.update(attrs)
    ds.attrs["n_population"] = int(n_pop)
    ds.attrs["n_high"] = int(priors.n_high)
    ds.attrs["prior_spec"] = priors.declarations().to_json()
    return ds


# --------------------------------------------------------------------------- pilots
def _segment_index(segments: Sequence[str] | None) -> np.ndarray:
    segments = list(SEGMENT_KEYS if segments is None else segments)
    unknown = [s for s in segments if s not in SEGMENT_KEYS]
    if unknown:
        raise ValueError(f"unknown segment(s) {unknown}; expected {list(SEGMENT_KEYS)}")
    if len(set(segments)) != len(segments):
        raise ValueError(f"duplicate segments in {segments}")
    return np.array([SEGMENT_KEYS.index(s) for s in segments], dtype=int)


def simulate_pilot_counts(
    params: dict[str, np.ndarray],
    users_per_arm: int,
    rng: np.random.Generator,
    segments: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Core and adoption counts of pilots, vectorised over parameter draws (seed §7.1).

    ``params`` hold ``baseline`` (draw, segment), ``adoption`` and ``uplift``
    (draw, segment, mode). Returns ``adopters`` (draw, seg, arm) and ``core`` (draw, seg, arm)
    over the pilot's segments and :data:`ARMS`; each arm has ``users_per_arm`` users. Usage is
    not simulated here (it does not inform the decision; see :func:`simulate_pilot`).
    """
    si = _segment_index(segments)
    n = int(users_per_arm)
    b = np.asarray(params["baseline"])[:, si]
    p = np.asarray(params["adoption"])[:, si, :]
    d = np.asarray(params["uplift"])[:, si, :]
    draws = b.shape[0]
    adopters = np.zeros((draws, len(si), len(ARMS)), dtype=np.int64)
    core = np.zeros_like(adopters)
    adopters[:, :, 1:] = rng.binomial(n, np.clip(p, 0, 1))
    q1 = np.clip(b[:, :, None] + d, 0.0, CORE_CAP)
    core[:, :, 0] = rng.binomial(n, b)
    core[:, :, 1:] = rng.binomial(adopters[:, :, 1:], q1) + rng.binomial(
        n - adopters[:, :, 1:], np.broadcast_to(b[:, :, None], q1.shape)
    )
    return {"adopters": adopters, "core": core, "segments": si}


def simulate_pilot(
    params: dict[str, np.ndarray],
    users_per_arm: int,
    seed: int,
    *,
    segments: Sequence[str] | None = None,
    minutes_log_sd: float = 0.5,
    usage: bool = True,
) -> pd.DataFrame:
    """One pilot table from one parameter set (no draw axis), per-user process of seed §7.1.

    Adoption and Core are binomial counts (:func:`simulate_pilot_counts`); sessions are
    drawn per adopter ``S_i ~ Poisson(λ)`` and minutes ``T_i = S_i · μ · exp(ε_i)`` with
    ``ε_i ~ Normal(0, minutes_log_sd²)``, then summed over adopters.
    """
    if int(users_per_arm) < 1:
        raise ValueError(f"users per arm must be >= 1, got {users_per_arm}")
    rng = np.random.default_rng(seed)
    one = {k: np.asarray(params[k])[None] for k in ("baseline", "adoption", "uplift")}
    counts = simulate_pilot_counts(one, users_per_arm, rng, segments)
    si = counts["segments"]
    rows = []
    for j, c in enumerate(si):
        for a, arm in enumerate(ARMS):
            n_adopt = int(counts["adopters"][0, j, a])
            row = {
                "segment": SEGMENT_KEYS[c],
                "arm": arm,
                "users": int(users_per_arm),
                "adopters": n_adopt,
                "core_90d": int(counts["core"][0, j, a]),
            }
            if usage:
                if arm == "control":
                    row["video_sessions_7d"] = 0
                    row["video_minutes_7d"] = 0.0
                else:
                    m = MODES.index(arm)
                    s = rng.poisson(float(params["sessions"][c, m]), size=n_adopt)
                    eps = rng.normal(0.0, minutes_log_sd, size=n_adopt)
                    row["video_sessions_7d"] = int(s.sum())
                    row["video_minutes_7d"] = float(
                        (s * float(params["minutes"][c]) * np.exp(eps)).sum()
                    )
            rows.append(row)
    return pd.DataFrame(rows)
