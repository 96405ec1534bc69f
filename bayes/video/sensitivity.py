"""Sensitivity of the decision to the standalone priors (seed 000 §9).

The standalone adoption and uplift are scaled by α and β, ``p'_{c,stand} = α p_{c,stand}``
(capped at 1) and ``δ'_{c,stand} = β δ_{c,stand}``, with the integrated priors fixed, and

    D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int          (seed §9)

is computed on a grid. Every cell uses the *same* simulated users and uniforms (common random
numbers across cells and modes): the users of each run are spread once over the cells of the
unit square cut at every adoption probability ``α_j p_{c,stand}`` and ``p_{c,int}`` (U1) and
every Core probability ``b_c``, ``b_c + β_k δ_{c,stand}``, ``b_c + δ_{c,int}`` (U2) (see
:func:`bayes.video.simulate.rect_counts`), and each cell's ΔCore is a lookup. The surface is
therefore smooth, and the whole 17 × 17 grid costs little more than one simulation.
The plot is :func:`bayes.video.plots.plot_sensitivity`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from models.video import CORE_CAP
from models.video.simulator import (
    N_SIM_SEED,
    point_params,
    population_counts,
    prior_draws,
    rect_counts,
    rect_events,
)
from priors.video import MODES, VideoPriors, standalone_multipliers

__all__ = ["DEFAULT_GRID", "sensitivity_grid"]

#: The seed's grid: [0.8, 1.6] at step 0.05 on both axes (17 × 17).
DEFAULT_GRID = np.round(np.arange(0.8, 1.6 + 1e-9, 0.05), 10)

_CHUNK_CELLS = 4_000_000  # bound on (runs × segments × scenarios × cuts) per chunk


def sensitivity_grid(
    priors: VideoPriors | None = None,
    *,
    alphas=None,
    betas=None,
    draws: int = 2000,
    seed: int = 0,
    preset: str = "seed",
    n_sim: int = N_SIM_SEED,
    population: str = "high",
) -> xr.DataArray:
    """D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int on a grid (seed §9).

    Parameters
    ----------
    priors
        The declaration (default :class:`VideoPriors`).
    alphas, betas
        Multipliers on standalone adoption and uplift (default :data:`DEFAULT_GRID`).
    draws
        Monte Carlo runs S per cell (the same runs for every cell).
    preset
        ``"seed"`` (default, as in the seed): point priors, ``n_sim`` users per run drawn by
        segment shares, scaled to N. ``"bayes"``: parameters from the PyMC prior with the
        prior's own α, β fixed at 1 (the grid replaces them), the whole population by counts.

    Returns
    -------
    DataArray with dims (``alpha``, ``beta``), attrs ``integrated_mean`` (mean ΔCore_int),
    ``mc_se_max`` (largest Monte Carlo standard error of a cell's D, from the per-run
    differences), ``preset``, ``draws``, ``seed``, ``population``.
    """
    from priors.spec import Prior

    priors = priors or VideoPriors()
    alphas = DEFAULT_GRID if alphas is None else np.asarray(alphas, dtype=float)
    betas = DEFAULT_GRID if betas is None else np.asarray(betas, dtype=float)
    if alphas.ndim != 1 or betas.ndim != 1 or np.any(alphas < 0) or np.any(betas < 0):
        raise ValueError("alphas and betas must be 1-D arrays of non-negative multipliers")
    draws = int(draws)
    mask, pi, counts = population_counts(priors, population)
    n_pop = int(counts.sum())
    ss = np.random.SeedSequence(seed)
    s_params, s_pop = ss.spawn(2)
    if preset == "seed":
        params = point_params(priors.as_point(), 1)
        users = int(n_sim)
    elif preset == "bayes":
        fixed = priors.with_overrides({"alpha": Prior.point(1.0), "beta": Prior.point(1.0)})
        params = prior_draws(fixed, draws, int(s_params.generate_state(1)[0]))
        users = n_pop
    else:
        raise ValueError(f"preset must be 'seed' or 'bayes', got {preset!r}")

    i_int, i_st = MODES.index("integrated"), MODES.index("standalone")
    na, nb = len(alphas), len(betas)
    rng = np.random.default_rng(s_pop)
    diff_sum = np.zeros(na * nb)
    diff_sq = np.zeros(na * nb)
    int_sum = 0.0
    n_seg = int(mask.sum())
    scale = n_pop / users
    per_run = n_seg * (na * nb + 1) * (na + nb + 3)
    block = max(1, _CHUNK_CELLS // per_run)
    for start in range(0, draws, block):
        r = min(block, draws - start)
        sl = slice(start, start + r) if params["baseline"].shape[0] > 1 else slice(0, 1)
        b = np.broadcast_to(params["baseline"][sl][:, mask], (r, n_seg))
        p = np.broadcast_to(params["adoption"][sl][:, mask], (r, n_seg, len(MODES)))
        d = np.broadcast_to(params["uplift"][sl][:, mask], (r, n_seg, len(MODES)))
        if preset == "seed":
            n = rng.multinomial(users, pi, size=r)  # segments drawn by π_c, per run
        else:
            n = np.broadcast_to(counts, b.shape)
        base = np.clip(b, 0.0, CORE_CAP)
        p_int = p[..., i_int, None]
        # standalone adoption × α_j and uplift × β_k (the one transform, over the grid)
        adopt, _ = standalone_multipliers(p[:, None], d[:, None], alphas[None, :], 1.0)
        _, up = standalone_multipliers(p[:, None], d[:, None], 1.0, betas[None, :])
        p_st = np.moveaxis(adopt[..., i_st], 1, -1)  # (r, seg, na)
        thr_int = np.clip(b[..., None] + d[..., i_int, None], 0.0, CORE_CAP)
        thr_st = np.clip(b[..., None] + np.moveaxis(up[..., i_st], 1, -1), 0.0, CORE_CAP)
        x_cuts = np.concatenate([p_int, p_st], axis=-1)
        y_cuts = np.concatenate([base[..., None], thr_int, thr_st], axis=-1)
        # scenario 0 = integrated; then (alpha_j, beta_k) in C order
        adopt_p = np.concatenate([p_int, np.repeat(p_st, nb, axis=-1)], axis=-1)
        core_p = np.concatenate([thr_int, np.tile(thr_st, (1, 1, na))], axis=-1)
        k = rect_counts(rng, n, x_cuts, y_cuts)
        _, core = rect_events(k, x_cuts, y_cuts, adopt_p, core_p, base)
        core_run = core.sum(axis=1).astype(float)  # (r, 1 + na*nb)
        dc_int = (core_run[:, 0] - (n * b).sum(axis=1)) * scale
        diff = (core_run[:, 1:] - core_run[:, :1]) * scale
        diff_sum += diff.sum(axis=0)
        diff_sq += (diff**2).sum(axis=0)
        int_sum += dc_int.sum()
    mean = diff_sum / draws
    var = np.maximum(diff_sq / draws - mean**2, 0.0) * draws / max(draws - 1, 1)
    grid = xr.DataArray(
        mean.reshape(na, nb),
        dims=("alpha", "beta"),
        coords={"alpha": alphas, "beta": betas},
        name="D",
        attrs={
            "long_name": "mean ΔCore_stand(α, β) − mean ΔCore_int (seed §9)",
            "integrated_mean": float(int_sum / draws),
            "mc_se_max": float(np.sqrt(var.max() / draws)),
            "preset": preset,
            "draws": draws,
            "seed": int(seed),
            "population": population,
        },
    )
    if preset == "seed":
        grid.attrs["n_sim"] = users
    return grid
