"""``bayes video simulate`` and ``bayes video sensitivity`` (CLI schema and errors)."""

import json

import numpy as np
import pandas as pd
import pytest

from bayes.cli import main
from priors.video import TABLE_PATH


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_seed_json_schema(capsys):
    code, out, _ = _run(
        capsys, "video", "simulate", "--preset", "seed", "--draws", "40", "--n-sim", "5000",
        "--seed", "3", "--json",
    )  # fmt: skip
    assert code == 0
    r = json.loads(out)
    stats = {"mean", "sd", "median", "lower_90", "upper_90"}  # one interval naming everywhere
    for mode in ("integrated", "standalone"):
        assert set(r[mode]) == stats
        assert r[mode]["lower_90"] < r[mode]["median"] < r[mode]["upper_90"]
        assert set(r["usage"][mode]) >= {"adopters", "sessions", "minutes"}
        assert set(r["usage"][mode]["sessions"]) == stats
    assert stats | {"p_standalone_better", "mc_se"} == set(r["difference"])
    assert set(r["expected_loss"]) == {"integrated", "standalone"}
    assert r["n_high"] == 14_880_000
    assert r["run"] == {
        "preset": "seed",
        "method": r["run"]["method"],
        "population": "high",
        "seed": 3,
        "n_sim": 5000,
        "draws": 40,
    }
    assert {row["name"] for row in r["priors"]} >= {"p_adopt", "delta", "sessions"}
    assert all(row["distribution"].startswith("Point") for row in r["priors"])
    assert all(row["lower_90"] == row["upper_90"] for row in r["priors"])
    # same seed, same output
    _, again, _ = _run(
        capsys, "video", "simulate", "--preset", "seed", "--draws", "40", "--n-sim", "5000",
        "--seed", "3", "--json",
    )  # fmt: skip
    assert again == out


def test_simulate_bayes_text_shows_priors_and_writes_a_folder(capsys, tmp_path):
    import xarray as xr

    from bayes.outputs import read_manifest
    from priors.spec import PriorSet
    from priors.video import VideoPriors

    out_dir = tmp_path / "sim"
    code, out, _ = _run(
        capsys, "video", "simulate", "--draws", "200", "--population", "all", "--out", str(out_dir)
    )
    assert code == 0
    assert "preset bayes" in out and "N = 24,000,000" in out
    assert "P(standalone better)" in out and "recommend" in out
    assert "Priors used" in out and "LogNormal" in out  # α, β of the prior
    files = [f["path"] for f in read_manifest(out_dir)["files"]]
    assert files == [
        "decision.csv",
        "delta_core.png",
        "draws.nc",
        "priors.csv",
        "summary.json",
        "usage.csv",
    ]
    ds = xr.open_dataset(out_dir / "draws.nc")
    assert ds["delta_core"].dims == ("draw", "mode") and ds.sizes["draw"] == 200
    assert PriorSet.from_json(ds.attrs["prior_spec"]) == VideoPriors().declarations()
    dec = pd.read_csv(out_dir / "decision.csv")
    summary = json.loads((out_dir / "summary.json").read_text())
    assert dec["mean"][0] == pytest.approx(summary["integrated"]["mean"])


def _edited(tmp_path, segment, column, value, name="mine.csv"):
    t = pd.read_csv(TABLE_PATH)
    t[column] = t[column].astype(object)
    t.loc[t["segment"] == segment, column] = value
    path = tmp_path / name
    t.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "column, segment, value, needle",
    [
        ("p_adopt_standalone", "prime_mid", 1.3, "p_adopt_standalone[prime_mid] = 1.3"),
        ("mean_sessions_integrated", "mixed_mid", -2.0, "mean_sessions_integrated[mixed_mid]"),
        ("segment", "low_engaged", "whales", "whales"),
    ],
)
def test_invalid_priors_file_exits_2_naming_file_and_entry(
    capsys, tmp_path, column, segment, value, needle
):
    path = _edited(tmp_path, segment, column, value)
    for verb in ("simulate", "sensitivity"):
        code, out, err = _run(capsys, "video", verb, "--priors", str(path), "--draws", "5")
        assert code == 2 and out == ""
        assert str(path) in err and needle in err
        assert "Traceback" not in err


def test_missing_or_empty_priors_file(capsys, tmp_path):
    code, _, err = _run(capsys, "video", "simulate", "--priors", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    code, _, err = _run(capsys, "video", "simulate", "--priors", str(empty))
    assert code == 2 and "empty.csv" in err


def test_edited_priors_are_used(capsys, tmp_path):
    path = _edited(tmp_path, "power_prime", "p_adopt_standalone", 0.70)
    t = pd.read_csv(path)
    t["p_adopt_standalone"] = t["p_adopt_integrated"]
    t["delta_standalone"] = t["delta_integrated"]
    t["mean_sessions_standalone"] = t["mean_sessions_integrated"]
    t.to_csv(path, index=False)
    code, out, _ = _run(
        capsys, "video", "simulate", "--preset", "seed", "--draws", "10", "--n-sim", "2000",
        "--priors", str(path), "--json",
    )  # fmt: skip
    r = json.loads(out)
    assert code == 0 and r["integrated"] == r["standalone"]  # equal priors, CRN
    assert r["priors_source"] == str(path)


def test_sensitivity_json_and_plot(capsys, tmp_path):
    png = tmp_path / "heat.png"
    code, out, _ = _run(
        capsys, "video", "sensitivity", "--draws", "200", "--json", "--plot", str(png)
    )
    assert code == 0 and png.stat().st_size > 1000
    r = json.loads(out)
    assert len(r["alpha"]) == 17 and len(r["beta"]) == 17
    assert r["D_dims"] == ["alpha", "beta"]
    d = r["D"][r["alpha"].index(1.0)][r["beta"].index(1.0)]
    assert abs(d + 58_000) < 10_000
    code, out, _ = _run(capsys, "video", "sensitivity", "--draws", "50")
    assert code == 0 and "alpha" in out and "-5" in out


@pytest.mark.parametrize("verb", ["simulate", "sensitivity"])
def test_help_teaches(capsys, verb):
    with pytest.raises(SystemExit) as e:
        main(["video", verb, "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert "examples:" in out and "--preset" in out and "--priors" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--draws", "0"],
        ["simulate", "--seed", "-1"],
        ["sensitivity", "--n-sim", "0"],
        ["pilot", "--out", "p.csv", "--alpha", "0"],
        ["pilot", "--out", "p.csv", "--users-per-arm", "1e15"],
        ["pilot-size", "--sims", "1"],
        ["update", "--experiment", "p.csv", "--out", "fit", "--chains", "0"],
        ["update", "--experiment", "p.csv", "--out", "fit", "--draws", "0"],
        ["update", "--experiment", "p.csv", "--out", "fit", "--seed", "-1"],
    ],
)
def test_impossible_numbers_stop_at_parsing(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(["video", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    flag = argv[-2]  # the impossible value comes last
    assert f"argument {flag}" in err and "Traceback" not in err


@pytest.mark.parametrize("verb", ["simulate", "sensitivity", "pilot", "update", "pilot-size"])
def test_show_priors_prints_the_table_and_the_prior_predictive(capsys, tmp_path, verb):
    """--show-priors on every verb: the priors in use (here α restated as a belief in a TOML
    file) and the prior predictive of ΔCore per mode and their difference, before any data;
    nothing is read or written."""
    f = tmp_path / "alpha.toml"
    f.write_text('[alpha]\ndist = "LogNormal"\nmedian = 1.2\ninterval = [0.96, 1.5]\n')
    code, out, err = _run(
        capsys, "video", verb, "--priors", str(f), "--show-priors", "--seed", "1", "--json"
    )
    assert code == 0, err
    r = json.loads(out)
    names = {row["name"] for row in r["priors"]}
    assert names == {"baseline", "p_adopt", "sessions", "minutes", "delta", "alpha", "beta"}
    alpha = next(row for row in r["priors"] if row["name"] == "alpha")
    assert alpha["median"] == pytest.approx(1.2) and alpha["lower_90"] == pytest.approx(0.96)
    assert r["fitted"]["alpha"]["max_probability_gap"] < 1e-9
    pred = {row["quantity"]: row for row in r["prior_predictive"]}
    assert list(pred) == [
        "ΔCore_integrated",
        "ΔCore_standalone",
        "ΔCore_standalone − ΔCore_integrated",
    ]
    for row in pred.values():
        assert row["lower_90"] < row["median"] < row["upper_90"]
    # E[ΔCore_int] of the prior is the closed form at the table's centres (306k) within
    # sampling error: sd/sqrt(4000) ≈ 1.1k, so 4 se ≈ 4.5k
    integ = pred["ΔCore_integrated"]
    assert abs(integ["mean"] - 306_240) < 4 * integ["sd"] / np.sqrt(r["prior_predictive_draws"])
    assert list(tmp_path.iterdir()) == [f]
    code, text, _ = _run(capsys, "video", verb, "--show-priors")
    assert code == 0 and "Prior predictive of ΔCore" in text and "lower_90" in text


def test_duplicated_segment_in_a_priors_table_exits_2_and_writes_nothing(capsys, tmp_path):
    t = pd.read_csv(TABLE_PATH)
    t = pd.concat([t, t.iloc[[2]]], ignore_index=True)
    path = tmp_path / "dup.csv"
    t.to_csv(path, index=False)
    for argv in (
        ["simulate", "--out", str(tmp_path / "sim")],
        ["sensitivity", "--plot", str(tmp_path / "h.png")],
        ["pilot", "--out", str(tmp_path / "pilot.csv")],
        ["update", "--experiment", str(path), "--out", str(tmp_path / "fit")],
        ["pilot-size"],
    ):
        code, out, err = _run(capsys, "video", *argv, "--priors", str(path))
        assert code == 2 and out == "", argv
        assert str(path) in err and "column 'segment'" in err and "rows 4, 6" in err, err
        assert "mixed_mid" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup.csv"]
