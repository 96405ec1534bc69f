"""Updating after a pilot and deciding again (seed 000 §9–§11).

Workflow (:func:`update`): condition the video priors (:mod:`priors.video`) on a pilot table
(:mod:`bayes.video.pilot`) with NUTS (:mod:`models.video`), check convergence, then

* summarise the standalone multipliers α̂ and β̂ (posterior median and mean, 50% and 90%
  equal-tailed intervals) and place them on the seed's sensitivity heatmap D(α, β) (§9);
* decide under the full posterior: every posterior draw of (baseline, adoption, uplift,
  sessions, minutes) is pushed through the exact population simulation of
  :func:`bayes.video.simulate.simulate_population` and summarised by
  :func:`bayes.video.decision.decide` — P(standalone better), expected loss of each choice;
* state the seed's §11 rule: standalone only if the evidence puts (α, β) in the blue region,
  i.e. D(α, β) > 0 with high posterior probability.

Pilot sizing (:func:`pilot_sizing`) asks, before running a pilot, how likely a pilot of a given
size is to lead to the right choice and how much it lowers the expected loss (the expected
value of sample information, EVSI; Raiffa & Schlaifer 1961). It uses a fast semi-analytic
posterior (:func:`approx_posterior`) checked against NUTS in the tests.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes import __version__
from bayes.io import data_hash, save_figure, write_json, write_netcdf, write_table
from bayes.video.decision import decide
from bayes.video.pilot import (
    PHASE0_SEGMENTS,
    prior_param_draws,
    simulate_pilot_counts,
)
from bayes.video.sensitivity import plot_sensitivity, sensitivity_grid
from bayes.video.simulate import (
    PARAM_NAMES,
    closed_form_delta_core,
    population_counts,
    simulate_population,
)
from models.sampling import default_cores
from models.video import build_pilot_model, fit
from priors.segments import SEGMENT_KEYS
from priors.video import VideoPriors

__all__ = [
    "DEFAULT_SIZES",
    "UpdateResult",
    "approx_posterior",
    "multiplier_summary",
    "pilot_sizing",
    "posterior_params",
    "ppc_table",
    "rule_11",
    "update",
    "write_update",
]

FREE_VARS = ("baseline", "p_adopt", "sessions", "minutes", "delta", "alpha", "beta")
#: candidate pilot sizes (users per arm per segment)
DEFAULT_SIZES: tuple[int, ...] = (500, 2000, 10_000, 50_000)
#: "high posterior probability" of the blue region required by the §11 rule
BLUE_THRESHOLD = 0.9


@dataclass
class UpdateResult:
    """Everything :func:`update` produced; :func:`write_update` saves it."""

    idata: object
    summary: dict
    decision: dict
    delta_core: xr.Dataset
    grid: xr.DataArray
    pilot: pd.DataFrame
    priors: VideoPriors
    files: dict = field(default_factory=dict)

    @property
    def multiplier_draws(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of α and β (chains stacked), for :func:`plot_heatmap_posterior`."""
        return _draws(self.idata, "alpha"), _draws(self.idata, "beta")


# --------------------------------------------------------------------------- summaries


def posterior_params(idata, group: str = "posterior") -> dict[str, np.ndarray]:
    """Draws of :data:`bayes.video.simulate.PARAM_NAMES` with one leading ``draw`` axis
    (chains stacked), as :func:`bayes.video.simulate.simulate_population` expects."""
    ds = getattr(idata, group)
    out = {}
    for name in PARAM_NAMES:
        da = ds[name].stack(sample=("chain", "draw")).transpose("sample", ...)
        out[name] = np.asarray(da.to_numpy(), dtype=float)
    return out


def _draws(idata, name: str, group: str = "posterior") -> np.ndarray:
    return np.asarray(getattr(idata, group)[name].to_numpy(), dtype=float).ravel()


def multiplier_summary(idata, name: str) -> dict:
    """Posterior median, mean, sd, 50% and 90% equal-tailed intervals of α or β, with the
    prior's 90% interval (from the ``prior`` group) for comparison."""
    x = _draws(idata, name)
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    out = {
        "median": float(q[2]),
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "interval_50": [float(q[1]), float(q[3])],
        "interval_90": [float(q[0]), float(q[4])],
    }
    if hasattr(idata, "prior") and name in idata.prior:
        p = _draws(idata, name, "prior")
        out["prior_median"] = float(np.median(p))
        out["prior_interval_90"] = [float(v) for v in np.quantile(p, [0.05, 0.95])]
    return out


def ppc_table(idata) -> pd.DataFrame:
    """Posterior predictive check per observed count: observed value, predictive mean and
    90% interval, and the two-sided posterior predictive p-value
    ``2 · min(P(y_rep ≥ y), P(y_rep ≤ y))``."""
    rows = []
    for var in idata.observed_data.data_vars:
        obs = idata.observed_data[var]
        rep = idata.posterior_predictive[var]
        (dim,) = obs.dims
        rep_flat = rep.stack(sample=("chain", "draw")).transpose(dim, "sample").to_numpy()
        for i, label in enumerate(obs[dim].to_numpy()):
            y = float(obs.to_numpy()[i])
            r = rep_flat[i]
            p = 2 * min(np.mean(r >= y), np.mean(r <= y))
            rows.append(
                {
                    "variable": str(var),
                    "row": str(label),
                    "observed": y,
                    "predicted_mean": float(r.mean()),
                    "predicted_p5": float(np.quantile(r, 0.05)),
                    "predicted_p95": float(np.quantile(r, 0.95)),
                    "ppp": float(min(p, 1.0)),
                }
            )
    return pd.DataFrame(rows)


def _grid_axes(a: np.ndarray, b: np.ndarray, step: float = 0.05):
    """Heatmap axes covering the seed's [0.8, 1.6]² and 99% of the posterior draws."""

    def axis(x):
        lo = min(0.8, np.floor(np.quantile(x, 0.005) / step) * step)
        hi = max(1.6, np.ceil(np.quantile(x, 0.995) / step) * step)
        return np.round(np.arange(lo, hi + step / 2, step), 10)

    return axis(a), axis(b)


def rule_11(
    grid: xr.DataArray, alpha: np.ndarray, beta: np.ndarray, threshold: float = BLUE_THRESHOLD
) -> dict:
    """The seed's §11 rule on posterior draws of (α, β).

    D(α, β) is interpolated (bilinear) on the sensitivity grid at each draw; ``p_blue`` is the
    posterior probability that D > 0 (blue region). Standalone is rational under the rule only
    if ``p_blue ≥ threshold``.
    """
    from scipy.interpolate import RegularGridInterpolator

    a_ax = grid["alpha"].to_numpy()
    b_ax = grid["beta"].to_numpy()
    f = RegularGridInterpolator(
        (a_ax, b_ax), grid.transpose("alpha", "beta").to_numpy(), bounds_error=False
    )
    pts = np.column_stack([np.clip(alpha, a_ax[0], a_ax[-1]), np.clip(beta, b_ax[0], b_ax[-1])])
    d = f(pts)
    outside = np.mean((alpha < a_ax[0]) | (alpha > a_ax[-1]) | (beta < b_ax[0]) | (beta > b_ax[-1]))
    p_blue = float(np.mean(d > 0))
    d_med = float(f([[np.median(alpha), np.median(beta)]])[0])
    verdict = "standalone" if p_blue >= threshold else "integrated"
    where = "blue (standalone better)" if d_med > 0 else "red (integrated better)"
    text = (
        f"The posterior median (α̂, β̂) = ({np.median(alpha):.2f}, {np.median(beta):.2f}) lies "
        f"in the {where} region of the heatmap (D = {d_med / 1e3:+,.0f}k Core users); "
        f"the posterior probability of the blue region is {p_blue:.0%}. "
        + (
            f"That is at least {threshold:.0%}: under the seed's §11 rule a standalone app is "
            "rational."
            if verdict == "standalone"
            else f"That is below {threshold:.0%}: under the seed's §11 rule keep video integrated "
            "and continue optimising that surface."
        )
    )
    return {
        "p_blue": p_blue,
        "threshold": threshold,
        "D_at_median": d_med,
        "fraction_outside_grid": float(outside),
        "verdict": verdict,
        "text": text,
    }


# --------------------------------------------------------------------------- workflow


def update(
    pilot: pd.DataFrame,
    priors: VideoPriors | None = None,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    progressbar: bool = False,
    grid_draws: int = 2000,
    source: str | os.PathLike | None = None,
) -> UpdateResult:
    """Posterior after a validated pilot, diagnostics, (α̂, β̂) and the decision.

    ``seed`` drives NUTS, the predictive draws, the population simulation and the heatmap.
    Convergence is checked under the one rule of :mod:`models.diagnostics`.
    """
    from bayes.diagnostics import check_fit

    priors = priors or VideoPriors()
    ss = np.random.SeedSequence(seed)
    s_fit, s_pop, s_grid = (int(c.generate_state(1)[0]) for c in ss.spawn(3))
    model = build_pilot_model(pilot, priors)
    idata = fit(
        model,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=s_fit,
        progressbar=progressbar,
        cores=default_cores(chains),
    )
    hash_ = data_hash(source) if source is not None else data_hash(pilot)
    idata.attrs.update(
        {
            "prior_spec": priors.to_json(),
            "data_hash": hash_,
            "data_source": str(source) if source is not None else "<DataFrame>",
            "seed": int(seed),
            "package_version": __version__,
            "model": "models.video.build_pilot_model",
        }
    )
    diag = check_fit(idata, "video pilot posterior", var_names=FREE_VARS)

    params = posterior_params(idata)
    sim = simulate_population(params, priors, s_pop)
    decision = decide(sim["delta_core"])

    a, b = _draws(idata, "alpha"), _draws(idata, "beta")
    alphas, betas = _grid_axes(a, b)
    grid = sensitivity_grid(priors, alphas=alphas, betas=betas, draws=grid_draws, seed=s_grid)
    rule = rule_11(grid, a, b)
    covered = list(dict.fromkeys(pilot["segment"]))
    summary = {
        "alpha_hat": multiplier_summary(idata, "alpha"),
        "beta_hat": multiplier_summary(idata, "beta"),
        "interval_kind": "equal-tailed posterior quantiles (50%: q25-q75, 90%: q5-q95)",
        "p_standalone_better": decision["difference"]["p_standalone_better"],
        "expected_loss": decision["expected_loss"],
        "recommendation": decision["recommendation"],
        "delta_core": {k: decision[k] for k in ("integrated", "standalone", "difference")},
        "rule_11": rule,
        "r_hat_max": diag.r_hat_max,
        "ess_bulk_min": diag.ess_bulk_min,
        "ess_tail_min": diag.ess_tail_min,
        "divergences": diag.divergences,
        "ok": diag.ok,
        "problems": diag.problems,
        "pilot": {
            "source": idata.attrs["data_source"],
            "data_hash": hash_,
            "segments": covered,
            "rows": len(pilot),
            "users": int(pilot["users"].sum()),
        },
        "sampler": {"draws": draws, "tune": tune, "chains": chains, "seed": seed},
        "population": "high-engagement clusters 0, 2, 3 of the 24M base (seed §7)",
        "package_version": __version__,
    }
    return UpdateResult(
        idata=idata,
        summary=summary,
        decision=decision,
        delta_core=sim,
        grid=grid,
        pilot=pilot,
        priors=priors,
    )


# --------------------------------------------------------------------------- plots


def plot_prior_posterior(idata, names: Sequence[str] = ("alpha", "beta")):
    """Prior vs posterior densities of α and β (histograms of the ``prior`` and
    ``posterior`` groups), with the posterior 90% interval shaded."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        post = _draws(idata, name)
        prior = _draws(idata, name, "prior") if hasattr(idata, "prior") else None
        hi = np.quantile(np.concatenate([post, prior if prior is not None else post]), 0.995)
        bins = np.linspace(0, hi, 60)
        if prior is not None:
            ax.hist(prior, bins=bins, density=True, alpha=0.45, color="grey", label="prior")
        ax.hist(post, bins=bins, density=True, alpha=0.6, color="C0", label="posterior")
        lo, up = np.quantile(post, [0.05, 0.95])
        ax.axvspan(lo, up, color="C0", alpha=0.12, label="posterior 90% interval")
        ax.axvline(np.median(post), color="C0", lw=2, label=f"median {np.median(post):.2f}")
        ax.axvline(1.0, color="k", ls=":", lw=1)
        sym = {"alpha": "α (standalone adoption ×)", "beta": "β (standalone uplift ×)"}
        ax.set_xlabel(sym.get(name, name))
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    fig.suptitle("Prior vs posterior of the standalone multipliers (seed §9)")
    fig.tight_layout()
    return fig


def plot_ppc(idata, table: pd.DataFrame | None = None):
    """Posterior predictive check: per observed count, observed rate (dot) against the
    posterior predictive 90% interval (bar), as a rate per user / per adopter.

    ``table`` is :func:`ppc_table` of ``idata`` when the caller already has it."""
    import matplotlib.pyplot as plt

    tab = ppc_table(idata) if table is None else table
    const = idata.constant_data
    variables = list(dict.fromkeys(tab["variable"]))
    fig, axes = plt.subplots(1, len(variables), figsize=(4.2 * len(variables), 0.5 * 8 + 1.5))
    axes = np.atleast_1d(axes)
    denom_of = {
        "core": ("users", "Core_90d rate"),
        "adopters": ("arm_users", "adoption rate"),
        "sessions_7d": ("usage_adopters", "sessions per adopter"),
        "minutes_7d": ("usage_adopters", "minutes per adopter"),
    }
    for ax, var in zip(axes, variables, strict=True):
        t = tab[tab.variable == var].reset_index(drop=True)
        key, label = denom_of.get(var, (None, var))
        denom = const[key].to_numpy().astype(float) if key in const else np.ones(len(t))
        y = np.arange(len(t))[::-1]
        ax.errorbar(
            t.predicted_mean / denom,
            y,
            xerr=[
                (t.predicted_mean - t.predicted_p5) / denom,
                (t.predicted_p95 - t.predicted_mean) / denom,
            ],
            fmt="none",
            ecolor="C0",
            elinewidth=4,
            alpha=0.5,
            label="posterior predictive 90%",
        )
        ax.plot(t.observed / denom, y, "ko", ms=4, label="observed")
        ax.set_yticks(y)
        ax.set_yticklabels(t.row, fontsize=7)
        ax.set_xlabel(label)
        ax.set_title(var, fontsize=9)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle("Posterior predictive check against the pilot counts")
    fig.tight_layout()
    return fig


def _hdi_levels(kde, x, y, probs):
    dens = kde(np.vstack([x, y]))
    return [float(np.quantile(dens, 1 - p)) for p in probs]


def plot_heatmap_posterior(grid: xr.DataArray, alpha: np.ndarray, beta: np.ndarray, ax=None):
    """The sensitivity heatmap (:func:`bayes.video.sensitivity.plot_sensitivity`) with the
    posterior of (α, β): thinned draws, 50% and 90% highest-density contours (Gaussian KDE;
    a contour at the density exceeded by that share of the draws) and the median point."""
    from scipy.stats import gaussian_kde

    fig, ax = plot_sensitivity(grid, ax=ax)
    rng = np.random.default_rng(0)
    take = rng.choice(alpha.size, size=min(alpha.size, 800), replace=False)
    ax.scatter(alpha[take], beta[take], s=3, color="k", alpha=0.25, label="posterior draws")
    kde = gaussian_kde(np.vstack([alpha, beta]))
    a_ax = np.linspace(grid["alpha"].min().item(), grid["alpha"].max().item(), 120)
    b_ax = np.linspace(grid["beta"].min().item(), grid["beta"].max().item(), 120)
    aa, bb = np.meshgrid(a_ax, b_ax)
    z = kde(np.vstack([aa.ravel(), bb.ravel()])).reshape(aa.shape)
    levels = _hdi_levels(kde, alpha, beta, [0.9, 0.5])
    if levels[0] < levels[1]:
        cs = ax.contour(aa, bb, z, levels=levels, colors=["k", "k"], linestyles=["--", "-"])
        ax.clabel(cs, fmt={levels[0]: "90%", levels[1]: "50%"}, fontsize=8)
    ax.plot(
        [np.median(alpha)],
        [np.median(beta)],
        marker="*",
        color="gold",
        mec="k",
        ms=16,
        ls="none",
        label=f"posterior median ({np.median(alpha):.2f}, {np.median(beta):.2f})",
    )
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("Where the pilot puts (α̂, β̂) on the sensitivity heatmap (seed §11)")
    return fig, ax


def plot_decision(delta_core: xr.Dataset):
    """Posterior distributions of ΔCore_int, ΔCore_stand and their difference."""
    import matplotlib.pyplot as plt

    d = delta_core["delta_core"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for mode, color in (("integrated", "C2"), ("standalone", "C1")):
        axes[0].hist(d.sel(mode=mode) / 1e3, bins=50, alpha=0.55, color=color, label=mode)
    axes[0].set_xlabel("ΔCore (thousand Core users)")
    axes[0].legend()
    diff = (d.sel(mode="standalone") - d.sel(mode="integrated")) / 1e3
    axes[1].hist(diff, bins=50, color="C4", alpha=0.7)
    axes[1].axvline(0, color="k", lw=1)
    axes[1].set_xlabel("ΔCore_stand − ΔCore_int (thousand)")
    axes[1].set_title(f"P(standalone better) = {float((diff > 0).mean()):.1%}", fontsize=10)
    fig.suptitle("Decision under the posterior (high-engagement base of 24M)")
    fig.tight_layout()
    return fig


def decision_table(decision: dict) -> pd.DataFrame:
    """ΔCore per mode and their difference (mean, sd, p5, p50, p95), expected loss."""
    rows = []
    for key in ("integrated", "standalone", "difference"):
        d = decision[key]
        rows.append(
            {
                "quantity": f"ΔCore_{key}" if key != "difference" else "ΔCore_stand − ΔCore_int",
                **{k: d[k] for k in ("mean", "sd", "p5", "p50", "p95")},
                "expected_loss_if_chosen": decision["expected_loss"].get(key, np.nan),
            }
        )
    return pd.DataFrame(rows)


def alpha_beta_table(summary: dict) -> pd.DataFrame:
    rows = []
    for name in ("alpha_hat", "beta_hat"):
        s = summary[name]
        rows.append(
            {
                "multiplier": name.replace("_hat", ""),
                "median": s["median"],
                "mean": s["mean"],
                "q25": s["interval_50"][0],
                "q75": s["interval_50"][1],
                "q5": s["interval_90"][0],
                "q95": s["interval_90"][1],
                "prior_q5": s.get("prior_interval_90", [np.nan, np.nan])[0],
                "prior_q95": s.get("prior_interval_90", [np.nan, np.nan])[1],
            }
        )
    return pd.DataFrame(rows)


def write_update(result: UpdateResult, outdir: str | os.PathLike) -> dict[str, Path]:
    """Write ``posterior.nc``, ``summary.json``, ``ppc.csv``, ``decision.csv`` and the
    PNGs (prior vs posterior, PPC, heatmap with (α̂, β̂), decision) into ``outdir``."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ppc = ppc_table(result.idata)
    files = {
        "posterior": write_netcdf(result.idata, out / "posterior.nc"),
        "ppc_table": write_table(ppc, out / "ppc.csv"),
        "decision_table": write_table(decision_table(result.decision), out / "decision.csv"),
        "prior_posterior_plot": save_figure(
            plot_prior_posterior(result.idata), out / "prior_posterior_alpha_beta.png"
        ),
        "ppc_plot": save_figure(plot_ppc(result.idata, ppc), out / "ppc.png"),
        "heatmap_plot": save_figure(
            plot_heatmap_posterior(result.grid, *result.multiplier_draws)[0],
            out / "heatmap_posterior.png",
        ),
        "decision_plot": save_figure(plot_decision(result.delta_core), out / "decision.png"),
    }
    result.summary["files"] = {k: str(v) for k, v in files.items()}
    files["summary"] = write_json(result.summary, out / "summary.json")
    result.files = files
    return files


# --------------------------------------------------------------------------- pilot sizing


def _beta_mean_var(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = a / (a + b)
    return m, m * (1 - m) / (a + b + 1)


def _prior_moments(priors: VideoPriors) -> dict[str, np.ndarray]:
    """Beta parameters of p_adopt, and means and variances of p_adopt, baseline and δ."""
    decl = priors.declarations()
    pa = {k: np.asarray(v, float) for k, v in decl["p_adopt"].params.items()}
    bl = {k: np.asarray(v, float) for k, v in decl["baseline"].params.items()}
    dl = decl["delta"]
    mb, vb = _beta_mean_var(bl["alpha"], bl["beta"])
    mp, vp = _beta_mean_var(pa["alpha"], pa["beta"])
    return {
        "a0": pa["alpha"],  # (segment, mode)
        "b0": pa["beta"],
        "mp": mp,
        "vp": vp,
        "mb": mb,
        "vb": vb,
        "md": np.broadcast_to(np.asarray(dl.params["mu"], float), pa["alpha"].shape),
        "vd": np.broadcast_to(np.asarray(dl.params["sigma"], float) ** 2, pa["alpha"].shape),
    }


def approx_posterior(
    counts: dict[str, np.ndarray],
    users: np.ndarray,
    priors: VideoPriors,
    *,
    draws: int = 4000,
    seed: int = 0,
    nodes: int = 48,
) -> dict[str, np.ndarray]:
    """Fast posterior of the decision quantity after pilots (vectorised over pilots).

    Semi-analytic importance sampling over (α, β): ``draws`` prior draws of (α, β) are
    weighted by the pilot's marginal likelihood with every other parameter integrated out,
    segment by segment (they are independent given α, β):

    * integrated adoption p: Beta–Binomial, exact (conjugate);
    * standalone adoption r = α·p, p ~ Beta(a₀, b₀): with u ~ Beta(a + 1, n − a + 1) the
      normalised likelihood of r, ``∫ f(p) Bin(a | n, αp) dp ∝ E_u[f(u/α)] / α``, and
      ``E[r | α, data] = E_u[u f(u/α)] / E_u[f(u/α)]`` — by quadrature at ``nodes`` quantiles
      of u (exact as nodes → ∞; α·p > 1 is neglected);
    * Core counts: the linear-Gaussian model y₀ ~ N(b, v₀), y_m ~ N(b + s_m d_m, v_m)
      (y = k/n, s = a/n, v the binomial variance at the observed rate; d_stand = β·δ with
      δ ~ Normal) — the Normal limit of the likelihood of :mod:`models.video`; conjugate.

    The decision quantity is D = ΔCore_stand − ΔCore_int on the high-engagement base,
    E[D | α, β, data] = Σ_c N_c (E[r_cs] E[d_cs] − E[r_ci] E[d_ci]) (adoption and uplift are
    independent given the data since Core is conditioned on the observed adoption share), with
    its conditional variance; P(D > 0) uses a Normal for D given (α, β). Sessions and minutes
    do not inform D and are ignored. Population sampling noise is neglected.

    Parameters
    ----------
    counts
        ``adopters`` and ``core`` of shape (pilot, segment, arm) and ``segments`` (indices),
        as returned by :func:`bayes.video.pilot.simulate_pilot_counts`.
    users
        Users per arm, broadcastable to (pilot, segment, arm).

    Returns
    -------
    dict of arrays over pilots: ``alpha_mean``, ``beta_mean``, ``d_mean`` (E[D]),
    ``p_standalone_better``, ``loss_integrated`` (E[max(0, D)]), ``loss_standalone``
    (E[max(0, −D)]) and ``ess`` (Kish effective sample size of the weights).
    """
    from scipy import stats

    rng = np.random.default_rng(seed)
    alpha = priors.alpha.sample(rng, draws).reshape(draws)
    beta = priors.beta.sample(rng, draws).reshape(draws)
    mom = _prior_moments(priors)
    mask, _, n_pop = population_counts(priors, "high")
    n_seg = np.zeros(len(SEGMENT_KEYS))
    n_seg[mask] = n_pop
    si = np.asarray(counts["segments"])
    adopt = np.asarray(counts["adopters"], float)
    core = np.asarray(counts["core"], float)
    n = np.broadcast_to(np.asarray(users, float), adopt.shape)
    sims = adopt.shape[0]
    i_int, i_st = 0, 1

    # ---- prior moments for every segment as functions of (α, β): (draw, segment)
    m_p, v_p = mom["mp"], mom["vp"]
    er_s = alpha[:, None] * m_p[None, :, i_st]
    er2_s = alpha[:, None] ** 2 * (v_p[None, :, i_st] + m_p[None, :, i_st] ** 2)
    ed_s = beta[:, None] * mom["md"][None, :, i_st]
    vd_s = beta[:, None] ** 2 * mom["vd"][None, :, i_st]
    er_i = np.broadcast_to(m_p[:, i_int], (draws, len(SEGMENT_KEYS)))
    er2_i = np.broadcast_to(v_p[:, i_int] + m_p[:, i_int] ** 2, er_i.shape)
    ed_i = np.broadcast_to(mom["md"][:, i_int], er_i.shape)
    vd_i = np.broadcast_to(mom["vd"][:, i_int], er_i.shape)
    cov_d = np.zeros_like(er_i)

    u_q = (np.arange(nodes) + 0.5) / nodes
    out = {
        k: np.zeros(sims)
        for k in (
            "alpha_mean",
            "beta_mean",
            "d_mean",
            "p_standalone_better",
            "loss_integrated",
            "loss_standalone",
            "ess",
        )
    }
    for s in range(sims):
        logw = np.zeros(draws)
        ERs, ER2s, EDs, VDs = er_s.copy(), er2_s.copy(), ed_s.copy(), vd_s.copy()
        ERi, ER2i, EDi, VDi, COV = er_i.copy(), er2_i.copy(), ed_i.copy(), vd_i.copy(), cov_d.copy()
        for j, c in enumerate(si):
            # integrated adoption: conjugate Beta posterior (independent of α, β)
            a0, b0 = mom["a0"][c, i_int], mom["b0"][c, i_int]
            ai, ni = adopt[s, j, 1], n[s, j, 1]
            A, B = a0 + ai, b0 + ni - ai
            ERi[:, c] = A / (A + B)
            ER2i[:, c] = A * (A + 1) / ((A + B) * (A + B + 1))
            # standalone adoption: quadrature over u ~ Beta(a + 1, n − a + 1)
            a_s, n_s = adopt[s, j, 2], n[s, j, 2]
            u = stats.beta.ppf(u_q, a_s + 1, n_s - a_s + 1)  # (nodes,)
            x = u[None, :] / alpha[:, None]  # p = u / α
            f = stats.beta.pdf(np.clip(x, 0, 1), mom["a0"][c, i_st], mom["b0"][c, i_st])
            f = np.where(x < 1, f, 0.0)
            safe = np.maximum(f.mean(axis=1), 1e-300)
            logw += np.log(safe) - np.log(alpha)
            ERs[:, c] = (f * u).mean(axis=1) / safe
            ER2s[:, c] = (f * u**2).mean(axis=1) / safe
            # Core: linear-Gaussian in x = (b, d_int, d_stand)
            k = core[s, j]
            nn = n[s, j]
            y = k / nn
            yh = (k + 0.5) / (nn + 1)
            v = yh * (1 - yh) / nn
            share = adopt[s, j] / nn
            H = np.array([[1.0, 0.0, 0.0], [1.0, share[1], 0.0], [1.0, 0.0, share[2]]])
            mu0 = np.zeros((draws, 3))
            mu0[:, 0] = mom["mb"][c]
            mu0[:, 1] = mom["md"][c, i_int]
            mu0[:, 2] = beta * mom["md"][c, i_st]
            S0 = np.zeros((draws, 3, 3))
            S0[:, 0, 0] = mom["vb"][c]
            S0[:, 1, 1] = mom["vd"][c, i_int]
            S0[:, 2, 2] = beta**2 * mom["vd"][c, i_st]
            HS = H[None] @ S0  # (draw, 3, 3)
            S = HS @ H.T[None] + np.diag(v)[None]
            resid = y[None, :] - mu0 @ H.T
            sol = np.linalg.solve(S, resid[..., None])[..., 0]
            _, logdet = np.linalg.slogdet(S)
            logw += -0.5 * (logdet + np.einsum("di,di->d", resid, sol))
            gain = np.einsum("dji,dj->di", HS, sol)  # Σ0 Hᵀ S⁻¹ r
            xm = mu0 + gain
            P = S0 - HS.transpose(0, 2, 1) @ np.linalg.solve(S, HS)
            EDi[:, c], EDs[:, c] = xm[:, 1], xm[:, 2]
            VDi[:, c], VDs[:, c], COV[:, c] = P[:, 1, 1], P[:, 2, 2], P[:, 1, 2]
        w = np.exp(logw - logw.max())
        w /= w.sum()
        m_s = ERs * EDs
        m_i = ERi * EDi
        var_s = ER2s * (VDs + EDs**2) - m_s**2
        var_i = ER2i * (VDi + EDi**2) - m_i**2
        cov = ERs * ERi * COV
        mu_d = ((m_s - m_i) * n_seg).sum(axis=1)
        sd_d = np.sqrt(np.maximum(((var_s + var_i - 2 * cov) * n_seg**2).sum(axis=1), 1e-12))
        z = mu_d / sd_d
        pos = mu_d * stats.norm.cdf(z) + sd_d * stats.norm.pdf(z)  # E[max(0, D) | α, β]
        out["alpha_mean"][s] = w @ alpha
        out["beta_mean"][s] = w @ beta
        out["d_mean"][s] = w @ mu_d
        out["p_standalone_better"][s] = w @ stats.norm.cdf(z)
        out["loss_integrated"][s] = w @ pos
        out["loss_standalone"][s] = w @ (pos - mu_d)
        out["ess"][s] = 1.0 / np.sum(w**2)
    return out


def approx_update(pilot: pd.DataFrame, priors: VideoPriors | None = None, **kw) -> dict:
    """:func:`approx_posterior` for one validated pilot table (every arm of each covered
    segment present). Returns scalars."""
    priors = priors or VideoPriors()
    segs = list(dict.fromkeys(pilot["segment"]))
    t = pilot.set_index(["segment", "arm"])
    arms = ("control", "integrated", "standalone")
    try:
        adopters = np.array([[t.loc[(s, a), "adopters"] for a in arms] for s in segs], float)
        core = np.array([[t.loc[(s, a), "core_90d"] for a in arms] for s in segs], float)
        users = np.array([[t.loc[(s, a), "users"] for a in arms] for s in segs], float)
    except KeyError as exc:
        raise ValueError(f"approx_update needs all three arms of each segment: {exc}") from exc
    counts = {
        "adopters": adopters[None],
        "core": core[None],
        "segments": np.array([SEGMENT_KEYS.index(s) for s in segs]),
    }
    res = approx_posterior(counts, users[None], priors, **kw)
    return {k: float(v[0]) for k, v in res.items()}


def pilot_sizing(
    priors: VideoPriors | None = None,
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    sims: int = 200,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    seed: int = 0,
    is_draws: int = 4000,
    progressbar: bool = False,
) -> pd.DataFrame:
    """Prior-predictive value of a pilot of each size (users per arm per segment).

    For each of ``sims`` truths θ drawn from the prior, a pilot is simulated at θ (seed §7.1
    counts), the posterior is approximated (:func:`approx_posterior`) and the Bayes action
    taken (standalone iff E[D | pilot] > 0, D = ΔCore_stand − ΔCore_int). The *right* choice
    is the one better under θ (expected ΔCore, :func:`bayes.video.simulate.closed_form_delta_core`).

    Returns one row per size plus a ``0`` row (no pilot: decide on the prior):
    ``p_right`` (probability of the right choice), ``expected_loss`` (mean Core users lost
    against the right choice; the preposterior expected loss), ``evsi`` (prior expected loss −
    ``expected_loss``), its Monte Carlo standard error (paired over truths), the share of
    pilots recommending standalone and the median importance-sampling ESS.
    The same truths are used for every size (common random numbers).
    """
    from bayes.progress import progress

    priors = priors or VideoPriors()
    ss = np.random.SeedSequence(seed)
    s_truth, s_pilot, s_is = (int(c.generate_state(1)[0]) for c in ss.spawn(3))
    truth = prior_param_draws(priors, sims, s_truth)
    dc = closed_form_delta_core(truth, priors)
    d_true = dc[:, 1] - dc[:, 0]
    prior_action_stand = d_true.mean() > 0
    loss_prior = np.where(prior_action_stand, np.maximum(-d_true, 0), np.maximum(d_true, 0))
    rows = [
        {
            "users_per_arm": 0,
            "total_users": 0,
            "p_right": float(np.mean((d_true > 0) == prior_action_stand)),
            "expected_loss": float(loss_prior.mean()),
            "evsi": 0.0,
            "evsi_se": 0.0,
            "share_recommending_standalone": float(prior_action_stand),
            "median_ess": np.nan,
        }
    ]
    n_arms = 3
    n_segs = len(SEGMENT_KEYS if segments is None else segments)
    for size in progress(list(sizes), desc="pilot sizes", enabled=progressbar):
        rng = np.random.default_rng(np.random.SeedSequence([s_pilot, int(size)]))
        counts = simulate_pilot_counts(truth, int(size), rng, segments)
        post = approx_posterior(counts, np.asarray(size), priors, draws=is_draws, seed=s_is)
        stand = post["d_mean"] > 0
        loss = np.where(stand, np.maximum(-d_true, 0), np.maximum(d_true, 0))
        gain = loss_prior - loss
        rows.append(
            {
                "users_per_arm": int(size),
                "total_users": int(size) * n_arms * n_segs,
                "p_right": float(np.mean(stand == (d_true > 0))),
                "expected_loss": float(loss.mean()),
                "evsi": float(gain.mean()),
                "evsi_se": float(gain.std(ddof=1) / np.sqrt(sims)),
                "share_recommending_standalone": float(stand.mean()),
                "median_ess": float(np.median(post["ess"])),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs.update({"sims": sims, "segments": list(segments or SEGMENT_KEYS), "seed": seed})
    return df


# --------------------------------------------------------------------------- calibration


def _refit_draws(model, pilot, *, draws, tune, chains, seed, names=("alpha", "beta")):
    from models.video import set_pilot_data

    set_pilot_data(model, pilot)
    idata = fit(model, draws=draws, tune=tune, chains=chains, seed=seed, predictive=False)
    return {n: idata.posterior[n].to_numpy() for n in names}, idata


def recovery_study(
    truths: Sequence[tuple[float, float]] = ((1.0, 1.0), (1.4, 1.3), (0.8, 1.2)),
    *,
    seeds: Sequence[int] = (0, 1),
    users_per_arm: int = 5000,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    draws: int = 300,
    tune: int = 300,
    chains: int = 2,
    priors: VideoPriors | None = None,
) -> pd.DataFrame:
    """Parameter recovery: pilots generated at true (α, β) (rest at the prior centres),
    updated with NUTS on one compiled model (:func:`models.video.set_pilot_data`).
    One row per (truth, seed, parameter) with the 90% equal-tailed interval and ``covered``."""
    from bayes.video.pilot import generate_pilot, validate_pilot

    priors = priors or VideoPriors()
    model = None
    rows = []
    for a_true, b_true in truths:
        for seed in seeds:
            pilot = validate_pilot(
                generate_pilot(a_true, b_true, users_per_arm, seed, segments=segments, usage=False)
            )
            if model is None:
                model = build_pilot_model(pilot, priors)
            post, idata = _refit_draws(
                model, pilot, draws=draws, tune=tune, chains=chains, seed=seed
            )
            div = int(idata.sample_stats["diverging"].sum())
            for name, truth in (("alpha", a_true), ("beta", b_true)):
                lo, med, hi = np.quantile(post[name], [0.05, 0.5, 0.95])
                rows.append(
                    {
                        "alpha_true": a_true,
                        "beta_true": b_true,
                        "seed": seed,
                        "parameter": name,
                        "truth": truth,
                        "median": med,
                        "q5": lo,
                        "q95": hi,
                        "covered": bool(lo <= truth <= hi),
                        "divergences": div,
                    }
                )
    return pd.DataFrame(rows)


def sbc_ranks(
    reps: int = 100,
    *,
    users_per_arm: int = 2000,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    draws: int = 200,
    tune: int = 200,
    thin: int = 2,
    seed: int = 0,
    priors: VideoPriors | None = None,
    progressbar: bool = False,
) -> pd.DataFrame:
    """Simulation-based calibration (Talts et al. 2018) of α and β.

    Each replication draws a truth from the prior (:func:`bayes.video.pilot.prior_param_draws`,
    the same declaration as the model), simulates a pilot from it (seed §7.1 counts), fits NUTS
    (one chain, one compiled model reused through ``pm.Data``) and records the rank of the
    truth among the ``draws / thin`` thinned posterior draws (L = draws // thin, ranks in
    0..L). For a correct model and sampler the ranks are uniform.
    """
    from bayes.calibration import sbc_rank
    from bayes.progress import progress
    from bayes.video.pilot import simulate_pilot, validate_pilot

    priors = priors or VideoPriors()
    truth = prior_param_draws(priors, reps, seed)
    model = None
    rows = []
    for r in progress(range(reps), total=reps, desc="SBC", enabled=progressbar):
        one = {k: v[r] for k, v in truth.items()}
        pilot = validate_pilot(
            simulate_pilot(
                one, users_per_arm, seed + 7919 * (r + 1), segments=segments, usage=False
            )
        )
        if model is None:
            model = build_pilot_model(pilot, priors)
        post, idata = _refit_draws(model, pilot, draws=draws, tune=tune, chains=1, seed=seed + r)
        row = {"rep": r, "divergences": int(idata.sample_stats["diverging"].sum())}
        for name in ("alpha", "beta"):
            x = post[name].ravel()[::thin]
            row[f"{name}_true"] = float(one[name])
            row[f"{name}_rank"] = sbc_rank(x, one[name])
        row["L"] = int(x.size)
        rows.append(row)
    return pd.DataFrame(rows)


def sbc_uniformity(ranks: pd.DataFrame, bins: int = 5) -> dict:
    """:func:`bayes.calibration.sbc_uniformity` of the α and β ranks."""
    from bayes.calibration import sbc_uniformity as uniformity

    return uniformity(ranks, ("alpha", "beta"), bins)
