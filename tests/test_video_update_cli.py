"""``bayes video pilot|update|pilot-size`` end to end (short chains)."""

import json

import pandas as pd

from bayes.cli import main


def test_pilot_update_inspect_end_to_end(tmp_path, capsys):
    pilot = tmp_path / "pilot.csv"
    assert (
        main(
            [
                "video",
                "pilot",
                "--alpha",
                "1.1",
                "--beta",
                "1.05",
                "--users-per-arm",
                "3000",
                "--seed",
                "4",
                "--out",
                str(pilot),
            ]
        )
        == 0
    )
    assert len(pd.read_csv(pilot)) == 6
    capsys.readouterr()
    out = tmp_path / "fit"
    code = main(
        [
            "video",
            "update",
            "--experiment",
            str(pilot),
            "--out",
            str(out),
            "--draws",
            "200",
            "--tune",
            "200",
            "--chains",
            "2",
            "--seed",
            "1",
            "--json",
        ]
    )
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    for key in (
        "alpha_hat",
        "beta_hat",
        "p_standalone_better",
        "expected_loss",
        "recommendation",
        "r_hat_max",
        "ess_bulk_min",
        "divergences",
    ):
        assert key in s
    assert s["alpha_hat"]["interval_90"][0] < s["alpha_hat"]["median"]
    assert s["pilot"]["source"] == str(pilot)
    assert (out / "posterior.nc").exists() and (out / "heatmap_posterior.png").exists()
    assert main(["inspect", str(out / "posterior.nc"), "--var", "alpha", "beta"]) == 0
    printed = capsys.readouterr().out
    assert "central 90% (lower_90 / upper_90)" in printed
    assert "alpha" in printed and "r_hat" in printed


def test_update_bad_pilot_exits_2(tmp_path, capsys):
    pilot = tmp_path / "pilot.csv"
    main(["video", "pilot", "--users-per-arm", "100", "--out", str(pilot)])
    df = pd.read_csv(pilot)
    df.loc[2, "adopters"] = 150
    df.to_csv(pilot, index=False)
    capsys.readouterr()
    assert main(["video", "update", "--experiment", str(pilot), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "adopters" in err and "rows 4" in err and str(pilot) in err


def test_pilot_size_json(capsys):
    assert main(["video", "pilot-size", "--sizes", "300", "3000", "--sims", "40", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["users_per_arm"] for r in res["table"]] == [0, 300, 3000]
    assert {"p_right", "expected_loss", "evsi"} <= set(res["table"][0])


def test_help_teaches(capsys):
    for verb in ("pilot", "update", "pilot-size"):
        try:
            main(["video", verb, "--help"])
        except SystemExit as exc:
            assert exc.code == 0
        assert "examples:" in capsys.readouterr().out
