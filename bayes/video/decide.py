"""Deciding between the integrated feed and the standalone app, before and after a pilot.

Before (seed §7.3, §8): the Monte Carlo summaries of ΔCore for each mode and for the difference
standalone − integrated, the probability that standalone wins, and the expected loss of each
choice — choosing integrated loses ``max(0, ΔCore_stand − ΔCore_int)`` Core users in a draw
where standalone was better, and vice versa. The recommendation is the choice with the smaller
expected loss (equivalently the larger mean ΔCore).

After a pilot (seed §9–§11, :func:`update`): the video priors are conditioned on the pilot with
NUTS (:class:`models.video.VideoPilotModel`), then

* the standalone multipliers α̂ and β̂ are summarised (posterior mean, median, central 50% and
  90% intervals, beside the prior's) and placed on the seed's sensitivity heatmap D(α, β);
* the decision is taken under the full posterior: every posterior draw goes through the exact
  population simulation (``VideoPilotModel.predict``) and :func:`decide`;
* the seed's §11 rule is stated (:func:`rule_11`): standalone only if the evidence puts (α, β)
  in the blue region, D(α, β) > 0, with high posterior probability.

Every interval is central (equal-tailed) and named by :func:`priors.spec.interval_names`
(``lower_90`` / ``upper_90``), in tables and JSON alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from models.sampling import SamplerConfig
from models.summaries import SAMPLE_DIMS, interval_dict
from priors.spec import interval_names
from priors.video import VideoPriors

__all__ = [
    "BLUE_THRESHOLD",
    "UpdateResult",
    "alpha_beta_table",
    "decide",
    "decision_table",
    "multiplier_summary",
    "ppc_table",
    "rule_11",
    "simulation_summary",
    "summarize",
    "update",
    "usage_summary",
    "usage_table",
]

#: "high posterior probability" of the blue region required by the §11 rule (a choice: the
#: seed gives no number)
BLUE_THRESHOLD = 0.9


# --------------------------------------------------------------------------- summaries


def summarize(x, prob: float = 0.9) -> dict[str, float]:
    """``mean, sd, median, lower_90, upper_90`` of a sample (seed §7.3: mean, sd, p5, p50,
    p95)."""
    return interval_dict(x, prob)


def _flat(da: xr.DataArray) -> xr.DataArray:
    """``chain, draw`` (or ``draw``) stacked into one ``draw`` dim."""
    if "chain" in da.dims:
        da = da.stack(sample=SAMPLE_DIMS).drop_vars(["sample", *SAMPLE_DIMS], errors="ignore")
        da = da.rename(sample="draw")
    return da


def decide(delta_core: xr.DataArray, prob: float = 0.9) -> dict:
    """Summarise ΔCore (dims ``draw, mode`` or ``chain, draw, mode``) into the decision.

    Returns ``{"integrated": {mean, sd, median, lower_90, upper_90}, "standalone": {...},
    "difference": {..., p_standalone_better, mc_se}, "expected_loss": {"integrated":
    E[max(0, stand − int)], "standalone": E[max(0, int − stand)]}, "recommendation"}``.

    ``difference.mc_se`` is the Monte Carlo standard error of its mean, sd / sqrt(S).
    """
    delta_core = _flat(delta_core)
    if set(delta_core.dims) != {"draw", "mode"}:
        raise ValueError(
            f"delta_core must have dims (draw, mode) or (chain, draw, mode), got {delta_core.dims}"
        )
    integ = delta_core.sel(mode="integrated").to_numpy()
    stand = delta_core.sel(mode="standalone").to_numpy()
    diff = stand - integ
    out = {"integrated": summarize(integ, prob), "standalone": summarize(stand, prob)}
    d = summarize(diff, prob)
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


def usage_summary(ds: xr.Dataset, prob: float = 0.9) -> dict:
    """Weekly video usage per mode: adopters, sessions and minutes (population totals) and per
    adopter, each as ``mean, sd, median, lower_90, upper_90`` over draws."""
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
        out[str(mode)] = {k: _finite_summary(v, prob) for k, v in entries.items()}
    return out


def _finite_summary(x: np.ndarray, prob: float) -> dict[str, float]:
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        lo, hi = interval_names(prob)
        return dict.fromkeys(("mean", "sd", "median", lo, hi), float("nan"))
    return summarize(x, prob)


def simulation_summary(ds: xr.Dataset, priors: VideoPriors | None = None) -> dict:
    """Everything ``bayes video simulate --json`` prints: :func:`decide` on ``delta_core``, the
    population sizes, :func:`usage_summary`, the run's settings and the priors used (the
    review table of :meth:`priors.spec.PriorSet.table`)."""
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


_DECISION_ROWS = (
    ("integrated", "ΔCore_integrated"),
    ("standalone", "ΔCore_standalone"),
    ("difference", "ΔCore_standalone − ΔCore_integrated"),
)


def decision_table(summary: dict, scale: float = 1.0, prob: float = 0.9) -> pd.DataFrame:
    """One row per quantity (ΔCore of each mode, their difference): ``mean, sd, median,
    lower_90, upper_90`` (divided by ``scale``), the expected loss of choosing the mode and
    P(standalone better)."""
    lo, hi = interval_names(prob)
    rows = []
    for key, label in _DECISION_ROWS:
        s = summary[key]
        rows.append(
            {
                "quantity": label,
                **{k: s[k] / scale for k in ("mean", "sd", "median", lo, hi)},
                "expected_loss_if_chosen": summary["expected_loss"].get(key, np.nan) / scale,
                "p_standalone_better": s.get("p_standalone_better", np.nan),
            }
        )
    return pd.DataFrame(rows)


def usage_table(summary: dict) -> pd.DataFrame:
    """Weekly video usage per mode (mean and 90% interval), one row per mode and quantity."""
    rows = []
    for mode, entries in summary["usage"].items():
        for quantity, s in entries.items():
            rows.append({"mode": mode, "quantity": quantity, **s})
    return pd.DataFrame(rows)


def _draws(idata, name: str, group: str = "posterior") -> np.ndarray:
    return np.asarray(getattr(idata, group)[name].to_numpy(), dtype=float).ravel()


def multiplier_summary(idata, name: str) -> dict:
    """α or β: posterior ``mean, sd, median``, central 50% and 90% intervals (``lower_50``,
    ``upper_50``, ``lower_90``, ``upper_90``), and the prior's 90% interval
    (``prior_median``, ``prior_lower_90``, ``prior_upper_90``, from the ``prior`` group)."""
    x = _draws(idata, name)
    out = summarize(x, 0.9)
    out.update(dict(zip(interval_names(0.5), np.quantile(x, [0.25, 0.75]).tolist(), strict=True)))
    if hasattr(idata, "prior") and name in idata.prior:
        p = summarize(_draws(idata, name, "prior"), 0.9)
        out.update({f"prior_{k}": p[k] for k in ("median", "lower_90", "upper_90")})
    return out


def alpha_beta_table(summary: dict) -> pd.DataFrame:
    """α̂ and β̂ (from :func:`update`'s summary): one row each with the posterior median, mean,
    50% and 90% intervals, and the prior's 90% interval."""
    cols = (
        "median",
        "mean",
        "sd",
        "lower_50",
        "upper_50",
        "lower_90",
        "upper_90",
        "prior_lower_90",
        "prior_upper_90",
    )
    return pd.DataFrame(
        [
            {"multiplier": name, **{c: summary[f"{name}_hat"].get(c, np.nan) for c in cols}}
            for name in ("alpha", "beta")
        ]
    )


def ppc_table(idata, prob: float = 0.9) -> pd.DataFrame:
    """Posterior predictive check per observed count: observed value, predictive mean and
    central ``prob`` interval (``predicted_lower_90``, ``predicted_upper_90``), and the
    two-sided posterior predictive p-value ``2 · min(P(y_rep ≥ y), P(y_rep ≤ y))``."""
    lo, hi = interval_names(prob, "predicted")
    rows = []
    for var in idata.observed_data.data_vars:
        obs = idata.observed_data[var]
        rep = idata.posterior_predictive[var]
        (dim,) = obs.dims
        rep_flat = rep.stack(sample=SAMPLE_DIMS).transpose(dim, "sample").to_numpy()
        for i, label in enumerate(obs[dim].to_numpy()):
            y = float(obs.to_numpy()[i])
            r = rep_flat[i]
            p = 2 * min(np.mean(r >= y), np.mean(r <= y))
            q = np.quantile(r, [(1 - prob) / 2, (1 + prob) / 2])
            rows.append(
                {
                    "variable": str(var),
                    "row": str(label),
                    "observed": y,
                    "predicted_mean": float(r.mean()),
                    lo: float(q[0]),
                    hi: float(q[1]),
                    "ppp": float(min(p, 1.0)),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- §11 rule


def grid_axes(a: np.ndarray, b: np.ndarray, step: float = 0.05):
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


@dataclass
class UpdateResult:
    """Everything :func:`update` produced; :func:`bayes.video.report.write_update` saves it."""

    model: object  # models.video.VideoPilotModel, fitted
    summary: dict
    decision: dict
    prediction: xr.Dataset
    grid: xr.DataArray
    pilot: pd.DataFrame
    priors: VideoPriors
    files: dict = field(default_factory=dict)

    @property
    def idata(self):
        return self.model.idata_

    @property
    def multiplier_draws(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of α and β (chains stacked), for the heatmap plot."""
        return _draws(self.idata, "alpha"), _draws(self.idata, "beta")


def update(
    pilot: pd.DataFrame,
    priors: VideoPriors | None = None,
    *,
    sampler: SamplerConfig | None = None,
    grid_draws: int = 2000,
    source: str | os.PathLike | None = None,
) -> UpdateResult:
    """Posterior after a validated pilot (:func:`bayes.video.data.validate_pilot`),
    diagnostics, (α̂, β̂) on the heatmap and the decision under the posterior.

    ``sampler.seed`` drives everything random — NUTS, the predictive draws, the population
    simulation and the heatmap (:func:`models.video.seed_streams`) — so the same pilot, priors
    and seed give the same numbers. Convergence is checked under the one rule of
    :mod:`models.diagnostics` and reported in the summary (``ok``, ``problems``).
    """
    from bayes import __version__
    from bayes.video.sensitivity import sensitivity_grid
    from models.video import VideoPilotModel, seed_streams

    priors = priors or VideoPriors()
    cfg = sampler or SamplerConfig()
    model = VideoPilotModel(priors=priors, sampler=cfg).fit(pilot, source=source)
    prediction = model.predict()
    decision = decide(prediction["delta_core"])
    idata = model.idata_
    a, b = _draws(idata, "alpha"), _draws(idata, "beta")
    alphas, betas = grid_axes(a, b)
    grid = sensitivity_grid(
        priors, alphas=alphas, betas=betas, draws=grid_draws, seed=seed_streams(cfg.seed)["grid"]
    )
    diag = model.diagnostics_
    summary = {
        "alpha_hat": multiplier_summary(idata, "alpha"),
        "beta_hat": multiplier_summary(idata, "beta"),
        "interval_kind": "central posterior intervals: lower_50/upper_50 = q25–q75, "
        "lower_90/upper_90 = q5–q95",
        "p_standalone_better": decision["difference"]["p_standalone_better"],
        "expected_loss": decision["expected_loss"],
        "recommendation": decision["recommendation"],
        "delta_core": {k: decision[k] for k in ("integrated", "standalone", "difference")},
        "rule_11": rule_11(grid, a, b),
        "r_hat_max": diag.r_hat_max,
        "ess_bulk_min": diag.ess_bulk_min,
        "ess_tail_min": diag.ess_tail_min,
        "divergences": diag.divergences,
        "ok": diag.ok,
        "problems": diag.problems,
        "diagnostics": diag.to_dict(),
        "pilot": {
            "source": idata.attrs["data_source"],
            "data_hash": idata.attrs["data_hash"],
            "segments": list(dict.fromkeys(pilot["segment"])),
            "rows": len(pilot),
            "users": int(pilot["users"].sum()),
        },
        "sampler": cfg.to_dict(),
        "population": "high-engagement clusters 0, 2, 3 of the 24M base (seed §7)",
        "package_version": __version__,
    }
    return UpdateResult(
        model=model,
        summary=summary,
        decision=decision,
        prediction=prediction,
        grid=grid,
        pilot=pilot,
        priors=priors,
    )
