"""``bayes video simulate|sensitivity|pilot|update|pilot-size``: the video strategy on the
command line (seed 000 Part C and §11).

Every verb takes the shared flags of :mod:`bayes.cliargs` — ``--seed``, ``--json``,
``--no-progress``, ``--priors FILE`` and ``--show-priors`` (the prior table in use and the
prior predictive of ΔCore, before any data) — and ``update`` the sampler flags. ``--out DIR``
is a folder written as a unit (:class:`bayes.outputs.OutputFolder`, checked before any work)
on the verbs that write several files; ``pilot`` and ``pilot-size`` write one table to
``--out FILE``. Every number is range-checked at parsing; a bad input file exits with code 2
naming the file, column and rows, before any sampling.
"""

from __future__ import annotations

import argparse
import sys

from bayes.cliargs import (
    add_json_flag,
    add_out_folder,
    add_priors_flags,
    add_progress_flag,
    add_sampler_flags,
    add_seed,
    float_range,
    int_range,
    sampler_from_args,
)
from bayes.io import InputError, dumps
from priors.segments import ACTIVE_BASE, SEGMENT_KEYS

DESCRIPTION = """\
Integrated feed vs standalone app (seed 000 Part C and §11): simulate the decision forward
from the declared priors, map its sensitivity to the standalone multipliers (α, β), and update
the priors after a pilot.

verbs:
  simulate     Monte Carlo of incremental Core_90d users per mode (seed §7-§8)
  sensitivity  heatmap D(α, β) of the standalone multipliers (seed §9)
  pilot        generate a pilot table at chosen true (α, β)
  update       NUTS posterior after a pilot; (α̂, β̂) on the heatmap; the decision (seed §11)
  pilot-size   value of a pilot of each size before running it (EVSI)

priors: every verb takes --priors FILE (an edited copy of priors/video_priors.csv, or a
.json/.toml file replacing entries, e.g. {"alpha": {"dist": "LogNormal", "median": 1.0,
"interval": [0.8, 1.25]}}) and --show-priors (print the priors in use and the prior
predictive of ΔCore, then exit).
"""

SIMULATE_EPILOG = """\
presets:
  seed   the seed's Monte Carlo (§7–§8): fixed priors, --n-sim users per run scaled to N_high;
         the spread is simulation noise of the Core rate (lower_90–upper_90 ≈ 224k–391k for
         integrated, the seed's p5–p95)
  bayes  parameters drawn from the PyMC prior and the whole population simulated exactly by
         binomial counts: the spread is what we do not know (default)

examples:
  bayes video simulate --preset seed --draws 2000 --json
  bayes video simulate --draws 10000 --population all --out sim/
  bayes video simulate --show-priors
  cp priors/video_priors.csv mine.csv   # edit, then
  bayes video simulate --priors mine.csv --json
  bayes video simulate --priors alpha.toml      # [alpha] dist="LogNormal" median=1.1 interval=[0.9, 1.4]

--out DIR writes draws.nc (every draw), summary.json, decision.csv, usage.csv, priors.csv and
delta_core.png as one unit (an earlier bayes output there is replaced; any other non-empty
folder is refused).
"""

SENSITIVITY_EPILOG = """\
D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int with standalone adoption ×α and uplift ×β
(seed §9); red cells (D < 0): integrated wins, blue (D > 0): standalone wins.

examples:
  bayes video sensitivity --plot heatmap.png
  bayes video sensitivity --json --draws 500 --out sens/
  bayes video sensitivity --preset bayes --draws 1000 --plot heatmap_bayes.png

--out DIR writes sensitivity.csv (one row per cell), summary.json and heatmap.png.
"""

PILOT_EPILOG = """\
examples:
  bayes video pilot --alpha 1.4 --beta 1.3 --users-per-arm 5000 --seed 1 --out pilot.csv
  bayes video pilot --alpha 1 --beta 1 --users-per-arm 2000 --segments power_prime prime_mid \\
      mixed_mid --out pilot.parquet

The pilot has one row per segment × arm (control, integrated, standalone) with columns
segment, arm, users, adopters, core_90d, video_sessions_7d, video_minutes_7d. Everything but
α (standalone adoption multiplier) and β (standalone uplift multiplier) sits at the central
values of the priors (--priors); counts follow the per-user process of seed §7.1.
"""

UPDATE_EPILOG = """\
examples:
  bayes video update --experiment pilot.csv --out fit/
  bayes video update --experiment pilot.parquet --out fit/ --draws 2000 --chains 4 --json
  bayes video update --priors alpha.toml --show-priors

Writes into --out, as one unit once everything is done (a Ctrl-C or SIGTERM leaves an earlier
fit/ exactly as it was): posterior.nc (the fitted model: prior, prior and posterior
predictive, posterior, log likelihood per pilot row, observed and constant data, sample stats;
attrs: prior spec, data hash, seed, sampler, package version — bayes inspect and bayes.load
open it), summary.json (alpha_hat, beta_hat with lower_50/upper_50 and lower_90/upper_90,
p_standalone_better, expected_loss, recommendation, rule_11, diagnostics), priors.csv,
alpha_beta.csv, decision.csv, ppc.csv and PNGs: prior vs posterior of α and β, posterior
predictive check, the sensitivity heatmap with (α̂, β̂), ΔCore under the posterior; and
manifest.json (files, hashes, when and how long). The same pilot, priors and seed give
byte-identical files (timings live only in manifest.json).

Diagnostics: at least 2 chains, r̂ ≤ 1.01, bulk and tail ESS ≥ 100 per chain, no divergence;
a fit that fails says so loudly and carries "ok": false (short runs will).
"""

SIZE_EPILOG = """\
examples:
  bayes video pilot-size
  bayes video pilot-size --sizes 1000 5000 20000 --sims 400 --json --out sizing.csv

For each size (users per arm per segment) truths are drawn from the prior, a pilot simulated,
the posterior approximated (importance sampling over α, β with the rest integrated out; checked
against NUTS in the tests) and the Bayes action taken. p_right: probability the pilot leads to
the choice that is better under the truth; expected_loss: Core users lost against the right
choice; evsi: expected value of sample information = prior expected loss − expected_loss.
"""

#: Monte Carlo runs of a forward simulation (not NUTS draws)
RUNS = int_range(1, 10_000_000, what="a number of Monte Carlo runs")
POSITIVE = float_range(0.0, lo_open=True, what="a positive number")
PILOT_USERS = int_range(1, ACTIVE_BASE, what="a number of users")


def register(sub) -> None:
    video = sub.add_parser(
        "video",
        help="short-form video strategy: simulate, sensitivity, pilot, update, pilot-size",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    vsub = video.add_subparsers(dest="video_command", metavar="<verb>", required=True)
    fmt = argparse.RawDescriptionHelpFormatter

    sim = vsub.add_parser(
        "simulate",
        help="Monte Carlo of incremental Core_90d users: integrated feed vs standalone app",
        description="Simulate the video decision forward (seed 000 §7): incremental Core_90d "
        "users ΔCore for the integrated feed and the standalone app with common random "
        "numbers, their difference, P(standalone better), each choice's expected loss, and "
        "weekly video sessions and minutes. Prints which priors were used.",
        epilog=SIMULATE_EPILOG,
        formatter_class=fmt,
    )
    _forward_args(sim, default_preset="bayes")
    sim.add_argument(
        "--population",
        choices=("high", "all"),
        default="high",
        help="high: the seed's high-engagement base N_high (clusters 0, 2, 3; comparable with "
        "§8); all: the full 24M active base (default: %(default)s)",
    )
    add_out_folder(sim, required=False, what="also write every draw, tables and a figure")
    sim.set_defaults(func=_cmd_simulate)

    sens = vsub.add_parser(
        "sensitivity",
        help="heatmap of D(α, β) over standalone adoption and uplift multipliers",
        description="Sensitivity of the decision to the standalone priors (seed 000 §9) on "
        "the grid α, β ∈ [0.8, 1.6] at step 0.05, common random numbers across cells.",
        epilog=SENSITIVITY_EPILOG,
        formatter_class=fmt,
    )
    _forward_args(sens, default_preset="seed")
    sens.add_argument("--plot", metavar="FILE.png", help="write the heatmap to this file")
    add_out_folder(sens, required=False, what="also write the grid, a summary and the heatmap")
    sens.set_defaults(func=_cmd_sensitivity)

    p = vsub.add_parser(
        "pilot",
        help="generate a pilot table at chosen true (α, β) (demos and tests)",
        description="Simulate a pilot (seed §11 Phase 0) at true standalone multipliers α, β "
        "with all other quantities at the prior's central values.",
        epilog=PILOT_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("--alpha", type=POSITIVE, default=1.0, help="true α (default: %(default)s)")
    p.add_argument("--beta", type=POSITIVE, default=1.0, help="true β (default: %(default)s)")
    p.add_argument(
        "--users-per-arm",
        type=PILOT_USERS,
        default=5000,
        help="users in each arm of each segment (default: %(default)s)",
    )
    _segments_arg(p)
    add_seed(p)
    add_priors_flags(p, "video")
    p.add_argument("--out", metavar="FILE", help="the pilot table (.csv or .parquet)")
    add_json_flag(p, "the table")
    add_progress_flag(p)
    p.set_defaults(func=_cmd_pilot)

    u = vsub.add_parser(
        "update",
        help="condition the video priors on a pilot; posterior (α̂, β̂) and the decision",
        description="Bayesian update of the video priors (priors/video.py) on a pilot table "
        "with NUTS (models.video.VideoPilotModel); α̂, β̂ on the sensitivity heatmap and the "
        "integrated-vs-standalone decision under the posterior (seed §9–§11).",
        epilog=UPDATE_EPILOG,
        formatter_class=fmt,
    )
    u.add_argument("--experiment", metavar="FILE", help="pilot table (.csv or .parquet)")
    add_out_folder(u, required=False, what="the fit, its tables and figures (required)")
    add_priors_flags(u, "video")
    u.add_argument(
        "--grid-draws",
        type=RUNS,
        default=2000,
        help="Monte Carlo runs per cell of the sensitivity heatmap (default: %(default)s)",
    )
    add_sampler_flags(u)
    add_json_flag(u, "summary.json")
    add_progress_flag(u)
    u.set_defaults(func=_cmd_update)

    s = vsub.add_parser(
        "pilot-size",
        help="pilot sizing: probability of the right choice and EVSI per pilot size",
        description="Prior-predictive value of pilots of several sizes (expected value of "
        "sample information) for the integrated-vs-standalone decision.",
        epilog=SIZE_EPILOG,
        formatter_class=fmt,
    )
    s.add_argument(
        "--sizes",
        nargs="+",
        type=PILOT_USERS,
        default=None,
        help="users per arm per segment (default: 500 2000 10000 50000)",
    )
    s.add_argument(
        "--sims",
        type=int_range(2, 1_000_000, what="a number of simulated truths"),
        default=400,
        help="truths per size (default: %(default)s)",
    )
    _segments_arg(s, what="piloted")
    add_seed(s)
    add_priors_flags(s, "video")
    s.add_argument("--out", metavar="FILE", help="also write the table (.csv or .parquet)")
    add_json_flag(s, "the table")
    add_progress_flag(s)
    s.set_defaults(func=_cmd_pilot_size)


def _forward_args(p, *, default_preset: str) -> None:
    from models.video.simulator import N_SIM_SEED

    p.add_argument(
        "--preset",
        choices=("seed", "bayes"),
        default=default_preset,
        help="seed: fixed priors and N_SIM users per run; bayes: PyMC prior draws and exact "
        "population counts (default: %(default)s)",
    )
    p.add_argument(
        "--draws", type=RUNS, default=2000, help="Monte Carlo runs S (default: %(default)s)"
    )
    p.add_argument(
        "--n-sim",
        type=int_range(1, 100_000_000, what="a number of users"),
        default=N_SIM_SEED,
        help="users per run in the seed preset (default: %(default)s, which reproduces the "
        "seed's spread)",
    )
    add_seed(p)
    add_priors_flags(p, "video")
    add_json_flag(p)
    add_progress_flag(p)


def _segments_arg(p, what: str = "covered") -> None:
    p.add_argument(
        "--segments",
        nargs="+",
        metavar="SEGMENT",
        choices=SEGMENT_KEYS,
        default=None,
        help=f"segments {what} (default: power_prime prime_mid, seed §11 Phase 0)",
    )


# ---------------------------------------------------------------------------- priors


def _priors(args):
    """The declaration of ``--priors`` (exit 2 naming the file and entry when invalid); with
    ``--show-priors`` print it and the prior predictive, and return ``None`` (then exit)."""
    from bayes.video.simulate import load_priors

    priors = load_priors(args.priors)
    if args.show_priors:
        show_priors(priors, seed=args.seed, as_json=args.json)
        return None
    return priors


def show_priors(priors, *, seed: int = 0, as_json: bool = False, draws: int = 4000) -> None:
    """Print the prior table in use, the fits of beliefs stated as intervals, and the prior
    predictive of the headline quantity (ΔCore per mode and their difference, 90%
    intervals) — before any data is used."""
    from bayes.video.simulate import prior_predictive

    ps = priors.declarations()
    table = ps.table()
    fitted = {n: p.fit_report() for n, p in ps.items() if p.statement}
    pred = prior_predictive(priors, draws=draws, seed=seed)
    if as_json:
        print(
            dumps(
                {
                    "domain": "video",
                    "priors": table,
                    "fitted": fitted,
                    "prior_spec": ps.to_dict(),
                    "prior_predictive": pred,
                    "prior_predictive_draws": draws,
                }
            )
        )
        return
    print("Video priors in use (central 90% intervals):")
    print(table.drop(columns="description").to_string(index=False, float_format="{:.4g}".format))
    for name, rep in fitted.items():
        print(
            f"{name}: fitted {rep['distribution']} to {rep['requested']}; achieved "
            f"{ {k: round(v, 4) for k, v in rep['achieved'].items()} }"
        )
    print()
    print(
        f"Prior predictive of ΔCore on the high-engagement base ({draws:,} prior draws, "
        "thousand Core users, before any data):"
    )
    shown = pred.copy()
    for c in ("mean", "sd", "median", "lower_90", "upper_90", "expected_loss_if_chosen"):
        shown[c] = shown[c] / 1e3
    print(shown.to_string(index=False, float_format="{:,.3f}".format))


# ---------------------------------------------------------------------------- verbs


def _cmd_simulate(args) -> int:
    from bayes.io import save_figure, write_json, write_table
    from bayes.outputs import OutputFolder
    from bayes.video.decide import decision_table, simulation_summary, usage_table
    from bayes.video.plots import plot_decision
    from bayes.video.simulate import simulate

    priors = _priors(args)
    if priors is None:
        return 0
    unit = (
        OutputFolder(args.out, command="video simulate", seed=args.seed, args=vars(args))
        if args.out
        else None
    )
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
    if unit is not None:
        with unit as out:
            ds.to_netcdf(out / "draws.nc", engine="h5netcdf")
            write_json(summary, out / "summary.json")
            write_table(decision_table(summary), out / "decision.csv")
            write_table(usage_table(summary), out / "usage.csv")
            write_table(used.summary(), out / "priors.csv")
            save_figure(plot_decision(ds, title=f"Preset {args.preset}"), out / "delta_core.png")
    if args.json:
        print(dumps(summary))
    else:
        print(format_simulation(summary, used))
        if args.out:
            print(f"written to {args.out}", file=sys.stderr)
    return 0


def _cmd_sensitivity(args) -> int:
    from bayes.io import save_figure, write_json, write_table
    from bayes.outputs import OutputFolder
    from bayes.video.plots import plot_sensitivity
    from bayes.video.sensitivity import sensitivity_grid

    priors = _priors(args)
    if priors is None:
        return 0
    unit = (
        OutputFolder(args.out, command="video sensitivity", seed=args.seed, args=vars(args))
        if args.out
        else None
    )
    if args.plot and not args.plot.lower().endswith((".png", ".pdf", ".svg")):
        raise InputError("--plot must name a .png, .pdf or .svg file", source=args.plot)
    grid = sensitivity_grid(
        priors, draws=args.draws, seed=args.seed, preset=args.preset, n_sim=args.n_sim
    )
    result = {
        "alpha": grid["alpha"].to_numpy(),
        "beta": grid["beta"].to_numpy(),
        "D": grid.to_numpy(),
        "D_dims": list(grid.dims),
        "attrs": dict(grid.attrs),
        "plot": args.plot,
    }
    if args.plot:
        save_figure(plot_sensitivity(grid), args.plot)
    if unit is not None:
        with unit as out:
            write_table(grid.to_dataframe().reset_index(), out / "sensitivity.csv")
            write_json({**result, "plot": "heatmap.png"}, out / "summary.json")
            save_figure(plot_sensitivity(grid), out / "heatmap.png")
    if args.json:
        print(dumps(result))
        return 0
    import pandas as pd

    table = pd.DataFrame(
        grid.to_numpy() / 1e3,
        index=pd.Index(grid["alpha"].to_numpy(), name="alpha \\ beta"),
        columns=grid["beta"].to_numpy(),
    )
    print("D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int, thousand Core users")
    print(f"(preset {args.preset}, {args.draws} runs per cell, common random numbers)")
    print(table.to_string(float_format=lambda x: f"{x:7.1f}"))
    for where in (args.plot, args.out):
        if where:
            print(f"written to {where}", file=sys.stderr)
    return 0


def _cmd_pilot(args) -> int:
    from bayes.io import write_table
    from bayes.video.data import PHASE0_SEGMENTS, generate_pilot, validate_pilot

    priors = _priors(args)
    if priors is None:
        return 0
    if not args.out and not args.json:
        raise InputError("give --out FILE (.csv or .parquet) or --json")
    df = generate_pilot(
        args.alpha,
        args.beta,
        args.users_per_arm,
        args.seed,
        segments=args.segments or PHASE0_SEGMENTS,
        priors=priors,
    )
    validate_pilot(df, source="generated pilot")
    if args.out:
        write_table(df, args.out)
    if args.json:
        print(dumps(df))
    else:
        print(df.to_string(index=False))
        print(f"pilot written to {args.out}", file=sys.stderr)
    return 0


def _cmd_update(args) -> int:
    from bayes.outputs import OutputFolder
    from bayes.video.data import read_pilot
    from bayes.video.decide import update
    from bayes.video.report import write_update

    sampler = sampler_from_args(args)  # ranges were checked at parsing
    priors = _priors(args)
    if priors is None:
        return 0
    for flag, value in (("--experiment FILE", args.experiment), ("--out DIR", args.out)):
        if value is None:
            raise InputError(f"the following argument is required: {flag} (or --show-priors)")
    unit = OutputFolder(args.out, command="video update", seed=args.seed, args=vars(args))
    pilot = read_pilot(args.experiment)
    res = update(pilot, priors, sampler=sampler, grid_draws=args.grid_draws, source=args.experiment)
    with unit as out:
        write_update(res, out)
    s = res.summary
    if args.json:
        print(dumps(s))
        return 0
    print(format_update(s))
    print(f"written to {args.out}", file=sys.stderr)
    return 0


def _cmd_pilot_size(args) -> int:
    from bayes.io import write_table
    from bayes.progress import progress_enabled
    from bayes.video.data import PHASE0_SEGMENTS
    from bayes.video.sizing import DEFAULT_SIZES, pilot_sizing

    priors = _priors(args)
    if priors is None:
        return 0
    df = pilot_sizing(
        priors,
        sizes=args.sizes or list(DEFAULT_SIZES),
        sims=args.sims,
        segments=args.segments or PHASE0_SEGMENTS,
        seed=args.seed,
        progressbar=progress_enabled(False if args.no_progress else None),
    )
    if args.out:
        write_table(df, args.out)
    if args.json:
        print(dumps({"sims": args.sims, "segments": df.attrs["segments"], "table": df}))
    else:
        print(df.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    return 0


# ---------------------------------------------------------------------------- text


def format_update(s: dict) -> str:
    """The readable report of ``bayes video update`` (without ``--json``)."""
    lines = []
    for key, label in (("alpha_hat", "α̂"), ("beta_hat", "β̂")):
        h = s[key]
        lines.append(
            f"{label} median {h['median']:.3f}  mean {h['mean']:.3f}  "
            f"50% [{h['lower_50']:.3f}, {h['upper_50']:.3f}]  "
            f"90% [{h['lower_90']:.3f}, {h['upper_90']:.3f}]"
        )
    d = s["delta_core"]
    lines.append(
        f"ΔCore_int {d['integrated']['mean']:,.0f}  ΔCore_stand {d['standalone']['mean']:,.0f}  "
        f"difference {d['difference']['mean']:+,.0f}"
    )
    lines.append(
        f"P(standalone better) {s['p_standalone_better']:.3f}; expected loss: integrated "
        f"{s['expected_loss']['integrated']:,.0f}, standalone "
        f"{s['expected_loss']['standalone']:,.0f}; recommendation: {s['recommendation']}"
    )
    lines.append(s["rule_11"]["text"])
    status = "ok" if s["ok"] else "FAILED: " + "; ".join(s["problems"])
    lines.append(
        f"diagnostics: r_hat_max {s['r_hat_max']:.3f}, ess_bulk_min {s['ess_bulk_min']:.0f}, "
        f"divergences {s['divergences']} ({status})"
    )
    return "\n".join(lines)


def format_simulation(summary: dict, priors) -> str:
    """The readable report of ``bayes video simulate`` (without ``--json``)."""
    import pandas as pd

    from bayes.video.decide import decision_table

    k = 1e3
    table = decision_table(summary, k)[["quantity", "mean", "sd", "median", "lower_90", "upper_90"]]
    run = summary["run"]
    lines = [
        f"Video strategy — preset {run['preset']}, {run['draws']} runs, seed {run['seed']}, "
        f"population {run['population']} (N = {summary['n_population']:,})",
        "",
        "Incremental Core_90d users ΔCore (thousands; lower_90/upper_90: central 90% interval)",
        table.to_string(index=False, float_format=lambda x: f"{x:8.1f}"),
        "",
        f"P(standalone better) = {summary['difference']['p_standalone_better']:.3f}",
        "expected loss of choosing integrated = "
        f"{summary['expected_loss']['integrated'] / k:,.1f}k, standalone = "
        f"{summary['expected_loss']['standalone'] / k:,.1f}k  ->  recommend "
        f"{summary['recommendation']}",
        "",
        "Weekly video usage (population totals, mean [lower_90, upper_90])",
    ]
    usage_rows = []
    for mode, u in summary["usage"].items():
        usage_rows.append(
            {
                "mode": mode,
                **{
                    key: f"{u[key]['mean']:,.3g} [{u[key]['lower_90']:,.3g}, "
                    f"{u[key]['upper_90']:,.3g}]"
                    for key in ("adopters", "sessions", "minutes", "minutes_per_adopter")
                },
            }
        )
    lines.append(pd.DataFrame(usage_rows).to_string(index=False))
    lines += ["", f"Priors used ({summary.get('priors_source', '')}):"]
    lines.append(
        priors.summary()
        .drop(columns="description")
        .to_string(index=False, float_format=lambda x: f"{x:.4g}")
    )
    lines.append(
        f"minutes noise σ = {priors.minutes_log_sd:g} (T = S·μ·exp(ε), ε ~ N(0, σ²)); "
        f"active base {priors.active_base:,}, N_high = {priors.n_high:,}"
    )
    return "\n".join(lines)
