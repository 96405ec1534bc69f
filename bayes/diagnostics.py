"""Convergence diagnostics: the one rule lives in :mod:`models.diagnostics`; re-exported here
for the workbench layer."""

from models.diagnostics import (  # noqa: F401
    ESS_PER_CHAIN,
    R_HAT_MAX,
    FitDiagnostics,
    FitDiagnosticsWarning,
    check_fit,
    fit_diagnostics,
)
