"""LTV plots. Every function takes ``ax=None`` and returns the matplotlib ``Figure``."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "plot_frequency_ppc",
    "plot_holdout",
    "plot_ltv_by_segment",
    "plot_p_alive_matrix",
    "plot_pooling",
]


def _axes(ax, figsize=(7, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_holdout(pred: pd.DataFrame, max_bin: int = 7, ax=None):
    """Predicted vs actual holdout purchases by calibration frequency (cf. lifetimes'
    ``plot_calibration_purchases_vs_holdout_purchases``)."""
    from bayes.ltv.evaluate import binned_holdout

    b = binned_holdout(pred, max_bin)
    fig, ax = _axes(ax)
    ax.plot(b["frequency_cal"], b["actual"], "o-", label="actual")
    ax.plot(b["frequency_cal"], b["predicted"], "s--", label="predicted (posterior mean)")
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.set_title("holdout: predicted vs actual")
    ax.legend()
    return fig


def plot_frequency_ppc(model, ax=None):
    """Customers by repeat purchases: observed vs posterior predictive (median, 90% band)."""
    idata = model.idata_
    pp = idata.posterior_predictive["customers_by_frequency"]
    obs = idata.observed_data["customers_by_frequency"].values
    flat = pp.values.reshape(-1, pp.shape[-1])
    labels = list(pp.frequency_bin.values)
    pos = np.arange(len(labels))
    fig, ax = _axes(ax)
    ax.bar(pos - 0.2, obs, 0.4, label="observed")
    lo, mid, hi = np.quantile(flat, [0.05, 0.5, 0.95], axis=0)
    ax.bar(pos + 0.2, mid, 0.4, yerr=[mid - lo, hi - mid], label="posterior predictive (90%)")
    ax.set_xticks(pos, labels)
    ax.set_xlabel("repeat purchases")
    ax.set_ylabel("customers")
    ax.legend()
    return fig


def plot_p_alive_matrix(matrix, ax=None):
    """P(alive) (posterior mean) over frequency x recency, from
    :meth:`models.ltv.LTVModel.p_alive_matrix`; impossible cells are blank."""
    mean = matrix.mean(("chain", "draw"))
    fig, ax = _axes(ax, figsize=(7, 5))
    rec = mean["recency"].values
    freq = mean["frequency"].values
    im = ax.imshow(
        np.ma.masked_invalid(mean.values),
        origin="lower",
        aspect="auto",
        cmap="viridis",
        vmin=0,
        vmax=1,
        extent=(rec[0], rec[-1], freq[0] - 0.5, freq[-1] + 0.5),
    )
    unit = matrix.attrs.get("time_unit", "")
    seg = matrix.attrs.get("segment")
    ax.set_xlabel(f"recency ({unit}s since first purchase at the last purchase)")
    ax.set_ylabel("repeat purchases (frequency)")
    ax.set_title(
        f"P(alive) for customers observed {matrix.attrs.get('T', 0):.0f} {unit}s"
        + (f", segment {seg}" if seg else "")
    )
    fig.colorbar(im, ax=ax, label="P(alive), posterior mean")
    return fig


def plot_ltv_by_segment(table: pd.DataFrame, value: str = "ltv_12m", ax=None):
    """Mean LTV per customer by segment with its 90% interval (from a segment table with
    ``segment``, ``<value>_mean``, ``<value>_lower_90``, ``<value>_upper_90``)."""
    fig, ax = _axes(ax)
    y = np.arange(len(table))
    mean = table[f"{value}_mean"].to_numpy()
    err = [mean - table[f"{value}_lower_90"], table[f"{value}_upper_90"] - mean]
    ax.errorbar(mean, y, xerr=err, fmt="o", capsize=3)
    ax.set_yticks(y, table["segment"])
    ax.set_xlabel(f"mean {value} per customer (90% interval)")
    return fig


def plot_pooling(errors: pd.DataFrame, metric: str = "purchases_vs_truth", ax=None):
    """Error by segment size, one line per method (partial pooling, independent fits, one
    pooled model): each segment a faint point, each line the mean over the segments of one
    size class (``errors`` of :class:`~bayes.ltv.pooling.PoolingStudy`) with its
    between-segment standard error as bars; log-scaled sizes."""
    fig, ax = _axes(ax)
    for method, g in errors.groupby("method", sort=False):
        (line,) = ax.plot([], [])
        color = line.get_color()
        ax.plot(g["customers"], g[metric] * 100, "o", color=color, alpha=0.25, ms=4)
        cls = g.groupby("size_class", sort=False).agg(
            n=("customers", lambda c: float(np.exp(np.log(c).mean()))),
            mean=(metric, "mean"),
            se=(metric, lambda v: v.std(ddof=1) / np.sqrt(v.count()) if v.count() > 1 else 0),
        )
        cls = cls.sort_values("n")
        ax.errorbar(
            cls["n"],
            cls["mean"] * 100,
            yerr=cls["se"] * 100,
            fmt="o-",
            color=color,
            capsize=3,
            label=method,
        )
    ax.set_xscale("log")
    ax.set_xlabel("customers in the segment (log scale; lines: size-class means ± s.e.)")
    ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    ax.set_title("error by segment size: partial pooling vs independent vs pooled")
    ax.legend(title="pooling")
    return fig
