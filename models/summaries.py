"""Tables are summaries of draws: one function per kind, one naming convention.

Predictions are xarray objects with ``chain, draw, <entity>`` dims; :func:`draws_table` turns
them into the per-entity table every CLI and report shows (``{var}_mean``, ``{var}_sd``,
``{var}_lower_90``, ``{var}_upper_90``), and :func:`posterior_summary` gives the parameter
table of a fit (``mean, sd, median, lower_90, upper_90, ess_bulk, ess_tail, r_hat``). Intervals
are central (equal-tailed) posterior intervals, named by :func:`priors.spec.interval_names`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from priors.spec import interval_names

__all__ = ["SAMPLE_DIMS", "draws_table", "interval_dict", "posterior_summary", "stack_draws"]

SAMPLE_DIMS: tuple[str, str] = ("chain", "draw")


def stack_draws(da: xr.DataArray) -> xr.DataArray:
    """``chain, draw`` stacked into one leading ``sample`` dim."""
    return da.stack(sample=SAMPLE_DIMS).transpose("sample", ...)


def interval_dict(x, prob: float = 0.9) -> dict:
    """``{"mean", "sd", "median", "lower_90", "upper_90"}`` of a flat array of draws."""
    x = np.asarray(x, dtype=float).ravel()
    lo_name, hi_name = interval_names(prob)
    lo, med, hi = np.quantile(x, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "median": float(med),
        lo_name: float(lo),
        hi_name: float(hi),
    }


def draws_table(
    ds: xr.Dataset | xr.DataArray, prob: float = 0.9, *, stats=("mean", "sd", "interval")
) -> pd.DataFrame:
    """Per-entity summary of draws: for each variable ``v``, columns ``v_mean``, ``v_sd``,
    ``v_lower_90``, ``v_upper_90`` (as ``stats`` asks), indexed by the remaining dims."""
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "value")
    q = [(1 - prob) / 2, (1 + prob) / 2]
    cols = {}
    for name, da in ds.data_vars.items():
        dims = [d for d in SAMPLE_DIMS if d in da.dims]
        lo_name, hi_name = interval_names(prob, str(name))
        if "mean" in stats:
            cols[f"{name}_mean"] = da.mean(dims)
        if "sd" in stats:
            cols[f"{name}_sd"] = da.std(dims, ddof=1)
        if "median" in stats:
            cols[f"{name}_median"] = da.median(dims)
        if "interval" in stats:
            qs = da.quantile(q, dim=dims)
            cols[lo_name] = qs.isel(quantile=0, drop=True)
            cols[hi_name] = qs.isel(quantile=1, drop=True)
    out = xr.Dataset(cols)
    if not out.dims:
        return pd.DataFrame([{k: float(v) for k, v in out.items()}])
    return out.to_dataframe()[list(cols)]


def posterior_summary(idata, var_names=None, prob: float = 0.9, group: str = "posterior"):
    """Parameter table: one row per scalar (``variable``, its coords as ``coords``) with
    ``mean, sd, median, lower_90, upper_90, ess_bulk, ess_tail, r_hat``."""
    import arviz as az

    ds = getattr(idata, group)
    names = list(var_names) if var_names is not None else list(ds.data_vars)
    ds = ds[names]
    lo_name, hi_name = interval_names(prob)
    chains = ds.sizes.get("chain", 1)
    diag = None
    if group == "posterior" and ds.sizes.get("draw", 0) >= 4:
        diag = {
            "ess_bulk": az.ess(ds, method="bulk"),
            "ess_tail": az.ess(ds, method="tail"),
            "r_hat": az.rhat(ds) if chains >= 2 else None,
        }
    rows = []
    for name in names:
        da = ds[name]
        extra = [d for d in da.dims if d not in SAMPLE_DIMS]
        flat = da.stack(sample=SAMPLE_DIMS) if extra else da.stack(sample=SAMPLE_DIMS)
        flat = flat.stack(cell=extra) if extra else flat.expand_dims(cell=[0])
        flat = flat.transpose("cell", "sample")
        values = flat.to_numpy().astype(float)
        q = np.quantile(values, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=1)
        labels = (
            [", ".join(map(str, c if isinstance(c, tuple) else (c,))) for c in flat["cell"].values]
            if extra
            else [""]
        )
        for i, label in enumerate(labels):
            row = {
                "variable": str(name),
                "coords": label,
                "mean": float(values[i].mean()),
                "sd": float(values[i].std(ddof=1)) if values.shape[1] > 1 else 0.0,
                "median": float(q[1, i]),
                lo_name: float(q[0, i]),
                hi_name: float(q[2, i]),
            }
            if diag is not None:
                for k, d in diag.items():
                    if d is None:
                        row[k] = float("nan")
                        continue
                    v = d[name]
                    v = v.stack(cell=extra).transpose("cell") if extra else v.expand_dims(cell=[0])
                    row[k] = float(v.values[i])
            rows.append(row)
    return pd.DataFrame(rows)
