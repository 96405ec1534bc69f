"""The experiments and uplift commands record their runs like every other domain (real MLflow
on a temporary SQLite store, no mocks): parameters with the input's hash and seed, the
headline numbers as metrics under readable names, the output folder as artifacts."""

import json

import pytest

from bayes.cli import main


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One temporary store for the module (``MLFLOW_TRACKING_URI``), tracking on, and a
    working folder."""
    root = tmp_path_factory.mktemp("tracked")
    uri = "sqlite:///" + str(root / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BAYES_NO_TRACK", "0")
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(root)
        yield uri, root


def _run_of(uri: str, command: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exps = [e.experiment_id for e in client.search_experiments()]
    runs = [
        r
        for r in client.search_runs(exps, order_by=["attributes.start_time DESC"])
        if r.data.tags.get("bayes.command") == command
    ]
    assert runs, f"no run recorded for {command!r}"
    run = runs[0]
    arts = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    return run, arts


def test_experiment_commands_record_runs(store, capsys):
    uri, root = store
    assert main(["experiment", "generate", "--users", "3000", "--seed", "1", "--out", "exp"]) == 0
    argv = ["experiment", "analyze", "--data", "exp/experiment.csv", "--arm", "arm", "--metric",
            "revenue", "--covariates", "pre_revenue", "--out", "readout", "--json"]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert main(["experiment", "power", "--baseline", "0.1", "--mde", "0.02", "--json"]) == 0
    power = json.loads(capsys.readouterr().out)

    run, arts = _run_of(uri, "experiment generate")
    assert run.data.params["seed"] == "1" and "experiment.csv" in arts

    run, arts = _run_of(uri, "experiment analyze")
    p, m = run.data.params, run.data.metrics
    assert "revenue" in p["arg.metric"] and p["arg.covariates"]
    assert len(p["data_hash.data"]) == 64
    # list items named by the metric (and by metric and method where a metric repeats)
    chance = printed["bayes"][0]["chance_to_win"]
    assert m["bayes.revenue.chance_to_win"] == pytest.approx(chance)
    cuped = next(e for e in printed["estimates"] if e["method"] == "cuped")
    assert m["estimates.revenue.cuped.p_value"] == pytest.approx(cuped["p_value"])
    assert {"readout.nc", "summary.json", "manifest.json"} <= set(arts)
    # the readout posterior's provenance, and its declared prior
    assert p["readout.model_class"] == "models.experiments.readout:NormalReadout"
    assert p["readout.data_hash"] and "relative_lift" in p["priors"]

    # `bayes runs list` shows the readout's chance to win among the key metrics
    from bayes.tracking import list_runs

    row = list_runs(uri, command="experiment analyze").iloc[0]
    assert "revenue.chance_to_win " in row["key metrics"], row["key metrics"]

    run, arts = _run_of(uri, "experiment power")
    assert run.data.metrics["users_control"] == power["users_control"] == 3841
    assert arts == ["stdout.txt"]


def test_uplift_commands_record_runs(store, capsys):
    uri, root = store
    assert main(["uplift", "generate", "--users", "2000", "--seed", "1", "--out", "up"]) == 0
    argv = ["uplift", "fit", "--data", "up/experiment.csv", "--outcome", "converted",
            "--treatment", "treatment_flag", "--features", "country", "device", "frequency",
            "recency_weeks", "sessions_4w", "--learner", "s", "--bootstrap", "50", "--out",
            "fit"]  # fmt: skip
    assert main(argv) == 0
    argv = ["uplift", "target", "--scores", "fit/scores.csv", "--outcome", "converted",
            "--treatment", "treatment_flag", "--promo-cost", "1.5", "--contact-cost", "0.2",
            "--out", "target"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()

    run, arts = _run_of(uri, "uplift generate")
    assert run.data.params["seed"] == "1" and {"experiment.csv", "truth.json"} <= set(arts)

    run, arts = _run_of(uri, "uplift fit")
    fitted = json.loads((root / "fit" / "metrics.json").read_text())
    q = fitted["metrics"]["qini_coefficient"]["value"]
    assert run.data.metrics["metrics.metrics.qini_coefficient.value"] == pytest.approx(q)
    assert run.data.params["arg.learner"] == "s" and len(run.data.params["data_hash.data"]) == 64
    assert {"scores.csv", "qini.png", "metrics.json"} <= set(arts)

    run, arts = _run_of(uri, "uplift target")
    summary = json.loads((root / "target" / "targeting.json").read_text())
    m = run.data.metrics
    key = "targeting.p_targeting_beats_not_targeting"
    assert m[key] == pytest.approx(summary["p_targeting_beats_not_targeting"])
    assert m["targeting.best_fraction.value"] == pytest.approx(summary["best_fraction"]["value"])
    assert run.data.params["arg.promo_cost"] == "1.5"
    assert {"net_revenue.csv", "targeting.json", "net_revenue.png"} <= set(arts)
    # `bayes runs list` shows each command's headline numbers
    from bayes.tracking import list_runs

    runs = list_runs(uri).set_index("command")["key metrics"]
    assert runs["uplift fit"].startswith("qini_coefficient "), runs["uplift fit"]
    assert runs["uplift target"].startswith("p_targeting_beats_not_targeting "), runs


def test_list_items_are_named_by_metric_then_by_all_their_labels():
    from bayes import tracking

    flat = tracking.flatten_numbers(
        {
            "bayes": [{"metric": "revenue", "model": "normal (cuped, exact)", "chance": 0.9}],
            "estimates": [
                {"metric": "revenue", "method": "difference", "p_value": 0.2},
                {"metric": "revenue", "method": "cuped", "p_value": 0.05},
            ],
        }
    )
    assert flat == {
        "bayes.revenue.chance": 0.9,
        "estimates.revenue.difference.p_value": 0.2,
        "estimates.revenue.cuped.p_value": 0.05,
    }
