"""Progress bars on long work (stderr, so ``--json`` output on stdout stays clean).

Whether to show them is decided in one place, :func:`models.sampling.progress_enabled`
(on a terminal and in notebooks; ``--no-progress`` or ``BAYES_NO_PROGRESS`` turn them off).
"""

from __future__ import annotations

import sys

from models.sampling import progress_enabled

__all__ = ["progress", "progress_enabled"]


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
