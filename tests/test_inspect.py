"""``bayes inspect``: works on any workbench NetCDF; provenance, the prior table, central 90%
intervals, diagnostics, and trace / posterior / prior-vs-posterior / PPC plots as a unit."""

import json

import numpy as np
import pytest

from bayes.cli import main
from bayes.io import write_netcdf
from bayes.outputs import read_manifest
from models.provenance import write_provenance
from priors.spec import Prior, PriorSet


@pytest.fixture
def nc(tmp_path):
    import arviz as az

    rng = np.random.default_rng(0)
    idata = az.from_dict(
        posterior={"theta": rng.normal(size=(2, 100, 3)), "rate": rng.gamma(2, size=(2, 100))},
        prior={"theta": rng.normal(0, 3, size=(1, 200, 3)), "rate": rng.gamma(1, size=(1, 200))},
        posterior_predictive={"y": rng.poisson(3, size=(2, 100, 5))},
        observed_data={"y": rng.poisson(3, size=5)},
        sample_stats={"diverging": np.zeros((2, 100), dtype=bool)},
        dims={"theta": ["topic"], "y": ["obs"]},
        coords={"topic": ["a", "b", "c"]},
    )
    idata.posterior["many"] = (("chain", "draw", "customer_id"), rng.normal(size=(2, 100, 50)))
    priors = PriorSet(
        {
            "theta": Prior("Normal", {"mu": 0.0, "sigma": 3.0}, ("topic",)),
            "rate": Prior("Gamma", {"alpha": 1.0, "beta": 1.0}),
        },
        domain="toy",
    )
    write_provenance(
        idata,
        model_class="tests:Toy",
        domain="toy",
        priors=priors,
        data_hash="abc",
        seed=7,
        sampler={"draws": 100, "chains": 2},
    )
    path = tmp_path / "fit.nc"
    write_netcdf(idata, path)
    return path


def test_inspect_json_and_plots(nc, tmp_path, capsys):
    out = tmp_path / "review"
    assert main(["inspect", str(nc), "--json", "--out", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = {(r["variable"], r["coords"]) for r in res["summary"]}
    assert rows == {("theta", "a"), ("theta", "b"), ("theta", "c"), ("rate", "")}
    assert {"lower_90", "upper_90", "ess_bulk", "r_hat"} <= set(res["summary"][0])
    assert res["skipped"] == ["many"]
    assert res["provenance"]["seed"] == 7 and res["provenance"]["domain"] == "toy"
    assert [p["name"] for p in res["priors"]] == ["theta", "rate"]  # a table, not JSON text
    assert res["diagnostics"]["divergences"] == 0
    files = {p.name for p in out.iterdir()}
    assert {"trace.png", "posterior.png", "prior_vs_posterior.png", "ppc.png"} <= files
    assert read_manifest(out)["run"]["command"] == "inspect"


def test_inspect_text_and_var_selection(nc, capsys):
    before = sorted(p.name for p in nc.parent.iterdir())
    assert main(["inspect", str(nc), "--var", "many", "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "central 90%" in text and "many" in text and "diagnostics:" in text
    assert "priors (the declaration" in text and "Gamma(alpha=1, beta=1)" in text
    assert sorted(p.name for p in nc.parent.iterdir()) == before  # --no-plots writes nothing


def test_inspect_bad_inputs(tmp_path, nc, capsys):
    assert main(["inspect", str(tmp_path / "missing.nc")]) == 2
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    assert main(["inspect", str(bad), "--no-plots"]) == 2
    assert main(["inspect", str(nc), "--var", "nope", "--no-plots"]) == 2
    assert "nope" in capsys.readouterr().err
