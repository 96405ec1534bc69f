"""``bayes signup`` command line: generate, score (--out folder, --json schema), priors, and the
issue-11 regressions (impossible input refused with exit 2 naming file, column and rows)."""

import json

import numpy as np
import pandas as pd
import pytest

from bayes.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("c360") / "d"
    assert main(["signup", "generate", "--out", str(d), "--seed", "3", "--recipients", "800"]) == 0
    return d


def _args(d, events=None, signups=None):
    return [
        "signup",
        "score",
        "--events",
        str(events or d / "events.csv"),
        "--campaigns",
        str(d / "campaigns.csv"),
        "--signups",
        str(signups or d / "signups.csv"),
    ]


def test_generate_score_json_and_errors(files, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "aud"
    flags = ["--top-n", "10", "--domains", "gmail.com", "--out", str(out), "--json"]
    assert main([*_args(files), *flags]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["method"] == "eb" and summary["rules"]["goal"] == "new"
    assert summary["rules"]["as_of"] is not None  # default: latest event_ts
    assert sorted(p.name for p in out.iterdir()) == [
        "audience.csv",
        "manifest.json",
        "summary.json",
    ]
    assert (
        json.loads((out / "summary.json").read_text())["audience_size"] == summary["audience_size"]
    )
    aud = pd.read_csv(out / "audience.csv")
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
    assert main([*_args(files, events=files / "nope.csv"), "--out", str(out)]) == 2
    assert "nope.csv" in capsys.readouterr().err
    assert main([*_args(files), "--topic", "Nope", "--out", str(out)]) == 2


def test_score_passes_the_smoothing_strengths(files, tmp_path, capsys):
    """--alpha-c / --alpha-sc reach the seed's §4 formulas (they were once parsed and dropped)."""
    from bayes.signup.audience import AudienceRules, score

    out = tmp_path / "aud"
    flags = ["--goal", "all", "--alpha-c", "10", "--alpha-sc", "0.5", "--out", str(out), "--json"]
    assert main([*_args(files), *flags]) == 0
    capsys.readouterr()
    got = pd.read_csv(out / "audience.csv")
    f = [str(files / f"{n}.csv") for n in ("events", "campaigns", "signups")]
    res = score(*f, rules=AudienceRules(goal="all"), alpha_c=10.0, alpha_sc=0.5)
    p0 = res.priors.set_index("topic").loc[got["topic"]]
    s, c, y = got["sends"], got["clicks"], got["signed_up"]
    np.testing.assert_allclose(got["p_click"], (c + 10 * p0["p0_click"].to_numpy()) / (s + 10))
    np.testing.assert_allclose(
        got["p_signup_given_click"], (y + 0.5 * p0["p0_sc"].to_numpy()) / (c + 0.5)
    )
    np.testing.assert_allclose(got["p_signup"], res.audience["p_signup"], rtol=1e-12)


def test_clicks_above_sends_are_refused_naming_the_event_rows(files, tmp_path, capsys):
    """Issue 11: click events whose message has no send gave p_click = 2.07; now exit 2 with
    the events file, the column and the click rows of that pair."""
    ev = pd.read_csv(files / "events.csv")
    row = ev.iloc[0].to_dict()
    extra = pd.DataFrame(
        [  # three clicks of a recipient on messages that were never sent
            {**row, "email": "ghost@x.com", "msg_id": f"orphan{i}", "event_type": "click"}
            for i in range(3)
        ]
    )
    bad = pd.concat([ev, extra], ignore_index=True)
    path = tmp_path / "events_bad.csv"
    bad.to_csv(path, index=False)
    capsys.readouterr()
    code = main([*_args(files, events=path), "--goal", "all", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "events_bad.csv" in err and "column 'event_type'" in err
    assert "more unique clicks than unique sends" in err
    first_line = len(ev) + 2  # CSV line of the first added click (header on line 1)
    assert f"rows {first_line}, {first_line + 1}, {first_line + 2}" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--alpha-c", "-2", "must be > 0"),
        ("--alpha-sc", "0", "must be > 0"),
        ("--min-prob", "1.5", "must be <= 1"),
        ("--top-n", "0", "must be >= 1"),
        ("--draws", "0", "must be >= 1"),
        ("--as-of", "2024-13-45", "expected a date"),
    ],
)
def test_impossible_flags_stop_at_parsing(files, tmp_path, capsys, flag, value, message):
    """Issue 11: --alpha-c -2 gave infinite and negative probabilities."""
    with pytest.raises(SystemExit) as exc:
        main([*_args(files), flag, value, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_empty_signups_table_is_a_normal_state(files, tmp_path, capsys):
    """Issue 11: a signups table with its header and no rows (no signups yet) is accepted."""
    empty = tmp_path / "signups.csv"
    empty.write_text("email,campaign_id,signup_ts\n")
    out = tmp_path / "aud"
    assert main([*_args(files, signups=empty), "--goal", "all", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["audience_size"] > 0
    with_table = tmp_path / "with"
    assert main([*_args(files), "--goal", "all", "--out", str(with_table), "--json"]) == 0
    capsys.readouterr()
    # without the table, fewer pairs count as signed up
    a = pd.read_csv(out / "audience.csv")
    b = pd.read_csv(with_table / "audience.csv")
    assert a["signed_up"].sum() < b["signed_up"].sum()


def test_truth_file_with_wrong_columns_is_refused(files, tmp_path, capsys):
    """Issue 11: a truth file with the wrong columns gave a traceback."""
    truth = tmp_path / "truth.csv"
    pd.DataFrame({"email": ["a@x.com"], "p": [0.1]}).to_csv(truth, index=False)
    args = ["backtest", *_args(files)[2:], "--truth", str(truth), "--draws", "5", "--tune", "5"]
    capsys.readouterr()
    assert main(["signup", *args]) == 2
    err = capsys.readouterr().err
    assert "truth.csv" in err and "missing required column" in err and "topic" in err


def test_priors_command_shows_the_table_and_the_prior_predictive(tmp_path, capsys):
    assert main(["signup", "priors", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["priors"]) == 8 and {"name", "lower_90", "upper_90"} <= set(out["priors"][0])
    pp = {r["quantity"]: r for r in out["prior_predictive"]}
    headline = pp["expected signups per send of a topic (mu_click * mu_sc)"]
    assert 0 < headline["lower_90"] < headline["median"] < headline["upper_90"] < 1
    # a priors file changes the entries it names; the table and the predictive follow
    f = tmp_path / "p.toml"
    f.write_text('[sc_logit_mu_loc]\ndist = "Normal"\nmedian = -6.0\ninterval = [-6.5, -5.5]\n')
    assert main(["signup", "priors", "--priors", str(f), "--json"]) == 0
    out2 = json.loads(capsys.readouterr().out)
    pp2 = {r["quantity"]: r for r in out2["prior_predictive"]}
    assert pp2["signup rate given a click of a topic (mu_sc)"]["median"] < 0.01
    f.write_text('[nope]\ndist = "Normal"\nmedian = 0\ninterval = [-1, 1]\n')
    assert main(["signup", "priors", "--priors", str(f)]) == 2
    assert "nope" in capsys.readouterr().err
    # --show-priors on a fitting command prints the same and reads no data
    args = ["signup", "score", "--events", "x", "--campaigns", "y", "--signups", "z"]
    assert main([*args, "--method", "hierarchical", "--out", "o", "--show-priors"]) == 0
    assert "expected signups per send" in capsys.readouterr().out
