"""Plots of the uplift domain; each takes ``ax=None`` and returns the matplotlib ``Figure``.

* :func:`plot_uplift_curve` — the Qini or uplift curve with its bootstrap band, the random
  line and the perfect curve (always all four);
* :func:`plot_calibration` — predicted against observed uplift by score decile;
* :func:`plot_net_revenue` — net revenue against the fraction targeted, with its band and the
  recommended fraction;
* :func:`plot_learners` — Qini coefficients of several learners (and the true uplift).
"""

from __future__ import annotations

import numpy as np

from models.uplift.metrics import UpliftCurves
from priors.spec import interval_label, interval_names

__all__ = ["plot_calibration", "plot_learners", "plot_net_revenue", "plot_uplift_curve"]


def _axes(ax, figsize=(6.5, 4.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_uplift_curve(curves: UpliftCurves, kind: str = "qini", *, ax=None, label="model"):
    """``kind`` ``"qini"`` or ``"uplift"``; y = incremental responders per user of the
    population (curve / N), x = fraction targeted."""
    fig, ax = _axes(ax)
    c = curves.curves[kind]
    f = curves.fraction
    ax.fill_between(
        f,
        c["lower"],
        c["upper"],
        alpha=0.25,
        color="C0",
        label=f"{interval_label(curves.prob)}% band (bootstrap, stratified by arm)",
    )
    ax.plot(f, c["value"], color="C0", lw=1.8, label=label)
    ax.plot(f, c["random"], color="0.4", ls="--", lw=1.2, label="random")
    if np.isfinite(c["perfect"]).all():
        ax.plot(f, c["perfect"], color="C2", ls=":", lw=1.4, label="perfect")
    name = "Qini" if kind == "qini" else "uplift"
    ax.set_xlabel("fraction of users targeted (highest score first)")
    ax.set_ylabel("incremental responders per user")
    ax.set_title(f"{name} curve")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_calibration(table, *, ax=None, prob: float = 0.9):
    """Mean predicted uplift and observed uplift (with its interval) per score decile."""
    fig, ax = _axes(ax)
    lo, hi = interval_names(prob, "observed_uplift")
    d = table["decile"].to_numpy()
    obs = table["observed_uplift"].to_numpy()
    ax.errorbar(
        d,
        obs,
        yerr=[obs - table[lo].to_numpy(), table[hi].to_numpy() - obs],
        fmt="o",
        color="C0",
        capsize=3,
        label=f"observed (treated − control), {interval_label(prob)}%",
    )
    ax.plot(d, table["predicted_uplift"], "s--", color="C1", label="predicted (mean)")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xticks(d)
    ax.set_xlabel("score decile (1 = highest predicted uplift)")
    ax.set_ylabel("uplift (conversion rate difference)")
    ax.set_title("calibration of predicted uplift by decile")
    ax.legend(fontsize=8)
    return fig


def plot_net_revenue(result, *, ax=None, value_label: str = ""):
    """Net revenue (mean and band over draws) against the fraction targeted."""
    fig, ax = _axes(ax)
    curve = result.curve()
    lo, hi = interval_names(result.prob, "net_revenue")
    f = curve["fraction"]
    ax.fill_between(
        f,
        curve[lo],
        curve[hi],
        alpha=0.25,
        color="C0",
        label=f"{interval_label(result.prob)}% band over draws",
    )
    ax.plot(f, curve["net_revenue_mean"], color="C0", lw=1.8, label="mean net revenue")
    ax.axhline(0, color="0.4", ls="--", lw=1.0, label="target nobody")
    best = result.summary["best_fraction"]
    blo, bhi = interval_names(result.prob)
    ax.axvline(best["value"], color="C3", lw=1.2, label=f"recommended {best['value']:.0%}")
    ax.axvspan(best[blo], best[bhi], color="C3", alpha=0.08, label="best fraction interval")
    ax.set_xlabel("fraction of users targeted (highest score first)")
    ax.set_ylabel("net revenue" + (f" ({value_label})" if value_label else ""))
    ax.set_title(f"targeting: net revenue ({result.summary['estimator']} estimator)")
    ax.legend(fontsize=8)
    return fig


def plot_learners(table, *, ax=None, metric: str = "qini_coefficient"):
    """A metric per learner with its interval (the ``truth`` row drawn apart)."""
    fig, ax = _axes(ax, figsize=(6.5, 3.6))
    lo, hi = interval_names(0.9, metric)
    names = list(table["learner"])
    v = table[metric].to_numpy()
    y = np.arange(len(names))
    colors = ["C2" if n == "truth" else "C0" for n in names]
    ax.errorbar(
        v,
        y,
        xerr=[v - table[lo].to_numpy(), table[hi].to_numpy() - v],
        fmt="none",
        ecolor="0.5",
        capsize=3,
    )
    ax.scatter(v, y, c=colors, zorder=3)
    ax.set_yticks(y, ["true uplift" if n == "truth" else n for n in names])
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} (90% interval, held-out users)")
    ax.axvline(0, color="0.8", lw=0.8)
    ax.set_title("learners against the true uplift")
    return fig
