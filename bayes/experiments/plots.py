"""Plots of the experiments domain; each takes ``ax=None`` and returns ``(fig, ax)``.

* :func:`plot_lift_posterior` — the posterior of the relative lift (and its prior), the 0 line,
  the credible interval and the chance to win written in words;
* :func:`plot_cumulative_effect` — the cumulative effect per day with the fixed-horizon
  interval (valid once, at the planned end) and the always-valid sequential band (valid at
  every look);
* :func:`plot_power_curve` — power against users per arm for a planned effect, with the
  target power and the solved sample size marked.
"""

from __future__ import annotations

import numpy as np

from priors.spec import interval_label, interval_names

__all__ = ["plot_cumulative_effect", "plot_lift_posterior", "plot_power_curve"]


def _axes(ax, size=(6.4, 4.0)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def plot_lift_posterior(draws, *, prior=None, prob: float = 0.9, metric: str = "", ax=None):
    """Histogram of relative-lift draws (in %), the prior's density dashed (``prior``: a
    :class:`priors.spec.Prior` of the relative lift), the credible interval shaded, 0 marked,
    and the chance to win in words in the title."""
    fig, ax = _axes(ax)
    x = 100 * np.asarray(draws, dtype=float).ravel()
    lo, hi = np.quantile(x, [(1 - prob) / 2, (1 + prob) / 2])
    ax.hist(x, bins=60, density=True, color="#4C72B0", alpha=0.75, label="posterior")
    if prior is not None:
        grid = np.linspace(*ax.get_xlim(), 400)
        ax.plot(
            grid, prior._scipy().pdf(grid / 100) / 100, ls="--", color="0.4", label=f"prior {prior}"
        )
    ax.axvspan(
        lo,
        hi,
        color="#4C72B0",
        alpha=0.12,
        label=f"{interval_label(prob)}% credible interval [{lo:+.2f}%, {hi:+.2f}%]",
    )
    ax.axvline(0.0, color="k", lw=1)
    chance = float(np.mean(x > 0))
    ax.set_title(
        f"Posterior of the lift: {chance:.1%} chance the treatment is better\n"
        "(given the data and the prior; a probability, not a p-value)",
        fontsize=10,
    )
    ax.set_xlabel(f"relative lift{' of ' + metric if metric else ''} (%)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7, loc="upper left")
    return fig, ax


def plot_cumulative_effect(
    table, *, prob: float = 0.9, truth: float | None = None, metric: str = "", ax=None
):
    """Cumulative effect per day (:func:`bayes.experiments.analyze.sequential_table`) with the
    fixed-horizon and the always-valid sequential intervals."""
    fig, ax = _axes(ax, (7.0, 4.0))
    lo, hi = interval_names(prob)
    slo, shi = interval_names(prob, "sequential")
    day = np.arange(1, len(table) + 1)
    ax.fill_between(
        day,
        table[slo],
        table[shi],
        color="#DD8452",
        alpha=0.25,
        label=f"always-valid {interval_label(prob)}% (confidence sequence)",
    )
    ax.fill_between(
        day,
        table[lo],
        table[hi],
        color="#4C72B0",
        alpha=0.3,
        label=f"fixed-horizon {interval_label(prob)}% (valid only at the planned end)",
    )
    ax.plot(day, table["estimate"], color="#4C72B0", marker="o", ms=3, label="cumulative estimate")
    ax.axhline(0.0, color="k", lw=1)
    if truth is not None:
        ax.axhline(truth, color="#55A868", ls="--", lw=1.2, label="true effect")
    ax.set_xlabel("day of the experiment")
    ax.set_ylabel(f"treatment − control{' (' + metric + ')' if metric else ''}")
    ax.set_title("Cumulative effect: peeking needs the sequential band")
    ax.legend(fontsize=8, loc="best")
    return fig, ax


def plot_power_curve(curve, *, result=None, ax=None):
    """Power against users per control arm (:func:`models.experiments.power.power_curve`)."""
    fig, ax = _axes(ax)
    ax.plot(curve["n_control"], curve["power"], color="#4C72B0")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    if result is not None:
        ax.axhline(result.power, color="0.5", ls="--", lw=1, label=f"power {result.power:.0%}")
        ax.axvline(
            result.n_control,
            color="#DD8452",
            ls="--",
            lw=1,
            label=f"{result.users_per_arm[0]:,} users per control arm",
        )
        what = (
            f"{result.baseline:g} → {result.baseline + result.effect:g}"
            if result.metric == "proportion"
            else f"effect {result.effect:g} (d = {result.effect_size:.3g})"
        )
        ax.set_title(f"Power for {what}, α = {result.alpha:g} ({result.alternative})")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("users per control arm")
    ax.set_ylabel("power")
    return fig, ax
