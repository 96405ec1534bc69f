"""Convergence diagnostics shipped with every posterior.

A fit is called good only when r-hat, bulk and tail ESS and the divergence count all pass;
otherwise :func:`check_fit` warns loudly and the JSON outputs carry ``"ok": false`` with the
list of problems.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np


class FitDiagnosticsWarning(UserWarning):
    """Raised (as a warning) when a posterior fails its convergence checks."""


@dataclass
class FitDiagnostics:
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int
    ok: bool
    problems: list[str] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_diagnostics(
    idata,
    var_names=None,
    *,
    r_hat_max: float = 1.01,
    ess_min: float = 400.0,
    max_divergences: int = 0,
) -> FitDiagnostics:
    """Summarise r-hat, bulk/tail ESS and divergences of ``idata.posterior``.

    Thresholds follow Vehtari et al. (2021): r-hat <= 1.01 and bulk/tail ESS >= 400 by
    default; lower ``ess_min`` for deliberately short runs (tests, quick demos).
    """
    import arviz as az

    post = idata.posterior
    if var_names is not None:
        post = post[list(var_names)]
    rhat = az.rhat(post)
    ess_bulk = az.ess(post, method="bulk")
    ess_tail = az.ess(post, method="tail")

    def _extreme(ds, fn):
        vals = [float(fn(ds[v].values)) for v in ds.data_vars if ds[v].size]
        vals = [v for v in vals if np.isfinite(v)]
        return fn(np.array(vals)) if vals else float("nan")

    r_hat = _extreme(rhat, np.nanmax)
    eb = _extreme(ess_bulk, np.nanmin)
    et = _extreme(ess_tail, np.nanmin)
    div = 0
    if hasattr(idata, "sample_stats") and "diverging" in idata.sample_stats:
        div = int(idata.sample_stats["diverging"].sum())
    chains = int(post.sizes.get("chain", 1))
    draws = int(post.sizes.get("draw", 0))
    problems = []
    if chains > 1 and not (r_hat <= r_hat_max):
        problems.append(f"r_hat_max {r_hat:.3f} > {r_hat_max}")
    if not (eb >= ess_min):
        problems.append(f"ess_bulk_min {eb:.0f} < {ess_min:.0f}")
    if not (et >= ess_min):
        problems.append(f"ess_tail_min {et:.0f} < {ess_min:.0f}")
    if div > max_divergences:
        problems.append(f"{div} divergent transitions")
    return FitDiagnostics(
        r_hat_max=r_hat,
        ess_bulk_min=eb,
        ess_tail_min=et,
        divergences=div,
        chains=chains,
        draws=draws,
        ok=not problems,
        problems=problems,
        thresholds={"r_hat_max": r_hat_max, "ess_min": ess_min, "max_divergences": max_divergences},
    )


def check_fit(idata, what: str = "posterior", **thresholds) -> FitDiagnostics:
    """Compute diagnostics and warn loudly (warning + stderr banner) if any check fails."""
    diag = fit_diagnostics(idata, **thresholds)
    if not diag.ok:
        msg = f"{what} FAILED convergence checks: " + "; ".join(diag.problems)
        warnings.warn(msg, FitDiagnosticsWarning, stacklevel=2)
        print(f"\n*** WARNING: {msg} ***\n", file=sys.stderr)
    return diag
