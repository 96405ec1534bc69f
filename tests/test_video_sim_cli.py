"""``bayes video simulate`` and ``bayes video sensitivity`` (CLI schema and errors)."""

import json

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
    for mode in ("integrated", "standalone"):
        assert set(r[mode]) == {"mean", "sd", "p5", "p50", "p95"}
        assert set(r["usage"][mode]) >= {"adopters", "sessions", "minutes"}
        assert set(r["usage"][mode]["sessions"]) == {"mean", "p5", "p95"}
    assert {"mean", "p_standalone_better", "sd", "p5", "p95"} <= set(r["difference"])
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
    assert {row["variable"] for row in r["priors"]} >= {"p_adopt", "delta", "sessions"}
    assert all(row["dist"] == "Point" for row in r["priors"])
    # same seed, same output
    _, again, _ = _run(
        capsys, "video", "simulate", "--preset", "seed", "--draws", "40", "--n-sim", "5000",
        "--seed", "3", "--json",
    )  # fmt: skip
    assert again == out


def test_simulate_bayes_text_shows_priors_and_saves(capsys, tmp_path):
    import xarray as xr

    nc = tmp_path / "draws.nc"
    code, out, _ = _run(
        capsys, "video", "simulate", "--draws", "200", "--population", "all", "--save", str(nc)
    )
    assert code == 0
    assert "preset bayes" in out and "N = 24,000,000" in out
    assert "P(standalone better)" in out and "recommend" in out
    assert "Priors used" in out and "LogNormal" in out  # α, β of the prior
    ds = xr.open_dataset(nc)
    assert ds["delta_core"].dims == ("draw", "mode") and ds.sizes["draw"] == 200


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


def test_bad_draws_rejected(capsys):
    with pytest.raises(SystemExit) as e:
        main(["video", "simulate", "--draws", "0"])
    assert e.value.code == 2
