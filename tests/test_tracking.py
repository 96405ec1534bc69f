"""Run tracking: real MLflow on temporary SQLite stores (no mocks), and ``bayes runs``."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bayes import tracking
from bayes.cli import UNTRACKED, build_parser, main
from bayes.outputs import OutputFolder


@pytest.fixture
def tracked(monkeypatch, tmp_path):
    """Tracking on (conftest turns it off), no server from the environment, cwd a temp dir."""
    monkeypatch.setenv("BAYES_NO_TRACK", "0")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    """One store for the tests that only read runs back (creating a store takes seconds)."""
    return "sqlite:///" + str(tmp_path_factory.mktemp("store") / "mlflow.db")


def _runs(uri):
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    exps = [e.experiment_id for e in c.search_experiments()]
    return c, c.search_runs(exps, order_by=["attributes.start_time DESC"])


def _artifacts(client, run_id, path=None):
    out = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_artifacts(client, run_id, f.path) if f.is_dir else [f.path])
    return sorted(out)


# ----------------------------------------------------------------------------- pieces


def test_flatten_numbers_names_list_items_by_their_label():
    flat = tracking.flatten_numbers(
        {
            "ok": True,
            "r_hat_max": 1.004,
            "by_topic": [{"topic": "Mortgage", "n": 3}, {"topic": "Savings", "n": 4}],
            "interval": [0.1, 0.9],
            "text": "no number",
            "nan": float("nan"),
            "α̂": {"median": 1.07},
        }
    )
    assert flat == {
        "ok": 1.0,
        "r_hat_max": 1.004,
        "by_topic.Mortgage.n": 3.0,
        "by_topic.Savings.n": 4.0,
        "interval.0": 0.1,
        "interval.1": 0.9,
        "alpha_hat.median": 1.07,
    }


def test_every_command_that_records_runs_has_no_track_and_help_stays_light():
    parser = build_parser()
    seen = []

    def walk(p, path):
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            seen.append(path)
            has = "--no-track" in p._option_string_actions
            assert has == (path.split()[0] not in UNTRACKED), path
            return
        for a in subs:
            for name, child in a.choices.items():
                walk(child, f"{path} {name}".strip())

    walk(parser, "")
    assert {"demo", "video simulate", "runs list", "runs compare", "app"} <= set(seen)
    code = (
        "import sys; from bayes.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('mlflow', 'streamlit', 'pymc') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- commands


def test_a_command_records_its_run_with_params_metrics_and_artifacts(tracked, capsys):
    out = tracked / "sims"
    out.mkdir()
    argv = ["video", "simulate", "--preset", "seed", "--draws", "200", "--seed", "3", "--json"]
    assert main(argv + ["--out", str(out / "sim")]) == 0
    printed = json.loads(capsys.readouterr().out)
    store = out / "mlflow.db"  # beside the folder the command wrote
    assert store.is_file() and not (tracked / "mlflow.db").exists()
    client, runs = _runs("sqlite:///" + str(store))
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert run.data.tags["bayes.command"] == "video simulate"
    p = run.data.params
    assert p["seed"] == "3" and p["arg.draws"] == "200" and p["arg.preset"] == "seed"
    assert json.loads(p["sampler"]) == {"draws": 200, "seed": 3}
    m = run.data.metrics
    assert m["difference.mean"] == pytest.approx(printed["difference"]["mean"])
    assert m["difference.p_standalone_better"] == printed["difference"]["p_standalone_better"]
    assert m["integrated.upper_90"] == pytest.approx(printed["integrated"]["upper_90"])
    assert m["summary.integrated.upper_90"] == m["integrated.upper_90"]  # the folder's JSON
    assert _artifacts(client, run.info.run_id) == [
        "decision.csv", "delta_core.png", "draws.nc", "manifest.json", "priors.csv",
        "stdout.txt", "summary.json", "usage.csv",
    ]  # fmt: skip
    assert "data_hash.out" not in p  # an output, not an input
    # the same through bayes runs list
    assert main(["runs", "list", "--store", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 run(s)" in text and "video simulate" in text and run.info.run_id[:8] in text


def test_an_output_folder_becomes_the_run(tracked):
    import arviz as az
    import numpy as np

    from bayes.io import write_json

    priors = tracked / "priors.toml"
    priors.write_text('[alpha]\ndist = "LogNormal"\nmedian = 1.0\ninterval = [0.8, 1.25]\n')
    data = tracked / "pilot.csv"
    data.write_text("segment,users\na,10\n")
    out = tracked / "runs" / "fit"
    args = {"seed": 7, "draws": 50, "chains": 2, "priors": str(priors), "experiment": str(data),
            "out": str(out)}  # fmt: skip
    with tracking.command_run("video update", args):
        with OutputFolder(out, command="video update", seed=7) as folder:
            write_json(
                {"ok": False, "r_hat_max": 1.03, "problems": ["r_hat"],
                 "by_topic": [{"topic": "A", "expected_signups": 2.5}]},
                folder / "summary.json",
            )  # fmt: skip
            idata = az.from_dict(posterior={"alpha": np.ones((2, 5))})
            idata.attrs.update(
                {"data_hash": "abc123", "seed": 7, "prior_spec": '{"alpha": 1}',
                 "model_class": "models.video:VideoPilotModel"}
            )  # fmt: skip
            idata.to_netcdf(folder / "posterior.nc")
            (folder / "data").mkdir()
            (folder / "data" / "generated.csv").write_text("x\n1\n")
            print("done")
    store = out.parent / "mlflow.db"
    client, runs = _runs("sqlite:///" + str(store))
    (run,) = runs
    p, m = run.data.params, run.data.metrics
    assert p["priors"] == priors.read_text()  # the prior file the user gave
    assert p["data_hash.experiment"] == tracking.sha256_file(data)
    assert p["posterior.data_hash"] == "abc123" and p["posterior.seed"] == "7"
    assert p["posterior.prior_spec"] == '{"alpha": 1}'
    assert p["data_hash.data/generated.csv"] == tracking.sha256_file(out / "data" / "generated.csv")
    assert json.loads(p["sampler"]) == {"chains": 2, "draws": 50, "seed": 7}
    assert m["summary.ok"] == 0.0 and m["summary.r_hat_max"] == 1.03
    assert m["summary.by_topic.A.expected_signups"] == 2.5
    assert run.data.tags["bayes.out"] == str(out)
    arts = _artifacts(client, run.info.run_id)
    assert arts == [
        "inputs/priors.toml",
        "manifest.json",
        "posterior.nc",
        "stdout.txt",
        "summary.json",
    ]  # fmt: skip  (generated data recorded by hash only)
    # the artifact is the file, byte for byte
    local = client.download_artifacts(run.info.run_id, "posterior.nc", str(tracked))
    assert Path(local).read_bytes() == (out / "posterior.nc").read_bytes()


def test_failed_or_untracked_commands_leave_no_store(tracked, capsys):
    # bad input: exit 2, nothing written anywhere (not even a tracking store)
    assert main(["video", "simulate", "--priors", "missing.csv", "--draws", "10"]) == 2
    assert "missing.csv" in capsys.readouterr().err
    assert main(["video", "simulate", "--preset", "seed", "--draws", "50", "--no-track"]) == 0
    assert not (tracked / "mlflow.db").exists()
    assert list(tracked.iterdir()) == []


def test_mlflow_tracking_uri_is_honoured(tracked, monkeypatch, shared_store, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_store)
    for seed in ("1", "2"):
        assert main(["video", "simulate", "--preset", "seed", "--draws", "100", "--seed", seed,
                     "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    assert not (tracked / "mlflow.db").exists()
    _, runs = _runs(shared_store)
    assert [r.data.params["seed"] for r in runs[:2]] == ["2", "1"]


def test_runs_list_and_compare(tracked, monkeypatch, shared_store, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_store)
    if len(_runs(shared_store)[1]) < 2:  # run alone: record two runs first
        for seed in ("1", "2"):
            assert main(["video", "simulate", "--preset", "seed", "--draws", "100", "--seed",
                         seed, "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["runs", "list", "--json", "--command", "video"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["store"] == shared_store
    new, old = listed["runs"][0], listed["runs"][1]
    assert new["command"] == old["command"] == "video simulate"
    assert main(["runs", "compare", old["run"], new["run"], "--json"]) == 0
    rows = {(r["kind"], r["name"]): r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert (rows[("param", "seed")]["A"], rows[("param", "seed")]["B"]) == ("1", "2")
    diff = rows[("metric", "difference.mean")]
    assert diff["B − A"] == pytest.approx(diff["B"] - diff["A"])
    assert ("param", "arg.draws") not in rows  # equal rows only with --all
    assert main(["runs", "compare", old["run"], new["run"]]) == 0
    text = capsys.readouterr().out
    assert f"A = {old['run_id']}" in text and "difference.mean" in text
    # errors name the problem, exit 2
    assert main(["runs", "compare", "zzzzzzzz", new["run"]]) == 2
    assert "no run 'zzzzzzzz'" in capsys.readouterr().err
    assert main(["runs", "compare", "ab", new["run"]]) == 2
    assert "too short" in capsys.readouterr().err


def test_runs_list_without_a_store_says_where_runs_go(tracked, capsys):
    assert main(["runs", "list"]) == 2
    err = capsys.readouterr().err
    assert "no tracking store here" in err and "--store" in err
    assert main(["runs", "list", "--store", str(tracked / "nowhere")]) == 2
    assert not (tracked / "mlflow.db").exists()


def test_record_from_library_code(tracked, shared_store):
    run_id = tracking.record(
        "app export",
        params={"seed": 5, "topics": ["A", "B"]},
        metrics={"expected_signups": 12.5, "ok": True, "label": "not a number"},
        tags={"bayes.headline": "An audience of 3 recipients"},
        uri=shared_store,
    )
    runs = tracking.list_runs(shared_store, command="app")
    row = runs.iloc[0]
    assert row["run_id"] == run_id and row["status"] == "FINISHED"
    assert row["headline"] == "An audience of 3 recipients"
    run = tracking.find_run(shared_store, run_id[:8])
    assert run.data.params == {"seed": "5", "topics": "A B"}
    assert run.data.metrics == {"expected_signups": 12.5, "ok": 1.0}


def test_a_store_that_cannot_be_written_never_fails_the_command(tracked, monkeypatch, capsys):
    blocker = tracked / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker}/mlflow.db")
    assert main(["video", "simulate", "--preset", "seed", "--draws", "50", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["difference"]  # the command's output is intact
    assert "warning: the run was not recorded in the tracking store" in captured.err
    # outside a tracked command, noting a folder or logging is a no-op
    tracking.note_folder(tracked)
    tracking.log_metrics({"x": 1})
    assert tracking.current() is None


def test_key_metrics_pick_headlines_in_order_and_shorten_their_names():
    m = {
        "summary.by_topic.A.expected_signups": 2.5,
        "summary.expected_signups": 9.0,
        "bayes.revenue.chance_to_win": 0.86,
        "bayes.converted.chance_to_win": 0.4,
        "metrics.metrics.qini_coefficient.value": 0.02,
        "summary.diagnostics.r_hat_max": 1.004,
    }
    got = tracking.key_metrics(m)
    assert got == {
        "expected_signups": 9.0,
        "converted.chance_to_win": 0.4,  # the first metric by name
        "qini_coefficient": 0.02,
    }
    assert tracking.key_metrics(m, limit=1) == {"expected_signups": 9.0}
    assert tracking.key_metrics({"x": 1.0}) == {}
