"""``bayes ltv fit``: Bayesian BG/NBD + Gamma-Gamma on a transaction log, an RFM file or CDNOW.

Heavy imports happen inside the command so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse

from bayes.cliargs import (
    add_json_flag,
    add_out_folder,
    add_priors_flags,
    add_progress_flag,
    add_sampler_flags,
    date,
    float_range,
    int_range,
    sampler_from_args,
)
from bayes.engines import add_engine_flags
from bayes.io import InputError, dumps

_RAW = argparse.RawDescriptionHelpFormatter
_FHL_CALIBRATION_END = "1997-09-30"  # CDNOW: FHL05a's 39-week calibration period

EPILOG = """\
examples:
  bayes ltv fit --dataset cdnow --out fit/cdnow
  bayes ltv fit --dataset cdnow --calibration-end 1997-09-30 --out fit/cdnow-holdout
  bayes ltv fit --dataset cdnow-master --calibration-end 1997-09-30 --out fit/cdnow-master
  bayes ltv fit --transactions data/growth/orders.csv --holdout-days 60 --out fit/growth
  bayes ltv fit --transactions data/growth/orders.csv --customers data/growth/users.csv \\
      --segment country --out fit/by-country
  bayes ltv fit --transactions 'lake/orders/*.parquet' --engine duckdb --holdout-days 60 \\
      --out fit/big                       # the RFM aggregated by DuckDB, out of core
  bayes ltv fit --rfm rfm.csv --time-unit D --out fit/rfm
  bayes ltv fit --dataset cdnow --show-priors

time units: recency, T and the scale alpha are in --time-unit (D day, W week, M month); an
RFM file does not say its unit, so --rfm needs --time-unit. Priors state alpha in weeks and
are rescaled. LTV horizons (--months) are calendar months whatever the unit.

monetary policy: negative amounts are refunds (dropped); zero-value orders are purchases
without spend; a warning says how many rows each rule touched (docs/ltv.md).
"""


def register(sub) -> None:
    ltv = sub.add_parser(
        "ltv",
        help="Bayesian BG/NBD + Gamma-Gamma customer lifetime value (by segment too)",
        description="Customer lifetime value with BG/NBD (purchases, P(alive)) and "
        "Gamma-Gamma (spend) fitted by NUTS in PyMC, checked against lifetimes' MLE; "
        "segments with partial pooling.",
        epilog="example:\n  bayes ltv fit --dataset cdnow --out fit/cdnow",
        formatter_class=_RAW,
    )
    lsub = ltv.add_subparsers(dest="verb", metavar="<verb>", required=True)
    fit = lsub.add_parser(
        "fit",
        help="fit, predict per customer, evaluate on a holdout",
        description="Fit BG/NBD + Gamma-Gamma on a transaction log (customer_id|user_id, "
        "date|order_ts, optional amount — the growth generator's orders file works as is), an "
        "RFM file (customer_id, frequency, recency, T, optional monetary_value) or CDNOW. "
        "Writes posterior.nc (ArviZ NetCDF: prior, posterior, posterior predictive, log "
        "likelihood, the data; reopen with bayes.load), ltv.csv (per customer: P(alive), "
        "expected purchases, expected spend, 6/12-month discounted LTV with 90% intervals), "
        "parameters.csv, priors.csv, summary.json, plots; with a holdout, its MAPE/WMAPE and "
        "the seed's survival/GLM path beside BG/NBD.",
        epilog=EPILOG,
        formatter_class=_RAW,
    )
    src = fit.add_mutually_exclusive_group()
    src.add_argument("--transactions", metavar="FILE", help="transaction log (CSV or Parquet)")
    src.add_argument(
        "--rfm",
        metavar="FILE",
        help="RFM summary: customer_id, frequency, recency, T [, monetary_value, "
        "spend_frequency, segment column] (needs --time-unit)",
    )
    src.add_argument(
        "--dataset",
        choices=("cdnow", "cdnow-master"),
        help="cdnow: the 1/10 sample shipped with lifetimes (its published 39-week summary, "
        "or its log with --calibration-end / another --time-unit); cdnow-master: the full "
        "log of 23,570 customers",
    )
    seg = fit.add_argument_group("segments")
    seg.add_argument(
        "--segment",
        metavar="COL",
        help="fit every parameter by segment (a column of --customers or of the RFM file)",
    )
    seg.add_argument(
        "--customers",
        metavar="FILE",
        help="customers table with customer_id|user_id and the --segment column "
        "(e.g. the growth generator's users.csv)",
    )
    seg.add_argument(
        "--pooling",
        choices=("partial", "none"),
        default="partial",
        help="partial: hierarchical priors, segments borrow strength; none: independent "
        "(default: %(default)s)",
    )
    fit.add_argument(
        "--surrogate",
        choices=("auto", "on", "off"),
        default="auto",
        help="run NUTS's trajectories on each segment's quadratic likelihood expansion and "
        "accept every transition against the exact likelihood: exact draws, one likelihood "
        "pass per iteration instead of ~15. auto: when every segment (the whole data, "
        "unsegmented) has at least 20,000 customers; the acceptance is in summary.json's diagnostics "
        "(default: %(default)s)",
    )
    fit.add_argument(
        "--time-unit",
        choices=("D", "W", "M"),
        help="unit of recency/T (default W for logs and CDNOW; required with --rfm)",
    )
    hold = fit.add_argument_group("holdout")
    hold.add_argument(
        "--calibration-end", type=date, metavar="DATE", help="last day of the calibration period"
    )
    hold.add_argument(
        "--holdout-end", type=date, metavar="DATE", help="end of the holdout (default: last date)"
    )
    hold.add_argument(
        "--holdout-days",
        type=int_range(1, 36_500),
        help="hold out the last N days of the log (the seed's evaluation: 60)",
    )
    pred = fit.add_argument_group("predictions")
    pred.add_argument(
        "--discount-rate",
        type=float_range(0.0, 1.0, hi_open=True, what="a monthly discount rate"),
        default=0.01,
        help="monthly discount rate in [0, 1) (default: %(default)s)",
    )
    pred.add_argument(
        "--months",
        type=int_range(1, 600),
        nargs="+",
        default=[6, 12],
        help="LTV horizons in months (default: 6 12)",
    )
    pred.add_argument(
        "--horizon",
        type=float_range(0.0, lo_open=True, what="a duration"),
        help="horizon of expected purchases, in --time-unit (default: 6 months)",
    )
    pred.add_argument(
        "--predict-draws",
        type=int_range(10, 100_000),
        default=500,
        help="posterior draws behind each per-customer interval (default: %(default)s)",
    )
    add_sampler_flags(fit)
    add_priors_flags(fit, "ltv")
    add_out_folder(fit, required=False)
    add_json_flag(fit, "summary.json")
    add_progress_flag(fit)
    fit.set_defaults(func=_cmd_fit)
    add_engine_flags(
        fit,
        default="pandas",
        note=". For --transactions: duckdb/spark aggregate the log to RFM rows without loading "
        "it (same checks, monetary policy and holdout; the survival/GLM holdout comparison "
        "needs the rows: pandas)",
    )


def _model_config(args):
    from models.ltv import LTVModel
    from priors.ltv import LTV_PRIORS
    from priors.spec import PriorSet

    priors = PriorSet.read(args.priors, base=LTV_PRIORS) if args.priors else None
    unit = args.time_unit or "W"
    return LTVModel(
        priors,
        sampler_from_args(args),
        time_unit=unit,
        segment=args.segment,
        pooling=args.pooling,
        surrogate={"auto": None, "on": True, "off": False}[args.surrogate],
    )


def _show_priors(args) -> int:
    from models.ltv.units import canonical_unit

    model = _model_config(args)
    model.time_unit = canonical_unit(model.time_unit)
    table = model.priors_in_unit().table()
    pp = model.prior_predictive(discount_rate=args.discount_rate, seed=args.seed)
    if args.json:
        print(dumps({"time_unit": model.time_unit, "priors": table, "prior_predictive": pp}))
        return 0
    print(f"LTV priors (durations in {model.time_unit}s; alpha declared in weeks):")
    print(table.drop(columns=["coords"]).to_string(index=False, float_format="{:.4g}".format))
    print("\nprior predictive before any data (median, 90% interval):")
    cols = ["quantity", "median", "lower_90", "upper_90", "finite_share"]
    print(pp[cols].to_string(index=False, float_format="{:.4g}".format))
    print("(finite_share < 1: prior draws with q <= 1 have no finite mean spend)")
    return 0


def _naive(ts):
    return None if ts is None else ts.tz_convert("UTC").tz_localize(None)


def _inputs(args):
    """(transactions, rfm, segments, source) from the flags."""
    from bayes.ltv import data as D

    tx = rfm = segments = None
    if args.dataset:
        if args.segment:
            raise InputError("CDNOW has no segment column; --segment needs your own data")
        source = {"dataset": args.dataset}
        if args.dataset == "cdnow-master":
            tx = D.cdnow_master_transactions()
        elif args.calibration_end or args.holdout_days or (args.time_unit or "W") != "W":
            tx = D.cdnow_transactions()
        else:
            rfm = D.cdnow_summary()
    elif args.transactions:
        from bayes.engines import resolve_engine

        # a SQL engine aggregates the log itself (prepare_rfm takes the path)
        engine = resolve_engine(None)
        on_engine = engine.name != "pandas"
        tx = str(args.transactions) if on_engine else D.load_transactions(args.transactions)
        source = {"path": str(args.transactions), "engine": engine.label}
        if args.segment:
            if not args.customers:
                raise InputError("--segment with --transactions needs --customers FILE")
            segments = D.load_segments(args.customers, args.segment)
            segments.attrs["source"] = str(args.customers)
    else:
        if not args.time_unit:
            raise InputError(
                "an RFM file does not say its time unit: give --time-unit D, W or M "
                "(lifetimes' summaries are in days unless told otherwise)",
                source=args.rfm,
            )
        rfm = D.read_rfm(args.rfm, segment=args.segment)
        rfm.attrs["source"] = str(args.rfm)
        source = {"path": str(args.rfm)}
    return tx, rfm, segments, source


def _cmd_fit(args) -> int:
    if args.show_priors:
        return _show_priors(args)
    if not (args.transactions or args.rfm or args.dataset):
        raise InputError("give one of --transactions FILE, --rfm FILE or --dataset")
    if not args.out:
        raise InputError("--out DIR is required (or --show-priors)")
    if args.holdout_end is not None and args.calibration_end is None:
        raise InputError("--holdout-end needs --calibration-end")
    import pandas as pd

    from bayes.outputs import OutputFolder

    # checked before any work: an existing file, a foreign folder, a read-only place
    folder = OutputFolder(args.out, command="ltv fit", seed=args.seed, args=vars(args))
    from bayes.ltv.workflow import headline, prepare_rfm, run_ltv, write_ltv

    model = _model_config(args)  # validates --priors before reading data
    tx, rfm, segments, source = _inputs(args)
    calibration_end = _naive(args.calibration_end)
    if args.dataset == "cdnow" and tx is not None and not (calibration_end or args.holdout_days):
        # the published summary's period, in another unit
        observation = {"observation_end": pd.Timestamp(_FHL_CALIBRATION_END)}
    else:
        observation = {"calibration_end": calibration_end}
    prepared = prepare_rfm(
        transactions=tx,
        rfm=rfm,
        time_unit=args.time_unit,
        holdout_end=_naive(args.holdout_end),
        holdout_days=args.holdout_days,
        segments=segments,
        **observation,
    )
    run = run_ltv(
        prepared,
        priors=model.priors,
        sampler=model.sampler,
        segment=args.segment,
        pooling=args.pooling,
        surrogate=model.surrogate,
        discount_rate=args.discount_rate,
        months=tuple(args.months),
        horizon=args.horizon,
        predict_draws=args.predict_draws,
        source=source,
    )
    run.summary["headline"] = headline(run, max(args.months))
    with folder as staging:
        files = write_ltv(run, staging)
    if args.json:
        print(dumps({**run.summary, "files": files}))
        return 0
    s = run.summary
    print(f"{s['model']} on {s['customers']:,} customers (time unit: {s['time_unit']})")
    cols = ["variable", "coords", "mean", "median", "lower_90", "upper_90", "r_hat", "ess_bulk"]
    cols += [c for c in ("mle_lifetimes",) if c in run.parameters]
    print(run.parameters[cols].to_string(index=False, float_format="{:.4g}".format))
    d = s["diagnostics"]
    print(
        f"diagnostics: {'ok' if d['ok'] else 'FAILED: ' + '; '.join(d['problems'])} "
        f"(r_hat_max {d['r_hat_max']:.3f}, ess_bulk_min {d['ess_bulk_min']:.0f}, "
        f"divergences {d['divergences']}"
        + (
            f", surrogate acceptance {d['surrogate_acceptance']:.3f}"
            if d.get("surrogate_acceptance") is not None
            else ""
        )
        + ")"
    )
    if "holdout" in s:
        h = s["holdout"]
        print(
            f"holdout ({h['duration']:.4g} {s['time_unit']}s): MAPE customer "
            f"{h['mape_customer']:.3f}, WMAPE customer {h['wmape_customer']:.3f}, WMAPE by "
            f"frequency bin {h['wmape_aggregate_bins']:.3f}, total APE {h['ape_total']:.3f}"
        )
        if run.comparison is not None:
            print(
                run.comparison[
                    [
                        "method",
                        "mape_customer",
                        "wmape_customer",
                        "wmape_aggregate_bins",
                        "ape_total",
                    ]
                ].to_string(index=False, float_format="{:.3f}".format)
            )
    print(s["headline"])
    print(f"wrote {args.out}: {', '.join(files)}")
    return 0
