"""Outputs as a unit (bayes.outputs) and interrupts during sampling (models.sampling).

Nothing a user owns is emptied; a failure or an interrupt leaves the previous outputs exactly
as they were and no staging or temporary file behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bayes.io import InputError
from bayes.outputs import MANIFEST, OutputFolder, read_manifest


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _write(folder: Path, files: dict[str, str], **kw) -> Path:
    with OutputFolder(folder, command="test", **kw) as out:
        for name, text in files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text)
    return folder


def test_new_folder_gets_files_and_manifest_last(tmp_path):
    out = _write(tmp_path / "res", {"a.csv": "x\n1\n", "fig/p.png": "png"}, seed=7)
    m = read_manifest(out)
    assert [f["path"] for f in m["files"]] == ["a.csv", "fig/p.png"]
    import hashlib

    assert m["files"][0]["sha256"] == hashlib.sha256(b"x\n1\n").hexdigest()
    assert m["run"]["seed"] == 7 and m["run"]["command"] == "test" and m["run"]["created_at"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # nothing beside it


def test_a_foreign_folder_is_refused_and_left_untouched(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    before = _tree(mine)
    with pytest.raises(InputError, match="was not written by bayes"):
        OutputFolder(mine)
    assert _tree(mine) == before
    # an empty folder is fine, and so is the current directory's *new* subfolder
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty, {"a.txt": "1"})
    assert (empty / "a.txt").read_text() == "1"


def test_an_existing_file_is_refused_before_any_work(tmp_path):
    f = tmp_path / "posterior.nc"
    f.write_text("keep me")
    with pytest.raises(InputError, match="existing file"):
        OutputFolder(f)
    assert f.read_text() == "keep me"


def test_a_new_run_replaces_an_earlier_output_as_a_whole(tmp_path):
    out = _write(tmp_path / "res", {"old.csv": "1", "both.csv": "old"})
    _write(out, {"both.csv": "new", "new.csv": "2"})
    assert sorted(_tree(out)) == ["both.csv", MANIFEST, "new.csv"]
    assert (out / "both.csv").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_or_interrupt_leaves_previous_outputs(tmp_path, exc):
    out = _write(tmp_path / "res", {"summary.json": "{}", "posterior.nc": "v1"})
    before = _tree(out)
    with pytest.raises(type(exc)):
        with OutputFolder(out) as staging:
            (staging / "posterior.nc").write_text("v2, half written")
            raise exc
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_two_runs_into_one_folder_never_mix(tmp_path):
    target = tmp_path / "res"
    a, b = OutputFolder(target), OutputFolder(target)
    with a as sa:
        with b as sb:
            assert sa != sb  # unique staging per run
            (sb / "b.txt").write_text("b")
        (sa / "a.txt").write_text("a")
    files = sorted(_tree(target))
    assert files == sorted([MANIFEST, "a.txt"])  # the last to finish wins, whole
    assert [f["path"] for f in read_manifest(target)["files"]] == ["a.txt"]


def test_stale_staging_of_a_killed_run_is_swept(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".res.staging-{dead}-abcd1234"
    stale.mkdir()
    (stale / "posterior.nc").write_bytes(b"")
    _write(tmp_path / "res", {"a": "1"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_read_only_parent_is_refused_up_front(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InputError, match="permission denied"):
            OutputFolder(ro / "out")
    finally:
        ro.chmod(0o700)


_SAMPLER_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading, signal
    os.environ["BAYES_NO_PROGRESS"] = "1"
    import pymc as pm
    from bayes.outputs import OutputFolder
    from models.sampling import SamplerConfig, sample

    target, signame = sys.argv[1], sys.argv[2]
    with pm.Model() as m:
        pm.Normal("x", 0, 1, shape=50)
    with OutputFolder(target, command="interrupt test") as out:
        (out / "posterior.nc").write_text("new and partial")
        # the signal arrives while NUTS runs (PyMC itself would swallow a KeyboardInterrupt)
        def fire():
            os.kill(os.getpid(), getattr(signal, signame))
        threading.Timer(6.0, fire).start()
        idata = sample(m, SamplerConfig(draws=2_000_000, tune=10, chains=1, cores=1))
        (out / "summary.json").write_text("should never be written")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_during_sampling_keeps_previous_outputs(tmp_path, signame):
    target = _write(tmp_path / "res", {"posterior.nc": "v1", "summary.json": "{}"})
    before = _tree(target)
    script = tmp_path / "run.py"
    script.write_text(_SAMPLER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, str(script), str(target), signame],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode != 0, proc.stderr[-2000:]
    assert "SamplingInterrupted" in proc.stderr, proc.stderr[-2000:]
    assert _tree(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "run.py"]
    assert json.loads((target / MANIFEST).read_text())["run"]["command"] == "test"
