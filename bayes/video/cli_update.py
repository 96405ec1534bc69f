"""``bayes video pilot|update|pilot-size``: updating the video priors after a pilot (seed §11)."""

from __future__ import annotations

import argparse
import sys

from bayes.io import InputError, dumps

PILOT_EPILOG = """\
examples:
  bayes video pilot --alpha 1.4 --beta 1.3 --users-per-arm 5000 --seed 1 --out pilot.csv
  bayes video pilot --alpha 1 --beta 1 --users-per-arm 2000 --segments power_prime prime_mid \\
      mixed_mid --out pilot.parquet

The pilot has one row per segment × arm (control, integrated, standalone) with columns
segment, arm, users, adopters, core_90d, video_sessions_7d, video_minutes_7d. Everything but
α (standalone adoption multiplier) and β (standalone uplift multiplier) sits at the prior's
central values (priors/video_priors.csv); counts follow the per-user process of seed §7.1.
"""

UPDATE_EPILOG = """\
examples:
  bayes video update --experiment pilot.csv --out fit/
  bayes video update --experiment pilot.parquet --out fit/ --draws 2000 --chains 4 --json

Writes into --out: posterior.nc (prior, posterior, posterior predictive, observed data, sample
stats; attrs: prior spec, data hash, seed, package version), summary.json (alpha_hat, beta_hat
with 50%/90% intervals, p_standalone_better, expected_loss, recommendation, rule_11, r_hat_max,
ess_bulk_min, divergences, ok), ppc.csv, decision.csv and PNGs: prior vs posterior of α and β,
posterior predictive check, the sensitivity heatmap with (α̂, β̂), ΔCore under the posterior.
Inspect the posterior with: bayes inspect fit/posterior.nc
"""

SIZE_EPILOG = """\
examples:
  bayes video pilot-size
  bayes video pilot-size --sizes 1000 5000 20000 --sims 400 --json

For each size (users per arm per segment) truths are drawn from the prior, a pilot simulated,
the posterior approximated (importance sampling over α, β with the rest integrated out; checked
against NUTS in the tests) and the Bayes action taken. p_right: probability the pilot leads to
the choice that is better under the truth; expected_loss: Core users lost against the right
choice; evsi: expected value of sample information = prior expected loss − expected_loss.
"""


def register(vsub) -> None:
    """Register the updating verbs on the ``video`` sub-parsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = vsub.add_parser(
        "pilot",
        help="generate a pilot table at chosen true (α, β) (demos and tests)",
        description="Simulate a pilot (seed §11 Phase 0) at true standalone multipliers α, β "
        "with all other quantities at the prior's central values.",
        epilog=PILOT_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("--alpha", type=float, default=1.0, help="true α (default: %(default)s)")
    p.add_argument("--beta", type=float, default=1.0, help="true β (default: %(default)s)")
    p.add_argument(
        "--users-per-arm",
        type=int,
        default=5000,
        help="users in each arm of each segment (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--segments",
        nargs="+",
        metavar="SEGMENT",
        default=None,
        help="segments covered (default: power_prime prime_mid, seed §11 Phase 0)",
    )
    p.add_argument("--out", required=True, help="output table (.csv or .parquet)")
    p.add_argument("--json", action="store_true", help="print the table as JSON on stdout")
    p.set_defaults(func=_cmd_pilot)

    u = vsub.add_parser(
        "update",
        help="condition the video priors on a pilot; posterior (α̂, β̂) and the decision",
        description="Bayesian update of the video priors (priors/video.py) on a pilot table "
        "with NUTS; α̂, β̂ on the sensitivity heatmap and the integrated-vs-standalone "
        "decision under the posterior (seed §9–§11).",
        epilog=UPDATE_EPILOG,
        formatter_class=fmt,
    )
    u.add_argument("--experiment", required=True, help="pilot table (.csv or .parquet)")
    u.add_argument("--out", required=True, help="output folder")
    u.add_argument("--draws", type=int, default=1000, help="draws per chain (default: %(default)s)")
    u.add_argument("--tune", type=int, default=1000, help="tuning steps (default: %(default)s)")
    u.add_argument("--chains", type=int, default=4, help="chains (default: %(default)s)")
    u.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    u.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    u.add_argument("--json", action="store_true", help="print summary.json on stdout")
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
        type=int,
        default=None,
        help="users per arm per segment (default: 500 2000 10000 50000)",
    )
    s.add_argument("--sims", type=int, default=400, help="truths per size (default: %(default)s)")
    s.add_argument(
        "--segments",
        nargs="+",
        metavar="SEGMENT",
        default=None,
        help="segments piloted (default: power_prime prime_mid)",
    )
    s.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    s.add_argument("--out", default=None, help="also write the table (.csv/.parquet)")
    s.add_argument("--json", action="store_true", help="print the table as JSON")
    s.set_defaults(func=_cmd_pilot_size)


def _cmd_pilot(args) -> int:
    from bayes.io import write_table
    from bayes.video.pilot import PHASE0_SEGMENTS, generate_pilot, validate_pilot

    if args.users_per_arm < 1:
        raise InputError(f"--users-per-arm must be >= 1, got {args.users_per_arm}")
    df = generate_pilot(
        args.alpha,
        args.beta,
        args.users_per_arm,
        args.seed,
        segments=args.segments or PHASE0_SEGMENTS,
    )
    validate_pilot(df, source="generated pilot")
    write_table(df, args.out)
    if args.json:
        print(dumps(df))
    else:
        print(df.to_string(index=False))
        print(f"pilot written to {args.out}", file=sys.stderr)
    return 0


def _cmd_update(args) -> int:
    from bayes.progress import progress_enabled
    from bayes.video.pilot import read_pilot
    from bayes.video.update import update, write_update

    for name in ("draws", "tune", "chains"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be >= 1, got {getattr(args, name)}")
    pilot = read_pilot(args.experiment)
    res = update(
        pilot,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        progressbar=progress_enabled(False if args.no_progress else None),
        source=args.experiment,
    )
    write_update(res, args.out)
    s = res.summary
    if args.json:
        print(dumps(s))
        return 0
    for key, label in (("alpha_hat", "α̂"), ("beta_hat", "β̂")):
        h = s[key]
        print(
            f"{label} median {h['median']:.3f}  mean {h['mean']:.3f}  "
            f"50% [{h['interval_50'][0]:.3f}, {h['interval_50'][1]:.3f}]  "
            f"90% [{h['interval_90'][0]:.3f}, {h['interval_90'][1]:.3f}]"
        )
    d = s["delta_core"]
    print(
        f"ΔCore_int {d['integrated']['mean']:,.0f}  ΔCore_stand {d['standalone']['mean']:,.0f}  "
        f"difference {d['difference']['mean']:+,.0f}"
    )
    print(
        f"P(standalone better) {s['p_standalone_better']:.3f}; expected loss: integrated "
        f"{s['expected_loss']['integrated']:,.0f}, standalone "
        f"{s['expected_loss']['standalone']:,.0f}; recommendation: {s['recommendation']}"
    )
    print(s["rule_11"]["text"])
    status = "ok" if s["ok"] else "FAILED: " + "; ".join(s["problems"])
    print(
        f"diagnostics: r_hat_max {s['r_hat_max']:.3f}, ess_bulk_min {s['ess_bulk_min']:.0f}, "
        f"divergences {s['divergences']} ({status})"
    )
    print(f"written to {args.out}", file=sys.stderr)
    return 0


def _cmd_pilot_size(args) -> int:
    from bayes.io import write_table
    from bayes.progress import progress_enabled
    from bayes.video.pilot import PHASE0_SEGMENTS
    from bayes.video.update import DEFAULT_SIZES, pilot_sizing

    sizes = args.sizes or list(DEFAULT_SIZES)
    if any(n < 1 for n in sizes):
        raise InputError(f"--sizes must be positive, got {sizes}")
    if args.sims < 2:
        raise InputError(f"--sims must be >= 2, got {args.sims}")
    df = pilot_sizing(
        sizes=sizes,
        sims=args.sims,
        segments=args.segments or PHASE0_SEGMENTS,
        seed=args.seed,
        progressbar=progress_enabled(None),
    )
    if args.out:
        write_table(df, args.out)
    if args.json:
        print(dumps({"sims": args.sims, "segments": df.attrs["segments"], "table": df}))
    else:
        print(df.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    return 0
