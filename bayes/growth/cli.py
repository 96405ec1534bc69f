"""Command line for growth data: ``bayes growth generate|cohorts|survival``.

(``bayes ltv fit`` lives in :mod:`bayes.ltv.cli`.) Heavy imports happen inside the command
functions so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes.cliargs import add_json_flag, add_out_folder, add_seed, date, int_range
from bayes.engines import add_engine_flags
from bayes.io import InputError, dumps

_RAW = argparse.RawDescriptionHelpFormatter
_SEGMENTS = ("country", "device", "acq_channel")


def register(sub) -> None:
    growth = sub.add_parser(
        "growth",
        help="growth data (users, events, orders), cohort retention and survival",
        description="Seed 004 growth analytics: generate synthetic users/events/orders whose "
        "purchases follow a known BG/NBD + Gamma-Gamma truth, build weekly cohort retention "
        "matrices, Kaplan-Meier survival by cohort and a look at seasonality.",
        epilog="examples:\n  bayes growth generate --users 100000 --out data/growth\n"
        "  bayes growth cohorts --data data/growth --segment device --out retention\n"
        "  bayes growth survival --data data/growth --cohort month --out survival",
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
    gen.add_argument(
        "--users",
        type=int_range(1, 50_000_000, what="a number of users"),
        default=100_000,
        help="number of users (default: %(default)s)",
    )
    add_seed(gen)
    gen.add_argument(
        "--start", type=date, default="2024-01-01", help="first signup day (default: %(default)s)"
    )
    gen.add_argument(
        "--signup-weeks",
        type=int_range(1, 520),
        default=26,
        help="signup window in weeks (default: %(default)s)",
    )
    gen.add_argument(
        "--observation-weeks",
        type=int_range(2, 1040),
        default=52,
        help="observation end, in weeks after --start (default: %(default)s)",
    )
    gen.add_argument("--format", choices=("csv", "parquet"), default="csv")
    add_out_folder(gen, what="users, events, orders and truth.json")
    add_json_flag(gen, "a summary")
    gen.set_defaults(func=_cmd_generate)

    coh = gsub.add_parser(
        "cohorts",
        help="weekly cohort retention matrix (table + heatmap)",
        description="Retained in week k = at least one session_start in [signup + 7k, "
        "signup + 7(k+1)) days. Rows: signup-week cohorts (Monday, UTC); columns: week_0.. "
        "Cells whose week is not fully observed for every cohort member are left empty.",
        epilog="examples:\n  bayes growth cohorts --data data/growth --out retention\n"
        "  bayes growth cohorts --users u.csv --events e.csv --segment acq_channel --json",
        formatter_class=_RAW,
    )
    _data_flags(coh)
    coh.add_argument("--segment", choices=_SEGMENTS)
    coh.add_argument(
        "--max-weeks", type=int_range(0, 520), default=12, help="last week shown (%(default)s)"
    )
    add_out_folder(coh, required=False, what="retention.csv and retention.png")
    add_json_flag(coh, "the matrix")
    coh.set_defaults(func=_cmd_cohorts)
    add_engine_flags(coh)

    surv = gsub.add_parser(
        "survival",
        help="Kaplan-Meier survival by cohort (90%% intervals) and seasonality",
        description="A user is active from signup to the last session and has churned when "
        "no session followed for --churn-days before --as-of (else censored at the last "
        "session). Kaplan-Meier per cohort with Greenwood log-log 90% intervals; repeat "
        "orders per customer-week by weekday and by month, with a chi-square test of no "
        "seasonality.",
        epilog="example:\n  bayes growth survival --data data/growth --cohort month --out surv",
        formatter_class=_RAW,
    )
    _data_flags(surv)
    surv.add_argument("--orders", help="orders file (overrides --data)")
    surv.add_argument(
        "--cohort",
        default="month",
        choices=("month", "week", *_SEGMENTS),
        help="signup month/week or a segment (default: %(default)s)",
    )
    surv.add_argument(
        "--churn-days",
        type=int_range(1, 3650),
        default=28,
        help="days without a session that mean churn (default: %(default)s)",
    )
    add_out_folder(
        surv, required=False, what="survival.csv, survival_at.csv, seasonality_*.csv, plots"
    )
    add_json_flag(surv, "S(7, 30, 90 days) per cohort and the seasonality tests")
    surv.set_defaults(func=_cmd_survival)
    add_engine_flags(surv)


def _data_flags(p) -> None:
    p.add_argument("--data", help="folder with users.csv/events.csv (or .parquet)")
    p.add_argument("--users", help="users file (overrides --data)")
    p.add_argument("--events", help="events file (overrides --data)")
    p.add_argument("--as-of", type=date, help="end of observation (default: last event)")


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


def _out(args, command: str):
    from bayes.outputs import OutputFolder

    if not args.out:
        return None
    return OutputFolder(args.out, command=command, args=vars(args))


def _cmd_generate(args) -> int:
    from bayes.growth.data import generate_growth_data, write_growth_data

    if args.observation_weeks <= args.signup_weeks:
        raise InputError("--observation-weeks must exceed --signup-weeks")
    folder = _out(args, "growth generate")
    data = generate_growth_data(
        args.users,
        seed=args.seed,
        start=args.start.tz_localize(None).isoformat(),
        signup_weeks=args.signup_weeks,
        observation_weeks=args.observation_weeks,
    )
    with folder as staging:
        paths = write_growth_data(data, staging, fmt=args.format)
    files = {k: str(Path(args.out) / Path(v).name) for k, v in paths.items()}
    print(dumps({**data.meta(), "files": files}) if args.json else f"wrote {args.out}")
    return 0


def _read(args):
    from bayes.growth.data import check_events_after_signup, read_events, read_users

    users_path = _find(args.data, args.users, "users")
    events_path = _find(args.data, args.events, "events")
    users, events = read_users(users_path), read_events(events_path)
    check_events_after_signup(users, events, source=events_path)
    return users, events


def _cmd_cohorts(args) -> int:
    from bayes.engines import resolve_engine
    from bayes.engines import retention_matrix as engine_retention_matrix
    from bayes.growth.cohorts import plot_retention
    from bayes.io import save_figure, write_table

    folder = _out(args, "growth cohorts")
    # counted by the engine of --engine, straight from the files (pandas: read into memory)
    m = engine_retention_matrix(
        _find(args.data, args.users, "users"),
        _find(args.data, args.events, "events"),
        segment=args.segment,
        max_weeks=args.max_weeks,
        as_of=args.as_of,
    )
    if folder is not None:
        with folder as staging:
            write_table(m, staging / "retention.csv")
            save_figure(plot_retention(m, args.segment), staging / "retention.png")
    if args.json:
        engine = resolve_engine(None).label  # which engine counted the sessions
        print(dumps({"segment": args.segment, "engine": engine, "rows": m}))
    else:
        print(m.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def _cmd_survival(args) -> int:
    from bayes.engines import resolve_engine
    from bayes.engines.growth import activity_lifetimes as engine_lifetimes
    from bayes.engines.growth import seasonality_counts
    from bayes.growth.data import read_orders
    from bayes.growth.survival import (
        activity_lifetimes,
        plot_seasonality,
        plot_survival,
        seasonality,
        seasonality_table,
        survival_at,
        survival_by_cohort,
    )
    from bayes.io import save_figure, write_table

    folder = _out(args, "growth survival")
    kw = {"as_of": args.as_of, "churn_days": args.churn_days, "cohort": args.cohort}
    engine = resolve_engine(None)
    if engine.name == "pandas":
        users, events = _read(args)
        orders = read_orders(_find(args.data, args.orders, "orders"))
        life = activity_lifetimes(users, events, **kw)
        seas = {by: seasonality(orders, by=by) for by in ("weekday", "month")}
    else:  # the per-user last session and the daily order counts come from the engine
        users_path = _find(args.data, args.users, "users")
        life = engine_lifetimes(users_path, _find(args.data, args.events, "events"), **kw)
        days, repeat, first = seasonality_counts(_find(args.data, args.orders, "orders"))
        seas = {by: seasonality_table(days, repeat, first, by=by) for by in ("weekday", "month")}
    km = survival_by_cohort(life)
    at = survival_at(km)
    if folder is not None:
        with folder as staging:
            write_table(km, staging / "survival.csv")
            write_table(at, staging / "survival_at.csv")
            save_figure(plot_survival(km), staging / "survival.png")
            for by, t in seas.items():
                write_table(t, staging / f"seasonality_{by}.csv")
                save_figure(plot_seasonality(t), staging / f"seasonality_{by}.png")
    tests = {by: dict(t.attrs) for by, t in seas.items()}
    if args.json:
        print(
            dumps(
                {
                    "cohort": args.cohort,
                    "engine": engine.label,
                    "churn_days": args.churn_days,
                    "survival_at": at,
                    "seasonality": tests,
                }
            )
        )
        return 0
    print(at.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for by, t in tests.items():
        print(
            f"seasonality by {by}: chi-square {t['chi2']:.1f} on {t['dof']} dof, p = {t['p_value']:.3g}"
        )
    return 0
