"""Forward simulation of the video decision: integrated feed vs standalone app (seed 000 §7).

Two presets share one declaration of beliefs (:class:`priors.video.VideoPriors`):

``seed``
    The seed's Monte Carlo to the letter (§7.1–§7.3): fixed (point) priors, ``N_sim`` users
    simulated one by one (vectorised over users and runs), scaled to ``N_high``. The spread of
    ΔCore is the sampling noise of ``R_m`` from ``N_sim`` users; ``N_sim`` = :data:`N_SIM_SEED`
    reproduces the seed's 90% intervals (see :func:`n_sim_for_sd`).
``bayes`` (default)
    Parameters drawn from the PyMC prior (:func:`draw_prior_params`) and the whole population
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
import json

import numpy as np
import xarray as xr

from models.video import CORE_CAP  # §7.1 step 4: p_i is clipped into [0, 0.99]
from priors.segments import SEGMENT_KEYS
from priors.video import MODES, VideoPriors

__all__ = [
    "N_SIM_SEED",
    "PARAM_NAMES",
    "PRESETS",
    "POPULATIONS",
    "closed_form_delta_core",
    "coupled_poisson",
    "cut_rank",
    "draw_prior_params",
    "n_sim_for_sd",
    "point_params",
    "population_counts",
    "priors_from_file",
    "rect_counts",
    "rect_events",
    "simulate",
    "simulate_population",
    "simulate_users",
    "verification_checks",
]

PARAM_NAMES: tuple[str, ...] = ("baseline", "adoption", "uplift", "sessions", "minutes")
PRESETS: tuple[str, ...] = ("bayes", "seed")
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
def point_params(priors: VideoPriors, draws: int = 1) -> dict[str, np.ndarray]:
    """The central values of the declaration (the seed's fixed priors, α = β = 1) repeated
    over a leading ``draw`` axis of length ``draws``."""
    values = {
        "baseline": priors.baselines,
        "adoption": np.clip(priors.by_mode("p_adopt"), 0.0, 1.0),
        "uplift": priors.by_mode("delta"),
        "sessions": priors.by_mode("mean_sessions"),
        "minutes": priors.central("mean_minutes_per_session"),
    }
    return {k: np.broadcast_to(v, (draws, *v.shape)).copy() for k, v in values.items()}


@functools.lru_cache(maxsize=8)
def _compiled_prior_sampler(priors_json: str):
    """Compile once per declaration a function ``f(draws)`` returning all parameter draws.

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

    priors = VideoPriors.from_dict(json.loads(priors_json))
    model = build_video_model(priors)
    n = pt.lscalar("draws")
    batched = {rv: change_dist_size(rv, new_size=(n,), expand=True) for rv in model.free_RVs}
    outputs = vectorize_graph([model[name] for name in PARAM_NAMES], replace=batched)
    # FAST_COMPILE: the graph is a handful of vectorised RVs; C compilation costs seconds and
    # buys nothing here (one call draws every parameter at once).
    fn = pm.pytensorf.compile([n], outputs, random_seed=0, mode="FAST_COMPILE")
    rngs = [v for v in fn.get_shared() if isinstance(v.type, pt.random.type.RandomGeneratorType)]
    return fn, rngs


def draw_prior_params(priors: VideoPriors, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Parameter draws from the PyMC prior of :func:`priors.video.build_video_model`.

    Returns arrays with a leading draw axis: ``baseline`` (draw, segment), ``adoption``
    (draw, segment, mode), ``uplift`` (draw, segment, mode), ``sessions`` (draw, segment,
    mode), ``minutes`` (draw, segment). ``adoption`` and ``uplift`` are the model's
    Deterministics, i.e. the standalone column already multiplied by α and β (seed §9).
    The model is compiled once per declaration; the same ``seed`` gives the same draws.
    """
    draws = int(draws)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    if priors.point:
        return point_params(priors, draws)
    from pymc.pytensorf import reseed_rngs

    fn, rngs = _compiled_prior_sampler(priors.to_json())
    reseed_rngs(rngs, seed)
    out = fn(draws)
    shapes = {"baseline": 2, "adoption": 3, "uplift": 3, "sessions": 3, "minutes": 2}
    params = {}
    for name, value in zip(PARAM_NAMES, out, strict=True):
        value = np.asarray(value, dtype=float)
        if value.ndim < shapes[name]:  # a point-valued entry has no draw axis
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
        priors=priors,
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
    ds.attrs["priors"] = priors.to_json()
    return ds


# --------------------------------------------------------------------------- front door
def simulate(
    priors: VideoPriors | None = None,
    *,
    preset: str = "bayes",
    draws: int = 2000,
    seed: int = 0,
    n_sim: int = N_SIM_SEED,
    population: str = "high",
) -> xr.Dataset:
    """Run a preset: ``"seed"`` (point priors, per-user Monte Carlo with ``n_sim`` users per run)
    or ``"bayes"`` (PyMC prior draws, exact population counts). See the module docstring."""
    priors = priors or VideoPriors()
    if preset == "seed":
        return simulate_users(priors.as_point(), draws, seed, n_sim=n_sim, population=population)
    if preset == "bayes":
        ss = np.random.SeedSequence(seed)
        s_params, s_pop = (int(c.generate_state(1)[0]) for c in ss.spawn(2))
        params = draw_prior_params(priors, draws, s_params)
        ds = simulate_population(params, priors, s_pop, population=population)
        ds.attrs["seed"] = int(seed)
        return ds
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")


def priors_from_file(path) -> VideoPriors:
    """A :class:`VideoPriors` from a user-edited copy of ``priors/video_priors.csv``.

    An invalid entry (a probability outside [0, 1], a negative rate, an unknown segment) or an
    unreadable file raises :class:`bayes.io.InputError` naming the file and the entry.
    """
    from pathlib import Path

    import pandas as pd

    from bayes.io import InputError
    from priors.spec import PriorError
    from priors.video import load_video_table

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", source=path)
    try:
        table = load_video_table(path)
        return VideoPriors(table=table)
    except PriorError as exc:
        msg = str(exc)
        prefix = f"{path}: "
        raise InputError(
            msg[len(prefix) :] if msg.startswith(prefix) else msg, source=path
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read the prior table: {exc}", source=path) from exc


# --------------------------------------------------------------------------- §10.1 checks
def _with_columns(priors: VideoPriors, **columns) -> VideoPriors:
    table = priors.table.copy()
    for name, values in columns.items():
        table[name] = values
    return priors.replace(table=table)


def verification_checks(
    priors: VideoPriors | None = None,
    *,
    draws: int = 300,
    n_sim: int = 10_000,
    seed: int = 0,
    z: float = 4.0,
):
    """The sanity checks of seed §10.1, run on the seed preset; one row per check.

    1. equal priors (standalone = integrated adoption, uplift and sessions) give identical
       draws in both modes (common random numbers);
    2. zero adoption gives R_0 in both modes: identical draws, mean ΔCore within ``z`` Monte
       Carlo standard errors of 0;
    3. doubling every δ doubles the mean uplift (within ``z`` standard errors of the
       difference, same users and uniforms);
    4. the Monte Carlo mean matches the closed form N Σ_c π_c p_c (clip(b_c + δ_c) − b_c);
    5. the sign pattern of the sensitivity heatmap is the same for two different seeds.

    Returns a DataFrame with columns ``check``, ``statistic``, ``tolerance``, ``passed``.
    """
    import pandas as pd

    priors = priors or VideoPriors()
    t = priors.table
    rows = []

    def run(p):
        return simulate_users(p, draws, seed, n_sim=n_sim)["delta_core"].to_numpy()

    def se(x):
        return float(x.std(ddof=1) / np.sqrt(len(x)))

    eq = run(
        _with_columns(
            priors,
            p_adopt_standalone=t["p_adopt_integrated"],
            delta_standalone=t["delta_integrated"],
            mean_sessions_standalone=t["mean_sessions_integrated"],
        )
    )
    stat = float(np.max(np.abs(eq[:, 0] - eq[:, 1])))
    rows.append(("equal priors: max |ΔCore_int − ΔCore_stand|", stat, 0.0, stat == 0.0))

    zero = run(_with_columns(priors, p_adopt_integrated=0.0, p_adopt_standalone=0.0))
    same = bool(np.array_equal(zero[:, 0], zero[:, 1]))
    stat = float(zero[:, 0].mean())
    tol = z * se(zero[:, 0])
    rows.append(
        ("zero adoption: mean ΔCore (both modes identical)", stat, tol, same and abs(stat) < tol)
    )

    base = run(priors)
    doubled = run(
        _with_columns(
            priors,
            delta_integrated=2 * t["delta_integrated"],
            delta_standalone=2 * t["delta_standalone"],
        )
    )
    for m, mode in enumerate(MODES):
        comb = doubled[:, m] - 2 * base[:, m]
        stat = float(comb.mean())
        tol = z * se(comb)
        rows.append(
            (f"δ × 2: mean ΔCore_{mode}(2δ) − 2 mean ΔCore_{mode}(δ)", stat, tol, abs(stat) < tol)
        )

    closed = closed_form_delta_core(point_params(priors), priors)[0]
    for m, mode in enumerate(MODES):
        stat = float(base[:, m].mean() - closed[m])
        tol = z * se(base[:, m])
        rows.append(
            (f"closed form: mean ΔCore_{mode} − {closed[m]:,.0f}", stat, tol, abs(stat) < tol)
        )

    from .sensitivity import sensitivity_grid

    g1 = sensitivity_grid(priors, draws=draws, seed=seed, n_sim=n_sim)
    g2 = sensitivity_grid(priors, draws=draws, seed=seed + 1, n_sim=n_sim)
    # cells within z standard errors of D = 0 may flip sign by chance; no other may
    near = np.abs(g1.to_numpy()) < z * np.hypot(g1.attrs["mc_se_max"], g2.attrs["mc_se_max"])
    flips = int(((np.sign(g1.to_numpy()) != np.sign(g2.to_numpy())) & ~near).sum())
    rows.append(
        ("heatmap: cells (away from D = 0) whose sign changes with the seed", flips, 0, flips == 0)
    )
    return pd.DataFrame(rows, columns=["check", "statistic", "tolerance", "passed"])
