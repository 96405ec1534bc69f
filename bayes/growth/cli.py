"""Command line for the growth domain: ``bayes growth generate|cohorts`` and ``bayes ltv fit``.

:func:`register` adds two top-level commands, ``growth`` and ``ltv``. Heavy imports happen
inside the command functions so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes.io import InputError, dumps

_RAW = argparse.RawDescriptionHelpFormatter


def register(sub) -> None:
    growth = sub.add_parser(
        "growth",
        help="growth data (users, events, orders) and weekly cohort retention",
        description="Seed 004 growth analytics: generate synthetic users/events/orders whose "
        "purchases follow a known BG/NBD + Gamma-Gamma truth, and build weekly cohort "
        "retention matrices.",
        epilog="examples:\n  bayes growth generate --users 100000 --out data/growth\n"
        "  bayes growth cohorts --data data/growth --segment device --plot retention.png",
        formatter_class=_RAW,
    )
    gsub = growth.add_subparsers(dest="verb", metavar="<verb>", required=True)

    gen = gsub.add_parser(
        "generate",
        help="write users, events, orders (+ truth.json)",
        description="Generate users.csv, events.csv and orders.csv exactly per the seed's data "
        "dictionary (ISO8601 UTC timestamps) and truth.json with the parameters used. Orders "
        "follow BG/NBD (r, alpha, a, b per week) and Gamma-Gamma (p, q, v) so an LTV fit can "
        "be checked against the truth.",
        epilog="example:\n  bayes growth generate --users 20000 --seed 3 --out data/growth --json",
        formatter_class=_RAW,
    )
    gen.add_argument("--users", type=int, default=100_000, help="number of users (%(default)s)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (%(default)s)")
    gen.add_argument("--start", default="2024-01-01", help="first signup day (%(default)s)")
    gen.add_argument(
        "--signup-weeks", type=int, default=26, help="signup window in weeks (%(default)s)"
    )
    gen.add_argument(
        "--observation-weeks",
        type=int,
        default=52,
        help="observation end, in weeks after --start (%(default)s)",
    )
    gen.add_argument("--format", choices=("csv", "parquet"), default="csv")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    gen.set_defaults(func=_cmd_generate)

    coh = gsub.add_parser(
        "cohorts",
        help="weekly cohort retention matrix (table + heatmap)",
        description="Retained in week k = at least one session_start in [signup + 7k, "
        "signup + 7(k+1)) days. Rows: signup-week cohorts (Monday, UTC); columns: week_0.. "
        "Cells whose week is not fully observed for every cohort member are left empty.",
        epilog="examples:\n  bayes growth cohorts --data data/growth --out retention.csv "
        "--plot retention.png\n  bayes growth cohorts --users u.csv --events e.csv "
        "--segment acq_channel --json",
        formatter_class=_RAW,
    )
    coh.add_argument("--data", help="folder with users.csv/events.csv (or .parquet)")
    coh.add_argument("--users", help="users file (overrides --data)")
    coh.add_argument("--events", help="events file (overrides --data)")
    coh.add_argument("--segment", choices=("country", "device", "acq_channel"))
    coh.add_argument("--max-weeks", type=int, default=12, help="last week shown (%(default)s)")
    coh.add_argument("--as-of", help="end of observation (default: last event)")
    coh.add_argument("--out", help="write the matrix as CSV/Parquet")
    coh.add_argument("--plot", help="write the heatmap (PNG/SVG/PDF)")
    coh.add_argument("--json", action="store_true", help="print the matrix as JSON on stdout")
    coh.set_defaults(func=_cmd_cohorts)

    ltv = sub.add_parser(
        "ltv",
        help="Bayesian BG/NBD + Gamma-Gamma customer lifetime value",
        description="Customer lifetime value with BG/NBD (purchases, P(alive)) and "
        "Gamma-Gamma (spend) fitted by NUTS in PyMC, checked against lifetimes' MLE.",
        epilog="examples:\n  bayes ltv fit --dataset cdnow --out fit/cdnow\n"
        "  bayes ltv fit --transactions data/growth/orders.csv --calibration-end 2024-10-01 "
        "--holdout-end 2024-12-30 --out fit/growth",
        formatter_class=_RAW,
    )
    lsub = ltv.add_subparsers(dest="verb", metavar="<verb>", required=True)
    fit = lsub.add_parser(
        "fit",
        help="fit, predict per customer, evaluate on a holdout",
        description="Fit BG/NBD + Gamma-Gamma (time unit: week) on a transaction log "
        "(columns customer_id|user_id, date|order_ts, optional amount — the growth "
        "generator's orders file works as is) or on the CDNOW sample shipped with lifetimes. "
        "Writes posterior.nc (ArviZ NetCDF with prior, posterior, posterior predictive, "
        "attrs), ltv.csv (per customer: expected purchases, P(alive), 6/12-month LTV with "
        "90% intervals) and summary.json (parameters with intervals, diagnostics, MLE "
        "cross-check, holdout MAPE/WMAPE).",
        epilog="examples:\n  bayes ltv fit --dataset cdnow --out fit/cdnow --json\n"
        "  bayes ltv fit --dataset cdnow --calibration-end 1997-09-30 --holdout-end "
        "1998-06-30 --out fit/cdnow-holdout\n  bayes ltv fit --transactions orders.csv "
        "--out fit/ --draws 500 --chains 2",
        formatter_class=_RAW,
    )
    src = fit.add_mutually_exclusive_group(required=True)
    src.add_argument("--transactions", help="transaction log (CSV or Parquet)")
    src.add_argument(
        "--dataset",
        choices=("cdnow",),
        help="CDNOW 1/10 sample (lifetimes): the published summary, or its transaction log "
        "when --calibration-end is given",
    )
    fit.add_argument("--calibration-end", help="last day of the calibration period (date)")
    fit.add_argument("--holdout-end", help="end of the holdout period (default: last date)")
    fit.add_argument("--out", required=True, help="output folder")
    fit.add_argument("--draws", type=int, default=1000, help="draws per chain (%(default)s)")
    fit.add_argument("--tune", type=int, default=1000, help="tuning steps (%(default)s)")
    fit.add_argument("--chains", type=int, default=4, help="chains (%(default)s)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (%(default)s)")
    fit.add_argument(
        "--discount-rate", type=float, default=0.01, help="monthly discount rate (%(default)s)"
    )
    fit.add_argument(
        "--horizon-weeks",
        type=float,
        default=26.0,
        help="horizon of expected purchases (%(default)s)",
    )
    fit.add_argument("--json", action="store_true", help="print summary.json on stdout")
    fit.add_argument("--no-progress", action="store_true", help="hide the sampling progress bar")
    fit.set_defaults(func=_cmd_ltv_fit)


def _find(folder: str | None, explicit: str | None, name: str) -> Path:
    if explicit:
        return Path(explicit)
    if not folder:
        raise InputError(f"give --data or --{name}")
    for ext in ("csv", "parquet"):
        p = Path(folder) / f"{name}.{ext}"
        if p.exists():
            return p
    raise InputError(f"no {name}.csv or {name}.parquet", source=folder)


def _cmd_generate(args) -> int:
    from bayes.growth.data import generate_growth_data, write_growth_data

    if args.users <= 0:
        raise InputError(f"--users must be positive, got {args.users}")
    if args.observation_weeks <= args.signup_weeks:
        raise InputError("--observation-weeks must exceed --signup-weeks")
    data = generate_growth_data(
        args.users,
        seed=args.seed,
        start=args.start,
        signup_weeks=args.signup_weeks,
        observation_weeks=args.observation_weeks,
    )
    paths = write_growth_data(data, args.out, fmt=args.format)
    meta = {**data.meta(), "files": {k: str(v) for k, v in paths.items()}}
    print(dumps(meta) if args.json else f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _cmd_cohorts(args) -> int:
    from bayes.growth.cohorts import plot_retention, retention_matrix
    from bayes.growth.data import read_events, read_users
    from bayes.io import save_figure, write_table

    users = read_users(_find(args.data, args.users, "users"))
    events = read_events(_find(args.data, args.events, "events"))
    m = retention_matrix(
        users, events, segment=args.segment, max_weeks=args.max_weeks, as_of=args.as_of
    )
    if args.out:
        write_table(m, args.out)
    if args.plot:
        save_figure(plot_retention(m, args.segment), args.plot)
    if args.json:
        print(dumps({"segment": args.segment, "rows": m}))
    else:
        print(m.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def _cmd_ltv_fit(args) -> int:
    from bayes.growth.ltv import cdnow_summary, cdnow_transactions, load_transactions, run_ltv
    from bayes.progress import progress_enabled

    if args.holdout_end and not args.calibration_end:
        raise InputError("--holdout-end needs --calibration-end")
    kw = {}
    if args.dataset == "cdnow":
        if args.calibration_end:
            kw["transactions"] = cdnow_transactions()
        else:
            kw["summary"] = cdnow_summary()
        source = {"dataset": "cdnow"}
    else:
        kw["transactions"] = load_transactions(args.transactions)
        source = {"transactions": str(args.transactions)}
    res = run_ltv(
        **kw,
        calibration_end=args.calibration_end,
        holdout_end=args.holdout_end,
        out=args.out,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        discount_rate=args.discount_rate,
        horizon_weeks=args.horizon_weeks,
        source=source,
        progressbar=progress_enabled(False if args.no_progress else None),
    )
    public = {k: v for k, v in res.items() if not k.startswith("_")}
    if args.json:
        print(dumps(public))
    else:
        print(res["_fit"].idata.attrs["model"], f"on {res['customers']} customers")
        from bayes.growth.ltv import parameter_table

        print(parameter_table(res["_fit"]).to_string(index=False, float_format="{:.4g}".format))
        d = res["diagnostics"]
        print(
            f"diagnostics: ok={d['ok']} r_hat_max={d['r_hat_max']:.3f} "
            f"ess_bulk_min={d['ess_bulk_min']:.0f} divergences={d['divergences']}"
        )
        if "holdout" in res:
            h = res["holdout"]
            print(
                f"holdout: MAPE customer {h['mape_customer']:.3f}, WMAPE customer "
                f"{h['wmape_customer']:.3f}, WMAPE by frequency bin "
                f"{h['wmape_aggregate_bins']:.3f}, total APE {h['ape_total']:.3f}"
            )
        print(f"wrote {args.out}: {', '.join(res['files'])}")
    return 0
