"""``bayes video ...``: forward simulation and sensitivity (this module) and the updating
verbs (``update``, ``pilot``, ``pilot-size``) registered from :mod:`bayes.video.cli_update`."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    video = sub.add_parser(
        "video",
        help="short-form video strategy: simulate, sensitivity, pilot, update, pilot-size",
        description="Integrated feed vs standalone app (seed 000 Part C and §11).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    vsub = video.add_subparsers(dest="video_command", metavar="<verb>", required=True)
    register_forward(vsub)
    from bayes.video import cli_update

    cli_update.register(vsub)


SIMULATE_EPILOG = """\
presets:
  seed   the seed's Monte Carlo (§7–§8): fixed priors, --n-sim users per run scaled to N_high;
         the spread is simulation noise of the Core rate (p5–p95 ≈ 224k–391k for integrated)
  bayes  parameters drawn from the PyMC prior and the whole population simulated exactly by
         binomial counts: the spread is what we do not know (default)

examples:
  bayes video simulate --preset seed --draws 2000 --json
  bayes video simulate --draws 10000 --population all
  cp priors/video_priors.csv mine.csv   # edit, then
  bayes video simulate --priors mine.csv --json
"""

SENSITIVITY_EPILOG = """\
D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int with standalone adoption ×α and uplift ×β
(seed §9); red cells (D < 0): integrated wins, blue (D > 0): standalone wins.

examples:
  bayes video sensitivity --plot heatmap.png
  bayes video sensitivity --json --draws 500 --plot heatmap.png
  bayes video sensitivity --preset bayes --draws 1000 --plot heatmap_bayes.png
"""


def register_forward(vsub) -> None:
    """Register ``simulate`` and ``sensitivity`` (seed 000 §7–§9)."""
    sim = vsub.add_parser(
        "simulate",
        help="Monte Carlo of incremental Core_90d users: integrated feed vs standalone app",
        description="Simulate the video decision forward (seed 000 §7): incremental Core_90d "
        "users ΔCore for the integrated feed and the standalone app with common random "
        "numbers, their difference, P(standalone better), each choice's expected loss, and "
        "weekly video sessions and minutes. Prints which priors were used.",
        epilog=SIMULATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_forward_args(sim, default_preset="bayes")
    sim.add_argument(
        "--population",
        choices=("high", "all"),
        default="high",
        help="high: the seed's high-engagement base N_high (clusters 0, 2, 3; comparable with "
        "§8); all: the full 24M active base (default: %(default)s)",
    )
    sim.add_argument("--save", metavar="FILE.nc", help="also write every draw as NetCDF")
    sim.set_defaults(func=_cmd_simulate)

    sens = vsub.add_parser(
        "sensitivity",
        help="heatmap of D(α, β) over standalone adoption and uplift multipliers",
        description="Sensitivity of the decision to the standalone priors (seed 000 §9) on "
        "the grid α, β ∈ [0.8, 1.6] at step 0.05, common random numbers across cells.",
        epilog=SENSITIVITY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_forward_args(sens, default_preset="seed")
    sens.add_argument("--plot", metavar="FILE.png", help="write the heatmap to this file")
    sens.set_defaults(func=_cmd_sensitivity)


def _common_forward_args(p, *, default_preset: str) -> None:
    from bayes.video.simulate import N_SIM_SEED

    p.add_argument(
        "--preset",
        choices=("seed", "bayes"),
        default=default_preset,
        help="seed: fixed priors and N_SIM users per run; bayes: PyMC prior draws and exact "
        "population counts (default: %(default)s)",
    )
    p.add_argument(
        "--draws",
        type=_positive_int,
        default=2000,
        help="Monte Carlo runs S (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--n-sim",
        type=_positive_int,
        default=N_SIM_SEED,
        help="users per run in the seed preset (default: %(default)s, which reproduces the "
        "seed's spread)",
    )
    p.add_argument(
        "--priors",
        metavar="FILE.csv",
        help="an edited copy of priors/video_priors.csv (default: the shipped table)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _load_priors(args):
    from bayes.video.simulate import priors_from_file
    from priors.video import VideoPriors

    return priors_from_file(args.priors) if args.priors else VideoPriors()


def _cmd_simulate(args) -> int:
    from bayes.io import atomic_path, dumps
    from bayes.video.decision import simulation_summary
    from bayes.video.simulate import simulate

    priors = _load_priors(args)
    ds = simulate(
        priors,
        preset=args.preset,
        draws=args.draws,
        seed=args.seed,
        n_sim=args.n_sim,
        population=args.population,
    )
    used = priors.as_point() if args.preset == "seed" else priors
    summary = simulation_summary(ds, used)
    summary["priors_source"] = args.priors or "priors/video_priors.csv (shipped)"
    if args.save:
        with atomic_path(args.save) as tmp:
            ds.to_netcdf(tmp)
    if args.json:
        print(dumps(summary))
    else:
        print(format_simulation(summary, used))
    return 0


def _cmd_sensitivity(args) -> int:
    from bayes.io import dumps, save_figure
    from bayes.video.sensitivity import plot_sensitivity, sensitivity_grid

    priors = _load_priors(args)
    grid = sensitivity_grid(
        priors, draws=args.draws, seed=args.seed, preset=args.preset, n_sim=args.n_sim
    )
    if args.plot:
        fig, _ = plot_sensitivity(grid)
        save_figure(fig, args.plot)
    if args.json:
        print(
            dumps(
                {
                    "alpha": grid["alpha"].to_numpy(),
                    "beta": grid["beta"].to_numpy(),
                    "D": grid.to_numpy(),
                    "D_dims": list(grid.dims),
                    "attrs": dict(grid.attrs),
                    "plot": args.plot,
                }
            )
        )
    else:
        import pandas as pd

        table = pd.DataFrame(
            grid.to_numpy() / 1e3,
            index=pd.Index(grid["alpha"].to_numpy(), name="alpha \\ beta"),
            columns=grid["beta"].to_numpy(),
        )
        print("D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int, thousand Core users")
        print(f"(preset {args.preset}, {args.draws} runs per cell, common random numbers)")
        print(table.to_string(float_format=lambda x: f"{x:7.1f}"))
        if args.plot:
            print(f"heatmap written to {args.plot}")
    return 0


def format_simulation(summary: dict, priors) -> str:
    """The readable report of ``bayes video simulate`` (without ``--json``)."""
    import pandas as pd

    from bayes.video.decision import decision_table

    k = 1e3
    table = decision_table(summary, k)[["", "mean", "sd", "p5", "p50", "p95"]]
    run = summary["run"]
    lines = [
        f"Video strategy — preset {run['preset']}, {run['draws']} runs, seed {run['seed']}, "
        f"population {run['population']} (N = {summary['n_population']:,})",
        "",
        "Incremental Core_90d users ΔCore (thousands)",
        table.to_string(index=False, float_format=lambda x: f"{x:8.1f}"),
        "",
        f"P(standalone better) = {summary['difference']['p_standalone_better']:.3f}",
        "expected loss of choosing integrated = "
        f"{summary['expected_loss']['integrated'] / k:,.1f}k, standalone = "
        f"{summary['expected_loss']['standalone'] / k:,.1f}k  ->  recommend "
        f"{summary['recommendation']}",
        "",
        "Weekly video usage (population totals, mean [p5, p95])",
    ]
    usage_rows = []
    for mode, u in summary["usage"].items():
        usage_rows.append(
            {
                "mode": mode,
                **{
                    key: f"{u[key]['mean']:,.3g} [{u[key]['p5']:,.3g}, {u[key]['p95']:,.3g}]"
                    for key in ("adopters", "sessions", "minutes", "minutes_per_adopter")
                },
            }
        )
    lines.append(pd.DataFrame(usage_rows).to_string(index=False))
    lines += ["", f"Priors used ({summary.get('priors_source', '')}):"]
    lines.append(priors.summary().to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    lines.append(
        f"minutes noise σ = {priors.minutes_log_sd:g} (T = S·μ·exp(ε), ε ~ N(0, σ²)); "
        f"active base {priors.active_base:,}, N_high = {priors.n_high:,}"
    )
    return "\n".join(lines)
