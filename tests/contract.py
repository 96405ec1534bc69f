"""The cross-domain check of a saved posterior: what every domain's NetCDF must satisfy.

Used on every posterior the demo writes (tests/test_demo.py) and by the domains' own tests:

* the provenance attrs follow the one schema (:data:`models.provenance.PROVENANCE_KEYS`), with
  the prior spec a :class:`priors.spec.PriorSet` that parses back and the sampler a config;
* no anonymous ``*_dim_N`` dimensions in any group, and no wall-clock attrs;
* diagnostics can be checked (two or more chains in a sampled posterior);
* :func:`bayes.load` reopens it as its domain's model, which predicts without refitting, with
  ``chain`` and ``draw`` dims, identically on a second load.
"""

from __future__ import annotations

import re
from pathlib import Path

import xarray as xr

_ANON_DIM = re.compile(r"_dim_\d+$")


def _as_dataset(pred) -> xr.Dataset:
    return pred.to_dataset(name="prediction") if isinstance(pred, xr.DataArray) else pred


def assert_posterior_on_contract(path: str | Path, *, predict_kwargs: dict | None = None):
    """Check one posterior file; return its reopened model."""
    import arviz as az

    import bayes
    from models.provenance import PROVENANCE_KEYS, SCHEMA, read_provenance
    from priors.spec import PriorSet

    path = Path(path)
    idata = az.from_netcdf(str(path))
    prov = read_provenance(path)
    assert set(PROVENANCE_KEYS) <= set(prov), f"{path.name}: missing provenance keys"
    assert prov["schema"] == SCHEMA, path.name
    assert prov["domain"] and prov["model_class"] and prov["data_hash"], path.name
    PriorSet.from_dict(prov["prior_spec"])  # the declaration parses back
    assert isinstance(prov["sampler"], (dict, str)), path.name
    for group in idata.groups():
        ds = getattr(idata, group)
        anon = [d for d in ds.dims if _ANON_DIM.search(str(d))]
        assert not anon, f"{path.name}: anonymous dims {anon} in {group}"
        assert "created_at" not in ds.attrs, f"{path.name}: wall-clock attrs in {group}"
    if prov["sampler"] != "exact":  # exact (conjugate) draws need no convergence check
        assert idata.posterior.sizes["chain"] >= 2, f"{path.name}: one chain cannot be checked"

    model = bayes.load(path)
    assert type(model).model_class() == prov["model_class"]
    kwargs = predict_kwargs or {}
    pred = _as_dataset(model.predict(**kwargs))
    assert {"chain", "draw"} <= set(pred.dims), f"{path.name}: predict dims {dict(pred.sizes)}"
    again = _as_dataset(bayes.load(path).predict(**kwargs))
    xr.testing.assert_identical(pred, again)
    return model
