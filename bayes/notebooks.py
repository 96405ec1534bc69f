"""Execute the report notebooks and store them with their outputs (``make notebooks``).

A notebook stored with its outputs reads on a code-hosting site without running anything.
:func:`execute` runs one notebook top to bottom in a fresh kernel (in a scratch folder, so
nothing it writes lands in the repository); :func:`refresh` also writes it back in place,
atomically, with the volatile metadata (execution timestamps) removed so that a refresh that
changes nothing changes no byte of the file's cells. ``BAYES_NOTEBOOK_QUICK=1`` (``--quick``)
selects the small sizes the tests use; stored notebooks are executed at full size.

    python -m bayes.notebooks notebooks/*.ipynb          # what `make notebooks` runs
    python -m bayes.notebooks --quick notebooks/05_ltv.ipynb
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["NotebookError", "execute", "refresh"]


class NotebookError(RuntimeError):
    """A cell raised: the notebook is not written back."""


def _environment(quick: bool) -> dict[str, str]:
    env = {"BAYES_NO_PROGRESS": "1", "BAYES_NO_TRACK": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if quick:
        env["BAYES_NOTEBOOK_QUICK"] = "1"
    return env


def execute(path: str | os.PathLike, *, quick: bool = False, timeout: int = 3600):
    """Run every cell of the notebook at ``path`` in a fresh ``python3`` kernel (working
    folder: a scratch folder) and return the executed notebook; raise :class:`NotebookError`
    naming the cell when one fails. Figures are kept as inline images (the ``MPLBACKEND``
    of the caller is not passed on)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in ("MPLBACKEND", *_environment(quick))}
    os.environ.pop("MPLBACKEND", None)
    os.environ.update(_environment(quick))
    try:
        with tempfile.TemporaryDirectory(prefix="bayes-nb-") as scratch:
            client = NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": scratch}},
            )
            try:
                client.execute()
            except CellExecutionError as exc:
                raise NotebookError(f"{path}: a cell failed:\n{exc}") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _strip_volatile(nb) -> None:
    """Drop execution timestamps and kernel-run metadata that change at every run."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)


def refresh(path: str | os.PathLike, *, quick: bool = False, timeout: int = 3600) -> Path:
    """Execute the notebook and write it back in place with its outputs (atomically; a
    failing notebook is left as it was)."""
    import nbformat

    from bayes.io import write_text

    path = Path(path)
    nb = execute(path, quick=quick, timeout=timeout)
    _strip_volatile(nb)
    return write_text(nbformat.writes(nb) + "\n", path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bayes.notebooks",
        description="Execute notebooks and store them with their outputs.",
    )
    p.add_argument("paths", nargs="+", help="notebooks (.ipynb)")
    p.add_argument("--quick", action="store_true", help="the tests' small sizes")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = p.parse_args(argv)
    failed = []
    for path in args.paths:
        t0 = time.perf_counter()
        print(f"[notebooks] {path} ...", file=sys.stderr, flush=True)
        try:
            refresh(path, quick=args.quick, timeout=args.timeout)
        except NotebookError as exc:
            print(str(exc), file=sys.stderr)
            failed.append(path)
            continue
        print(f"[notebooks] {path} stored in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if failed:
        print(f"[notebooks] failed (left as they were): {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
