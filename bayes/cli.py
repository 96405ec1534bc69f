"""The ``bayes`` command line: ``bayes <domain> <verb>``.

Each domain module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``; heavy imports
(PyMC, scikit-learn) happen inside the command functions so ``--help`` stays instant.
Bad input exits with code 2 and a message naming the file, column and rows; an interrupt
(Ctrl-C, SIGTERM) exits with 130/143 and leaves earlier outputs as they were (every output
folder is built in staging and swapped in only at the end, :mod:`bayes.outputs`).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from bayes import __version__
from bayes.cliargs import add_seed
from bayes.io import InputError

COMMAND_MODULES: tuple[str, ...] = (
    "bayes.photos.cli",
    "bayes.video.cli",
    "bayes.signup.cli",
    "bayes.growth.cli",
    "bayes.experiments.cli",
    "bayes.uplift.cli",
    "bayes.rates.cli",
    "bayes.ltv.cli",
    "bayes.inspect",
    "bayes.runs",
    "bayes.app.cli",
)

#: commands that only read (no run is recorded for them, and they have no --no-track)
UNTRACKED: tuple[str, ...] = ("inspect", "runs", "app")

EPILOG = """\
examples:
  bayes demo --out reports/demo          every domain end to end on generated data
  bayes photos generate --rows 200000 --out photos.parquet
  bayes video simulate --preset seed --json
  bayes video update --experiment pilot.csv --out fit/
  bayes inspect fit/posterior.nc
  bayes runs list --store reports            runs recorded by the demo (MLflow)
  bayes app                                  the interactive app on localhost
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes",
        description="Probabilistic modeling workbench: declare priors, simulate decisions "
        "forward, update beliefs after experiments.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    demo = sub.add_parser(
        "demo",
        help="run every domain end to end on generated data and write an HTML report",
        description="Run every domain end to end on generated data; write an HTML report "
        "with figures, CSV tables and NetCDF posteriors into --out.",
    )
    demo.add_argument(
        "--out",
        default="reports/demo",
        metavar="DIR",
        help="report folder, written as a whole at the end; an earlier report there is "
        "replaced, any other non-empty folder is refused (default: %(default)s)",
    )
    add_seed(demo)
    demo.add_argument(
        "--quick", action="store_true", help="smaller data and fewer draws (for smoke tests)"
    )
    demo.add_argument(
        "--only",
        nargs="+",
        metavar="DOMAIN",
        help="run only these sections (photos video signup growth experiments uplift)",
    )
    demo.set_defaults(func=_cmd_demo)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _mark_commands(sub)
    return parser


def _mark_commands(sub: argparse._SubParsersAction, prefix: str = "") -> None:
    """Give every leaf command its name (``args._bayes_command``, for the run record) and,
    unless it only reads, the one ``--no-track`` flag."""
    from bayes.cliargs import add_track_flag

    for name, p in sub.choices.items():
        command = f"{prefix} {name}".strip()
        children = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if children:
            for child in children:
                _mark_commands(child, command)
            continue
        p.set_defaults(_bayes_command=command)
        if command.split()[0] not in UNTRACKED and "--no-track" not in p._option_string_actions:
            add_track_flag(p)


def _cmd_demo(args) -> int:
    from bayes.demo import run_demo

    index = run_demo(args.out, seed=args.seed, quick=args.quick, only=args.only)
    print(f"report written to {index}")
    return 0


def _tracked(args):
    """The tracking context of a command: a run is recorded when the command succeeds, unless
    it only reads, prints priors (``--show-priors``) or was given ``--no-track``."""
    import contextlib

    command = getattr(args, "_bayes_command", None)
    if (
        command is None
        or command.split()[0] in UNTRACKED
        or getattr(args, "no_track", False)
        or getattr(args, "show_priors", False)
    ):
        return contextlib.nullcontext()
    from bayes import tracking

    return tracking.command_run(command, vars(args))


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that every ``finally`` and staging clean-up runs."""


def _on_sigterm(signum, frame):
    raise Terminated("terminated (SIGTERM)")


def main(argv: list[str] | None = None) -> int:
    from priors.spec import PriorError

    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (e.g. called from an app worker)
        pass
    try:
        with _tracked(args):
            return int(args.func(args) or 0)
    except (InputError, PriorError) as exc:
        print(f"bayes: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        what = str(exc) or "interrupted"
        print(
            f"bayes: {what}; nothing was written and earlier outputs are as they were",
            file=sys.stderr,
        )
        return 143 if isinstance(exc, Terminated) or "SIGTERM" in what else 130
    except BrokenPipeError:  # e.g. `bayes ... --json | head`
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
