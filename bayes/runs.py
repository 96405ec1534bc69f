"""``bayes runs list|compare``: read back the runs recorded in the tracking store (MLflow).

Every command that fits, simulates or scores records a run (:mod:`bayes.tracking`) in
``mlflow.db`` beside its outputs, or at ``MLFLOW_TRACKING_URI``. These commands read it;
``make mlflow`` opens the same store in MLflow's own UI.
"""

from __future__ import annotations

import argparse

from bayes.io import dumps

EPILOG = """\
examples:
  bayes runs list                          runs in ./mlflow.db (or MLFLOW_TRACKING_URI)
  bayes runs list --store reports          the store beside reports/demo (bayes demo)
  bayes runs list --command "video update" --limit 5
  bayes runs compare 3f2a9c1e 7b0d4e22     parameters and metrics that differ
  bayes runs compare 3f2a9c1e 7b0d4e22 --all --json

Runs are recorded in mlflow.db beside the --out folder of the command (reports/mlflow.db for
`bayes demo --out reports/demo`), in the current folder for commands that write no folder,
or at MLFLOW_TRACKING_URI when it is set. `--no-track` (or BAYES_NO_TRACK=1) turns recording
off. A run id may be shortened to its first 8 characters.
"""


def register(sub) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "runs",
        help="list and compare the runs recorded in the tracking store (MLflow)",
        description="Read back the runs recorded by bayes commands: parameters (priors, "
        "sampler, data hashes, seed), metrics (diagnostics, headline numbers) and artifacts.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    rsub = p.add_subparsers(dest="runs_command", metavar="<verb>", required=True)

    def store(q):
        q.add_argument(
            "--store",
            metavar="PATH",
            help="the tracking store: a folder holding mlflow.db, an .db file or a tracking "
            "URI (default: MLFLOW_TRACKING_URI, else ./mlflow.db)",
        )
        q.add_argument("--json", action="store_true", help="print JSON on stdout")

    ls = rsub.add_parser(
        "list",
        help="the recorded runs, newest first",
        description="The recorded runs, newest first: id, start, command, status, duration, "
        "seed, key metrics and the headline (for demo sections).",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    store(ls)
    ls.add_argument("--command", metavar="TEXT", help='only commands starting with TEXT ("video")')
    ls.add_argument(
        "--limit", type=_positive, default=50, help="at most this many runs (default: %(default)s)"
    )
    ls.set_defaults(func=_cmd_list)

    cp = rsub.add_parser(
        "compare",
        help="two runs side by side: parameters and metrics that differ",
        description="Two runs side by side: every parameter and metric that differs (all "
        "with --all), with the metric's change B − A.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    store(cp)
    cp.add_argument("run_a", metavar="RUN", help="first run id (or its first 8 characters)")
    cp.add_argument("run_b", metavar="RUN", help="second run id")
    cp.add_argument("--all", action="store_true", help="also the rows that are equal")
    cp.set_defaults(func=_cmd_compare)


def _positive(text: str) -> int:
    from bayes.cliargs import int_range

    return int_range(1, 100_000)(text)


def _cmd_list(args) -> int:
    from bayes.tracking import list_runs, resolve_store

    uri = resolve_store(args.store)
    df = list_runs(uri, command=args.command, limit=args.limit)
    if args.json:
        print(dumps({"store": uri, "runs": df.to_dict(orient="records")}))
        return 0
    if df.empty:
        print(f"no runs recorded in {uri}")
        return 0
    print(f"{len(df)} run(s) in {uri}, newest first\n")
    print(_text_table(df.drop(columns=["run_id"])))
    return 0


def _cmd_compare(args) -> int:
    from bayes.tracking import compare_runs, resolve_store

    uri = resolve_store(args.store)
    df = compare_runs(uri, args.run_a, args.run_b, all_rows=args.all)
    a, b = df.attrs["runs"]
    ca, cb = df.attrs["commands"]
    if args.json:
        print(dumps({"store": uri, "A": a, "B": b, "rows": df.to_dict(orient="records")}))
        return 0
    print(f"A = {a}  ({ca})\nB = {b}  ({cb})\n")
    if df.empty:
        print(
            "no difference in parameters or metrics" + ("" if args.all else " (--all lists them)")
        )
        return 0
    print(_text_table(df.drop(columns=["differs"]) if not args.all else df))
    return 0


def _text_table(df) -> str:
    """A DataFrame as aligned plain text, numbers formatted for people, long cells cut."""
    from bayes.formatting import format_frame

    t = format_frame(df)
    rows = [[_cut(c) for c in r] for r in t.rows]
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(t.columns)]

    def line(cells):
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, t.numeric, strict=True)
        ).rstrip()

    return "\n".join([line(t.columns)] + [line(r) for r in rows])


def _cut(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
