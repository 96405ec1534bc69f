"""Outputs as a unit: every command that writes a folder builds it whole, then swaps it in.

:class:`OutputFolder` is the one way the workbench writes a folder of results::

    with OutputFolder(args.out, command="video update", seed=args.seed) as out:
        model.save(out / "posterior.nc")
        write_json(summary, out / "summary.json")
    # here, and only here, args.out holds the new files

* **Checked before any work.** ``--out`` naming an existing file, a non-empty folder the
  workbench did not create (no ``manifest.json`` of ours), or a place that cannot be written
  is refused with :class:`~bayes.io.InputError` when the folder object is created, so nothing
  fails after minutes of sampling.
* **Staged.** Files go to a fresh staging folder beside the target, unique per run
  (``.NAME.staging-<pid>-<token>``): two runs into one folder never mix their files.
* **Manifest last.** ``manifest.json`` lists every file with its size and SHA-256, and the run
  record (command, arguments, seed, package version, ``created_at``, ``duration_s``): timings
  live here, not in the result files, which stay byte-identical for the same inputs and seed.
* **Swapped in.** The staging folder replaces the target in one ``renameat2(RENAME_EXCHANGE)``
  where the kernel offers it (else two renames), under a lock on the parent folder; the old
  folder is then removed. A failure, Ctrl-C or SIGTERM before that point removes the staging
  folder and leaves the previous outputs exactly as they were.
* **No leftovers.** Staging and old folders of runs that were killed outright (SIGKILL, power
  loss) are swept the next time anything is written beside them.
* **Tracked.** Under a tracked command (:func:`bayes.tracking.command_run`) the swapped-in
  folder is noted for the command's run: its files become artifacts, its JSON numbers metrics.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bayes.io import InputError

__all__ = ["MANIFEST", "OutputFolder", "is_workbench_folder", "read_manifest"]

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "bayes-outputs/1"
_STAGING = ".{name}.staging-"
_OLD = ".{name}.old-"


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest of a workbench output folder, or ``None``."""
    m = Path(folder) / MANIFEST
    if not m.is_file():
        return None
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == MANIFEST_SCHEMA else None


def is_workbench_folder(folder: str | os.PathLike) -> bool:
    return read_manifest(folder) is not None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(parent: Path, name: str) -> None:
    """Remove staging/old folders beside ``name`` left by runs that no longer exist."""
    for prefix in (_STAGING.format(name=name), _OLD.format(name=name)):
        for p in parent.glob(prefix + "*"):
            pid = p.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)


_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with ``renameat2(RENAME_EXCHANGE)``; False if unsupported."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fn = getattr(_libc, "renameat2", None)
    if fn is None:
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _locked(folder: Path):
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class OutputFolder:
    """Build a folder of outputs in staging and swap it into ``target`` on success.

    Parameters
    ----------
    target
        The folder the user asked for (``--out``).
    command
        The command, for the run record (``"video update"``).
    seed, args
        Recorded in the manifest's run record (``args``: the parsed CLI arguments).
    overwrite
        Replace an earlier *workbench* output folder (default). A folder the workbench did not
        create is never replaced unless it is empty.
    """

    def __init__(
        self,
        target: str | os.PathLike,
        *,
        command: str = "",
        seed: int | None = None,
        args: dict[str, Any] | None = None,
        overwrite: bool = True,
    ):
        self.target = Path(target).expanduser().absolute()
        self.command = command
        self.seed = seed
        self.args = dict(args or {})
        self.overwrite = overwrite
        self.path: Path | None = None
        self.manifest: dict | None = None
        self._t0 = time.perf_counter()
        self.check()

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        """Refuse impossible targets before any work (see the module docstring)."""
        t = self.target
        if t.exists() and not t.is_dir():
            raise InputError(
                "--out must be a folder, but this is an existing file; choose a folder name",
                source=t,
            )
        if t.is_dir() and any(t.iterdir()):
            if not is_workbench_folder(t):
                raise InputError(
                    "the folder exists, is not empty and was not written by bayes (it has no "
                    f"{MANIFEST}); it is left untouched: choose a new or empty folder",
                    source=t,
                )
            if not self.overwrite:
                raise InputError("the folder already holds outputs (overwrite is off)", source=t)
        parent = t.parent
        probe = parent
        while not probe.exists():
            probe = probe.parent
        if not os.access(probe, os.W_OK | os.X_OK):
            raise InputError("cannot write here (permission denied)", source=probe)
        if t.is_dir() and not os.access(t, os.W_OK | os.X_OK):
            raise InputError("cannot replace this folder (permission denied)", source=t)

    # ------------------------------------------------------------------ context
    def __enter__(self) -> Path:
        parent = self.target.parent
        parent.mkdir(parents=True, exist_ok=True)
        _sweep(parent, self.target.name)
        token = secrets.token_hex(4)
        self.path = parent / f"{_STAGING.format(name=self.target.name)}{os.getpid()}-{token}"
        self.path.mkdir()
        return self.path

    def __exit__(self, exc_type, exc, tb) -> bool:
        staging = self.path
        assert staging is not None
        if exc_type is not None:
            shutil.rmtree(staging, ignore_errors=True)
            return False
        try:
            self._write_manifest(staging)
            self._swap(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        from bayes import tracking  # light: MLflow is imported only when the run is written

        tracking.note_folder(self.target)
        return False

    def __truediv__(self, name: str) -> Path:
        if self.path is None:
            raise RuntimeError("use OutputFolder as a context manager")
        return self.path / name

    # ------------------------------------------------------------------ internals
    def _write_manifest(self, staging: Path) -> None:
        files = []
        for p in sorted(staging.rglob("*")):
            if p.is_file() and p.name != MANIFEST:
                files.append(
                    {
                        "path": p.relative_to(staging).as_posix(),
                        "bytes": p.stat().st_size,
                        "sha256": _sha256(p),
                    }
                )
        from bayes import __version__

        self.manifest = {
            "schema": MANIFEST_SCHEMA,
            "files": files,
            "run": {
                "command": self.command,
                "args": _jsonable(self.args),
                "seed": self.seed,
                "package_version": __version__,
                "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "duration_s": round(time.perf_counter() - self._t0, 3),
                "python": sys.version.split()[0],
            },
        }
        tmp = staging / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, staging / MANIFEST)

    def _swap(self, staging: Path) -> None:
        t = self.target
        with _locked(t.parent):
            self.check()  # still ours? (another process may have written meanwhile)
            if not t.exists():
                os.rename(staging, t)
                return
            if _exchange(staging, t):
                shutil.rmtree(staging, ignore_errors=True)  # now holds the old outputs
                return
            old = t.parent / f"{_OLD.format(name=t.name)}{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(t, old)
            try:
                os.rename(staging, t)
            except BaseException:
                os.rename(old, t)
                raise
            shutil.rmtree(old, ignore_errors=True)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items() if not callable(v)}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def iter_files(folder: str | os.PathLike) -> Iterator[str]:
    """Relative paths of the files in a workbench output folder (from its manifest)."""
    m = read_manifest(folder) or {"files": []}
    for f in m["files"]:
        yield f["path"]
