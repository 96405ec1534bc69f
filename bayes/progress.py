"""Progress bars on long work (stderr, so ``--json`` output on stdout stays clean).

Whether to show them is decided in one place, :func:`models.sampling.progress_enabled`
(on a terminal and in notebooks; ``--no-progress`` or ``BAYES_NO_PROGRESS`` turn them off).
"""

from __future__ import annotations

import contextlib
import sys
import time

from models.sampling import progress_enabled

__all__ = ["Stages", "progress", "progress_enabled"]


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


class Stages:
    """Wall and CPU seconds (the process's, every thread included: DuckDB's too) of named
    stages of long work, and their spans on ``time.perf_counter`` (a benchmark matches them
    to its memory samples). ``with stages("query"): ...`` times one stage."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.spans: dict[str, tuple[float, float]] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        t, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            end = time.perf_counter()
            self.wall[name], self.cpu[name] = end - t, time.process_time() - c
            self.spans[name] = (t, end)

    def attach(self, frame):
        """Record the stages in ``frame.attrs`` (``timings``, ``cpu``, ``spans``); returns it."""
        frame.attrs.update(timings=self.wall, cpu=self.cpu, spans=self.spans)
        return frame

    def to_dict(self) -> dict:
        """``{"wall": ..., "cpu": ..., "spans": ...}`` (JSON-ready)."""
        return {"wall": dict(self.wall), "cpu": dict(self.cpu), "spans": dict(self.spans)}
