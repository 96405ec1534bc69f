"""``bayes photos generate`` / ``fit`` and the photos demo section, through ``bayes.cli.main``."""

import json

import pandas as pd
import pytest

from bayes.cli import build_parser, main
from bayes.photos.data import SCHEMA, generate_photos
from priors.segments import SEGMENT_KEYS, segments_from_table


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "photos.csv"
    assert main(["photos", "generate", "--rows", "6000", "--seed", "3", "--out", str(path)]) == 0
    return path


def test_generate_is_reproducible_in_both_formats(tmp_path, capsys):
    pq = tmp_path / "a.parquet"
    csv = tmp_path / "a.csv"
    assert (
        main(["photos", "generate", "--rows", "800", "--seed", "9", "--out", str(pq), "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 800 and summary["seed"] == 9 and "is_core_90d" in summary["columns"]
    assert main(["photos", "generate", "--rows", "800", "--seed", "9", "--out", str(csv)]) == 0
    a, b = pd.read_parquet(pq), pd.read_csv(csv)
    pd.testing.assert_frame_equal(
        a.drop(columns="first_login_ts"), b.drop(columns="first_login_ts"), check_dtype=False
    )
    pd.testing.assert_frame_equal(a, generate_photos(800, 9))


def test_generate_then_fit_json_round_trip(small_csv, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "fit"
    assert main(["photos", "fit", "--data", str(small_csv), "--json", "--out", str(out)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n_rows"] == 6000
    assert {m["model"] for m in payload["metrics"]} == {"logistic", "random_forest"}
    for m in payload["metrics"]:
        assert 0.5 < m["roc_auc"] < 1 and m["n_test"] == 1500
    assert [s["segment"] for s in payload["segments"]] == list(SEGMENT_KEYS)
    assert [s["cluster"] for s in payload["segments"]] == [0, 2, 3, 1]
    segments_from_table(pd.DataFrame(payload["segments"]))
    assert len(payload["lift"]) == 20 and payload["drivers"][0]["feature"]
    for name in (
        "photos_metrics.csv",
        "photos_segments.csv",
        "photos_lift_by_decile.png",
        "photos_profile_by_cluster.png",
        "analysis.json",
    ):
        assert (out / name).exists(), name


def test_fit_text_summary(small_csv, capsys):
    assert main(["photos", "fit", "--data", str(small_csv)]) == 0
    text = capsys.readouterr().out
    assert "ROC AUC" in text and "Power Prime viewers" in text


@pytest.mark.parametrize(
    "corrupt, column",
    [
        (lambda df: df.drop(columns="entry_client"), "entry_client"),
        (lambda df: df.assign(n_app_launch_7d="often"), "n_app_launch_7d"),
        (lambda df: df.assign(is_core_90d=df["is_core_90d"].where(df.index != 4)), "is_core_90d"),
    ],
    ids=["missing", "mistyped", "nan-target"],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, corrupt, column):
    bad = tmp_path / "bad.csv"
    corrupt(generate_photos(200, seed=1)).to_csv(bad, index=False)
    out = tmp_path / "out"
    assert main(["photos", "fit", "--data", str(bad), "--out", str(out), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(bad) in captured.err and column in captured.err
    assert not out.exists()


def test_empty_file_and_bad_output_suffix_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["photos", "fit", "--data", str(empty)]) == 2
    assert "empty" in capsys.readouterr().err
    target = tmp_path / "photos.xlsx"
    assert main(["photos", "generate", "--rows", "10", "--out", str(target)]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [empty]
    assert main(["photos", "fit", "--data", str(tmp_path / "nope.csv")]) == 2


def test_help_teaches_with_examples():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["photos"]
    verbs = sub._subparsers._group_actions[0].choices
    assert {"generate", "fit"} <= set(verbs)
    assert "examples:" in verbs["generate"].format_help()
    fit_help = verbs["fit"].format_help()
    assert "required columns" in fit_help
    for col in SCHEMA:
        if col.required:
            assert col.name in fit_help, col.name


# --------------------------------------------------------------------------- issue 11 cases
def test_duplicate_customer_id_is_refused_with_rows(small_csv, tmp_path, capsys):
    df = pd.read_csv(small_csv)
    df.loc[10, "customer_id"] = df.loc[3, "customer_id"]
    bad = tmp_path / "dup.csv"
    df.to_csv(bad, index=False)
    out = tmp_path / "fit"
    assert main(["photos", "fit", "--data", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "column 'customer_id'" in err and "rows 5, 12" in err and "one row per customer" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["photos", "generate", "--rows", "1e12", "--out", "x.csv"], "--rows"),
        (["photos", "generate", "--rows", "0", "--out", "x.csv"], "--rows"),
        (["photos", "generate", "--seed", "-1", "--out", "x.csv"], "--seed"),
        (["photos", "fit", "--data", "x.csv", "--test-size", "1.5"], "--test-size"),
        (["demo", "--seed", "-1"], "--seed"),
    ],
)
def test_impossible_numbers_stop_at_parsing(argv, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_fit_refuses_a_foreign_out_folder_before_reading(small_csv, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("keep")
    assert main(["photos", "fit", "--data", str(small_csv), "--out", str(mine)]) == 2
    assert "was not written by bayes" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.md"]
