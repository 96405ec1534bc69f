"""Figures of seed 000 Part B: lift by decile, calibration, drivers, behavioural profile by cluster.

Each function takes the tidy tables of :class:`bayes.photos.analysis.PhotosAnalysis` and returns
a matplotlib ``Figure`` (save it with :func:`bayes.io.save_figure`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_calibration", "plot_drivers", "plot_lift", "plot_segment_profile"]

_MODEL_NAMES = {"logistic": "Logistic regression", "random_forest": "Random forest"}
_PROFILE = {
    "n_app_launch_7d": "app launches (7d)",
    "n_photo_view_events_7d": "photo views (7d)",
    "n_upload_events_7d": "uploads (7d)",
    "n_notifications_opened_7d": "notifications opened (7d)",
    "n_distinct_platforms_7d": "distinct platforms (7d)",
    "prime_share": "Prime share",
    "mobile_entry_share": "mobile entry share",
    "baseline_core_90d": "baseline Core_90d",
}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_lift(lift: pd.DataFrame, base_rate: float | None = None):
    """Core_90d rate by score decile (1 = lowest scores, 10 = highest), one bar group per model."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4))
    models = list(dict.fromkeys(lift["model"]))
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        t = lift[lift["model"] == m].sort_values("decile")
        ax.bar(
            t["decile"] + (i - (len(models) - 1) / 2) * width,
            t["core_rate"],
            width,
            label=_MODEL_NAMES.get(m, m),
        )
    if base_rate is not None:
        ax.axhline(base_rate, color="k", ls="--", lw=1, label=f"base rate {base_rate:.2f}")
    ax.set_xticks(range(1, int(lift["decile"].max()) + 1))
    ax.set_xlabel("score decile (10 = highest predicted Core_90d)")
    ax.set_ylabel("observed Core_90d rate (test split)")
    ax.set_title("Lift by score decile")
    ax.legend(frameon=False)
    return fig


def plot_calibration(calibration: pd.DataFrame):
    """Reliability diagram: mean predicted probability vs observed Core_90d rate per bin."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for m in dict.fromkeys(calibration["model"]):
        t = calibration[calibration["model"] == m]
        ax.plot(t["mean_score"], t["core_rate"], marker="o", label=_MODEL_NAMES.get(m, m))
    ax.set_xlabel("mean predicted P(Core_90d)")
    ax.set_ylabel("observed Core_90d rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Calibration (test split)")
    ax.legend(frameon=False, loc="upper left")
    return fig


def plot_drivers(drivers: pd.DataFrame, top: int = 15):
    """Logistic coefficients (coloured by sign) and random-forest importances, top features."""
    plt = _plt()
    t = drivers.head(top).iloc[::-1]
    ncols = 2 if "rf_importance" in drivers.columns else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 0.32 * len(t) + 1.2), squeeze=False)
    ax = axes[0, 0]
    colors = np.where(t["coefficient"] >= 0, "tab:green", "tab:red")
    ax.barh(t["feature"], t["coefficient"], color=colors)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("logistic coefficient (log-odds; counts per SD of log1p)")
    ax.set_title("Drivers of Core_90d: logistic")
    if ncols == 2:
        imp = drivers.sort_values("rf_importance").tail(top)
        axes[0, 1].barh(imp["feature"], imp["rf_importance"], color="tab:blue")
        axes[0, 1].set_xlabel("impurity importance")
        axes[0, 1].set_title("Random forest importances")
    fig.tight_layout()
    return fig


def plot_segment_profile(segments: pd.DataFrame):
    """Behavioural profile by cluster: one panel per profile measure, one bar per segment."""
    plt = _plt()
    cols = [c for c in _PROFILE if c in segments.columns]
    ncols = 4
    nrows = int(np.ceil(len(cols) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    names = [f"{c}: {lab}" for c, lab in zip(segments["cluster"], segments["label"], strict=True)]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"][: len(segments)]
    for ax, col in zip(axes.flat, cols, strict=False):
        ax.bar(range(len(segments)), segments[col], color=colors)
        ax.set_title(_PROFILE[col], fontsize=10)
        ax.set_xticks(range(len(segments)))
        ax.set_xticklabels([f"cl {c}" for c in segments["cluster"]], fontsize=8)
    for ax in list(axes.flat)[len(cols) :]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors]
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False, fontsize=9)
    fig.suptitle("Behavioural profile by cluster")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    return fig
