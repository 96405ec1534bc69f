"""``bayes video ...``: forward simulation and sensitivity (this module) and the updating
verbs (``update``, ``pilot``, ``pilot-size``) registered from :mod:`bayes.video.cli_update`."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    video = sub.add_parser(
        "video",
        help="short-form video strategy: simulate, sensitivity, pilot, update, pilot-size",
        description="Integrated feed vs standalone app (seed 000 Part C and §11).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    vsub = video.add_subparsers(dest="video_command", metavar="<verb>", required=True)
    register_forward(vsub)
    from bayes.video import cli_update

    cli_update.register(vsub)


def register_forward(vsub) -> None:
    """Register ``simulate`` and ``sensitivity`` (placeholder until the issue lands)."""
