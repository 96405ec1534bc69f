"""Decision summaries for the video strategy: ΔCore by mode, their difference, expected loss.

The Monte Carlo summaries of seed §7.3 (mean, sd, p5, p50, p95 over S runs) for each mode and
for the difference standalone − integrated (§8.3), the probability that standalone wins, and the
expected loss of each choice: choosing integrated loses ``max(0, ΔCore_stand − ΔCore_int)``
Core users in a draw where standalone was better, and vice versa. The recommendation is the
choice with the smaller expected loss (equivalently the larger mean ΔCore).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["decide", "simulation_summary", "summarize", "usage_summary"]

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
