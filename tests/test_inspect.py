"""``bayes inspect``: works on any workbench NetCDF, states hdi_prob, writes plots."""

import json

import numpy as np
import pytest

from bayes.cli import main
from bayes.io import write_netcdf


@pytest.fixture
def nc(tmp_path):
    import arviz as az

    rng = np.random.default_rng(0)
    idata = az.from_dict(
        posterior={"theta": rng.normal(size=(2, 100, 3)), "rate": rng.gamma(2, size=(2, 100))},
        sample_stats={"diverging": np.zeros((2, 100), dtype=bool)},
        dims={"theta": ["topic"]},
        coords={"topic": ["a", "b", "c"]},
        attrs={"seed": 7, "data_hash": "abc", "prior_spec": "{}"},
    )
    idata.posterior["many"] = (("chain", "draw", "customer_id"), rng.normal(size=(2, 100, 50)))
    path = tmp_path / "fit.nc"
    write_netcdf(idata, path)
    return path


def test_inspect_json_and_plots(nc, tmp_path, capsys):
    out = tmp_path / "review"
    assert main(["inspect", str(nc), "--json", "--out", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["hdi_prob"] == 0.9
    rows = {r["variable"] for r in res["summary"]}
    assert rows == {"theta[a]", "theta[b]", "theta[c]", "rate"}
    assert "hdi_5%" in res["summary"][0]
    assert res["skipped"] == ["many"]
    assert res["attrs"]["seed"] == 7
    assert res["diagnostics"]["divergences"] == 0
    assert (out / "fit_trace.png").stat().st_size > 0
    assert (out / "fit_posterior.png").stat().st_size > 0


def test_inspect_text_and_var_selection(nc, capsys):
    assert main(["inspect", str(nc), "--var", "many", "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "hdi_prob=0.9" in text and "many[" in text and "diagnostics:" in text
    assert not (nc.parent / "fit_trace.png").exists()


def test_inspect_bad_inputs(tmp_path, nc, capsys):
    assert main(["inspect", str(tmp_path / "missing.nc")]) == 2
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    assert main(["inspect", str(bad)]) == 2
    assert main(["inspect", str(nc), "--var", "nope", "--no-plots"]) == 2
    assert "nope" in capsys.readouterr().err
