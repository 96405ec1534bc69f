"""``bayes uplift generate|fit|evaluate|target`` (seed 004: uplift modelling and the targeting
simulator). Heavy imports happen inside the commands so ``--help`` stays instant; every number
comes from :mod:`bayes.uplift` functions that the tests also call.
"""

from __future__ import annotations

import argparse
import sys

from bayes.cliargs import (
    add_json_flag,
    add_out_folder,
    add_progress_flag,
    add_seed,
    float_range,
    int_range,
)
from bayes.io import InputError, dumps

_RAW = argparse.RawDescriptionHelpFormatter
_NONNEG = float_range(0, what="a non-negative number")
_POS = float_range(0, lo_open=True, what="a positive number")
_FRACTION = float_range(0, 1, lo_open=True, hi_open=True, what="a fraction in (0, 1)")


def _columns(values) -> list[str]:
    """``--features a b`` and ``--features a,b`` alike."""
    out = []
    for v in values or ():
        out.extend(c.strip() for c in str(v).split(",") if c.strip())
    return out


def register(sub) -> None:
    up = sub.add_parser(
        "uplift",
        help="uplift modelling: learners, Qini/AUUC with bands, targeting simulator",
        description="Seed 004: target a promotion to the users it persuades. Generate a "
        "promotion experiment with known effects, fit an uplift learner (two-model, S, X, "
        "doubly robust, causal forest), evaluate any scored file (Qini/uplift curves, AUUC, "
        "Qini coefficient, uplift at k, all with bootstrap intervals, every normalisation "
        "named) and simulate the net revenue of targeting, valued with margins or with the "
        "LTV posterior.",
        epilog="a session:\n"
        "  bayes uplift generate --users 20000 --out data/uplift\n"
        "  bayes uplift fit --data data/uplift/experiment.csv --outcome converted \\\n"
        "      --treatment treatment_flag --features country device acq_channel tenure_weeks \\\n"
        "      frequency recency_weeks avg_order_value sessions_4w --learner dr --out fit/dr\n"
        "  bayes uplift evaluate --data fit/dr/scores.csv --outcome converted \\\n"
        "      --treatment treatment_flag --score uplift --json\n"
        "  bayes uplift target --scores fit/dr/scores.csv --outcome converted \\\n"
        "      --treatment treatment_flag --promo-cost 2 --contact-cost 0.1 --out target/",
        formatter_class=_RAW,
    )
    vs = up.add_subparsers(dest="verb", metavar="<verb>", required=True)

    # ------------------------------------------------------------------ generate
    gen = vs.add_parser(
        "generate",
        help="a promotion experiment on the growth customers with known effects",
        description="Generate growth users/orders (known BG/NBD + Gamma-Gamma truth), take "
        "every customer on the day a promotion is sent, draw their response type "
        "(persuadable, sure thing, lost cause, sleeping dog) from feature-dependent "
        "probabilities whose shares equal the declared ones, and a fair-coin treatment. "
        "Writes experiment.csv (features, treatment_flag, converted, promo_flag, margin), "
        "truth.csv (type, p_control, p_treated, true_uplift per customer), orders.csv (for "
        "`bayes ltv fit`) and truth.json.",
        epilog="example:\n  bayes uplift generate --users 20000 --seed 1 --out data/uplift --json",
        formatter_class=_RAW,
    )
    gen.add_argument(
        "--users",
        type=int_range(100, 50_000_000, what="a number of users"),
        default=20_000,
        help="growth users to generate; about 60%% become customers (default: %(default)s)",
    )
    for kind, share in (
        ("persuadable", 0.20),
        ("sure-thing", 0.15),
        ("lost-cause", 0.55),
        ("sleeping-dog", 0.10),
    ):
        gen.add_argument(
            f"--share-{kind}",
            type=_FRACTION,
            default=share,
            help=f"share of {kind.replace('-', ' ')}s (default: %(default)s; the four must sum to 1)",
        )
    add_seed(gen)
    add_out_folder(gen, what="experiment.csv, truth.csv, orders.csv, truth.json")
    add_json_flag(gen, "a summary (customers, shares, true ATE)")
    gen.set_defaults(func=_cmd_generate)

    # ------------------------------------------------------------------ fit
    fit = vs.add_parser(
        "fit",
        help="fit a learner, score held-out users, evaluate them",
        description="Split the experiment (stratified by arm and outcome), fit the learner on "
        "the training rows, score the held-out rows and evaluate them. Learners: two-model "
        "(the seed's: one classifier per arm, uplift = p1 - p0), s, x (Künzel et al. 2019), "
        "dr (cross-fitted doubly robust, with a posterior interval of the linear CATE), "
        "causal-forest (econml, optional extra `uplift`, with intervals). Writes scores.csv "
        "(held-out rows with uplift, p_control, p_treated and uplift_lower_90/upper_90 where "
        "the learner gives them), metrics.json, curves.csv, calibration.csv and plots.",
        epilog="example:\n  bayes uplift fit --data data/uplift/experiment.csv --outcome "
        "converted --treatment treatment_flag \\\n      --features country,device,"
        "recency_weeks,frequency --learner x --out fit/x",
        formatter_class=_RAW,
    )
    _data_flags(fit, data_help="experiment table (CSV or Parquet)")
    fit.add_argument(
        "--features",
        nargs="+",
        required=True,
        metavar="COLS",
        help="feature columns (space- or comma-separated); text columns are one-hot encoded",
    )
    fit.add_argument(
        "--learner",
        choices=("two-model", "s", "x", "dr", "causal-forest"),
        default="two-model",
        help="uplift learner (default: %(default)s)",
    )
    fit.add_argument(
        "--base",
        choices=("gbm", "linear"),
        default="gbm",
        help="outcome model: gradient-boosted trees or a (logistic) linear model "
        "(default: %(default)s)",
    )
    fit.add_argument(
        "--outcome-type",
        choices=("binary", "continuous"),
        default="binary",
        help="binary: classifiers (the outcome must be 0/1); continuous: regressors "
        "(default: %(default)s)",
    )
    fit.add_argument(
        "--test-size",
        type=_FRACTION,
        default=0.3,
        help="share of rows held out for scoring and evaluation (default: %(default)s)",
    )
    _eval_flags(fit)
    add_out_folder(fit, what="scores, metrics, curves, calibration, plots")
    add_json_flag(fit, "metrics.json")
    add_progress_flag(fit)
    fit.set_defaults(func=_cmd_fit)

    # ------------------------------------------------------------------ evaluate
    ev = vs.add_parser(
        "evaluate",
        help="Qini/uplift curves, AUUC, Qini coefficient, uplift at k of any scored file",
        description="Evaluate the ranking of any scored experiment file: Qini and uplift "
        "curves, AUUC (raw and per user), uplift_auc_score and qini_coefficient (normalised "
        "by the perfect curve, as scikit-uplift does), uplift at k (overall and by group), "
        "each with a bootstrap interval stratified by arm, and calibration by decile. Every "
        "number carries its normalisation in the JSON.",
        epilog="example:\n  bayes uplift evaluate --data fit/dr/scores.csv --outcome converted "
        "--treatment treatment_flag --score uplift --json",
        formatter_class=_RAW,
    )
    _data_flags(ev, data_help="scored experiment file (CSV or Parquet)")
    ev.add_argument("--score", required=True, metavar="COL", help="column to rank users by")
    _eval_flags(ev)
    add_out_folder(ev, required=False, what="metrics.json, curves.csv, calibration.csv, plots")
    add_json_flag(ev, "the metrics")
    add_progress_flag(ev)
    ev.set_defaults(func=_cmd_evaluate)

    # ------------------------------------------------------------------ target
    tg = vs.add_parser(
        "target",
        help="net revenue of targeting policies (optionally valued with the LTV posterior)",
        description="Net revenue of targeting the top k users by score: uplift x value - "
        "promotion cost per treated conversion - contact cost per user. The value of a "
        "conversion is --value, the mean of --value-col over conversions (default: margin), "
        "or — with --ltv — margin rate x each customer's LTV over --months from the LTV "
        "posterior, one value per draw, so net revenue is a distribution. Reports the best "
        "fraction to target with its interval and P(targeting beats not targeting). With "
        "--outcome and --treatment the curve is estimated from the experiment's outcomes "
        "(observed; draws pair LTV draws with bootstrap replicates), else from the predicted "
        "uplift and p_treated.",
        epilog="examples:\n  bayes uplift target --scores fit/dr/scores.csv --outcome converted "
        "--treatment treatment_flag \\\n      --promo-cost 2 --contact-cost 0.1 --policy top:0.3 "
        "budget:500 --out target/\n  bayes uplift target --scores fit/dr/scores.csv --ltv "
        "ltv/posterior.nc --margin-rate 0.3 \\\n      --promo-cost 2 --out target-ltv/ --json",
        formatter_class=_RAW,
    )
    tg.add_argument("--scores", required=True, metavar="FILE", help="scored users (CSV/Parquet)")
    tg.add_argument("--score", default="uplift", metavar="COL", help="ranking column (%(default)s)")
    tg.add_argument(
        "--p-treated",
        default="p_treated",
        metavar="COL",
        help="conversion probability if treated, for the promotion cost (%(default)s)",
    )
    tg.add_argument("--outcome", metavar="COL", help="observed outcome column (0/1)")
    tg.add_argument("--treatment", metavar="COL", help="treatment column (0/1)")
    tg.add_argument(
        "--estimator",
        choices=("observed", "predicted"),
        help="observed (default with --outcome/--treatment) or predicted",
    )
    val = tg.add_argument_group("value of a conversion")
    val.add_argument("--value", type=_NONNEG, help="one value per conversion")
    val.add_argument(
        "--value-col",
        metavar="COL",
        help="value = mean of this column over conversions (default: margin, if present)",
    )
    val.add_argument("--ltv", metavar="POSTERIOR.nc", help="value with the LTV posterior")
    val.add_argument(
        "--ltv-rfm",
        metavar="FILE",
        help="customers' RFM (customer_id, frequency, recency, T, monetary_value); default: "
        "ltv.csv beside the posterior",
    )
    val.add_argument("--id", default=None, metavar="COL", help="customer id column (user_id)")
    val.add_argument(
        "--months", type=int_range(1, 120, what="months"), default=12, help="LTV horizon (12)"
    )
    val.add_argument(
        "--margin-rate",
        type=float_range(0, 1, lo_open=True, what="a margin rate"),
        default=1.0,
        help="share of LTV revenue that is margin (default: %(default)s = revenue)",
    )
    val.add_argument(
        "--discount-rate",
        type=float_range(0, 1, hi_open=True, what="a monthly discount rate"),
        default=0.01,
        help="monthly LTV discount rate (default: %(default)s)",
    )
    tg.add_argument(
        "--promo-cost", type=_NONNEG, default=0.0, help="cost per treated conversion (0)"
    )
    tg.add_argument("--contact-cost", type=_NONNEG, default=0.0, help="cost per targeted user (0)")
    tg.add_argument(
        "--policy",
        nargs="+",
        default=[],
        metavar="KIND:N",
        help="policies to value: top:0.3 (fraction), threshold:0.02 (score), budget:500",
    )
    tg.add_argument(
        "--draws",
        type=int_range(1, 100_000, what="a number of draws"),
        default=200,
        help="LTV draws / bootstrap replicates (default: %(default)s)",
    )
    add_seed(tg)
    add_out_folder(tg, what="net_revenue.csv, policies.csv, targeting.json, plot")
    add_json_flag(tg, "targeting.json")
    add_progress_flag(tg)
    tg.set_defaults(func=_cmd_target)


def _data_flags(p, *, data_help: str):
    p.add_argument("--data", required=True, metavar="FILE", help=data_help)
    p.add_argument("--outcome", required=True, metavar="COL", help="outcome column")
    p.add_argument("--treatment", required=True, metavar="COL", help="treatment column (0/1)")


def _eval_flags(p):
    p.add_argument("--k", type=_FRACTION, default=0.3, help="fraction for uplift at k (0.3)")
    p.add_argument(
        "--bootstrap",
        type=int_range(0, 100_000, what="a number of replicates"),
        default=200,
        help="bootstrap replicates for intervals, 0 for none (default: %(default)s)",
    )
    add_seed(p)


# ---------------------------------------------------------------------------- commands


def _emit(args, payload: dict, text: str) -> None:
    if args.json:
        print(dumps(payload))
    else:
        print(text)


def _cmd_generate(args) -> int:
    from bayes.outputs import OutputFolder
    from bayes.uplift.data import generate_uplift_data, write_uplift_data

    shares = {
        "persuadable": args.share_persuadable,
        "sure_thing": args.share_sure_thing,
        "lost_cause": args.share_lost_cause,
        "sleeping_dog": args.share_sleeping_dog,
    }
    if abs(sum(shares.values()) - 1) > 1e-6:
        raise InputError(f"the four --share-* must sum to 1, they sum to {sum(shares.values()):g}")
    unit = OutputFolder(args.out, command="uplift generate", seed=args.seed, args=vars(args))
    data = generate_uplift_data(args.users, seed=args.seed, shares=shares)
    with unit as out:
        write_uplift_data(data, out)
    meta = data.meta()
    _emit(
        args,
        {**meta, "out": str(unit.target)},
        f"{meta['customers']:,} customers ({meta['treated']:,} treated) written to "
        f"{unit.target}; true ATE {meta['ate_true']:+.3f}, observed {meta['ate_observed']:+.3f}",
    )
    return 0


def _estimator(base: str, outcome_type: str, seed: int):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from models.uplift.learners import default_classifier, default_regressor

    if base == "gbm":
        return default_classifier(seed) if outcome_type == "binary" else default_regressor(seed)
    lin = LogisticRegression(max_iter=2000) if outcome_type == "binary" else Ridge(alpha=1.0)
    return make_pipeline(StandardScaler(), lin)


def _write_evaluation(out, ev, *, label: str) -> None:
    from bayes.io import save_figure, write_json, write_table
    from bayes.uplift.plots import plot_calibration, plot_uplift_curve

    write_json(ev.to_dict(), out / "metrics.json")
    write_table(ev.calibration, out / "calibration.csv")
    if ev.curves is not None:
        write_table(ev.curves.frame(), out / "curves.csv")
        save_figure(plot_uplift_curve(ev.curves, "qini", label=label), out / "qini.png")
        save_figure(plot_uplift_curve(ev.curves, "uplift", label=label), out / "uplift.png")
    save_figure(plot_calibration(ev.calibration), out / "calibration.png")


def _metrics_text(m: dict) -> str:
    from priors.spec import interval_names

    lo, hi = interval_names(0.9)
    lines = []
    for name in (
        "qini_coefficient",
        "uplift_auc_score",
        "auuc_per_user",
        "uplift_at_k_overall",
        "uplift_at_k_by_group",
        "ate",
    ):
        e = m[name]
        ci = f" [{e[lo]:.4f}, {e[hi]:.4f}]" if e.get(lo) is not None else ""
        lines.append(f"  {name:22s} {e['value']:.4f}{ci}")
    lines.append("  (normalisations: see metrics.json / --json; 90% bootstrap intervals)")
    return "\n".join(lines)


def _cmd_fit(args) -> int:
    from bayes.io import write_json, write_table
    from bayes.outputs import OutputFolder
    from bayes.uplift.evaluate import fit_uplift

    features = _columns(args.features)
    unit = OutputFolder(args.out, command="uplift fit", seed=args.seed, args=vars(args))
    res = fit_uplift(
        args.data,
        outcome=args.outcome,
        treatment=args.treatment,
        features=features,
        learner=args.learner,
        estimator=_estimator(args.base, args.outcome_type, args.seed),
        test_size=args.test_size,
        k=args.k,
        n_boot=args.bootstrap,
        seed=args.seed,
        source=args.data,
    )
    summary = {**res.summary(), "base": args.base, "outcome_type": args.outcome_type}
    with unit as out:
        write_table(res.scores, out / "scores.csv")
        _write_evaluation(out, res.evaluation, label=args.learner)
        write_json(summary, out / "metrics.json")
    _emit(
        args,
        summary,
        f"{args.learner} learner: {res.settings['test_rows']:,} held-out users scored -> "
        f"{unit.target / 'scores.csv'}\n" + _metrics_text(res.evaluation.metrics),
    )
    return 0


def _cmd_evaluate(args) -> int:
    from bayes.io import read_table
    from bayes.uplift.evaluate import evaluate_scores

    unit = None
    if args.out:
        from bayes.outputs import OutputFolder

        unit = OutputFolder(args.out, command="uplift evaluate", seed=args.seed, args=vars(args))
    df = read_table(args.data)
    ev = evaluate_scores(
        df,
        outcome=args.outcome,
        treatment=args.treatment,
        score=args.score,
        k=args.k,
        n_boot=args.bootstrap,
        seed=args.seed,
        source=args.data,
    )
    payload = {"data": args.data, "score": args.score, **ev.to_dict()}
    if unit is not None:
        with unit as out:
            _write_evaluation(out, ev, label=args.score)
    _emit(args, payload, f"ranking by '{args.score}' in {args.data}:\n" + _metrics_text(ev.metrics))
    return 0


def _cmd_target(args) -> int:
    from bayes.io import read_table, save_figure, write_json, write_table
    from bayes.outputs import OutputFolder
    from bayes.uplift.data import read_scores
    from bayes.uplift.plots import plot_net_revenue
    from bayes.uplift.targeting import Costs, ltv_draws, parse_policy, simulate_targeting

    try:
        policies = [parse_policy(p) for p in args.policy]
    except ValueError as exc:
        raise InputError(f"--policy: {exc}") from None
    if (args.outcome is None) != (args.treatment is None):
        raise InputError("give both --outcome and --treatment (or neither)")
    unit = OutputFolder(args.out, command="uplift target", seed=args.seed, args=vars(args))
    raw = read_table(args.scores)
    cols = set(raw.columns)
    numeric = [args.p_treated] if args.p_treated in cols else []
    df = read_scores(
        raw,
        score=args.score,
        outcome=args.outcome,
        treatment=args.treatment,
        numeric=numeric,
        source=args.scores,
    )
    if args.value is not None and args.ltv:
        raise InputError("give --value or --ltv, not both")
    if args.ltv:
        id_col = args.id or next((c for c in ("user_id", "customer_id") if c in cols), None)
        if id_col is None or id_col not in cols:
            raise InputError(
                "valuing with --ltv needs a customer id column (--id)", source=args.scores
            )
        rfm = None
        if args.ltv_rfm:
            rfm = read_table(args.ltv_rfm)
            if "customer_id" not in rfm.columns:
                raise InputError("no customer_id column", source=args.ltv_rfm)
            rfm = rfm.assign(customer_id=rfm["customer_id"].astype(str)).set_index("customer_id")
        ltv = ltv_draws(
            args.ltv,
            df[id_col].astype(str),
            months=args.months,
            rfm=rfm,
            n_draws=args.draws,
            seed=args.seed,
            discount_rate=args.discount_rate,
        )
        value = args.margin_rate * ltv
        value_desc = (
            f"{args.margin_rate:g} x {args.months}-month LTV ({ltv.sizes['sample']} posterior "
            f"draws of {args.ltv}, discount {args.discount_rate:g}/month)"
        )
    elif args.value is not None:
        value, value_desc = args.value, f"{args.value:g} per conversion (--value)"
    else:
        col = args.value_col or ("margin" if "margin" in cols else None)
        if col is None or col not in cols:
            raise InputError(
                "no value per conversion: give --value, --value-col or --ltv (the file has no "
                "'margin' column)",
                source=args.scores,
            )
        v = read_scores(raw, score=col, source=args.scores)[col].to_numpy(float)
        conv = df[args.outcome].to_numpy(float) > 0 if args.outcome else v > 0
        if not conv.any():
            raise InputError(
                f"no conversion with a value in '{col}'", source=args.scores, column=col
            )
        value = float(v[conv].mean())
        value_desc = (
            f"{value:.4g} per conversion (mean '{col}' over {int(conv.sum()):,} conversions)"
        )
    try:
        res = simulate_targeting(
            df[args.score].to_numpy(float),
            value=value,
            costs=Costs(promo=args.promo_cost, contact=args.contact_cost),
            uplift=df[args.score].to_numpy(float),
            p_treated=df[args.p_treated].to_numpy(float) if numeric else None,
            outcome=None if args.outcome is None else df[args.outcome].to_numpy(float),
            treatment=None if args.treatment is None else df[args.treatment].to_numpy(int),
            estimator=args.estimator,
            policies=policies,
            n_boot=args.draws,
            seed=args.seed,
            progress=False if args.no_progress else None,
        )
    except ValueError as exc:
        raise InputError(str(exc), source=args.scores) from exc
    summary = {"scores": args.scores, "score": args.score, "value": value_desc, **res.summary}
    with unit as out:
        write_table(res.curve(), out / "net_revenue.csv")
        if res.policies:
            import pandas as pd

            write_table(pd.DataFrame(res.policies), out / "policies.csv")
        write_json(summary, out / "targeting.json")
        save_figure(plot_net_revenue(res), out / "net_revenue.png")
    b = res.summary["best_fraction"]
    nr = res.summary["net_revenue_at_best"]
    _emit(
        args,
        summary,
        f"value: {value_desc}\nbest fraction to target {b['value']:.0%} "
        f"[{b['lower_90']:.0%}, {b['upper_90']:.0%}], net revenue {nr['mean']:,.0f} "
        f"[{nr['lower_90']:,.0f}, {nr['upper_90']:,.0f}], P(targeting beats not targeting) "
        f"{res.summary['p_targeting_beats_not_targeting']:.2f} ({res.summary['estimator']} "
        f"estimator)",
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: bayes uplift ...")
