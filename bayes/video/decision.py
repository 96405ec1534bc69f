"""Decision summaries for the video strategy: ΔCore by mode, their difference, expected loss.

The Monte Carlo summaries of seed §7.3 (mean, sd, p5, p50, p95 over S runs) for each mode and
for the difference standalone − integrated (§8.3), the probability that standalone wins, and the
expected loss of each choice: choosing integrated loses ``max(0, ΔCore_stand − ΔCore_int)``
Core users in a draw where standalone was better, and vice versa. The recommendation is the
choice with the smaller expected loss (equivalently the larger mean ΔCore).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "decide",
    "decision_table",
    "plot_decision",
    "simulation_summary",
    "summarize",
    "usage_summary",
    "usage_table",
]

QUANTILES = {"p5": 0.05, "p50": 0.50, "p95": 0.95}


def summarize(x) -> dict[str, float]:
    """Mean, sd and the 5%, 50%, 95% quantiles of a 1-D sample (seed §7.3)."""
    x = np.asarray(x, dtype=float).ravel()
    out = {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0}
    qs = np.quantile(x, list(QUANTILES.values()))
    out.update({k: float(q) for k, q in zip(QUANTILES, qs, strict=True)})
    return out


def decide(delta_core: xr.DataArray) -> dict:
    """Summarise ΔCore (dims draw, mode) into the integrated-vs-standalone decision.

    Returns ``{"integrated": {mean, sd, p5, p50, p95}, "standalone": {...}, "difference":
    {mean, sd, p5, p50, p95, p_standalone_better, mc_se}, "expected_loss": {"integrated":
    E[max(0, stand − int)], "standalone": E[max(0, int − stand)]}, "recommendation"}``.

    ``difference.mc_se`` is the Monte Carlo standard error of its mean, sd / sqrt(S).
    """
    if set(delta_core.dims) != {"draw", "mode"}:
        raise ValueError(f"delta_core must have dims (draw, mode), got {delta_core.dims}")
    integ = delta_core.sel(mode="integrated").to_numpy()
    stand = delta_core.sel(mode="standalone").to_numpy()
    diff = stand - integ
    out = {"integrated": summarize(integ), "standalone": summarize(stand)}
    d = summarize(diff)
    d["p_standalone_better"] = float(np.mean(diff > 0))
    d["mc_se"] = float(d["sd"] / np.sqrt(diff.size))
    out["difference"] = d
    loss = {
        "integrated": float(np.mean(np.maximum(diff, 0.0))),
        "standalone": float(np.mean(np.maximum(-diff, 0.0))),
    }
    out["expected_loss"] = loss
    out["recommendation"] = (
        "standalone" if loss["standalone"] < loss["integrated"] else "integrated"
    )
    return out


def usage_summary(ds: xr.Dataset) -> dict:
    """Weekly video usage per mode: adopters, sessions and minutes (population totals) and per
    adopter, each as mean and 90% interval (p5, p95) over draws."""
    out = {}
    for mode in ds["mode"].to_numpy():
        sub = ds.sel(mode=mode)
        adopters = sub["adopters"].to_numpy()
        safe = np.where(adopters > 0, adopters, np.nan)
        entries = {
            "adopters": adopters,
            "sessions": sub["sessions"].to_numpy(),
            "minutes": sub["minutes"].to_numpy(),
            "sessions_per_adopter": sub["sessions"].to_numpy() / safe,
            "minutes_per_adopter": sub["minutes"].to_numpy() / safe,
        }
        out[str(mode)] = {k: _mean_interval(v) for k, v in entries.items()}
    return out


def _mean_interval(x: np.ndarray) -> dict[str, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": float("nan"), "p5": float("nan"), "p95": float("nan")}
    lo, hi = np.quantile(x, [0.05, 0.95])
    return {"mean": float(x.mean()), "p5": float(lo), "p95": float(hi)}


def simulation_summary(ds: xr.Dataset, priors=None) -> dict:
    """Everything ``bayes video simulate --json`` prints: :func:`decide` on ``delta_core``, the
    population sizes, :func:`usage_summary`, the run's settings and the priors used
    (``VideoPriors.summary()`` records)."""
    out = decide(ds["delta_core"])
    out["n_high"] = int(ds.attrs["n_high"])
    out["n_population"] = int(ds.attrs["n_population"])
    out["usage"] = usage_summary(ds)
    out["run"] = {
        k: ds.attrs[k] for k in ("preset", "method", "population", "seed", "n_sim") if k in ds.attrs
    }
    out["run"]["draws"] = int(ds.sizes["draw"])
    if priors is not None:
        out["priors"] = priors.summary().to_dict(orient="records")
    return out


def decision_table(summary: dict, scale: float = 1.0) -> pd.DataFrame:
    """Rows integrated, standalone, standalone − integrated; columns mean, sd, p5, p50, p95
    (ΔCore divided by ``scale``), plus P(standalone better) and expected loss of each choice."""
    rows = []
    for key, label in (
        ("integrated", "integrated"),
        ("standalone", "standalone"),
        ("difference", "standalone − integrated"),
    ):
        s = summary[key]
        rows.append({"": label, **{k: s[k] / scale for k in ("mean", "sd", "p5", "p50", "p95")}})
    table = pd.DataFrame(rows)
    table["expected loss"] = [
        summary["expected_loss"]["integrated"] / scale,
        summary["expected_loss"]["standalone"] / scale,
        np.nan,
    ]
    table["P(standalone better)"] = [np.nan, np.nan, summary["difference"]["p_standalone_better"]]
    return table


def usage_table(summary: dict) -> pd.DataFrame:
    """Weekly video usage per mode (mean and 90% interval), one row per mode and quantity."""
    rows = []
    for mode, entries in summary["usage"].items():
        for quantity, s in entries.items():
            rows.append({"mode": mode, "quantity": quantity, **s})
    return pd.DataFrame(rows)


def plot_decision(ds: xr.Dataset, *, title: str = ""):
    """Overlaid histograms of ΔCore by mode and the histogram of the difference
    standalone − integrated (seed §8). Returns ``(fig, axes)``."""
    import matplotlib.pyplot as plt

    dc = ds["delta_core"] / 1e3
    integ = dc.sel(mode="integrated").to_numpy()
    stand = dc.sel(mode="standalone").to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    lo, hi = np.quantile(np.r_[integ, stand], [0.001, 0.999])
    bins = np.linspace(lo, hi, 50)
    for x, label, color in ((integ, "integrated", "C0"), (stand, "standalone", "C1")):
        axes[0].hist(x, bins=bins, alpha=0.55, color=color, label=f"{label} (mean {x.mean():.0f}k)")
        axes[0].axvline(x.mean(), color=color, lw=1.5)
    axes[0].set_xlabel("ΔCore: incremental Core_90d users (thousands)")
    axes[0].set_ylabel("runs")
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
    return fig, axes
