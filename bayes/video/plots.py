"""Every figure of the video domain. Each ``plot_*`` draws on the axes it is given (``ax=None``
or ``axes=None``: a new figure) and returns the matplotlib :class:`~matplotlib.figure.Figure`.

* :func:`plot_decision` — ΔCore by mode and the difference (forward simulation or posterior);
* :func:`plot_sensitivity` — the heatmap D(α, β) of seed §9;
* :func:`plot_heatmap_posterior` — the heatmap with the posterior of (α, β) (seed §11);
* :func:`plot_prior_posterior` — prior vs posterior of α and β;
* :func:`plot_ppc` — posterior predictive check against the pilot counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "plot_decision",
    "plot_heatmap_posterior",
    "plot_ppc",
    "plot_prior_posterior",
    "plot_sensitivity",
]


def _axes(axes, n: int, figsize):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=figsize)
    axes = np.atleast_1d(axes)
    if axes.size != n:
        raise ValueError(f"expected {n} axes, got {axes.size}")
    return axes[0].figure, axes


def _flat_draws(da: xr.DataArray) -> np.ndarray:
    """Draws of a (chain,) draw variable as one flat array."""
    return np.asarray(da.to_numpy(), dtype=float).ravel()


def plot_decision(ds: xr.Dataset, *, title: str = "", axes=None):
    """Overlaid histograms of ΔCore by mode and the histogram of the difference
    standalone − integrated (seed §8), from ``ds["delta_core"]`` with dims ``draw, mode`` (a
    forward simulation) or ``chain, draw, mode`` (``VideoPilotModel.predict``)."""
    fig, axes = _axes(axes, 2, (11, 3.8))
    dc = ds["delta_core"] / 1e3
    integ = _flat_draws(dc.sel(mode="integrated"))
    stand = _flat_draws(dc.sel(mode="standalone"))
    lo, hi = np.quantile(np.r_[integ, stand], [0.001, 0.999])
    bins = np.linspace(lo, hi, 50)
    for x, label, color in ((integ, "integrated", "C0"), (stand, "standalone", "C1")):
        axes[0].hist(x, bins=bins, alpha=0.55, color=color, label=f"{label} (mean {x.mean():.0f}k)")
        axes[0].axvline(x.mean(), color=color, lw=1.5)
    axes[0].set_xlabel("ΔCore: incremental Core_90d users (thousands)")
    axes[0].set_ylabel("draws")
    axes[0].legend(fontsize=8)
    diff = stand - integ
    step = ds.attrs["n_population"] / ds.attrs["n_sim"] / 1e3 if "n_sim" in ds.attrs else 0.0
    width = (diff.max() - diff.min()) / 50 if diff.max() > diff.min() else 1.0
    if step > 0:  # per-user preset: values lie on a lattice of N / N_sim; align the bins
        width = max(step, np.round(width / step) * step)
    d_bins = np.arange(diff.min() - width / 2, diff.max() + width, width)
    axes[1].hist(diff, bins=d_bins, color="C2", alpha=0.7)
    axes[1].axvline(0.0, color="k", lw=1)
    axes[1].axvline(diff.mean(), color="C2", lw=1.5)
    axes[1].set_xlabel("ΔCore_stand − ΔCore_int (thousands)")
    axes[1].set_title(f"P(standalone better) = {np.mean(diff > 0):.3f}", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_sensitivity(D: xr.DataArray, ax=None):
    """Heatmap of D(α, β) with a diverging map centred at 0 (red < 0: integrated better;
    blue > 0: standalone better), the D = 0 contour and the base point (1, 1).

    x axis α (standalone adoption multiplier), y axis β (standalone uplift multiplier).
    Callers may overlay points on ``fig.axes[0]`` (e.g. a posterior (α̂, β̂)).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 5.2))
    else:
        fig = ax.figure
    a = D["alpha"].to_numpy()
    b = D["beta"].to_numpy()
    z = D.transpose("beta", "alpha").to_numpy() / 1e3
    lim = max(float(np.nanmax(np.abs(z))), 1e-9)
    norm = TwoSlopeNorm(
        vcenter=0.0,
        vmin=min(float(np.nanmin(z)), -lim * 1e-3),
        vmax=max(float(np.nanmax(z)), lim * 1e-3),
    )
    mesh = ax.pcolormesh(a, b, z, cmap="RdBu", norm=norm, shading="nearest")
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label("D(α, β) = ΔCore_stand − ΔCore_int  (thousand Core users)")
    if np.nanmin(z) < 0 < np.nanmax(z):
        cs = ax.contour(a, b, z, levels=[0.0], colors="k", linewidths=1.5)
        ax.clabel(cs, fmt={0.0: "D = 0"}, fontsize=8)
    if a.min() <= 1 <= a.max() and b.min() <= 1 <= b.max():
        ax.plot([1.0], [1.0], marker="x", color="k", ms=8, label="base priors (1, 1)")
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("α: multiplier on standalone adoption")
    ax.set_ylabel("β: multiplier on standalone uplift")
    ax.set_title("D(α, β): red = integrated wins, blue = standalone wins")
    return fig


def _hdi_levels(kde, x, y, probs):
    dens = kde(np.vstack([x, y]))
    return [float(np.quantile(dens, 1 - p)) for p in probs]


def plot_heatmap_posterior(grid: xr.DataArray, alpha: np.ndarray, beta: np.ndarray, ax=None):
    """The sensitivity heatmap (:func:`plot_sensitivity`) with the posterior of (α, β):
    thinned draws, 50% and 90% highest-density contours (Gaussian KDE; a contour at the
    density exceeded by that share of the draws) and the median point."""
    from scipy.stats import gaussian_kde

    fig = plot_sensitivity(grid, ax=ax)
    ax = ax if ax is not None else fig.axes[0]
    alpha, beta = np.ravel(alpha), np.ravel(beta)
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
    return fig


def plot_prior_posterior(idata, names: Sequence[str] = ("alpha", "beta"), axes=None):
    """Prior vs posterior densities of α and β (histograms of the ``prior`` and
    ``posterior`` groups), with the posterior's central 90% interval shaded."""
    fig, axes = _axes(axes, len(names), (5 * len(names), 3.6))
    sym = {"alpha": "α (standalone adoption ×)", "beta": "β (standalone uplift ×)"}
    for ax, name in zip(axes, names, strict=True):
        post = _flat_draws(idata.posterior[name])
        prior = _flat_draws(idata.prior[name]) if hasattr(idata, "prior") else None
        hi = np.quantile(np.concatenate([post, prior if prior is not None else post]), 0.995)
        bins = np.linspace(0, hi, 60)
        if prior is not None:
            ax.hist(prior, bins=bins, density=True, alpha=0.45, color="grey", label="prior")
        ax.hist(post, bins=bins, density=True, alpha=0.6, color="C0", label="posterior")
        lo, up = np.quantile(post, [0.05, 0.95])
        ax.axvspan(lo, up, color="C0", alpha=0.12, label="posterior 90% interval")
        ax.axvline(np.median(post), color="C0", lw=2, label=f"median {np.median(post):.2f}")
        ax.axvline(1.0, color="k", ls=":", lw=1)
        ax.set_xlabel(sym.get(name, name))
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    fig.suptitle("Prior vs posterior of the standalone multipliers (seed §9)")
    fig.tight_layout()
    return fig


def plot_ppc(idata, table: pd.DataFrame | None = None, axes=None):
    """Posterior predictive check: per observed count, observed rate (dot) against the
    posterior predictive 90% interval (bar), as a rate per user / per adopter.

    ``table`` is :func:`bayes.video.decide.ppc_table` of ``idata`` when the caller has it."""
    from bayes.video.decide import ppc_table

    tab = ppc_table(idata) if table is None else table
    const = idata.constant_data
    variables = list(dict.fromkeys(tab["variable"]))
    fig, axes = _axes(axes, len(variables), (4.2 * len(variables), 5.5))
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
                (t.predicted_mean - t.predicted_lower_90) / denom,
                (t.predicted_upper_90 - t.predicted_mean) / denom,
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
