"""``bayes signup``: generate data, score audiences (seed EB or hierarchical), backtest, priors."""

from __future__ import annotations

import argparse
import sys

from bayes.engines import add_engine_flags
from bayes.io import InputError

_SCORE_EPILOG = """\
examples:
  bayes signup generate --out-dir data/c360 --seed 1 --recipients 20000
  bayes signup score --events data/c360/events.csv --campaigns data/c360/campaigns.csv \\
      --signups data/c360/signups.csv --topic Mortgage --top-n 500 --out audience.csv
  bayes signup score ... --method hierarchical --out audience.csv --json

Counting follows seed 003 §2 exactly: events unique per (msg_id, event_type), e-mails
lower-cased and trimmed, timestamps in UTC (naive = UTC), topic from campaigns.topic or parsed
from subject/name ('[Mortgage] …', 'Credit Card — …', 'Savings - …', 'Insurance: …'), Y = signup
event or signups-table row, collapsed to 0/1. Rules (§6) run in order: 1 goal (new excludes
owners, so every kept row has signed_up = 0), 2 unsubscribe/complaint, 3 sends >= S_min,
4 recency of the last open in the topic (as of --as-of, default: the latest event_ts in the
data), 5 domains, 6 p_signup >= tau, 7 top-N per topic.
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
        description="Write events, campaigns, signups (plus truth and topic_truth) into "
        "--out-dir. The data carry the dirt of real exports: duplicated events per msg_id, "
        "mixed-case e-mails with spaces, naive and zoned timestamps, topic-less campaigns, "
        "signups only in the table, only in the events or in both.",
        epilog="example:\n  bayes signup generate --out-dir data/c360 --seed 1 --recipients 20000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("--out-dir", required=True, help="folder to write into")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    g.add_argument("--recipients", type=int, default=5000, help="recipients (default: %(default)s)")
    g.add_argument("--topics", type=int, default=5, help="topics, 1-20 (default: %(default)s)")
    g.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format")
    g.add_argument("--json", action="store_true", help="print the written paths as JSON")
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
    s.add_argument("--min-sends", type=int, default=1, help="rule 3, S_min (default: 1)")
    s.add_argument("--recency-days", type=float, help="rule 4: last open within D days")
    s.add_argument("--as-of", help="recency anchor (default: the latest event_ts in the data)")
    s.add_argument("--domains", help="rule 5: comma-separated e-mail domains to keep")
    s.add_argument("--min-prob", type=float, help="rule 6: keep p_signup >= tau")
    s.add_argument("--top-n", type=int, help="rule 7: top N per topic by p_signup")
    s.add_argument("--method", choices=("eb", "hierarchical"), default="eb")
    s.add_argument("--alpha-c", type=float, default=2.0, help="EB alpha_C (default: 2)")
    s.add_argument("--alpha-sc", type=float, default=2.0, help="EB alpha_SC (default: 2)")
    _sampler(s)
    s.add_argument(
        "--posterior",
        help="hierarchical: NetCDF path for the fit (default: <out stem>_posterior.nc)",
    )
    s.add_argument("--out", required=True, help="audience file (.csv or .parquet)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
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
        "d/campaigns.csv --signups d/signups.csv --truth d/truth.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs(b)
    b.add_argument("--truth", help="truth file from `bayes signup generate` (optional)")
    _sampler(b)
    b.add_argument("--json", action="store_true", help="print the comparison as JSON")
    b.set_defaults(func=_cmd_backtest)
    add_engine_flags(b)

    pr = verbs.add_parser(
        "priors",
        help="print the hyperpriors of the hierarchical model",
        description="Print the declared hyperpriors (priors/signup.py) with their 90% intervals.",
    )
    pr.add_argument("--json", action="store_true", help="print as JSON")
    pr.set_defaults(func=_cmd_priors)


def _inputs(p) -> None:
    p.add_argument("--events", required=True, help="events CSV/Parquet")
    p.add_argument("--campaigns", required=True, help="campaigns CSV/Parquet")
    p.add_argument("--signups", required=True, help="signups table CSV/Parquet")


def _sampler(p) -> None:
    p.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain (default: 1000)")
    p.add_argument("--tune", type=int, default=1000, help="NUTS tuning steps (default: 1000)")
    p.add_argument("--chains", type=int, default=2, help="chains (default: 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--signup-likelihood",
        choices=("any", "binomial"),
        default="any",
        help="hierarchical signup stage: 'any' = Y is at least one signup among the C clicks "
        "(default); 'binomial' = Y successes out of C clicks (the seed's convention)",
    )


def _model(args):
    from bayes.progress import progress_enabled
    from models.sampling import default_cores
    from models.signup import HierarchicalSignupModel

    return HierarchicalSignupModel(
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        cores=default_cores(args.chains),
        random_seed=args.seed,
        signup_likelihood=args.signup_likelihood,
        progressbar=progress_enabled(None),
    )


def _cmd_generate(args) -> int:
    from bayes.io import dumps
    from bayes.signup.generate import write_signup_files

    if args.recipients < 1:
        raise InputError(f"--recipients must be >= 1, got {args.recipients}")
    if not 1 <= args.topics <= 20:
        raise InputError(f"--topics must be in 1..20, got {args.topics}")
    written = write_signup_files(
        args.out_dir, args.recipients, args.topics, seed=args.seed, fmt=args.format
    )
    paths = written.paths
    if args.json:
        print(dumps({k: str(v) for k, v in paths.items()} | {"events_rows": written.n_events}))
    else:
        for k, v in paths.items():
            print(f"{k:12s} {v}")
    return 0


def _cmd_score(args) -> int:
    from pathlib import Path

    import pandas as pd

    from bayes.io import data_hash, dumps
    from bayes.signup.audience import (
        AudienceRules,
        check_model,
        score,
        write_audience,
        write_posterior,
    )

    as_of = None
    if args.as_of:
        try:
            as_of = pd.Timestamp(args.as_of)
        except ValueError as exc:
            raise InputError(f"--as-of: cannot parse {args.as_of!r} as a timestamp") from exc
        as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    domains = tuple(d for d in (args.domains or "").split(",") if d.strip()) or None
    rules = AudienceRules(
        goal=args.goal,
        min_sends=args.min_sends,
        recency_days=args.recency_days,
        as_of=as_of,
        domains=domains,
        min_prob=args.min_prob,
        top_n=args.top_n,
        topic=args.topic,
    )
    model = _model(args) if args.method == "hierarchical" else None
    result = score(
        args.events,
        args.campaigns,
        args.signups,
        rules=rules,
        method=args.method,
        alpha_c=args.alpha_c,
        alpha_sc=args.alpha_sc,
        model=model,
    )
    out = write_audience(result.audience, args.out)
    summary = result.summary()
    summary["out"] = str(out)
    if result.model is not None:
        diag = check_model(result.model)
        post = args.posterior or str(
            Path(args.out).with_name(Path(args.out).stem + "_posterior.nc")
        )
        write_posterior(result.model, post, data_hash=data_hash(args.events))
        summary["posterior"] = post
        summary["diagnostics"] = diag.to_dict()
    if args.json:
        print(dumps(summary))
        return 0
    print(f"events: {result.info['n_events']:,} ({result.info['n_unique_events']:,} unique)")
    print(f"(email, topic) pairs: {result.info['n_pairs']:,}; method: {args.method}")
    print(result.funnel.to_string(index=False))
    print(result.expected.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    total = result.expected.iloc[-1]
    line = f"expected signups: {total['expected_signups']:,.2f}"
    if "lower" in total:
        line += f" (90% credible interval {total['lower']:,.2f} - {total['upper']:,.2f})"
    print(line + f" across {int(total['members']):,} recipients")
    print(f"audience written to {out}")
    if "posterior" in summary:
        print(f"posterior written to {summary['posterior']}")
    return 0


def _cmd_backtest(args) -> int:
    from bayes.io import dumps, read_table
    from bayes.signup.backtest import backtest
    from bayes.signup.data import load_inputs

    inp = load_inputs(args.events, args.campaigns, args.signups)
    truth = read_table(args.truth) if args.truth else None
    res = backtest(inp.events, inp.topic_of_campaign, inp.signups, truth=truth, model=_model(args))
    if args.json:
        print(
            dumps(
                {
                    "metrics": res.metrics.to_dict(orient="records"),
                    "hierarchical_minus_eb": res.comparison(),
                    **res.info,
                }
            )
        )
        return 0
    print(res.metrics.to_string(index=False, float_format=lambda x: f"{x:.5f}"))
    for target, d in res.comparison().items():
        verdict = "better" if d["log_loss"] <= 0 else "WORSE"
        print(
            f"{target}: hierarchical - EB log loss {d['log_loss']:+.5f}, "
            f"Brier {d['brier']:+.6f} ({verdict})"
        )
    return 0


def _cmd_priors(args) -> int:
    from bayes.io import dumps
    from priors.signup import priors_table

    table = priors_table()
    if args.json:
        print(dumps(table))
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    from bayes.cli import main

    sys.exit(main(["signup", *sys.argv[1:]]))
