"""Progress bars on long work (stderr, so ``--json`` output on stdout stays clean)."""

from __future__ import annotations

import os
import sys


def progress_enabled(requested: bool | None = None) -> bool:
    if requested is not None:
        return requested
    if os.environ.get("BAYES_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


def progress(iterable=None, *, total=None, desc: str = "", enabled: bool | None = None):
    """A tqdm bar on stderr, or the bare iterable when disabled or not on a terminal."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        file=sys.stderr,
        disable=not progress_enabled(enabled),
        leave=False,
    )
