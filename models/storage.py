"""Files written atomically: a temporary file beside the target, renamed into place on success.

The lowest layer that writes files (a model's :meth:`~models.base.BayesianModel.save`);
:mod:`bayes.io` re-exports these for the workbench. A failure or an interrupt removes the
temporary file and leaves any previous file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_netcdf"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; expected a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp creates 0600; give the file the usual umask mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_netcdf(idata, path: str | os.PathLike) -> Path:
    """Write an ArviZ ``InferenceData`` to NetCDF (h5netcdf engine) atomically, without the
    wall-clock attrs (:func:`models.provenance.strip_timing`): same content, same bytes."""
    from models.provenance import strip_timing

    strip_timing(idata)
    path = Path(path)
    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp), engine="h5netcdf")
    return path
