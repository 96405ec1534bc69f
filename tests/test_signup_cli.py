"""``bayes signup`` command line: generate, score (--json schema), priors, error exit codes."""

import json

import pandas as pd

from bayes.cli import main


def test_generate_score_json_and_errors(tmp_path, capsys):
    d = tmp_path / "d"
    assert (
        main(["signup", "generate", "--out-dir", str(d), "--seed", "3", "--recipients", "800"]) == 0
    )
    capsys.readouterr()
    args = [
        "signup",
        "score",
        "--events",
        str(d / "events.csv"),
        "--campaigns",
        str(d / "campaigns.csv"),
        "--signups",
        str(d / "signups.csv"),
    ]
    out = tmp_path / "aud.csv"
    assert (
        main([*args, "--top-n", "10", "--domains", "gmail.com", "--out", str(out), "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["method"] == "eb" and summary["rules"]["goal"] == "new"
    assert summary["rules"]["as_of"] is not None  # default: latest event_ts
    aud = pd.read_csv(out)
    assert list(aud.columns[:8]) == [
        "email",
        "topic",
        "sends",
        "clicks",
        "signed_up",
        "p_click",
        "p_signup_given_click",
        "p_signup",
    ]
    assert (aud["signed_up"] == 0).all() and aud["email"].str.endswith("@gmail.com").all()
    assert aud.groupby("topic").size().max() <= 10
    assert abs(summary["expected_signups"] - aud["p_signup"].sum()) < 1e-9
    assert [r["rule"][0] for r in summary["funnel"][1:]] == list("1234567")
    # bad input: exit code 2 and a message naming the file
    assert main([*args[:2], "--events", str(d / "nope.csv"), *args[4:], "--out", str(out)]) == 2
    assert "nope.csv" in capsys.readouterr().err
    assert main([*args, "--topic", "Nope", "--out", str(out)]) == 2
    assert main(["signup", "priors", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 8


def test_score_passes_the_smoothing_strengths(tmp_path, capsys):
    """--alpha-c / --alpha-sc reach the seed's §4 formulas (they were once parsed and dropped)."""
    import numpy as np

    from bayes.signup.audience import AudienceRules, score

    d = tmp_path / "d"
    assert (
        main(["signup", "generate", "--out-dir", str(d), "--seed", "4", "--recipients", "300"]) == 0
    )
    files = [str(d / f"{n}.csv") for n in ("events", "campaigns", "signups")]
    args = ["signup", "score", "--events", files[0], "--campaigns", files[1], "--signups", files[2]]
    out = tmp_path / "aud.csv"
    flags = ["--goal", "all", "--alpha-c", "10", "--alpha-sc", "0.5", "--out", str(out), "--json"]
    assert main([*args, *flags]) == 0
    capsys.readouterr()
    got = pd.read_csv(out)
    res = score(*files, rules=AudienceRules(goal="all"), alpha_c=10.0, alpha_sc=0.5)
    p0 = res.priors.set_index("topic").loc[got["topic"]]
    s, c, y = got["sends"], got["clicks"], got["signed_up"]
    np.testing.assert_allclose(got["p_click"], (c + 10 * p0["p0_click"].to_numpy()) / (s + 10))
    np.testing.assert_allclose(
        got["p_signup_given_click"], (y + 0.5 * p0["p0_sc"].to_numpy()) / (c + 0.5)
    )
    np.testing.assert_allclose(got["p_signup"], res.audience["p_signup"], rtol=1e-12)
