"""The targeting simulator: net revenue against brute force, policies, the best fraction and
its probability, the observed estimator against its point estimate, the LTV adapter, regret."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes.io import InputError
from bayes.uplift.targeting import (
    Costs,
    ltv_draws,
    parse_policy,
    policy_regret,
    simulate_targeting,
)
from models.ltv import clv


def test_predicted_curve_equals_brute_force(rng):
    n = 500
    u = rng.normal(0.05, 0.1, n)
    p1 = rng.uniform(0.1, 0.6, n)
    costs = Costs(promo=2.0, contact=0.3)
    res = simulate_targeting(u, value=20.0, costs=costs, uplift=u, p_treated=p1, bins=n)
    order = np.argsort(-u, kind="stable")
    net = (u * 20 - 2 * p1 - 0.3)[order]
    np.testing.assert_allclose(res.users, np.arange(n + 1))
    np.testing.assert_allclose(res.draws[0], np.r_[0, np.cumsum(net)], atol=1e-9)
    s = res.summary
    assert s["best_users"] == int(np.argmax(np.r_[0, np.cumsum(net)]))
    assert s["estimator"] == "predicted" and s["draws"] == 1


def test_best_fraction_with_value_draws():
    """30% of users have a positive net value: targeting them is best in every draw, so the
    best fraction is 0.3 with a degenerate interval and P(beats not targeting) = 1."""
    n = 1000
    u = np.r_[np.full(300, 0.2), np.full(700, -0.05)]
    value = np.random.default_rng(1).uniform(5, 15, size=(50, 1)) * np.ones((1, n))
    res = simulate_targeting(u, value=value, uplift=u, costs=Costs(contact=0.1), bins=100)
    b = res.summary["best_fraction"]
    assert b["value"] == pytest.approx(0.3)
    assert b["lower_90"] == pytest.approx(0.3) and b["upper_90"] == pytest.approx(0.3)
    assert res.summary["p_targeting_beats_not_targeting"] == 1.0
    nr = res.summary["net_revenue_at_best"]
    assert nr["mean"] == pytest.approx(300 * (0.2 * value[:, 0].mean() - 0.1))
    # if the costs swamp the value, targeting nobody is best and never loses
    res = simulate_targeting(u, value=value, uplift=u, costs=Costs(contact=10.0), bins=100)
    assert res.summary["best_fraction"]["value"] == 0.0
    assert res.summary["p_targeting_beats_not_targeting"] == 0.0


def test_policies(rng):
    n = 200
    u = np.linspace(0.2, -0.1, n)
    p1 = np.full(n, 0.5)
    res = simulate_targeting(
        u,
        value=10.0,
        uplift=u,
        p_treated=p1,
        costs=Costs(promo=1.0, contact=0.5),
        policies=["top:0.25", "threshold:0.05", "budget:30"],
    )
    users = {p["policy"]: p["users"] for p in res.policies}
    assert users["top:0.25"] == 50
    assert users["threshold:0.05"] == int((u > 0.05).sum())
    assert users["budget:30"] == 30  # each targeted user costs 0.5 + 1.0 * 0.5 = 1
    for p in res.policies:
        k = p["users"]
        assert p["net_revenue_mean"] == pytest.approx((u[:k] * 10 - 1.0).sum())
    with pytest.raises(ValueError):
        parse_policy("top:1.5")
    with pytest.raises(ValueError):
        parse_policy("best:3")


def test_observed_estimator_centres_on_its_point_estimate():
    """Mean over stratified bootstrap draws = the plug-in value-weighted uplift estimate at
    each cut, within 4 Monte Carlo standard errors."""
    rng = np.random.default_rng(3)
    n = 4000
    s = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + 0.2 * t * (s > 0)).astype(float)
    v = rng.gamma(4, 5, n)
    B = 300
    costs = Costs(promo=1.0, contact=0.2)
    res = simulate_targeting(
        s, value=v, outcome=y, treatment=t, costs=costs, n_boot=B, bins=10, seed=2
    )
    order = np.argsort(s, kind="stable")[::-1]
    for j, k in enumerate(res.users):
        if k == 0:
            continue
        top = order[:k]
        tt, yy, vv = t[top] == 1, y[top], v[top]
        point = k * (
            (yy * vv)[tt].mean() - (yy * vv)[~tt].mean() - costs.promo * yy[tt].mean() - 0.2
        )
        d = res.draws[:, j]
        assert d.mean() == pytest.approx(point, abs=4 * d.std(ddof=1) / np.sqrt(B) + 1e-9)
    assert res.summary["estimator"] == "observed" and res.summary["draws"] == B


def test_estimator_requirements(rng):
    u = rng.normal(size=20)
    with pytest.raises(ValueError, match="p_treated"):
        simulate_targeting(u, value=1.0, uplift=u, costs=Costs(promo=1.0))
    with pytest.raises(ValueError, match="outcome and treatment"):
        simulate_targeting(u, value=1.0, uplift=u, estimator="observed")
    with pytest.raises(ValueError, match="finite"):
        simulate_targeting(np.r_[u, np.nan], value=1.0, uplift=np.r_[u, 0])


# ----------------------------------------------------------------------------- LTV adapter

PARAMS = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}


@pytest.fixture
def ltv_folder(tmp_path):
    """A posterior.nc with known draws (2 chains x 30 draws around PARAMS) and ltv.csv."""
    import arviz as az

    rng = np.random.default_rng(0)
    post = {k: v * np.exp(rng.normal(0, 0.05, (2, 30))) for k, v in PARAMS.items()}
    az.from_dict(posterior=post).to_netcdf(tmp_path / "posterior.nc")
    rfm = pd.DataFrame(
        {
            "customer_id": ["7", "3", "11", "5"],
            "frequency": [0.0, 2.0, 5.0, 1.0],
            "recency": [0.0, 10.0, 30.0, 4.0],
            "T": [20.0, 40.0, 45.0, 12.0],
            "monetary_value": [0.0, 30.0, 22.5, 40.0],
        }
    )
    rfm.to_csv(tmp_path / "ltv.csv", index=False)
    return tmp_path, post, rfm


def test_ltv_draws_from_a_posterior_file(ltv_folder):
    folder, post, rfm = ltv_folder
    da = ltv_draws(folder / "posterior.nc", [3, 7], months=12, n_draws=1000)
    assert da.dims == ("sample", "customer_id") and da.shape == (60, 2)
    assert list(da["customer_id"].values) == ["3", "7"]
    flat = {k: v.reshape(-1, 1) for k, v in post.items()}
    row = rfm.set_index("customer_id").loc[["3", "7"]]
    expected = clv(
        12,
        {k: flat[k] for k in ("r", "alpha", "a", "b")},
        {k: flat[k] for k in ("p", "q", "v")},
        row["frequency"].to_numpy()[None],
        row["recency"].to_numpy()[None],
        row["T"].to_numpy()[None],
        row["monetary_value"].to_numpy()[None],
    )
    np.testing.assert_allclose(da.values, expected)
    sub = ltv_draws(folder / "posterior.nc", [3, 7], n_draws=10, seed=1)
    assert sub.shape == (10, 2)
    assert sub.equals(ltv_draws(folder / "posterior.nc", [3, 7], n_draws=10, seed=1))


def test_ltv_draws_errors(ltv_folder, tmp_path):
    folder, _, _ = ltv_folder
    with pytest.raises(InputError, match="2 customer"):
        ltv_draws(folder / "posterior.nc", [3, 99, 98])
    with pytest.raises(InputError, match="not found"):
        ltv_draws(tmp_path / "nope.nc", [3])
    (folder / "ltv.csv").unlink()
    with pytest.raises(InputError, match="ltv.csv"):
        ltv_draws(folder / "posterior.nc", [3])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # a short chain; convergence is not the point
def test_ltv_draws_from_a_real_fit_agree_with_the_ltv_table(tmp_path):
    """A real (small) BG/NBD + Gamma-Gamma fit on the generated orders: the adapter's mean
    over all draws equals the LTV workflow's own 12-month LTV per customer (the ids of the
    experiment map onto the LTV fit's customers), from the model and from its saved file."""
    from bayes.ltv.data import load_transactions
    from bayes.ltv.workflow import customer_table, fit_ltv, prepare_rfm
    from bayes.uplift.data import generate_uplift_data
    from models.sampling import SamplerConfig

    data = generate_uplift_data(1500, seed=3)
    tx = load_transactions(data.orders, source="orders")
    rfm = prepare_rfm(transactions=tx, observation_end=data.observation_end, time_unit="W").rfm
    fit = fit_ltv(rfm, sampler=SamplerConfig(draws=100, tune=150, chains=2, seed=1))
    ids = data.experiment["user_id"].to_numpy()[:300]
    da = ltv_draws(fit, ids, months=12, n_draws=10_000)
    table, _ = customer_table(fit, draws=10_000)
    expected = table.loc[[str(i) for i in ids], "ltv_12m_mean"]
    np.testing.assert_allclose(da.mean("sample").values, expected, rtol=1e-9)
    again = ltv_draws(fit.save(tmp_path / "posterior.nc"), ids, months=12, n_draws=10_000)
    np.testing.assert_allclose(again.values, da.values, rtol=1e-12)


# ----------------------------------------------------------------------------- regret


def test_policy_regret():
    tau = np.array([0.3, 0.1, -0.2, 0.05])
    p1 = np.array([0.5, 0.4, 0.1, 0.9])
    kw = dict(true_uplift=tau, true_p_treated=p1, value=10.0, promo_cost=1.0, contact_cost=0.1)
    # true net: 2.4, 0.5, -2.2, -0.5 -> the oracle targets users 0, 1 and earns 2.9
    r = policy_regret(predicted_uplift=tau, predicted_p_treated=p1, **kw, fraction=0.5)
    assert r["oracle_net_revenue"] == pytest.approx(2.9)
    assert r["regret"] == pytest.approx(0.0) and r["regret_at_k"] == pytest.approx(0.0)
    # a learner with the signs reversed predicts net values -3.1, -1.1, 1.9, -0.6: it targets
    # user 2 alone; its top half by predicted uplift is users 2 and 3 (true net -2.7)
    r = policy_regret(predicted_uplift=-tau, predicted_p_treated=p1 * 0, **kw, fraction=0.5)
    assert r["policy_net_revenue"] == pytest.approx(-2.2)
    assert r["regret"] == pytest.approx(5.1)
    assert r["regret_at_k"] == pytest.approx(2.9 - (-2.7))
