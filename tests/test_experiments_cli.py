"""``bayes experiment generate|power|size|library|analyze`` end to end (small sizes)."""

import json

import pytest

import bayes
from bayes.cli import main
from models.experiments.power import power_proportions

#: the generated experiment every test reads (20,000 users, 12 past experiments, seed 3)
GENERATE = ["experiment", "generate", "--users", "20000", "--seed", "3", "--past-experiments", "12"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "data"
    assert (
        main(
            [
                *GENERATE,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def test_generate_writes_a_unit_and_is_reproducible(generated, tmp_path, capsys):
    assert sorted(p.name for p in generated.iterdir()) == [
        "experiment.csv",
        "manifest.json",
        "past_experiments.csv",
        "truth.json",
    ]
    again = tmp_path / "again"
    assert (
        main(
            [
                *GENERATE,
                "--out",
                str(again),
                "--json",
            ]
        )
        == 0
    )
    meta = json.loads(capsys.readouterr().out)
    assert meta["n_users"] == 20000 and meta["relative_lift"]["revenue"] > 0
    assert (again / "experiment.csv").read_bytes() == (generated / "experiment.csv").read_bytes()


def test_power_cli_matches_the_library(capsys, tmp_path):
    assert (
        main(
            [
                "experiment",
                "power",
                "--baseline",
                "0.10",
                "--mde",
                "0.02",
                "--power",
                "0.8",
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    lib = power_proportions(0.10, mde=0.02, power=0.8)
    assert d["n_control"] == pytest.approx(lib.n_control) and d["users_control"] == 3841
    assert "pooled" in d["convention_text"]
    assert (
        main(
            [
                "experiment",
                "power",
                "--baseline",
                "0.10",
                "--n",
                "10000",
                "--json",
                "--out",
                str(tmp_path / "pw"),
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["solved_for"] == "mde" and d["effect"] == pytest.approx(
        power_proportions(0.1, n=10000, power=0.8).effect
    )
    assert (tmp_path / "pw" / "power_curve.png").is_file()
    assert main(["experiment", "power", "--metric", "mean", "--effect-size", "0.2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["users_control"] == 394


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--baseline", "0.1", "--mde", "0.02", "--power", "0.03"], "must exceed alpha"),
        (["--baseline", "0.1", "--mde", "0.95"], "not a conversion rate"),
        (["--baseline", "0.1", "--mde", "0.02", "--n", "100", "--power", "0.8"], "not all three"),
    ],
)
def test_power_without_a_solution_exits_2(argv, match, capsys):
    assert main(["experiment", "power", *argv]) == 2
    assert match in capsys.readouterr().err


def test_size_cli(capsys):
    assert main(["experiment", "size", "--baseline", "0.1", "--threshold", "0.001", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["users_control_for_threshold"] > 0 and d["prior"] == "Normal(mu=0, sigma=0.3)"
    assert main(["experiment", "size", "--cv", "3", "--show-priors"]) == 0
    assert "relative_lift" in capsys.readouterr().out


def test_analyze_cuped_json_and_files(generated, tmp_path, capsys):
    out = tmp_path / "readout"
    argv = [
        "experiment",
        "analyze",
        "--data",
        str(generated / "experiment.csv"),
        "--arm",
        "arm",
        "--metric",
        "revenue",
        "converted",
        "--covariates",
        "pre_revenue",
        "--method",
        "cuped",
        "--time",
        "exposed_ts",
        "--out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["control"] == "control" and s["srm"]["mismatch"] is False
    rows = {(r["metric"], r["method"]): r for r in s["estimates"]}
    assert {"lower_90", "upper_90", "relative_lower_90", "p_holm", "p_bh"} <= set(
        rows[("revenue", "cuped")]
    )
    assert s["headline"].endswith(".") and "confidence interval" in s["headline"]
    assert {"summary.json", "estimates.csv", "sequential.csv", "cumulative_effect.png"} <= set(
        s["files"]
    )
    assert json.loads((out / "summary.json").read_text())["headline"] == s["headline"]


def test_analyze_bayes_conversion_posterior_reloads(generated, tmp_path, capsys):
    out = tmp_path / "conv"
    assert (
        main(
            [
                "experiment",
                "analyze",
                "--data",
                str(generated / "experiment.csv"),
                "--arm",
                "arm",
                "--metric",
                "converted",
                "--draws",
                "500",
                "--chains",
                "2",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    s = json.loads(capsys.readouterr().out)
    b = s["bayes"][0]
    assert b["model"] == "beta-binomial (exact)" and 0 <= b["chance_to_win"] <= 1
    assert "not a p-value" in s["headline"] and "not a p-value" in s["chance_to_win_means"]
    m = bayes.load(out / "conversion_converted.nc")
    assert m.readout()["chance_to_win"] == pytest.approx(b["chance_to_win"])
    assert s["ok"] is True


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--control", "ctrl"], "control label 'ctrl' is not in the data"),
        (["--covariates", "country"], "column 'country'"),
    ],
)
def test_analyze_bad_input_exits_2_and_writes_nothing(generated, tmp_path, capsys, extra, match):
    out = tmp_path / "never"
    argv = [
        "experiment",
        "analyze",
        "--data",
        str(generated / "experiment.csv"),
        "--arm",
        "arm",
        "--metric",
        "revenue",
        "--out",
        str(out),
        *extra,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and str(generated / "experiment.csv") in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_library_then_analyze_updates_the_library(generated, tmp_path, capsys):
    lib = tmp_path / "lib"
    assert (
        main(
            [
                "experiment",
                "library",
                "--data",
                str(generated / "past_experiments.csv"),
                "--draws",
                "500",
                "--tune",
                "500",
                "--chains",
                "2",
                "--out",
                str(lib),
                "--json",
            ]
        )
        == 0
    )
    s = json.loads(capsys.readouterr().out)
    assert s["experiments"] == 12 and s["next_lift_prior"]["dist"] == "Normal"
    out = tmp_path / "readout"
    assert (
        main(
            [
                "experiment",
                "analyze",
                "--data",
                str(generated / "experiment.csv"),
                "--arm",
                "arm",
                "--metric",
                "revenue",
                "--covariates",
                "pre_revenue",
                "--library",
                str(lib / "library.nc"),
                "--experiment-name",
                "checkout",
                "--draws",
                "500",
                "--tune",
                "500",
                "--chains",
                "2",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["lift_prior_from_library"].startswith(s["next_lift_prior_text"])
    updated = bayes.load(out / "library.nc")
    assert updated.experiments_[-1] == "checkout" and len(updated.experiments_) == 13
    assert (
        main(
            [
                "experiment",
                "analyze",
                "--data",
                str(generated / "experiment.csv"),
                "--arm",
                "arm",
                "--metric",
                "revenue",
                "--library",
                str(lib / "library.nc"),
                "--show-priors",
            ]
        )
        == 0
    )
    assert s["next_lift_prior_text"].split("(")[0] in capsys.readouterr().out


def test_every_verb_has_help(capsys):
    for verb in ("generate", "power", "size", "library", "analyze"):
        with pytest.raises(SystemExit) as e:
            main(["experiment", verb, "--help"])
        assert e.value.code == 0
        assert "example" in capsys.readouterr().out
