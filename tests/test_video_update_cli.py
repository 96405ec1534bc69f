"""``bayes video pilot|update|pilot-size`` end to end (short chains), and the ways a hostile but
fair user breaks them (issue 11): every one exits 2 naming the file, column and rows, or stops
at parsing, before any sampling, and writes nothing; an interrupt leaves earlier outputs."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--draws", "60", "--tune", "60", "--chains", "2", "--grid-draws", "50"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def pilot_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("pilot") / "pilot.csv"
    argv = ["video", "pilot", "--alpha", "1.1", "--beta", "1.05", "--users-per-arm", "3000"]
    assert main([*argv, "--seed", "4", "--out", str(path)]) == 0
    return path


def test_pilot_update_inspect_end_to_end_and_byte_identical(pilot_csv, tmp_path, capsys):
    """Two runs with the same pilot and seed give byte-identical result files (timings only in
    manifest.json); the folder reopens with bayes.load and bayes inspect."""
    import bayes
    from bayes.outputs import read_manifest
    from bayes.video.report import UPDATE_FILES

    assert len(pd.read_csv(pilot_csv)) == 6
    capsys.readouterr()
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        argv = ["video", "update", "--experiment", str(pilot_csv), "--out", str(out)]
        assert main([*argv, *TINY, "--seed", "1", "--json"]) == 0
        runs.append((out, json.loads(capsys.readouterr().out)))
    (a, s), (b, _) = runs
    files_a, files_b = _tree(a), _tree(b)
    assert sorted(files_a) == sorted([*UPDATE_FILES, "manifest.json"])
    for name in UPDATE_FILES:
        assert files_a[name] == files_b[name], f"{name} differs between identical runs"
    manifest = read_manifest(a)
    assert manifest["run"]["command"] == "video update" and manifest["run"]["seed"] == 1
    assert "duration_s" in manifest["run"] and "duration" not in json.dumps(s)
    assert s["pilot"]["source"] == str(pilot_csv)
    assert s["alpha_hat"]["lower_90"] < s["alpha_hat"]["median"] < s["alpha_hat"]["upper_90"]
    assert s["sampler"] == {
        "backend": "pymc",
        "draws": 60,
        "tune": 60,
        "chains": 2,
        "target_accept": 0.9,
        "seed": 1,
    }
    # 2 × 60 draws cannot pass the one diagnostics rule: the fit says so instead of "ok"
    assert s["ok"] is False and any("ess" in p for p in s["problems"])
    model = bayes.load(a / "posterior.nc")
    pred = model.predict()
    assert pred["delta_core"].dims == ("chain", "draw", "mode")
    assert float(pred["delta_core"].mean()) == pytest.approx(
        np.mean([s["delta_core"][m]["mean"] for m in ("integrated", "standalone")])
    )
    assert main(["inspect", str(a / "posterior.nc"), "--var", "alpha", "beta", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "central 90% (lower_90 / upper_90)" in printed
    assert "alpha" in printed and "r_hat" in printed


def test_show_priors_needs_no_pilot(capsys, tmp_path):
    assert main(["video", "update", "--show-priors"]) == 0
    out = capsys.readouterr().out
    assert "Video priors in use" in out and "ΔCore_standalone − ΔCore_integrated" in out
    assert main(["video", "update", "--out", str(tmp_path / "fit")]) == 2
    assert "--experiment" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _broken(path: Path, src: Path, edit) -> Path:
    df = pd.read_csv(src)
    df = df.astype({"users": object, "video_minutes_7d": object})
    edit(df)
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "edit, column, rows, needle",
    [
        (lambda d: d.__setitem__("adopters", d["adopters"].where(d.index != 2, 3500)), "adopters",
         "rows 4", "exceeds users"),
        (lambda d: d.loc.__setitem__((1, "users"), "1e15"), "users", "rows 3", "maximum"),
        (lambda d: d.loc.__setitem__((4, "video_minutes_7d"), "inf"), "video_minutes_7d",
         "rows 6", "finite"),
        (lambda d: d.loc.__setitem__((4, "video_minutes_7d"), "-inf"), "video_minutes_7d",
         "rows 6", ""),
        (lambda d: d.loc.__setitem__((2, "video_minutes_7d"), np.nan), "video_minutes_7d",
         "rows 4", "on every row with sessions"),
        (lambda d: d.__setitem__("users", d["users"].astype(int) * 4000), "users", "rows 2",
         "more than the active base"),
    ],
)  # fmt: skip
def test_impossible_pilot_exits_2_before_sampling(
    pilot_csv, tmp_path, capsys, edit, column, rows, needle
):
    """Issue 11: 1e15 users or inf/NaN minutes used to reach NUTS (a SamplingError after
    41 s); they are refused on reading, with file, column and rows, and nothing is written."""
    bad = _broken(tmp_path / "bad.csv", pilot_csv, edit)
    capsys.readouterr()
    code = main(["video", "update", "--experiment", str(bad), "--out", str(tmp_path / "fit")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(bad) in err and f"column '{column}'" in err and rows in err and needle in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_out_naming_an_existing_file_is_refused_before_sampling(pilot_csv, tmp_path, capsys):
    target = tmp_path / "posterior.nc"
    target.write_text("my notes")
    code = main(["video", "update", "--experiment", str(pilot_csv), "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "existing file" in err and str(target) in err
    assert target.read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posterior.nc"]
    # a folder bayes did not write is refused too, and left as it was
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("years of work")
    code = main(["video", "update", "--experiment", str(pilot_csv), "--out", str(notes)])
    assert code == 2 and "not written by bayes" in capsys.readouterr().err
    assert [p.name for p in notes.iterdir()] == ["thesis.txt"]


def test_pilot_size_json(capsys):
    assert main(["video", "pilot-size", "--sizes", "300", "3000", "--sims", "40", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    table = res["table"]
    assert [r["users_per_arm"] for r in table] == [0, 300, 3000]
    assert table[0]["evsi"] == 0 and table[0]["expected_loss"] > 0
    # EVSI is the prior's expected loss minus the loss after the pilot, row by row
    for r in table[1:]:
        assert r["evsi"] == pytest.approx(table[0]["expected_loss"] - r["expected_loss"])
        assert 0 <= r["p_right"] <= 1


def test_help_teaches(capsys):
    for verb in ("pilot", "update", "pilot-size"):
        with pytest.raises(SystemExit) as e:
            main(["video", verb, "--help"])
        out = capsys.readouterr().out
        assert e.value.code == 0 and "examples:" in out
        assert "--priors" in out and "--show-priors" in out and "--json" in out


_PREVIOUS = {"summary.json": '{"alpha_hat": "previous run"}', "posterior.nc": "previous bytes"}


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupt_during_update_keeps_the_previous_folder(pilot_csv, tmp_path, signame):
    """Ctrl-C or SIGTERM while NUTS runs (chains one after another, the hard case: PyMC would
    go on with the next chain): exit 130/143, the previous output folder is byte-identical and
    no staging or temporary file is left beside it."""
    from bayes.outputs import OutputFolder

    target = tmp_path / "fit"
    with OutputFolder(target, command="video update") as out:
        for name, text in _PREVIOUS.items():
            (out / name).write_text(text)
    before = _tree(target)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BAYES_CORES": "1"}
    cmd = [sys.executable, "-m", "bayes.cli", "video", "update", "--experiment", str(pilot_csv)]
    cmd += ["--out", str(target), "--draws", "1000000", "--tune", "5", "--chains", "2"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stderr:  # PyMC announces the sampler once the model is compiled
        seen.append(line)
        if "sampling" in line.lower() and "chain" in line.lower():
            break
    else:
        pytest.fail("the update never started sampling:\n" + "".join(seen[-20:]))
    import time

    time.sleep(2.0)
    proc.send_signal(getattr(signal, signame))
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert code == (130 if signame == "SIGINT" else 143), "".join(seen) + rest
    assert "interrupted" in rest and "Traceback" not in rest
    assert _tree(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]
