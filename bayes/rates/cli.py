"""``bayes rates fit``: per-unit rates from grouped binomial data (k successes of n trials).

Reads a table with one row per unit, fits the hierarchical beta-binomial of
:class:`models.rates.HierarchicalBetaBinomial` (groups partially pooled through the
hyperpriors of :mod:`priors.rates`) and writes, as one unit into ``--out``:

* ``units.csv`` — per unit: ``unit, group, successes, trials, mean, sd, lower_90, upper_90``
  (the exact posterior of its rate, mixed over the posterior draws; ``--prob`` sets the
  interval);
* ``groups.csv`` — per group: units, successes, trials and the posterior of the group mean
  ``mu`` and concentration ``kappa``;
* ``hyperparameters.csv`` — every hyperparameter and group parameter with r̂ and bulk/tail ESS;
* ``posterior.nc`` — the posterior with its data and provenance (``bayes.load`` reopens it);
* ``summary.json`` — sizes, priors, sampler, diagnostics (``ok``, ``problems``), files.
"""

from __future__ import annotations

import argparse

from bayes.cliargs import (
    add_json_flag,
    add_out_folder,
    add_priors_flags,
    add_progress_flag,
    add_sampler_flags,
    probability,
)
from bayes.io import InputError

EPILOG = """\
examples:
  bayes rates fit --data stores.csv --successes conversions --trials visits --group region \\
      --unit store --out fit/
  bayes rates fit --data stores.csv --successes conversions --trials visits --show-priors
  bayes rates fit ... --priors my.toml --prob 0.8 --chains 4 --draws 2000 --json

a priors file changes only the entries it names, e.g. (TOML):
  [logit_mu_loc]            # centre of the group means on the logit scale
  dist = "Normal"
  median = -3.0             # a typical group rate near 5%
  interval = [-4.5, -1.5]   # 90% interval

Impossible counts (successes > trials, negative, non-integer, missing, infinite) are refused
with the file, column and rows. Diagnostics (r-hat, bulk/tail ESS, divergences) are checked;
a fit that fails them warns and says so in summary.json ("ok": false, "problems").
"""


def register(sub) -> None:
    p = sub.add_parser(
        "rates",
        help="hierarchical beta-binomial rates for grouped k-of-n data",
        description="Rates from grouped binomial data: k successes of n trials per unit, units "
        "optionally in groups, each group with a Beta mean and concentration partially pooled "
        "across groups.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="<verb>", required=True)
    f = verbs.add_parser(
        "fit",
        help="fit and write per-unit posteriors, group parameters and the posterior",
        description="Fit the hierarchical beta-binomial by NUTS on the unique (group, k, n) "
        "rows and write per-unit posteriors (mean, sd, central interval), the group means and "
        "concentrations, the hyperparameters, posterior.nc and summary.json into --out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument(
        "--data", metavar="FILE", help="required: table with one row per unit (.csv, .parquet)"
    )
    f.add_argument(
        "--successes", metavar="COL", help="required: column of successes k (whole numbers)"
    )
    f.add_argument(
        "--trials", metavar="COL", help="required: column of trials n (whole numbers, n >= k)"
    )
    f.add_argument("--group", metavar="COL", help="column of group labels (default: one group)")
    f.add_argument(
        "--unit", metavar="COL", help="column of unit labels, unique (default: the row number)"
    )
    f.add_argument(
        "--likelihood",
        choices=("binomial", "any"),
        default="binomial",
        help="binomial: k successes of n trials (default); any: k is 0/1, whether at least "
        "one of the n trials succeeded",
    )
    f.add_argument(
        "--prob",
        type=probability(),
        default=0.9,
        help="probability of the central intervals (default: %(default)s -> lower_90/upper_90)",
    )
    add_priors_flags(f, "rates")
    add_sampler_flags(f)
    add_out_folder(
        f, required=False, what="required: units.csv, groups.csv, posterior.nc, summary.json"
    )
    add_json_flag(f, "the summary")
    add_progress_flag(f)
    f.set_defaults(func=_cmd_fit)


def _priors(args):
    from priors.rates import RATES_PRIORS
    from priors.spec import PriorSet

    return PriorSet.read(args.priors, base=RATES_PRIORS) if args.priors else RATES_PRIORS


def show_priors(priors, *, as_json: bool, seed: int = 0, prob: float = 0.9) -> int:
    """The review table and the prior predictive of the headline quantities: a group's mean
    rate ``mu``, its concentration ``kappa`` and one unit's rate."""
    import pandas as pd

    from bayes.io import dumps
    from models.rates import prior_predictive
    from models.summaries import interval_dict

    draws = prior_predictive(priors, seed=seed)
    names = {
        "mu": "a group's mean rate (mu)",
        "kappa": "a group's concentration (kappa)",
        "p": "a unit's rate",
    }
    pp = pd.DataFrame([{"quantity": names[k], **interval_dict(v, prob)} for k, v in draws.items()])
    table = priors.table(prob)
    if as_json:
        print(dumps({"priors": table, "prior_predictive": pp}))
        return 0
    fmt = {"float_format": lambda x: f"{x:.4g}", "index": False}
    print("hyperpriors (priors/rates.py)")
    print(table.drop(columns="description").to_string(**fmt))
    print("\nprior predictive before any data (4,000 draws)")
    print(pp.to_string(**fmt))
    return 0


def _read(args):
    from bayes.io import read_table
    from models.rates import CountsError, units_from_frame

    for flag in ("data", "successes", "trials", "out"):
        if not getattr(args, flag):
            raise InputError(f"--{flag} is required (unless --show-priors)")
    df = read_table(args.data)
    try:
        return units_from_frame(
            df,
            successes=args.successes,
            trials=args.trials,
            group=args.group,
            unit=args.unit,
            likelihood=args.likelihood,
        )
    except CountsError as exc:
        rows = [r + 2 for r in exc.rows]  # CSV line numbers (header on line 1)
        raise InputError(exc.reason, source=args.data, column=exc.column, rows=rows) from exc


def _cmd_fit(args) -> int:
    from bayes.cliargs import sampler_from_args
    from bayes.io import dumps, write_json, write_table
    from bayes.outputs import OutputFolder
    from models.rates import HierarchicalBetaBinomial

    priors = _priors(args)
    if args.show_priors:
        return show_priors(priors, as_json=args.json, seed=args.seed, prob=args.prob)
    data = _read(args)
    unit = OutputFolder(args.out, command="rates fit", seed=args.seed, args=vars(args))
    model = HierarchicalBetaBinomial(
        priors=priors, sampler=sampler_from_args(args), likelihood=args.likelihood
    )
    model.fit(
        data,
        successes=args.successes,
        trials=args.trials,
        group=args.group,
        unit=args.unit,
        source=args.data,
    )
    units = model.unit_table(prob=args.prob)
    groups = model.group_table(prob=args.prob)
    hyper = model.summary(prob=args.prob)
    diag = model.diagnostics_.to_dict()
    files = {
        "units": "units.csv",
        "groups": "groups.csv",
        "hyperparameters": "hyperparameters.csv",
        "posterior": "posterior.nc",
        "summary": "summary.json",
    }
    summary = {
        "ok": diag["ok"],
        "problems": diag["problems"],
        **model.info(),
        "prob": args.prob,
        "groups_table": groups,
        "diagnostics": diag,
        "priors": model.priors_.to_dict(),
        "sampler": model.sampler_.to_dict(),
        "data": str(args.data),
        "files": files,
    }
    with unit as staging:
        write_table(units, staging / files["units"])
        write_table(groups, staging / files["groups"])
        write_table(hyper, staging / files["hyperparameters"])
        model.save(staging / files["posterior"])
        write_json(summary, staging / files["summary"])
    if args.json:
        print(dumps({**summary, "out": str(unit.target)}))
        return 0
    info = model.info()
    print(
        f"{info['units']:,} units in {info['groups']} group(s), {info['successes']:,} successes "
        f"of {info['trials']:,} trials; compressed to {info['unique_rows']:,} unique rows"
    )
    fmt = {"float_format": lambda x: f"{x:.4g}", "index": False}
    print(groups.to_string(**fmt))
    print(f"diagnostics: {model.diagnostics_}")
    print(f"written to {unit.target}/: {', '.join(files.values())}")
    return 0
