"""LTVModel on the contract: fit (tiny) -> save -> bayes.load -> predict identically; the
provenance schema with its time unit; the log likelihood for az.loo; days vs weeks; segments."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayes
from models import ltv as M
from models.ltv import LTVModel
from models.provenance import PROVENANCE_KEYS, read_provenance
from models.sampling import SamplerConfig

SAMPLER = SamplerConfig(draws=150, tune=200, chains=2, seed=4)


def _customers(n=1500, seed=2, segments=None):
    rng = np.random.default_rng(seed)
    T = rng.integers(5, 53, n).astype(float)
    r = 0.3 if segments is None else np.array([0.15, 0.3, 0.6])[np.arange(n) % 3]
    x, tx = M.simulate_bgnbd(rng, r, 4.0, 0.8, 2.5, T)
    m = M.simulate_gamma_gamma(rng, 6.0, 4.0, 15.0, x)
    df = pd.DataFrame(
        {
            "frequency": x.astype(float),
            "recency": np.floor(tx * 7) / 7,  # daily grid, in weeks
            "T": T,
            "monetary_value": np.round(np.nan_to_num(m), 2),
        },
        index=pd.Index([f"u{i}" for i in range(n)], name="customer_id"),
    )
    if segments is not None:
        df["channel"] = np.asarray(segments)[np.arange(n) % 3]
    return df


@pytest.fixture(scope="module")
def weekly():
    data = _customers()
    return LTVModel(sampler=SAMPLER).fit(data, source="sim.csv"), data


def test_init_only_stores_and_repr_shows_priors():
    m = LTVModel(priors={"r": {"dist": "LogNormal", "median": 0.3, "interval": [0.1, 0.9]}})
    assert m.priors == {"r": {"dist": "LogNormal", "median": 0.3, "interval": [0.1, 0.9]}}
    assert "LogNormal" in repr(m) and "4 chains" in repr(m)
    assert m.priors_["r"].median() == pytest.approx(0.3, rel=0.05)


def test_predict_has_named_dims_and_consistent_values(weekly):
    m, data = weekly
    pred = m.predict(draws=100)
    assert set(pred.data_vars) == {
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "ltv_6m",
        "ltv_12m",
    }
    for v in pred.data_vars.values():
        assert v.dims == ("chain", "draw", "customer_id")
    assert list(pred["customer_id"].values) == list(data.index)
    assert pred.sizes["chain"] * pred.sizes["draw"] == 100
    assert pred.attrs["time_unit"] == "week"
    assert float(pred["p_alive"].max()) <= 1.0
    assert bool((pred["ltv_12m"] >= pred["ltv_6m"]).all())
    # a draw's LTV is the closed form at that draw's parameters
    post = m.idata_.posterior
    c, d = 1, int(pred["draw"].values[3])
    th = {k: float(post[k].sel(chain=c, draw=d)) for k in ("r", "alpha", "a", "b", "p", "q", "v")}
    x, tx, T, mv = (data[k].to_numpy() for k in ("frequency", "recency", "T", "monetary_value"))
    ref = M.clv(12, th, th, x, tx, T, mv, units_per_month=M.units_per_month("week"))
    np.testing.assert_allclose(pred["ltv_12m"].sel(chain=c, draw=d).values, ref, rtol=1e-9)
    # new customers (a subset, another order) predict the same as in the full table
    sub = data.iloc[[5, 2]]
    p2 = m.predict(sub, draws=100)
    xr.testing.assert_allclose(p2["ltv_12m"], pred["ltv_12m"].sel(customer_id=["u5", "u2"]))


def test_save_load_round_trip_predicts_identically(weekly, tmp_path):
    m, _ = weekly
    path = m.save(tmp_path / "ltv.nc")
    m2 = bayes.load(path)
    assert isinstance(m2, LTVModel) and m2.time_unit == "week"
    assert m2.priors_ == m.priors_ and m2.sampler_ == m.sampler_
    xr.testing.assert_identical(m.predict(draws=60), m2.predict(draws=60))
    xr.testing.assert_identical(
        m.purchase_probabilities(3, draws=20), m2.purchase_probabilities(3, draws=20)
    )
    assert m2.diagnostics_.to_dict() == m.diagnostics_.to_dict()
    pd.testing.assert_frame_equal(m2.data_, m.data_, check_dtype=False)


@pytest.mark.slow
def test_same_inputs_and_seed_give_the_same_bytes(weekly, tmp_path):
    m, _ = weekly
    path = m.save(tmp_path / "a.nc")
    again = LTVModel(sampler=SAMPLER).fit(_customers(), source="sim.csv").save(tmp_path / "b.nc")
    assert again.read_bytes() == path.read_bytes()


def test_provenance_groups_and_loo(weekly):
    import arviz as az

    m, _ = weekly
    prov = read_provenance(m.idata_)
    assert set(PROVENANCE_KEYS) <= set(prov)
    assert prov["domain"] == "ltv" and prov["time_unit"] == "week"
    assert prov["model_class"] == "models.ltv.model:LTVModel"
    assert prov["data_source"] == "sim.csv" and prov["seed"] == 4
    groups = set(m.idata_.groups())
    assert {"posterior", "prior", "posterior_predictive", "observed_data"} <= groups
    assert {"constant_data", "log_likelihood", "sample_stats"} <= groups
    assert not [d for d in m.idata_.posterior.dims if d.endswith("_dim_0")]
    ll = m.idata_.log_likelihood["ltv"]
    assert ll.dims == ("chain", "draw", "customer_id")
    # the stored pointwise values sum to the model's likelihood at each draw
    cd = m.idata_.constant_data
    post = m.idata_.posterior.isel(chain=0, draw=7)
    bg = M.bgnbd_loglike(
        *(float(post[k]) for k in ("r", "alpha", "a", "b")),
        cd["row_frequency"],
        cd["row_recency"],
        cd["row_T"],
        cd["row_count"],
    )
    gg = M.gamma_gamma_loglike(
        *(float(post[k]) for k in ("p", "q", "v")),
        cd["spend_row_frequency"],
        cd["spend_row_monetary_value"],
        cd["spend_row_count"],
    )
    assert float(ll.isel(chain=0, draw=7).sum()) == pytest.approx(float(bg + gg), rel=1e-10)
    loo = az.loo(m.idata_)
    assert np.isfinite(loo.elpd_loo)
    assert m.summary()["variable"].tolist() == ["r", "alpha", "a", "b", "p", "q", "v"]


def test_draws_with_infinite_mean_spend_warn_and_give_nan(weekly):
    """A draw with q <= 1 (infinite Gamma-Gamma mean) gives NaN spend and LTV at that draw
    only, and the prediction says how many draws and customers."""
    m, data = weekly
    m2 = copy.deepcopy(m)
    q = m2.idata_.posterior["q"]
    q[0, 0] = 0.9  # one draw of chain 0
    with pytest.warns(UserWarning, match=r"q <= 1 for all customers"):
        pred = m2.predict(data.head(20))
    spend = pred["expected_spend"].values
    assert np.isnan(spend[0, 0]).all() and np.isfinite(spend[:, 1:]).all()
    assert np.isnan(pred["ltv_12m"].values[0, 0]).all()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*q <= 1")  # none on the untouched fit
        m.predict(data.head(20))


def test_purchase_probabilities_and_p_alive_matrix(weekly):
    m, _ = weekly
    pp = m.purchase_probabilities(n_max=250, horizon=26.0, draws=30)
    assert pp.dims == ("chain", "draw", "customer_id", "purchases")
    total = pp.sum("purchases")
    assert float(total.min()) > 0.999 and float(total.max()) <= 1 + 1e-9
    mean = (pp * pp["purchases"]).sum("purchases")
    exp = m.predict(horizon=26.0, months=(), draws=30)["expected_purchases"]
    np.testing.assert_allclose(mean.values, exp.values, rtol=2e-3, atol=1e-6)
    mat = m.p_alive_matrix(max_frequency=10, draws=40)
    assert mat.dims == ("chain", "draw", "frequency", "recency")
    means = mat.mean(("chain", "draw"))
    assert np.isnan(means.sel(frequency=0).values[1:]).all()
    # more recent last purchases mean more alive; at recency = T the customer is alive-ish
    row = means.sel(frequency=5).values
    assert np.all(np.diff(row) > 0)


@pytest.mark.slow
def test_the_same_customers_in_days_or_weeks_give_the_same_ltv(weekly):
    """Time units explicit: the same customers in days (recency and T x 7) with the same seed
    give the same 12-month LTV, within 4 Monte Carlo s.e. of the total."""
    import arviz as az

    m_w, data = weekly
    days = data.assign(recency=data["recency"] * 7, T=data["T"] * 7)
    m_d = LTVModel(sampler=SAMPLER, time_unit="D").fit(days)
    assert m_d.idata_.attrs["time_unit"] == "day"
    tot_w = m_w.predict()["ltv_12m"].sum("customer_id")
    tot_d = m_d.predict()["ltv_12m"].sum("customer_id")
    se = np.hypot(*(float(t.std()) / np.sqrt(float(az.ess(t.values))) for t in (tot_w, tot_d)))
    assert abs(float(tot_w.mean()) - float(tot_d.mean())) < 4 * se
    assert float(m_d.idata_.posterior["alpha"].median()) == pytest.approx(
        7 * float(m_w.idata_.posterior["alpha"].median()), rel=0.1
    )
    # expected purchases over 26 weeks = 182 days
    ew = m_w.predict(horizon=26.0, draws=100)["expected_purchases"].mean()
    ed = m_d.predict(horizon=182.0, draws=100)["expected_purchases"].mean()
    assert float(ed) == pytest.approx(float(ew), rel=0.05)


@pytest.fixture(scope="module")
def segmented():
    data = _customers(2400, seed=6, segments=("ads", "organic", "referral"))
    return LTVModel(sampler=SAMPLER, segment="channel").fit(data), data


def test_segments_partial_pooling(segmented, tmp_path):
    m, data = segmented
    post = m.idata_.posterior
    assert list(post["segment"].values) == ["ads", "organic", "referral"]
    assert post["r"].dims == ("chain", "draw", "segment")
    assert {"r_median", "r_segment_sd", "log_r_median"} <= set(post.data_vars)
    # the segments' truths r = 0.15, 0.3, 0.6 are ordered in the posterior
    med = post["r"].median(("chain", "draw")).values
    assert med[0] < med[1] < med[2]
    assert m.idata_.attrs["ltv_segment"] == "channel"
    assert m.idata_.attrs["ltv_pooling"] == "partial"
    s = m.summary()
    assert {"ads", "organic", "referral"} <= set(s["coords"])
    # a segment unseen in the fit is predicted from the population (partial pooling only)
    new = data.iloc[:4].assign(channel="tv")
    pred = m.predict(new, draws=50)
    assert np.isfinite(pred["ltv_12m"].values).all()
    m2 = bayes.load(m.save(tmp_path / "seg.nc"))
    assert m2.segment == "channel" and m2.segments_ == ("ads", "organic", "referral")
    xr.testing.assert_identical(m.predict(draws=40), m2.predict(draws=40))
    xr.testing.assert_identical(m.predict(new, draws=40), m2.predict(new, draws=40))
    independent = LTVModel(segment="channel", pooling="none")
    independent.idata_, independent.segments_ = m.idata_, m.segments_
    with pytest.raises(ValueError, match="partial pooling"):
        independent._theta_rows(m._draws(10), np.array([-1]))
