"""One declaration of every shared command-line flag, and one validation of every CLI number.

Flags mean the same on every command:

* ``--out DIR`` — a folder, written as a unit (:class:`bayes.outputs.OutputFolder`);
* ``--priors FILE`` / ``--show-priors`` — a prior file (JSON/TOML, :meth:`PriorSet.read`) and
  printing the table a command would use;
* ``--draws --tune --chains --target-accept --backend --seed`` — the one
  :class:`models.sampling.SamplerConfig`;
* ``--json`` — machine-readable output on stdout; ``--no-progress`` — no progress bars;
* ``--no-track`` — do not record the run in the tracking store (:mod:`bayes.tracking`); the
  CLI adds it to every command that records runs (:func:`add_track_flag`).

Every number is parsed by an argparse *type* with its range (:func:`int_range`,
:func:`float_range`, :func:`probability`, :func:`date`), so ``--draws 0``, ``--seed -1`` or
``--start 2024-13-45`` stop at parsing with exit code 2 and a message naming the flag, before
any file is read or any sampling starts.
"""

from __future__ import annotations

import argparse
import math

from models.sampling import BACKENDS, MAX_SEED, SamplerConfig

__all__ = [
    "add_json_flag",
    "add_out_folder",
    "add_priors_flags",
    "add_progress_flag",
    "add_sampler_flags",
    "add_seed",
    "add_track_flag",
    "date",
    "float_range",
    "int_range",
    "probability",
    "sampler_from_args",
]


# ---------------------------------------------------------------------------- types


def int_range(lo: int | None = None, hi: int | None = None, *, what: str = "an integer"):
    """An argparse type: an integer in ``[lo, hi]`` (``1e6`` and ``1_000_000`` accepted)."""

    def parse(text: str) -> int:
        s = str(text).strip().replace("_", "")
        try:
            value = int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
            if not math.isfinite(f) or f != int(f):
                raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
            value = int(f)
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo:,}, got {value:,}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be <= {hi:,}, got {value:,}")
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse


def float_range(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    what: str = "a number",
):
    """An argparse type: a finite float in ``[lo, hi]`` (``lo_open``/``hi_open`` exclude the
    ends). NaN and inf are refused."""

    def parse(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if lo is not None and (value < lo or (lo_open and value == lo)):
            op = ">" if lo_open else ">="
            raise argparse.ArgumentTypeError(f"must be {op} {lo:g}, got {value:g}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            op = "<" if hi_open else "<="
            raise argparse.ArgumentTypeError(f"must be {op} {hi:g}, got {value:g}")
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse


def probability(*, open_ends: bool = True):
    """An argparse type: a probability in (0, 1) (or [0, 1] with ``open_ends=False``)."""
    return float_range(0.0, 1.0, lo_open=open_ends, hi_open=open_ends, what="a probability")


def date(text: str):
    """An argparse type: a calendar date or timestamp (``2024-10-01``), as a UTC
    ``pandas.Timestamp``; anything else is refused with the expected format."""
    import pandas as pd

    try:
        ts = pd.Timestamp(str(text).strip())
    except (ValueError, TypeError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"expected a date like 2024-10-01 (or 2024-10-01T12:00), got {text!r}"
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise argparse.ArgumentTypeError(f"expected a date like 2024-10-01, got {text!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


SEED = int_range(0, MAX_SEED, what="a seed (a whole number)")


# ---------------------------------------------------------------------------- flags


def add_seed(p: argparse.ArgumentParser, default: int = 0, help: str = "random seed") -> None:
    p.add_argument(
        "--seed",
        type=SEED,
        default=default,
        help=f"{help}, 0 to 2^32-1; same inputs and seed, same files (default: %(default)s)",
    )


def add_json_flag(p: argparse.ArgumentParser, what: str = "the results") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout")


def add_progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="hide progress bars (they go to stderr, and only on a terminal or in notebooks)",
    )


def add_track_flag(p: argparse.ArgumentParser) -> None:
    """``--no-track``: do not record this run in the tracking store."""
    p.add_argument(
        "--no-track",
        action="store_true",
        help="do not record this run in the tracking store (default: a run with parameters, "
        "metrics and output files goes to mlflow.db beside the outputs, or to "
        "MLFLOW_TRACKING_URI; BAYES_NO_TRACK=1 turns tracking off everywhere)",
    )


def add_out_folder(p: argparse.ArgumentParser, *, required: bool = True, what: str = "") -> None:
    """``--out DIR``: a folder written as a unit; an existing folder the workbench did not
    write is refused, never emptied."""
    p.add_argument(
        "--out",
        required=required,
        metavar="DIR",
        help=(what + "; " if what else "")
        + "output folder, written as a whole at the end (an earlier bayes output there is "
        "replaced; any other non-empty folder is refused)",
    )


def add_priors_flags(p: argparse.ArgumentParser, domain: str) -> None:
    """``--priors FILE`` and ``--show-priors``."""
    p.add_argument(
        "--priors",
        metavar="FILE",
        help=f"{domain} priors to use instead of the declared ones (.json or .toml; entries "
        "you leave out keep their defaults; a belief may be stated as "
        '{"dist": "LogNormal", "median": 1, "interval": [0.8, 1.25]})',
    )
    p.add_argument(
        "--show-priors",
        action="store_true",
        help="print the prior table this command would use (and, where the domain has one, "
        "the prior predictive of its headline quantity), then exit",
    )


def add_sampler_flags(
    p: argparse.ArgumentParser,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: bool = True,
) -> None:
    """The sampler flags, with the defaults of :class:`SamplerConfig` (one for every domain)."""
    d = SamplerConfig()
    g = p.add_argument_group("sampler (NUTS)")
    g.add_argument(
        "--draws",
        type=int_range(1, 10_000_000),
        default=draws or d.draws,
        help="draws kept per chain (default: %(default)s)",
    )
    g.add_argument(
        "--tune",
        type=int_range(0, 10_000_000),
        default=d.tune if tune is None else tune,
        help="tuning steps per chain (default: %(default)s)",
    )
    g.add_argument(
        "--chains",
        type=int_range(1, 64),
        default=chains or d.chains,
        help="chains; r̂ needs at least 2 (default: %(default)s)",
    )
    g.add_argument(
        "--target-accept",
        type=float_range(0, 1, lo_open=True, hi_open=True),
        default=d.target_accept,
        help="NUTS target acceptance; raise to 0.95-0.99 after divergences (default: %(default)s)",
    )
    g.add_argument(
        "--backend",
        choices=BACKENDS,
        default=d.backend,
        help="NUTS implementation (nutpie/numpyro only where installed; default: %(default)s)",
    )
    if seed:
        add_seed(g)


def sampler_from_args(args: argparse.Namespace) -> SamplerConfig:
    """The :class:`SamplerConfig` of parsed sampler flags."""
    return SamplerConfig(
        backend=getattr(args, "backend", "pymc"),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        target_accept=getattr(args, "target_accept", SamplerConfig().target_accept),
        seed=args.seed,
        progress=False if getattr(args, "no_progress", False) else None,
    )
