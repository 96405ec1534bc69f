"""``bayes signup``: generate data, score audiences (seed EB or hierarchical), backtest, priors."""

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
    date,
    float_range,
    int_range,
    probability,
)
from bayes.engines import add_engine_flags
from bayes.io import InputError

_SCORE_EPILOG = """\
examples:
  bayes signup generate --out data/c360 --seed 1 --recipients 20000
  bayes signup score --events data/c360/events.csv --campaigns data/c360/campaigns.csv \\
      --signups data/c360/signups.csv --topic Mortgage --top-n 500 --out aud/
  bayes signup score ... --method hierarchical --out aud_h/ --json
  bayes signup score ... --method hierarchical --show-priors

Counting follows seed 003 §2 exactly: events unique per (msg_id, event_type), e-mails
lower-cased and trimmed, timestamps in UTC (naive = UTC), topic from campaigns.topic or parsed
from subject/name ('[Mortgage] …', 'Credit Card — …', 'Savings - …', 'Insurance: …'), Y = signup
event or signups-table row, collapsed to 0/1. Rules (§6) run in order: 1 goal (new excludes
owners, so every kept row has signed_up = 0), 2 unsubscribe/complaint, 3 sends >= S_min,
4 recency of the last open in the topic (as of --as-of, default: the latest event_ts in the
data), 5 domains, 6 p_signup >= tau, 7 top-N per topic.

--out is a folder written as a unit: audience.csv (one row per kept (email, topic); with
--method hierarchical also p_signup_lower_90/upper_90), summary.json (rules, funnel, expected
signups, diagnostics with "ok" and "problems") and, for --method hierarchical, posterior.nc
(reopen with bayes.load or bayes inspect). Impossible counts (more clicks than sends in a
pair) are refused with the rows of the events file.
"""


def register(sub) -> None:
    p = sub.add_parser(
        "signup",
        help="Customer 360: per-recipient signup probability and audiences (seed 003)",
        description="Customer 360 signup probability per (email, topic): the seed's empirical "
        "Bayes, a hierarchical beta-binomial beside it, audiences under the seed's business "
        "rules, and a backtest comparing both.",
        epilog=_SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="<verb>", required=True)

    g = verbs.add_parser(
        "generate",
        help="write synthetic events/campaigns/signups with realistic dirt and known truth",
        description="Write events, campaigns, signups (plus truth and topic_truth) into the "
        "folder --out. The data carry the dirt of real exports: duplicated events per msg_id, "
        "mixed-case e-mails with spaces, naive and zoned timestamps, topic-less campaigns, "
        "signups only in the table, only in the events or in both.",
        epilog="example:\n  bayes signup generate --out data/c360 --seed 1 --recipients 20000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument(
        "--out",
        "--out-dir",
        dest="out",
        required=True,
        metavar="DIR",
        help="output folder, written as a unit (an earlier bayes output there is replaced; any "
        "other non-empty folder is refused); --out-dir is the older spelling",
    )
    add_seed(g)
    g.add_argument(
        "--recipients",
        type=int_range(1, 50_000_000),
        default=5000,
        help="recipients (default: %(default)s)",
    )
    g.add_argument(
        "--topics", type=int_range(1, 20), default=5, help="topics, 1-20 (default: %(default)s)"
    )
    g.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format")
    add_json_flag(g, "the written paths")
    add_progress_flag(g)
    g.set_defaults(func=_cmd_generate)

    s = verbs.add_parser(
        "score",
        help="score every (email, topic), apply the business rules, write the audience",
        description="Score every (email, topic) by the seed's empirical Bayes (--method eb, "
        "p = p_click * p_sc with alpha = 2) or the hierarchical beta-binomial (--method "
        "hierarchical: posterior means plus 90% intervals), apply the seven business rules and "
        "write one row per kept (email, topic). Prints the expected signups (with a 90% "
        "credible interval for the hierarchical model).",
        epilog=_SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs(s)
    s.add_argument("--topic", help="only this topic (default: one audience per topic)")
    s.add_argument("--goal", choices=("new", "all"), default="new", help="rule 1 (default: new)")
    s.add_argument(
        "--min-sends",
        type=int_range(0),
        default=1,
        help="rule 3, S_min (default: %(default)s)",
    )
    s.add_argument("--recency-days", type=float_range(0), help="rule 4: last open within D days")
    s.add_argument(
        "--as-of", type=date, help="recency anchor (default: the latest event_ts in the data)"
    )
    s.add_argument("--domains", help="rule 5: comma-separated e-mail domains to keep")
    s.add_argument(
        "--min-prob", type=probability(open_ends=False), help="rule 6: keep p_signup >= tau"
    )
    s.add_argument("--top-n", type=int_range(1), help="rule 7: top N per topic by p_signup")
    s.add_argument(
        "--method",
        choices=("eb", "hierarchical"),
        default="eb",
        help="eb: the seed's formulas; hierarchical: the beta-binomial fit (default: eb)",
    )
    alpha = float_range(0, lo_open=True, what="a positive number")
    s.add_argument("--alpha-c", type=alpha, default=2.0, help="EB alpha_C > 0 (default: 2)")
    s.add_argument("--alpha-sc", type=alpha, default=2.0, help="EB alpha_SC > 0 (default: 2)")
    s.add_argument(
        "--prob",
        type=probability(),
        default=0.9,
        help="credible interval probability for --method hierarchical (default: %(default)s)",
    )
    s.add_argument("--format", choices=("csv", "parquet"), default="csv", help="audience format")
    _model_flags(s)
    add_out_folder(s, what="audience, summary.json and (hierarchical) posterior.nc")
    add_json_flag(s, "the summary")
    add_progress_flag(s)
    s.set_defaults(func=_cmd_score)
    add_engine_flags(s)

    b = verbs.add_parser(
        "backtest",
        help="hold out each pair's last send; compare EB and hierarchical (log loss, Brier)",
        description="Hold out each (email, topic)'s last send (its click and any signup from "
        "then on), fit both estimators on everything earlier, and compare log loss and Brier "
        "score for click and signup. With --truth (from `bayes signup generate`) also the RMSE "
        "against the true rates.",
        epilog="example:\n  bayes signup backtest --events d/events.csv --campaigns "
        "d/campaigns.csv --signups d/signups.csv --truth d/truth.csv --out bt/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs(b)
    b.add_argument(
        "--truth",
        help="truth file from `bayes signup generate` (columns email, topic, p_click, p_signup)",
    )
    _model_flags(b)
    add_out_folder(
        b, required=False, what="optional: metrics.csv, holdout.csv, summary.json, posterior.nc"
    )
    add_json_flag(b, "the comparison")
    add_progress_flag(b)
    b.set_defaults(func=_cmd_backtest)
    add_engine_flags(b)

    pr = verbs.add_parser(
        "priors",
        help="the hyperpriors of the hierarchical model and the prior predictive of the headline",
        description="Print the declared hyperpriors (priors/signup.py, or --priors FILE with "
        "some entries changed) as the review table, and the prior predictive of the headline "
        "before any data: per topic, the click rate, the signup rate given a click and the "
        "expected signups per send (their product), with 90% intervals.",
        epilog="example:\n  bayes signup priors --priors my.toml   # with [sc_logit_mu_loc]\n"
        '  dist = "Normal"\n  median = -2.2\n  interval = [-3.5, -1.0]',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pr.add_argument("--priors", metavar="FILE", help="priors file (.json or .toml) to show")
    add_seed(pr, help="seed of the prior predictive draws")
    add_json_flag(pr, "the tables")
    add_progress_flag(pr)
    pr.set_defaults(func=_cmd_priors, show_priors=True)  # prints only: no run is recorded


def _inputs(p) -> None:
    p.add_argument("--events", required=True, help="events CSV/Parquet")
    p.add_argument("--campaigns", required=True, help="campaigns CSV/Parquet")
    p.add_argument(
        "--signups",
        required=True,
        help="signups table CSV/Parquet (email, campaign_id, signup_ts); may have no rows yet",
    )


def _model_flags(p) -> None:
    add_sampler_flags(p)
    add_priors_flags(p, "signup")
    p.add_argument(
        "--signup-likelihood",
        choices=("any", "binomial"),
        default="any",
        help="hierarchical signup stage: 'any' = Y is at least one signup among the C clicks "
        "(default); 'binomial' = Y successes out of C clicks (the seed's convention)",
    )


def _priors(args):
    from priors.signup import SIGNUP_PRIORS, signup_priors
    from priors.spec import PriorSet

    if not getattr(args, "priors", None):
        return SIGNUP_PRIORS
    return signup_priors(PriorSet.read(args.priors, base=SIGNUP_PRIORS))


def _model(args):
    from bayes.cliargs import sampler_from_args
    from models.signup import HierarchicalSignupModel

    return HierarchicalSignupModel(
        priors=_priors(args),
        sampler=sampler_from_args(args),
        signup_likelihood=args.signup_likelihood,
    )


def _show_priors(args) -> int:
    """``--show-priors`` and ``bayes signup priors``: the review table and the prior
    predictive of the headline."""
    from bayes.io import dumps
    from models.signup import prior_predictive_table

    priors = _priors(args)
    table = priors.table()
    pp = prior_predictive_table(priors, seed=getattr(args, "seed", 0))
    if args.json:
        print(dumps({"priors": table, "prior_predictive": pp}))
        return 0
    fmt = {"float_format": lambda x: f"{x:.4g}", "index": False}
    print("hyperpriors of the hierarchical signup model (priors/signup.py)")
    print(table.drop(columns="description").to_string(**fmt))
    print("\nprior predictive before any data (4,000 draws; per topic)")
    print(pp.to_string(**fmt))
    return 0


def _counts_error(exc) -> InputError:
    return InputError(str(exc))


def _cmd_generate(args) -> int:
    from bayes.io import dumps
    from bayes.outputs import OutputFolder
    from bayes.signup.generate import write_signup_files

    unit = OutputFolder(args.out, command="signup generate", seed=args.seed, args=vars(args))
    with unit as staging:  # block by block: any size in constant memory
        written = write_signup_files(
            staging,
            args.recipients,
            args.topics,
            seed=args.seed,
            fmt=args.format,
            progress=False if args.no_progress else None,
        )
    paths = {k: unit.target / p.name for k, p in written.paths.items()}
    if args.json:
        print(dumps({k: str(v) for k, v in paths.items()} | {"events_rows": written.n_events}))
    else:
        for k, v in paths.items():
            print(f"{k:12s} {v}")
    return 0


def _cmd_score(args) -> int:
    from bayes.io import dumps, write_json
    from bayes.outputs import OutputFolder
    from bayes.signup.audience import AudienceRules, score, write_audience
    from models.rates import CountsError

    if args.show_priors:
        return _show_priors(args)
    model = _model(args) if args.method == "hierarchical" else None
    unit = OutputFolder(args.out, command="signup score", seed=args.seed, args=vars(args))
    domains = tuple(d for d in (args.domains or "").split(",") if d.strip()) or None
    rules = AudienceRules(
        goal=args.goal,
        min_sends=args.min_sends,
        recency_days=args.recency_days,
        as_of=args.as_of,
        domains=domains,
        min_prob=args.min_prob,
        top_n=args.top_n,
        topic=args.topic,
    )
    try:
        result = score(
            args.events,
            args.campaigns,
            args.signups,
            rules=rules,
            method=args.method,
            alpha_c=args.alpha_c,
            alpha_sc=args.alpha_sc,
            model=model,
            prob=args.prob,
        )
    except CountsError as exc:
        raise _counts_error(exc) from exc
    summary = result.summary()
    names = {"audience": f"audience.{args.format}", "summary": "summary.json"}
    if result.model is not None:
        names["posterior"] = "posterior.nc"
    with unit as staging:
        write_audience(result.audience, staging / names["audience"])
        if result.model is not None:
            result.model.save(staging / names["posterior"])
        summary["files"] = dict(names)
        write_json(summary, staging / names["summary"])
    summary["out"] = str(unit.target)
    if args.json:
        print(dumps(summary))
        return 0
    print(f"events: {result.info['n_events']:,} ({result.info['n_unique_events']:,} unique)")
    print(f"(email, topic) pairs: {result.info['n_pairs']:,}; method: {args.method}")
    print(f"counted on {result.info['counted']}")
    print(result.funnel.to_string(index=False))
    print(result.expected.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    total = result.expected.iloc[-1]
    line = f"expected signups: {total['expected_signups']:,.2f}"
    lo = [c for c in total.index if c.startswith("lower_")]
    if lo:
        hi = lo[0].replace("lower_", "upper_")
        line += f" ({args.prob:.0%} credible interval {total[lo[0]]:,.2f} - {total[hi]:,.2f})"
    print(line + f" across {int(total['members']):,} recipients")
    if result.model is not None:
        d = result.model.diagnostics_
        print(f"hierarchical fit: {d}")
    print(f"written to {unit.target}/: {', '.join(names.values())}")
    return 0


_TRUTH_COLUMNS = ("email", "topic", "p_click", "p_signup")


def _read_truth(path):
    from bayes.io import Column, read_table

    cols = [Column("email", "str"), Column("topic", "str")] + [
        Column(c, "float", min=0.0, max=1.0) for c in _TRUTH_COLUMNS[2:]
    ]
    return read_table(path, cols)


def _cmd_backtest(args) -> int:
    from bayes.io import dumps, write_json, write_table
    from bayes.outputs import OutputFolder
    from bayes.signup.audience import refuse_impossible_counts
    from bayes.signup.backtest import backtest
    from bayes.signup.counting import count_pairs
    from bayes.signup.data import load_inputs
    from models.rates import CountsError

    if args.show_priors:
        return _show_priors(args)
    unit = (
        OutputFolder(args.out, command="signup backtest", seed=args.seed, args=vars(args))
        if args.out
        else None
    )
    truth = _read_truth(args.truth) if args.truth else None
    inp = load_inputs(args.events, args.campaigns, args.signups)
    refuse_impossible_counts(count_pairs(inp.events, inp.topic_of_campaign, inp.signups).pairs, inp)
    try:
        res = backtest(
            inp.events, inp.topic_of_campaign, inp.signups, truth=truth, model=_model(args)
        )
    except CountsError as exc:
        raise _counts_error(exc) from exc
    diag = res.model.diagnostics_.to_dict()
    summary = {
        "metrics": res.metrics.to_dict(orient="records"),
        "hierarchical_minus_eb": res.comparison(),
        **res.info,
        "ok": diag["ok"],
        "problems": diag["problems"],
        "diagnostics": diag,
    }
    if unit is not None:
        with unit as staging:
            write_table(res.metrics, staging / "metrics.csv")
            write_table(res.holdout.astype({"email": str, "topic": str}), staging / "holdout.csv")
            res.model.save(staging / "posterior.nc")
            write_json(summary, staging / "summary.json")
    if args.json:
        print(dumps(summary))
        return 0
    print(res.metrics.to_string(index=False, float_format=lambda x: f"{x:.5f}"))
    for target, d in res.comparison().items():
        verdict = "better" if d["log_loss"] <= 0 else "WORSE"
        print(
            f"{target}: hierarchical - EB log loss {d['log_loss']:+.5f}, "
            f"Brier {d['brier']:+.6f} ({verdict})"
        )
    print(f"hierarchical fit: {res.model.diagnostics_}")
    if unit is not None:
        print(f"written to {unit.target}/")
    return 0


def _cmd_priors(args) -> int:
    return _show_priors(args)


if __name__ == "__main__":  # pragma: no cover
    from bayes.cli import main

    sys.exit(main(["signup", *sys.argv[1:]]))
