"""``bayes inspect FILE.nc``: what a reviewer needs from any posterior the workbench saved.

Prints the file's groups and attrs (prior spec, data hash, seed, package version), the ArviZ
summary with 90% highest-density intervals (``hdi_prob=0.9``, stated in the header) and the
convergence diagnostics of :mod:`bayes.diagnostics`; writes ``<stem>_trace.png`` and
``<stem>_posterior.png`` (``az.plot_trace``, ``az.plot_posterior``) next to the file or into
``--out``. Nothing is hard-coded: the variables are read from the file (the video update, the
LTV and signup fits alike); large vector variables are left out of the plots (``--max-size``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes.io import InputError, dumps

HDI_PROB = 0.9

EPILOG = """\
examples:
  bayes inspect fit/posterior.nc
  bayes inspect fit/posterior.nc --var alpha beta --out review/
  bayes inspect reports/demo/posteriors/video_update.nc --json
"""


def register(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="summary, diagnostics, trace and posterior plots of a saved posterior (.nc)",
        description="Open an ArviZ NetCDF written by the workbench; print the summary "
        f"(hdi_prob={HDI_PROB}) and diagnostics (r-hat, ESS bulk/tail, divergences); write "
        "trace and posterior plots.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="NetCDF file (InferenceData)")
    p.add_argument(
        "--var", nargs="+", default=None, help="variables (default: all, see --max-size)"
    )
    p.add_argument("--out", default=None, help="folder for the plots (default: next to the file)")
    p.add_argument(
        "--max-size",
        type=int,
        default=16,
        help="leave variables with more elements per draw out of the summary and plots "
        "unless named in --var (default: %(default)s)",
    )
    p.add_argument("--no-plots", action="store_true", help="print only")
    p.add_argument("--json", action="store_true", help="print summary and diagnostics as JSON")
    p.set_defaults(func=_cmd_inspect)


def load(path: str | Path):
    """Open an InferenceData NetCDF, with a clear error if it is not one."""
    import arviz as az

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=path)
    try:
        idata = az.from_netcdf(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure is an input error
        raise InputError(f"not an ArviZ NetCDF file ({exc})", source=path) from exc
    if not hasattr(idata, "posterior"):
        raise InputError("the file has no posterior group", source=path)
    return idata


def _per_draw(da) -> int:
    """Elements of a posterior variable per (chain, draw)."""
    return int(da.size // max(1, da.sizes.get("chain", 1) * da.sizes.get("draw", 1)))


def pick_vars(idata, var=None, max_size: int = 16) -> list[str]:
    """Variables to summarise: ``var`` if given (checked), else every posterior variable
    with at most ``max_size`` elements per draw (the rest are listed as skipped)."""
    post = idata.posterior
    if var:
        missing = [v for v in var if v not in post]
        if missing:
            raise InputError(f"unknown variable(s) {missing}; the file has {list(post.data_vars)}")
        return list(var)
    return [str(name) for name, da in post.data_vars.items() if _per_draw(da) <= max_size]


def inspect(
    path: str | Path,
    *,
    var=None,
    out: str | Path | None = None,
    max_size: int = 16,
    plots: bool = True,
) -> dict:
    """Summary (``hdi_prob`` 0.9), diagnostics and plots of a saved posterior; returns a dict
    with ``groups``, ``attrs``, ``summary`` (DataFrame), ``diagnostics``, ``skipped``,
    ``files``."""
    import arviz as az

    from bayes.diagnostics import fit_diagnostics

    path = Path(path)
    idata = load(path)
    names = pick_vars(idata, var, max_size)
    skipped = [str(v) for v in idata.posterior.data_vars if v not in names]
    summary = az.summary(idata, var_names=names, hdi_prob=HDI_PROB) if names else None
    diag = fit_diagnostics(idata, var_names=names or None)
    files = {}
    if plots and names:
        import matplotlib.pyplot as plt

        from bayes.io import save_figure

        folder = Path(out) if out else path.parent
        folder.mkdir(parents=True, exist_ok=True)
        axes = az.plot_trace(idata, var_names=names, compact=True)
        files["trace"] = save_figure(
            axes.ravel()[0].figure, folder / f"{path.stem}_trace.png", close=True
        )
        n_plots = sum(_per_draw(idata.posterior[v]) for v in names)
        with az.rc_context({"plot.max_subplots": max(40, n_plots)}):
            axes = az.plot_posterior(idata, var_names=names, hdi_prob=HDI_PROB)
        fig = axes.ravel()[0].figure if hasattr(axes, "ravel") else axes.figure
        files["posterior"] = save_figure(fig, folder / f"{path.stem}_posterior.png", close=True)
        plt.close("all")
    attrs = {k: v for k, v in idata.attrs.items() if k != "prior_spec"}
    if "prior_spec" in idata.attrs:
        attrs["prior_spec"] = f"<{len(str(idata.attrs['prior_spec']))} characters of JSON>"
    return {
        "file": str(path),
        "groups": list(idata.groups()),
        "attrs": attrs,
        "hdi_prob": HDI_PROB,
        "summary": summary,
        "diagnostics": diag.to_dict(),
        "skipped": skipped,
        "files": {k: str(v) for k, v in files.items()},
    }


def _cmd_inspect(args) -> int:
    import pandas as pd

    res = inspect(
        args.file, var=args.var, out=args.out, max_size=args.max_size, plots=not args.no_plots
    )
    if args.json:
        out = dict(res)
        s = res["summary"]
        out["summary"] = None if s is None else s.reset_index(names="variable")
        print(dumps(out))
        return 0
    print(f"{res['file']}: groups {', '.join(res['groups'])}")
    for k, v in res["attrs"].items():
        print(f"  {k}: {v}")
    if res["summary"] is not None:
        print(f"\nArviZ summary (hdi_prob={HDI_PROB}: hdi_5% / hdi_95% bound the 90% HDI)")
        with pd.option_context("display.width", 140, "display.max_rows", 200):
            print(res["summary"].to_string())
    if res["skipped"]:
        print(
            f"\nnot summarised (more than {args.max_size} values per draw; use --var): "
            + ", ".join(res["skipped"])
        )
    d = res["diagnostics"]
    status = "ok" if d["ok"] else "FAILED: " + "; ".join(d["problems"])
    print(
        f"\ndiagnostics: r_hat_max {d['r_hat_max']:.3f}, ess_bulk_min {d['ess_bulk_min']:.0f}, "
        f"ess_tail_min {d['ess_tail_min']:.0f}, divergences {d['divergences']}, "
        f"{d['chains']} chains × {d['draws']} draws ({status})"
    )
    for k, v in res["files"].items():
        print(f"{k} plot: {v}")
    return 0
