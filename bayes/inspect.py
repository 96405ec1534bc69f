"""``bayes inspect FILE.nc``: what a reviewer needs from any posterior the workbench saved.

Works on every domain's file (and on any ArviZ NetCDF). It prints

* the provenance (:mod:`models.provenance`: model, domain, data hash, seed, sampler, package
  version, time unit) and the **prior spec as a readable table** (the review table of
  :class:`priors.spec.PriorSet`, the same columns in every domain);
* the parameter summary with central 90% intervals (``lower_90`` / ``upper_90``, the workbench's
  one interval convention), bulk/tail ESS and r̂;
* the convergence diagnostics under the one rule of :mod:`models.diagnostics`;

and writes, into ``--out`` (default ``<file stem>_inspect/`` beside the file, written as a unit):
``trace.png`` and ``posterior.png`` (``az.plot_trace``, ``az.plot_posterior``),
``prior_vs_posterior.png`` (every summarised variable present in both groups) and ``ppc.png``
(``az.plot_ppc`` when the file has a posterior predictive and observed data). Large vector
variables are left out of the summary and plots unless named (``--max-size``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayes.cliargs import add_json_flag, int_range
from bayes.io import InputError, dumps

PROB = 0.9

EPILOG = """\
examples:
  bayes inspect fit/posterior.nc
  bayes inspect fit/posterior.nc --var alpha beta --out review/
  bayes inspect reports/demo/posteriors/video_update.nc --json --no-plots
"""


def register(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="provenance, prior table, summary, diagnostics and plots of a saved posterior (.nc)",
        description="Open a posterior NetCDF written by the workbench (any domain): print its "
        "provenance, the priors it was fitted with as a table, the parameter summary (central "
        f"{PROB:.0%} intervals, ESS, r-hat) and the convergence diagnostics; write trace, "
        "posterior, prior-vs-posterior and posterior predictive plots.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="NetCDF file (ArviZ InferenceData)")
    p.add_argument(
        "--var", nargs="+", default=None, help="variables (default: all, see --max-size)"
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for the plots, written as a unit (default: <stem>_inspect/ beside the file)",
    )
    p.add_argument(
        "--max-size",
        type=int_range(1, 100_000),
        default=16,
        help="leave variables with more elements per draw out of the summary and plots "
        "unless named in --var (default: %(default)s)",
    )
    p.add_argument("--no-plots", action="store_true", help="print only; write nothing")
    add_json_flag(p, "provenance, priors, summary and diagnostics")
    p.set_defaults(func=_cmd_inspect)


def load(path: str | Path):
    """Open an InferenceData NetCDF (loaded into memory), with a clear error if it is not one."""
    import arviz as az

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=path)
    try:
        idata = az.from_netcdf(str(path))
        idata.load()
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


def prior_table(attrs: dict):
    """The prior spec of a file as the review table of :class:`priors.spec.PriorSet`;
    ``None`` when the file holds no spec in that form (older files: the JSON is shown)."""
    from priors.spec import PriorError, PriorSet

    raw = attrs.get("prior_spec", attrs.get("priors"))
    if raw in (None, "", "{}"):
        return None
    try:
        spec = json.loads(raw) if isinstance(raw, str) else raw
        return PriorSet.from_dict(spec).table()
    except (PriorError, ValueError, TypeError, KeyError, AttributeError):
        return None


def provenance(idata) -> dict:
    """The file's attrs with the JSON fields decoded (any file; the schema keys when present)."""
    out = {}
    for k, v in idata.attrs.items():
        if k in ("prior_spec", "priors"):
            continue
        if isinstance(v, str) and v[:1] in "{[":
            try:
                v = json.loads(v)
            except ValueError:
                pass
        out[k] = v.item() if hasattr(v, "item") else v
    return out


def inspect(
    path: str | Path,
    *,
    var=None,
    out: str | Path | None = None,
    max_size: int = 16,
    plots: bool = True,
) -> dict:
    """Provenance, prior table, summary (central ``PROB`` intervals), diagnostics and plots of
    a saved posterior. Returns a dict with ``groups``, ``provenance``, ``priors`` (DataFrame or
    None), ``summary`` (DataFrame), ``diagnostics``, ``skipped``, ``files``."""
    from models.diagnostics import fit_diagnostics
    from models.summaries import posterior_summary

    path = Path(path)
    unit = None
    if plots:
        from bayes.outputs import OutputFolder

        target = Path(out) if out else path.parent / f"{path.stem}_inspect"
        unit = OutputFolder(target, command="inspect", args={"file": str(path)})
    idata = load(path)
    names = pick_vars(idata, var, max_size)
    skipped = [str(v) for v in idata.posterior.data_vars if v not in names]
    summary = posterior_summary(idata, names, PROB) if names else None
    diag = fit_diagnostics(idata, var_names=names or None)
    files = {}
    if unit is not None and names:
        with unit as staging:
            files = _plots(idata, names, staging)
        files = {k: str(unit.target / Path(v).name) for k, v in files.items()}
    prov = provenance(idata)
    return {
        "file": str(path),
        "groups": list(idata.groups()),
        "provenance": prov,
        "priors": prior_table(idata.attrs),
        "prior_spec_raw": None if prior_table(idata.attrs) is not None else _raw_spec(idata),
        "interval": f"central {PROB:.0%} (lower_90 / upper_90)",
        "summary": summary,
        "diagnostics": diag.to_dict(),
        "skipped": skipped,
        "files": files,
    }


def _raw_spec(idata):
    raw = idata.attrs.get("prior_spec", idata.attrs.get("priors"))
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)


def _plots(idata, names: list[str], folder: Path) -> dict[str, Path]:
    import arviz as az
    import matplotlib.pyplot as plt

    from bayes.io import save_figure

    files = {}
    n_plots = sum(_per_draw(idata.posterior[v]) for v in names)
    with az.rc_context({"plot.max_subplots": max(40, n_plots)}):
        axes = az.plot_trace(idata, var_names=names, compact=True)
        files["trace"] = save_figure(axes.ravel()[0].figure, folder / "trace.png")
        axes = az.plot_posterior(idata, var_names=names, hdi_prob=PROB)
        fig = axes.ravel()[0].figure if hasattr(axes, "ravel") else axes.figure
        files["posterior"] = save_figure(fig, folder / "posterior.png")
    both = [v for v in names if hasattr(idata, "prior") and v in idata.prior]
    if both:
        files["prior_vs_posterior"] = save_figure(
            plot_prior_vs_posterior(idata, both), folder / "prior_vs_posterior.png"
        )
    if hasattr(idata, "posterior_predictive") and hasattr(idata, "observed_data"):
        shared = [
            v for v in idata.observed_data.data_vars if v in idata.posterior_predictive.data_vars
        ]
        if shared:
            with az.rc_context({"plot.max_subplots": 40}):
                axes = az.plot_ppc(idata, var_names=shared[:8], num_pp_samples=50, random_seed=0)
            ax0 = axes.ravel()[0] if hasattr(axes, "ravel") else axes
            files["ppc"] = save_figure(ax0.figure, folder / "ppc.png")
    plt.close("all")
    return files


def plot_prior_vs_posterior(idata, names, max_panels: int = 24):
    """Prior (grey) and posterior (blue) densities of each scalar of ``names`` (histograms on
    a common grid), up to ``max_panels`` panels."""
    import matplotlib.pyplot as plt
    import numpy as np

    panels = []
    for v in names:
        post = idata.posterior[v]
        prior = idata.prior[v]
        extra = [d for d in post.dims if d not in ("chain", "draw")]
        if not extra:
            panels.append((v, prior.values.ravel(), post.values.ravel()))
            continue
        stacked_post = post.stack(cell=extra)
        stacked_prior = prior.stack(cell=extra)
        for i, c in enumerate(stacked_post["cell"].values):
            label = ", ".join(map(str, c if isinstance(c, tuple) else (c,)))
            panels.append(
                (
                    f"{v}[{label}]",
                    stacked_prior.values[..., i].ravel(),
                    stacked_post.values[..., i].ravel(),
                )
            )
    panels = panels[:max_panels]
    ncol = min(4, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow), squeeze=False)
    for ax, (label, pr, po) in zip(axes.ravel(), panels, strict=False):
        both = np.concatenate([pr[np.isfinite(pr)], po[np.isfinite(po)]])
        lo, hi = np.quantile(both, [0.005, 0.995]) if both.size else (0, 1)
        bins = np.linspace(lo, hi, 50) if hi > lo else 20
        ax.hist(pr, bins=bins, density=True, color="grey", alpha=0.45, label="prior")
        ax.hist(po, bins=bins, density=True, color="C0", alpha=0.6, label="posterior")
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle("Prior vs posterior")
    fig.tight_layout()
    return fig


def _cmd_inspect(args) -> int:
    import pandas as pd

    res = inspect(
        args.file, var=args.var, out=args.out, max_size=args.max_size, plots=not args.no_plots
    )
    if args.json:
        payload = dict(res)
        for k in ("summary", "priors"):
            payload[k] = None if res[k] is None else res[k]
        print(dumps(payload))
        return 0
    print(f"{res['file']}: groups {', '.join(res['groups'])}")
    for k, v in res["provenance"].items():
        print(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
    with pd.option_context(
        "display.width", 160, "display.max_rows", 400, "display.max_columns", 20
    ):
        if res["priors"] is not None:
            print("\npriors (the declaration this posterior was fitted with)")
            print(res["priors"].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        elif res["prior_spec_raw"] is not None:
            print("\nprior spec (as stored):")
            print(json.dumps(res["prior_spec_raw"], indent=2)[:4000])
        if res["summary"] is not None:
            print(f"\nposterior summary ({res['interval']} intervals)")
            print(res["summary"].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
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
