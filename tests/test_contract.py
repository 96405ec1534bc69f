"""The model contract (models.base): a small real model through fit -> save -> load -> predict,
the provenance schema, and the guarantees every domain inherits.

Every domain model goes through the same round trip in its own test module, and every
posterior the demo writes is checked by ``tests/contract.py``; here the base class itself is
tested on a Normal-mean model whose posterior is known in closed form.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from models.base import BayesianModel, NotFittedError, load
from models.provenance import PROVENANCE_KEYS, read_provenance
from models.sampling import SamplerConfig
from priors.spec import Prior, PriorSet


class NormalMean(BayesianModel):
    """y_i ~ Normal(mu_g, 1) per group g, mu_g ~ Normal(0, 10): conjugate, for the tests."""

    domain = "toy"
    entity = "group"

    @classmethod
    def default_priors(cls):
        return PriorSet({"mu": Prior("Normal", {"mu": 0.0, "sigma": 10.0})}, domain="toy")

    def _prepare(self, data: pd.DataFrame):
        g = data.groupby("group")["y"].agg(["sum", "count"])
        return g

    def _data_hash(self, prepared):
        return hashlib.sha256(prepared.to_csv().encode()).hexdigest()

    def build_model(self, prepared):
        import pymc as pm

        with pm.Model(coords={"group": list(prepared.index)}) as m:
            mu = self.priors_["mu"].to_pymc("mu", dims=("group",))
            # sufficient statistics: sum of n unit-variance normals ~ Normal(n mu, sqrt(n))
            pm.Normal(
                "y_sum",
                mu=mu * prepared["count"].to_numpy(),
                sigma=np.sqrt(prepared["count"].to_numpy()),
                observed=prepared["sum"].to_numpy(),
                dims="group",
            )
        return m

    def _data_groups(self, prepared):
        ds = xr.Dataset(
            {"count": ("group", prepared["count"].to_numpy())},
            coords={"group": list(prepared.index)},
        )
        return {"constant_data": ds}

    def _restore(self, idata):
        self.groups_ = list(idata.constant_data["group"].values)

    def predict(self, n_new: int = 10) -> xr.Dataset:
        """Mean of ``n_new`` future observations per group (draws of mu)."""
        self.check_fitted()
        mu = self.idata_.posterior["mu"]
        return xr.Dataset({"future_mean": mu * 1.0})


def _data():
    rng = np.random.default_rng(1)
    return pd.DataFrame({"group": np.repeat(["a", "b"], 50), "y": rng.normal(1.0, 1.0, 100)})


def _fit():
    m = NormalMean(sampler=SamplerConfig(draws=300, tune=300, chains=2, seed=3))
    return m.fit(_data(), source="toy.csv")


@pytest.fixture(scope="module")
def fitted():
    return _fit(), _data()


def test_init_only_stores_and_repr_shows_priors():
    m = NormalMean(priors={"mu": Prior("Normal", {"mu": 1.0, "sigma": 2.0})}, sampler=None)
    assert m.priors == {"mu": Prior("Normal", {"mu": 1.0, "sigma": 2.0})}
    assert "Normal(mu=1, sigma=2)" in repr(m)
    assert "4 chains × 1000 draws" in repr(m)
    with pytest.raises(NotFittedError):
        m.predict()


def test_posterior_matches_closed_form(fitted):
    m, data = fitted
    post = m.idata_.posterior["mu"]
    for g, grp in data.groupby("group"):
        n, s = len(grp), grp["y"].sum()
        prec = n + 1 / 100
        mean, sd = s / prec, 1 / np.sqrt(prec)
        draws = post.sel(group=g).values.ravel()
        se = sd / np.sqrt(m.diagnostics_.ess_bulk_min)  # Monte Carlo error of the mean
        assert abs(draws.mean() - mean) < 5 * se
        assert abs(draws.std() / sd - 1) < 0.15


def test_provenance_schema_and_no_wall_clock(fitted):
    m, _ = fitted
    prov = read_provenance(m.idata_)
    assert set(PROVENANCE_KEYS) <= set(prov)
    assert prov["domain"] == "toy" and prov["model_class"].endswith(":NormalMean")
    assert prov["sampler"]["draws"] == 300 and prov["seed"] == 3
    assert PriorSet.from_dict(prov["prior_spec"]) == m.priors_
    for group in m.idata_.groups():
        assert "created_at" not in getattr(m.idata_, group).attrs


def test_save_load_predicts_identically(fitted, tmp_path):
    m, _ = fitted
    path = m.save(tmp_path / "fit.nc")
    m2 = load(path)
    assert type(m2).__name__ == "NormalMean" and m2.priors_ == m.priors_
    assert m2.sampler_ == m.sampler_
    xr.testing.assert_identical(m.predict(), m2.predict())
    assert m2.groups_ == ["a", "b"]
    assert m2.diagnostics_.to_dict() == m.diagnostics_.to_dict()


def test_same_inputs_and_seed_give_the_same_bytes(fitted, tmp_path):
    m, _ = fitted
    a = m.save(tmp_path / "a.nc")
    b = _fit().save(tmp_path / "b.nc")
    assert a.read_bytes() == b.read_bytes()


def test_summary_uses_the_interval_convention(fitted):
    m, _ = fitted
    s = m.summary(["mu"])
    assert list(s.columns) == [
        "variable",
        "coords",
        "mean",
        "sd",
        "median",
        "lower_90",
        "upper_90",
        "ess_bulk",
        "ess_tail",
        "r_hat",
    ]
    assert list(s["coords"]) == ["a", "b"]
    assert (s["lower_90"] < s["median"]).all() and (s["median"] < s["upper_90"]).all()


def test_load_refuses_foreign_files(tmp_path):
    import arviz as az

    p = tmp_path / "plain.nc"
    az.from_dict(posterior={"x": np.zeros((2, 10))}).to_netcdf(str(p), engine="h5netcdf")
    with pytest.raises(ValueError, match="not a workbench posterior"):
        load(p)
    q = tmp_path / "junk.nc"
    q.write_text("not netcdf")
    with pytest.raises(ValueError, match="not an ArviZ NetCDF"):
        load(q)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.nc")
