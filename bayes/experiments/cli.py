"""``bayes experiment generate|power|size|library|analyze`` (seed 004: plan & evaluate).

Heavy imports happen inside the command functions so ``--help`` stays instant. Bad input exits
with code 2 naming the file, column and rows, before anything is written; every folder is
written as a unit (:class:`bayes.outputs.OutputFolder`).
"""

from __future__ import annotations

import argparse

from bayes.cliargs import (
    add_json_flag,
    add_out_folder,
    add_priors_flags,
    add_progress_flag,
    add_sampler_flags,
    add_seed,
    float_range,
    int_range,
    probability,
    sampler_from_args,
)
from bayes.engines import DEFAULT_SPARK_MASTER, EngineSpec
from bayes.io import InputError

_RAW = argparse.RawDescriptionHelpFormatter

_EPILOG = """\
examples:
  bayes experiment generate --users 200000 --seed 1 --out data/exp
  bayes experiment power --baseline 0.10 --mde 0.02 --power 0.8
  bayes experiment power --baseline 0.10 --n 10000                 # the MDE
  bayes experiment power --metric mean --effect-size 0.2           # users for d = 0.2
  bayes experiment size --baseline 0.10 --threshold 0.001          # Bayesian sizing
  bayes experiment library --data data/exp/past_experiments.csv --out lib/
  bayes experiment analyze --data data/exp/experiment.csv --arm arm --metric revenue \\
      --covariates pre_revenue --time exposed_ts --library lib/library.nc --out readout/ --json
"""

_CHANCE = (
    "Chance to win is the posterior probability, given the data and the prior, that the "
    "treatment's true mean is above the control's; it is not a p-value and not 1 - p."
)


def register(sub) -> None:
    p = sub.add_parser(
        "experiment",
        help="A/B experiments: power/MDE, CUPED, Bayesian readouts that update the priors",
        description="Plan and evaluate randomised experiments (seed 004): power, sample size "
        "and MDE; CUPED and regression adjustment from sufficient statistics; exact Bayesian "
        "readouts whose prior for the lift is learned from past experiments and updated by "
        "each new one; sample-ratio mismatch, always-valid sequential intervals, Holm and BH.",
        epilog=_EPILOG,
        formatter_class=_RAW,
    )
    verbs = p.add_subparsers(dest="verb", metavar="<verb>", required=True)

    # ------------------------------------------------------------------ generate
    g = verbs.add_parser(
        "generate",
        help="simulate an experiment on the growth users (known truth) and a library of past ones",
        description="Simulate a randomised experiment on the growth generator's users: "
        "assignment with a planned split (and an optional sample-ratio fault), a pre-period "
        "revenue correlated with the outcome, conversion and revenue per user, a lift that "
        "differs by device, both potential outcomes so the truth is known. Writes "
        "experiment.csv|parquet, truth.json and past_experiments.csv (a library of past "
        "relative lifts for `bayes experiment library`).",
        epilog="example:\n  bayes experiment generate --users 200000 --srm 0.05 --out data/exp --json",
        formatter_class=_RAW,
    )
    g.add_argument(
        "--users",
        type=int_range(2, 50_000_000),
        default=100_000,
        help="users in the experiment before any loss (default: %(default)s)",
    )
    g.add_argument(
        "--split",
        type=probability(),
        default=0.5,
        help="planned share of users in treatment (default: %(default)s)",
    )
    g.add_argument(
        "--srm",
        type=float_range(0, 1, hi_open=True),
        default=0.0,
        help="sample-ratio fault: share of the treatment's web users lost from the "
        "data (default: %(default)s, no fault)",
    )
    g.add_argument(
        "--days",
        type=int_range(1, 365),
        default=14,
        help="days over which users are exposed (default: %(default)s)",
    )
    g.add_argument(
        "--lift-by-device",
        type=float_range(-0.99, 10),
        nargs=3,
        metavar=("IOS", "ANDROID", "WEB"),
        default=(0.08, 0.04, 0.0),
        help="relative lift of the purchase rate per device (default: 0.08 0.04 0.0)",
    )
    g.add_argument(
        "--past-experiments",
        type=int_range(0, 100_000),
        default=24,
        help="rows of past_experiments.csv (0: none; default: %(default)s)",
    )
    g.add_argument("--format", choices=("csv", "parquet"), default="csv")
    add_seed(g)
    add_out_folder(g, what="experiment, truth and past experiments")
    add_json_flag(g, "a summary with the truth")
    g.set_defaults(func=_cmd_generate)

    # ------------------------------------------------------------------ power
    pw = verbs.add_parser(
        "power",
        help="power, sample size or MDE for two proportions or two means",
        description="Give two of --n (users per control arm), the effect (--mde, or "
        "--effect-size for means) and --power; the third is solved (power defaults to 0.8 when "
        "it is not the unknown). Proportions use the pooled-null z-test (R's power.prop.test; "
        "--convention cohen_h for Cohen's h); means the pooled t-test (--test z for known sd). "
        "--variance-factor (or --rho, the CUPED covariate's correlation: factor 1 - rho^2) "
        "shrinks every variance. A request with no answer exits 2 saying why.",
        epilog="examples:\n  bayes experiment power --baseline 0.10 --mde 0.02 --power 0.8\n"
        "  bayes experiment power --baseline 0.10 --n 10000 --json\n"
        "  bayes experiment power --baseline 0.10 --mde 0.05 --relative --ratio 2\n"
        "  bayes experiment power --metric mean --effect-size 0.2\n"
        "  bayes experiment power --metric mean --sd 30 --n 5000 --rho 0.5   # MDE in raw units",
        formatter_class=_RAW,
    )
    pw.add_argument("--metric", choices=("proportion", "mean"), default="proportion")
    pw.add_argument(
        "--baseline",
        type=float_range(),
        help="control conversion rate (proportion) or control mean (means; needed for --relative)",
    )
    pw.add_argument(
        "--mde",
        type=float_range(),
        help="effect to detect (absolute; with "
        "--relative a share of the baseline); negative = a decrease",
    )
    pw.add_argument("--relative", action="store_true", help="--mde is relative to the baseline")
    pw.add_argument("--effect-size", type=float_range(), help="means: Cohen's d = effect / sd")
    pw.add_argument(
        "--sd",
        type=float_range(0, lo_open=True),
        default=1.0,
        help="means: the metric's standard deviation per user (default: 1)",
    )
    pw.add_argument("--n", type=float_range(2), help="users per control arm")
    pw.add_argument(
        "--power",
        type=probability(),
        help="target power (default 0.8 when solving for n or the MDE)",
    )
    pw.add_argument(
        "--alpha", type=probability(), default=0.05, help="level (default: %(default)s)"
    )
    pw.add_argument(
        "--alternative", choices=("two-sided", "larger", "smaller"), default="two-sided"
    )
    pw.add_argument(
        "--ratio",
        type=float_range(0, lo_open=True),
        default=1.0,
        help="treatment users per control user (default: %(default)s)",
    )
    pw.add_argument(
        "--convention",
        choices=("pooled", "cohen_h"),
        default="pooled",
        help="proportions' variance convention (default: %(default)s)",
    )
    pw.add_argument("--test", choices=("t", "z"), default="t", help="means: t or z test")
    vf = pw.add_mutually_exclusive_group()
    vf.add_argument(
        "--variance-factor",
        type=float_range(0, 1, lo_open=True),
        default=1.0,
        help="multiply variances by this (CUPED: 1 - rho^2; default 1)",
    )
    vf.add_argument(
        "--rho",
        type=float_range(-1, 1, lo_open=True, hi_open=True),
        help="correlation of the CUPED covariate with the metric",
    )
    add_out_folder(pw, required=False, what="power.json, power_curve.csv and power_curve.png")
    add_json_flag(pw)
    pw.set_defaults(func=_cmd_power)

    # ------------------------------------------------------------------ size
    sz = verbs.add_parser(
        "size",
        help="Bayesian sizing: expected loss of the decision and EVSI by sample size",
        description="Under a Normal prior for the relative lift (the declared relative_lift, "
        "--priors, or a library's predictive with --library), the expected loss of the "
        "ship/keep decision after n users per arm, the expected value of the information "
        "(EVSI) and the chance of the right decision, in closed form; with --threshold the "
        "smallest n whose expected loss is below it.",
        epilog="examples:\n  bayes experiment size --baseline 0.10 --threshold 0.001\n"
        "  bayes experiment size --cv 3.2 --library lib/library.nc --json",
        formatter_class=_RAW,
    )
    src = sz.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--baseline", type=probability(), help="control conversion rate (cv = sqrt((1-p)/p))"
    )
    src.add_argument(
        "--cv", type=float_range(0, lo_open=True), help="the metric's sd / mean per user"
    )
    sz.add_argument(
        "--threshold",
        type=float_range(0, lo_open=True),
        help="expected loss to reach, relative to the control mean (0.001 = 0.1%%)",
    )
    sz.add_argument(
        "--sizes", type=int_range(2), nargs="+", help="users per control arm to tabulate"
    )
    sz.add_argument("--ratio", type=float_range(0, lo_open=True), default=1.0)
    sz.add_argument("--variance-factor", type=float_range(0, 1, lo_open=True), default=1.0)
    sz.add_argument(
        "--library", metavar="FILE.nc", help="a library posterior (bayes experiment library)"
    )
    add_priors_flags(sz, "experiments")
    add_json_flag(sz)
    sz.set_defaults(func=_cmd_size)

    # ------------------------------------------------------------------ library
    lb = verbs.add_parser(
        "library",
        help="learn the prior for the next lift from past experiments (hierarchical, NUTS)",
        description="Fit the hierarchical model of past relative lifts (columns experiment, "
        "lift, se) by NUTS and write library.nc (ArviZ NetCDF, reopened by `bayes.load` and "
        "by `analyze --library`) and summary.json with the next experiment's prior.",
        epilog="example:\n  bayes experiment library --data past_experiments.csv --out lib/ --json",
        formatter_class=_RAW,
    )
    lb.add_argument("--data", required=True, help="past experiments (CSV/Parquet)")
    add_priors_flags(lb, "experiments")
    add_sampler_flags(lb)
    add_progress_flag(lb)
    add_out_folder(lb)
    add_json_flag(lb)
    lb.set_defaults(func=_cmd_library)

    # ------------------------------------------------------------------ analyze
    an = verbs.add_parser(
        "analyze",
        help="read out an experiment: SRM, CUPED/regression, Bayesian lift, sequential, decision",
        description="Validate the data (exit 2 naming file, column and rows: an arm column "
        "without exactly two labels, a missing control, an arm with no users, NaN/inf metrics, "
        "constant covariates), reduce it to per-arm sufficient statistics (DuckDB), and read it "
        "out: --method cuped (Deng et al. 2013; Lin 2013 with several covariates), regression "
        "(Lin's interacted OLS, HC2 standard errors) or bayes (exact Beta-Binomial for a 0/1 "
        "metric without covariates, else the Normal model of the relative lift, with the prior "
        "from --priors or learned from --library, which is then updated). Always: the "
        "sample-ratio-mismatch test, Holm and BH across metrics, and with --time the cumulative "
        "effect with always-valid intervals. " + _CHANCE,
        epilog=_EPILOG,
        formatter_class=_RAW,
    )
    an.add_argument("--data", required=True, help="one row per user (CSV/Parquet)")
    an.add_argument("--arm", required=True, help="arm column (two labels)")
    an.add_argument(
        "--metric", required=True, nargs="+", help="metric column(s); the first decides"
    )
    an.add_argument("--covariates", nargs="+", default=[], help="pre-period covariate column(s)")
    an.add_argument(
        "--ratio",
        nargs="+",
        default=[],
        metavar="NUM/DEN",
        help="ratio metric(s) such as revenue/orders: sum of NUM over sum of DEN per arm, by "
        "the delta method",
    )
    an.add_argument(
        "--control", help="control label (default: 'control' if present, else the first label)"
    )
    an.add_argument("--method", choices=("cuped", "regression", "bayes"), default="bayes")
    an.add_argument(
        "--split",
        type=probability(),
        default=0.5,
        help="planned treatment share, for the SRM test (default: %(default)s)",
    )
    an.add_argument(
        "--time", help="exposure time column: cumulative effect per day with sequential bands"
    )
    an.add_argument(
        "--library",
        metavar="FILE.nc",
        help="library posterior: its predictive is the "
        "lift prior, and an updated library.nc is written",
    )
    an.add_argument(
        "--experiment-name", default="new", help="this experiment's name in the updated library"
    )
    an.add_argument(
        "--prob", type=probability(), default=0.9, help="interval probability (default: 0.9)"
    )
    an.add_argument(
        "--tolerance",
        type=float_range(0, lo_open=True),
        default=0.001,
        help="expected loss (share of the control mean) accepted when deciding (default: 0.001)",
    )
    an.add_argument(
        "--engine",
        choices=("duckdb", "spark", "numpy"),
        default="duckdb",
        help="where the per-arm sums are computed: duckdb (default; embedded, out of core, reads "
        "CSV/Parquet files, globs and folders), spark (Apache Spark, see --spark-master; reads "
        "data-lake paths such as s3a://bucket/experiment/), numpy (in memory, the reference)",
    )
    an.add_argument(
        "--spark-master",
        default=DEFAULT_SPARK_MASTER,
        metavar="URL",
        help="Spark master URL for --engine spark: local[*] (default), local[N], "
        "spark://host:7077, yarn, k8s://https://host:443",
    )
    add_priors_flags(an, "experiments")
    add_sampler_flags(an)
    add_progress_flag(an)
    add_out_folder(an, required=False, what="summary.json, estimates.csv, posteriors, plots")
    add_json_flag(an)
    an.set_defaults(func=_cmd_analyze)


# ---------------------------------------------------------------------------- helpers


def _priors(args):
    from priors.experiments import experiment_priors
    from priors.spec import PriorSet

    base = experiment_priors()
    return PriorSet.read(args.priors, base=base) if getattr(args, "priors", None) else base


def _print_priors(table) -> None:
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _emit(args, payload: dict, text: str) -> None:
    from bayes.io import dumps

    print(dumps(payload) if args.json else text)


# ---------------------------------------------------------------------------- commands


def _cmd_generate(args) -> int:
    from bayes.experiments.data import (
        ExperimentTruth,
        generate_experiment,
        generate_library,
        write_experiment,
    )
    from bayes.io import write_table
    from bayes.outputs import OutputFolder

    try:
        truth = ExperimentTruth(
            split=args.split,
            srm=args.srm,
            days=args.days,
            lift_by_device=tuple(args.lift_by_device),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    with OutputFolder(
        args.out, command="experiment generate", seed=args.seed, args=vars(args)
    ) as out:
        data = generate_experiment(args.users, seed=args.seed, truth=truth)
        files = write_experiment(data, out, fmt=args.format)
        if args.past_experiments:
            lib = generate_library(args.past_experiments, seed=args.seed)
            files["past_experiments"] = write_table(lib, out / "past_experiments.csv")
    meta = data.meta()
    meta["files"] = sorted(p.name for p in files.values())
    _emit(
        args,
        meta,
        f"wrote {len(data.frame):,} users to {args.out} ({', '.join(meta['files'])}); true "
        f"relative lift of revenue {meta['relative_lift']['revenue']:+.2%}, conversion "
        f"{meta['relative_lift']['converted']:+.2%}",
    )
    return 0


def _cmd_power(args) -> int:
    from models.experiments.power import PowerError, power_curve, power_means, power_proportions

    vf = 1 - args.rho**2 if args.rho is not None else args.variance_factor
    n_known = args.n is not None
    eff_known = args.mde is not None or args.effect_size is not None
    power = args.power
    if power is None and not (n_known and eff_known):
        power = 0.8
    if n_known and eff_known and args.power is not None:
        raise InputError(
            "give two of --n, the effect (--mde/--effect-size) and --power, not all three"
        )
    try:
        if args.metric == "proportion":
            if args.baseline is None:
                raise InputError("proportions need --baseline (the control conversion rate)")
            if args.effect_size is not None:
                raise InputError("--effect-size is for --metric mean; give --mde for proportions")
            res = power_proportions(
                args.baseline,
                mde=args.mde,
                n=args.n,
                power=power,
                relative=args.relative,
                alpha=args.alpha,
                alternative=args.alternative,
                ratio=args.ratio,
                convention=args.convention,
                variance_factor=vf,
            )
        else:
            res = power_means(
                sd=args.sd,
                mde=args.mde,
                effect_size=args.effect_size,
                baseline=args.baseline,
                relative=args.relative,
                n=args.n,
                power=power,
                alpha=args.alpha,
                alternative=args.alternative,
                ratio=args.ratio,
                test=args.test,
                variance_factor=vf,
            )
    except PowerError as exc:
        raise InputError(str(exc)) from exc
    d = res.to_dict()
    if args.out:
        from bayes.experiments.plots import plot_power_curve
        from bayes.io import save_figure, write_json, write_table
        from bayes.outputs import OutputFolder

        with OutputFolder(args.out, command="experiment power", args=vars(args)) as out:
            curve = power_curve(res)
            write_json(d, out / "power.json")
            write_table(curve, out / "power_curve.csv")
            save_figure(plot_power_curve(curve, result=res)[0], out / "power_curve.png")
    c, t = res.users_per_arm
    if res.metric == "proportion":
        eff = f"{res.baseline:g} -> {res.baseline + res.effect:.6g} ({res.effect:+.4g} absolute, {res.relative_effect:+.2%} relative)"
    else:
        eff = f"{res.effect:+.4g} in raw units (d = {res.effect_size:.4g})"
    text = (
        f"solved for {res.solved_for}: {c:,} control + {t:,} treatment users "
        f"(exact {res.n_control:,.2f} per control arm), effect {eff}, power {res.power:.4f}, "
        f"alpha {res.alpha:g} {res.alternative}, variance factor {res.variance_factor:g}\n"
        f"convention: {d['convention_text']}"
    )
    _emit(args, d, text)
    return 0


def _cmd_size(args) -> int:
    import math

    from models.experiments.sizing import DEFAULT_SIZES, bayesian_sizing, users_for_expected_loss

    priors = _priors(args)
    source = "declared relative_lift prior"
    if args.library:
        from bayes.experiments.analyze import load_library

        prior = load_library(args.library).next_lift_prior()
        priors = priors.with_overrides({"relative_lift": prior})
        source = f"predictive of {args.library}"
    if args.show_priors:
        _print_priors(priors.subset(["relative_lift"]).table())
        return 0
    p = priors["relative_lift"]
    if p.dist != "Normal":
        raise InputError(f"Bayesian sizing needs a Normal relative_lift prior, got {p}")
    mu0, sd0 = float(p.params.get("mu", 0.0)), float(p.params["sigma"])
    cv = args.cv if args.cv is not None else math.sqrt((1 - args.baseline) / args.baseline)
    table = bayesian_sizing(
        mu0,
        sd0,
        cv=cv,
        sizes=args.sizes or DEFAULT_SIZES,
        ratio=args.ratio,
        variance_factor=args.variance_factor,
    )
    out = {
        "prior": str(p),
        "prior_source": source,
        "cv": cv,
        "table": table.to_dict(orient="records"),
    }
    text = f"prior for the relative lift: {p} ({source}); cv = {cv:.4g}\n" + table.to_string(
        index=False, float_format=lambda v: f"{v:.4g}"
    )
    if args.threshold:
        try:
            n = users_for_expected_loss(
                mu0,
                sd0,
                args.threshold,
                cv=cv,
                ratio=args.ratio,
                variance_factor=args.variance_factor,
            )
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        out["threshold"] = args.threshold
        out["users_control_for_threshold"] = n
        text += (
            f"\nexpected loss below {args.threshold:g} of the control mean after {n:,} users "
            "per control arm" + (" (already below it: decide now)" if n == 0 else "")
        )
    _emit(args, out, text)
    return 0


def _cmd_library(args) -> int:
    from bayes.experiments.analyze import fit_library
    from bayes.experiments.data import read_library
    from bayes.io import write_json
    from bayes.outputs import OutputFolder
    from priors.experiments import LIBRARY_PRIORS

    priors = _priors(args).subset(LIBRARY_PRIORS)
    if args.show_priors:
        _print_priors(priors.table())
        return 0
    table = read_library(args.data)
    out = OutputFolder(args.out, command="experiment library", seed=args.seed, args=vars(args))
    model = fit_library(table, source=args.data, priors=priors, sampler=sampler_from_args(args))
    prior = model.next_lift_prior()
    summary = {
        "experiments": len(table),
        "next_lift_prior": prior.to_dict(),
        "next_lift_prior_text": str(prior),
        "predictive_check": model.predictive_check().to_dict(orient="records"),
        "hyperparameters": model.summary(["lift_mean", "lift_sd"]).to_dict(orient="records"),
        "diagnostics": model.diagnostics_.to_dict(),
        "ok": model.diagnostics_.ok,
    }
    with out as folder:
        model.save(folder / "library.nc")
        write_json(summary, folder / "summary.json")
    _emit(
        args,
        summary,
        f"{len(table)} past experiments; prior for the next lift: {prior}\n"
        f"diagnostics: {model.diagnostics_}\nwrote {args.out}: library.nc, summary.json",
    )
    return 0


def _cmd_analyze(args) -> int:
    from bayes.experiments.analyze import analyze, load_library
    from bayes.outputs import OutputFolder
    from priors.experiments import LIFT_PRIORS

    priors = _priors(args)
    library = load_library(args.library) if args.library else None
    if args.show_priors:
        shown = priors
        if library is not None:
            shown = priors.with_overrides({"relative_lift": library.next_lift_prior()})
        _print_priors(shown.subset(["conversion_rate", *LIFT_PRIORS]).table())
        return 0
    out = (
        OutputFolder(args.out, command="experiment analyze", seed=args.seed, args=vars(args))
        if args.out
        else None
    )
    if args.spark_master != DEFAULT_SPARK_MASTER and args.engine != "spark":
        raise InputError(f"--spark-master {args.spark_master} needs --engine spark")
    engine = EngineSpec("spark", args.spark_master) if args.engine == "spark" else args.engine
    res = analyze(
        args.data,
        arm=args.arm,
        metrics=args.metric,
        covariates=args.covariates,
        control=args.control,
        method=args.method,
        expected_split=args.split,
        time=args.time,
        priors=priors,
        library=library,
        experiment_name=args.experiment_name,
        sampler=sampler_from_args(args),
        prob=args.prob,
        tolerance=args.tolerance,
        engine=engine,
        ratios=args.ratio,
    )
    summary = res.summary()
    if out is not None:
        with out as folder:
            summary["files"] = write_analysis(res, folder)
    text = [res.headline, res.srm["message"]]
    est = res.estimates_table()
    cols = [
        c
        for c in ("metric", "method", "difference", "relative", "p_value", "p_holm", "p_bh")
        if c in est
    ]
    text.append(est[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if res.readouts:
        text.append(_CHANCE)
    if args.out:
        text.append(f"wrote {args.out}: {', '.join(summary['files'])}")
    _emit(args, summary, "\n".join(text))
    return 0


def write_analysis(res, folder) -> list[str]:
    """Write an analysis into ``folder``: summary.json, estimates.csv, sequential.csv, one
    NetCDF per model (readout.nc for the lift readout, conversion_<metric>.nc for an exact
    Beta-Binomial one, library.nc for the updated library) and the plots."""
    from bayes.experiments.plots import plot_cumulative_effect, plot_lift_posterior
    from bayes.io import dumps, save_figure, write_table, write_text

    files = []
    write_table(res.estimates_table(), folder / "estimates.csv")
    files.append("estimates.csv")
    if res.sequential is not None:
        seq = res.sequential.copy()
        seq["day"] = seq["day"].dt.strftime("%Y-%m-%d")
        write_table(seq, folder / "sequential.csv")
        fig, _ = plot_cumulative_effect(res.sequential, prob=res.prob, metric=res.table.metrics[0])
        save_figure(fig, folder / "cumulative_effect.png")
        files += ["sequential.csv", "cumulative_effect.png"]
    for name, model in res.models.items():
        fname = {"library": "library.nc", "lift": "readout.nc"}.get(name, f"{name}.nc")
        model.save(folder / fname)
        files.append(fname)
    first = res.table.metrics[0]
    model = (
        res.models.get("lift") if "lift" in res.models else res.models.get(f"conversion_{first}")
    )
    if model is not None:
        pred = model.predict()["relative_lift"]
        prior = None
        if "lift" in res.models and model is res.models["lift"]:
            pred = pred.sel(outcome=first)
            prior = model.priors_["relative_lift"]
        fig, _ = plot_lift_posterior(pred.values, prior=prior, prob=res.prob, metric=first)
        save_figure(fig, folder / "lift_posterior.png")
        files.append("lift_posterior.png")
    summary = res.summary()
    summary["files"] = sorted([*files, "summary.json"])
    write_text(dumps(summary) + "\n", folder / "summary.json")
    return summary["files"]
