"""``bayes uplift generate|fit|evaluate|target`` end to end on small generated data; bad input
exits 2 naming the file, column and rows, and writes nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayes.cli import main

FEATURES = "country,device,acq_channel,tenure_weeks,frequency,recency_weeks,avg_order_value"
XY = ["--outcome", "converted", "--treatment", "treatment_flag"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """generate -> fit (dr, linear base) once for the module."""
    root = tmp_path_factory.mktemp("uplift_cli")
    assert (
        main(["uplift", "generate", "--users", "2500", "--seed", "3", "--out", str(root / "data")])
        == 0
    )
    args = ["uplift", "fit", "--data", str(root / "data" / "experiment.csv"), *XY]
    args += ["--features", FEATURES, "sessions_4w", "--learner", "dr", "--base", "linear"]
    args += ["--bootstrap", "50", "--out", str(root / "fit")]
    assert main(args) == 0
    return root


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_generate_writes_the_experiment_and_truth(run):
    d = run / "data"
    assert {p.name for p in d.iterdir()} == {
        "experiment.csv",
        "truth.csv",
        "orders.csv",
        "truth.json",
        "manifest.json",
    }
    meta = json.loads((d / "truth.json").read_text())
    assert meta["shares_declared"]["persuadable"] == 0.2
    assert meta["ate_true"] == pytest.approx(0.10, abs=1e-9)


def test_fit_outputs(run):
    f = run / "fit"
    names = {p.name for p in f.iterdir()}
    assert {"scores.csv", "metrics.json", "curves.csv", "calibration.csv", "qini.png"} <= names
    sc = pd.read_csv(f / "scores.csv")
    assert {"uplift", "p_control", "p_treated", "uplift_lower_90", "uplift_upper_90"} <= set(sc)
    assert (sc["uplift_lower_90"] <= sc["uplift"]).all()
    m = json.loads((f / "metrics.json").read_text())
    assert m["learner"] == "dr" and m["test_rows"] == len(sc)
    assert m["metrics"]["qini_coefficient"]["normalisation"].startswith("(qini_area - random)")
    # held-out rows only, and none of them used to fit
    ex = pd.read_csv(run / "data" / "experiment.csv")
    assert len(sc) == pytest.approx(0.3 * len(ex), abs=2)


def test_evaluate_reproduces_fit_metrics_and_any_score(run, capsys):
    scores = str(run / "fit" / "scores.csv")
    assert main(["uplift", "evaluate", "--data", scores, *XY, "--score", "uplift",
                 "--bootstrap", "50", "--json"]) == 0  # fmt: skip
    out = _json(capsys)
    fit = json.loads((run / "fit" / "metrics.json").read_text())
    assert out["metrics"] == fit["metrics"]  # same rows, same seed: same numbers
    # any score column works: p_treated alone is a (poor) ranking
    assert main(["uplift", "evaluate", "--data", scores, *XY, "--score", "p_treated",
                 "--bootstrap", "0", "--json"]) == 0  # fmt: skip
    other = _json(capsys)["metrics"]["qini_coefficient"]
    assert (
        other["lower_90"] is None and other["value"] != out["metrics"]["qini_coefficient"]["value"]
    )


def test_target_with_margin_value(run, capsys):
    scores = str(run / "fit" / "scores.csv")
    out = run / "target"
    args = ["uplift", "target", "--scores", scores, *XY, "--promo-cost", "1", "--contact-cost",
            "0.1", "--policy", "top:0.3", "budget:50", "--draws", "60", "--out", str(out), "--json"]  # fmt: skip
    assert main(args) == 0
    s = _json(capsys)
    assert s["estimator"] == "observed" and s["draws"] == 60
    assert "mean 'margin'" in s["value"]
    assert 0 <= s["best_fraction"]["lower_90"] <= s["best_fraction"]["upper_90"] <= 1
    assert 0 <= s["p_targeting_beats_not_targeting"] <= 1
    assert [p["policy"] for p in s["policies"]] == ["top:0.3", "budget:50"]
    curve = pd.read_csv(out / "net_revenue.csv")
    assert curve["fraction"].iloc[0] == 0 and curve["fraction"].iloc[-1] == 1


def test_target_with_ltv_posterior(run, tmp_path, capsys):
    """--ltv: each customer's 12-month LTV draws (a posterior file with known draws)."""
    import arviz as az

    ex = pd.read_csv(run / "data" / "experiment.csv")
    rng = np.random.default_rng(0)
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}
    post = {k: v * np.exp(rng.normal(0, 0.05, (2, 25))) for k, v in truth.items()}
    az.from_dict(posterior=post).to_netcdf(tmp_path / "posterior.nc")
    pd.DataFrame(
        {
            "customer_id": ex["user_id"],
            "frequency": ex["frequency"],
            "recency": np.minimum(ex["tenure_weeks"] - ex["recency_weeks"], ex["tenure_weeks"])
            * (ex["frequency"] > 0),
            "T": ex["tenure_weeks"],
            "monetary_value": ex["avg_order_value"] * (ex["frequency"] > 0),
        }
    ).to_csv(tmp_path / "ltv.csv", index=False)
    args = ["uplift", "target", "--scores", str(run / "fit" / "scores.csv"), "--ltv",
            str(tmp_path / "posterior.nc"), "--margin-rate", "0.3", "--promo-cost", "1",
            "--out", str(tmp_path / "t"), "--json"]  # fmt: skip
    assert main(args) == 0
    s = _json(capsys)
    assert s["estimator"] == "predicted" and s["draws"] == 50
    assert "12-month LTV" in s["value"] and "0.3 x" in s["value"]
    lo, hi = s["best_fraction"]["lower_90"], s["best_fraction"]["upper_90"]
    assert lo <= s["best_fraction"]["value"] <= hi


def test_same_seed_same_files(run, tmp_path):
    for name in ("a", "b"):
        args = ["uplift", "fit", "--data", str(run / "data" / "experiment.csv"), *XY,
                "--features", "recency_weeks,frequency", "--learner", "two-model",
                "--base", "linear", "--bootstrap", "20", "--out", str(tmp_path / name)]  # fmt: skip
        assert main(args) == 0
    for f in ("scores.csv", "metrics.json", "curves.csv", "calibration.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


@pytest.mark.parametrize(
    "change, column, rows, message",
    [
        ({"treatment_flag": {2: 2, 5: "x"}}, "treatment_flag", "rows 4, 7", "0/1"),
        ({"treatment_flag": "all1"}, "treatment_flag", None, "control arm"),
        ({"converted": {3: 0.5}}, "converted", "rows 5", "0/1"),
    ],
)
def test_bad_experiment_exits_2_and_writes_nothing(
    run, tmp_path, capsys, change, column, rows, message
):
    df = pd.read_csv(run / "data" / "experiment.csv").astype({"treatment_flag": object})
    df["converted"] = df["converted"].astype(float)
    for col, what in change.items():
        if what == "all1":
            df[col] = 1
        else:
            for i, v in what.items():
                df.loc[i, col] = v
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    out = tmp_path / "out"
    code = main(["uplift", "fit", "--data", str(bad), *XY, "--features", "frequency",
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err and f"column '{column}'" in err and message in err
    if rows:
        assert rows in err
    assert not out.exists()


def test_scores_with_nan_exit_2(run, tmp_path, capsys):
    sc = pd.read_csv(run / "fit" / "scores.csv")
    sc.loc[[0, 4], "uplift"] = np.nan
    bad = tmp_path / "scores.csv"
    sc.to_csv(bad, index=False)
    for cmd in (
        ["uplift", "evaluate", "--data", str(bad), *XY, "--score", "uplift"],
        ["uplift", "target", "--scores", str(bad), *XY, "--out", str(tmp_path / "t")],
    ):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and "column 'uplift'" in err and "rows 2, 6" in err
    assert not (tmp_path / "t").exists()


def test_flag_ranges_stop_at_parsing(run, capsys):
    scores = str(run / "fit" / "scores.csv")
    with pytest.raises(SystemExit) as e:
        main(["uplift", "evaluate", "--data", scores, *XY, "--score", "uplift", "--k", "1.5"])
    assert e.value.code == 2
    code = main(["uplift", "target", "--scores", scores, "--policy", "top:2", "--out",
                 str(run / "never")])  # fmt: skip
    assert code == 2 and "--policy" in capsys.readouterr().err
