"""Convergence diagnostics shipped with every posterior: one rule for every domain.

A fit is called good only when all of these hold (Vehtari, Gelman, Simpson, Carpenter &
Bürkner 2021, "Rank-normalization, folding, and localization: an improved R̂"):

* at least two chains — with one chain r̂ cannot be computed, so the fit *cannot be checked*
  and is not ok;
* rank-normalised split r̂ ≤ 1.01 for every scalar of the checked variables;
* bulk and tail ESS ≥ 100 per chain (400 for the default four chains);
* no divergent transition;
* where the trajectories ran on a surrogate and each transition was accepted against the
  exact posterior (:mod:`models.ltv.surrogate`), a mean acceptance of at least
  :data:`SURROGATE_ACCEPTANCE_MIN` (below it the draws are still exact, but the surrogate is
  poor and the chains stick; the ESS shows the cost, this says why).

Otherwise :func:`check_fit` warns loudly (a :class:`FitDiagnosticsWarning` and a banner on
stderr) and every JSON output carries ``"ok": false`` with the list of problems. The
thresholds are not per-domain settings: a short run fails them, and says so.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "ESS_PER_CHAIN",
    "R_HAT_MAX",
    "SURROGATE_ACCEPTANCE_MIN",
    "FitDiagnostics",
    "FitDiagnosticsWarning",
    "check_fit",
    "fit_diagnostics",
]

#: r̂ threshold (Vehtari et al. 2021)
R_HAT_MAX = 1.01
#: bulk and tail ESS needed per chain (Vehtari et al. 2021: 100 per chain)
ESS_PER_CHAIN = 100
#: least mean acceptance of surrogate-trajectory transitions against the exact posterior
SURROGATE_ACCEPTANCE_MIN = 0.8


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
    method: str = "NUTS"
    surrogate_acceptance: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        status = "ok" if self.ok else "FAILED: " + "; ".join(self.problems)
        return (
            f"r_hat_max {self.r_hat_max:.3f}, ess_bulk_min {self.ess_bulk_min:.0f}, "
            f"ess_tail_min {self.ess_tail_min:.0f}, divergences {self.divergences}, "
            f"{self.chains} chains × {self.draws} draws ({status})"
        )


def fit_diagnostics(idata, var_names=None, *, method: str = "NUTS") -> FitDiagnostics:
    """r̂, bulk/tail ESS and divergences of ``idata.posterior`` under the one rule above.

    ``var_names`` restricts the check to the sampled parameters (deterministic transforms of
    them add nothing). ``method`` is recorded; for exact independent draws
    (``"exact"``) the same checks apply and pass unless the draws are too few.
    """
    import arviz as az

    post = idata.posterior
    if var_names is not None:
        post = post[list(var_names)]
    chains = int(post.sizes.get("chain", 1))
    draws = int(post.sizes.get("draw", 0))
    ess_min = float(ESS_PER_CHAIN * chains)

    def _extreme(ds, fn):
        vals = [float(fn(ds[v].values)) for v in ds.data_vars if ds[v].size]
        vals = [v for v in vals if np.isfinite(v)]
        return float(fn(np.array(vals))) if vals else float("nan")

    problems = []
    if chains >= 2 and draws >= 4:
        r_hat = _extreme(az.rhat(post), np.nanmax)
        if not (r_hat <= R_HAT_MAX):
            problems.append(f"r_hat_max {r_hat:.3f} > {R_HAT_MAX}")
    else:
        r_hat = float("nan")
        problems.append(
            f"r̂ needs at least two chains (got {chains} × {draws} draws): "
            "convergence cannot be checked"
        )
    if draws >= 4:
        eb = _extreme(az.ess(post, method="bulk"), np.nanmin)
        et = _extreme(az.ess(post, method="tail"), np.nanmin)
    else:
        eb = et = float("nan")
    if not (eb >= ess_min):
        problems.append(f"ess_bulk_min {eb:.0f} < {ess_min:.0f} ({ESS_PER_CHAIN} per chain)")
    if not (et >= ess_min):
        problems.append(f"ess_tail_min {et:.0f} < {ess_min:.0f} ({ESS_PER_CHAIN} per chain)")
    div = 0
    if hasattr(idata, "sample_stats") and "diverging" in idata.sample_stats:
        div = int(idata.sample_stats["diverging"].sum())
    if div > 0:
        total = chains * draws
        problems.append(f"{div} divergent transitions ({div / max(total, 1):.1%} of draws)")
    accept = None
    if hasattr(idata, "sample_stats") and "surrogate_accept" in idata.sample_stats:
        accept = float(idata.sample_stats["surrogate_accept"].mean())
        if not (accept >= SURROGATE_ACCEPTANCE_MIN):
            problems.append(
                f"surrogate_acceptance {accept:.2f} < {SURROGATE_ACCEPTANCE_MIN} (the exact "
                "correction rejected many surrogate transitions: fit with surrogate=False)"
            )
    return FitDiagnostics(
        r_hat_max=r_hat,
        ess_bulk_min=eb,
        ess_tail_min=et,
        divergences=div,
        chains=chains,
        draws=draws,
        ok=not problems,
        problems=problems,
        thresholds={
            "r_hat_max": R_HAT_MAX,
            "ess_min": ess_min,
            "ess_per_chain": ESS_PER_CHAIN,
            "max_divergences": 0,
            "min_chains": 2,
            "surrogate_acceptance_min": SURROGATE_ACCEPTANCE_MIN,
        },
        method=method,
        surrogate_acceptance=accept,
    )


def check_fit(
    idata, what: str = "posterior", var_names=None, *, method: str = "NUTS", warn: bool = True
) -> FitDiagnostics:
    """:func:`fit_diagnostics`, warning loudly (warning + stderr banner) if any check fails."""
    diag = fit_diagnostics(idata, var_names=var_names, method=method)
    if warn and not diag.ok:
        msg = f"{what} FAILED convergence checks: " + "; ".join(diag.problems)
        warnings.warn(msg, FitDiagnosticsWarning, stacklevel=2)
        print(f"\n*** WARNING: {msg} ***\n", file=sys.stderr)
    return diag
