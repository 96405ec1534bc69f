"""Bayesian readouts, the library of past lifts and Bayesian sizing.

Oracles: the Beta integral (Evan Miller's exact sum for integer parameters) for the chance to
win; the Normal-Normal conjugate update; the preposterior simulation for sizing. Tolerances
come from the Monte Carlo error of the draws. The contract: fit -> save -> load -> predict
identically, the provenance schema, byte-identical files for the same seed.
"""

import math

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats
from scipy.special import betaln

import bayes
from models.experiments import (
    BetaBinomialReadout,
    LiftLibrary,
    NormalReadout,
    difference_in_means,
    moments_from_arrays,
)
from models.experiments.likelihood import prob_beta_greater
from models.experiments.sizing import (
    bayesian_sizing,
    normal_loss,
    preposterior_simulation,
    users_for_expected_loss,
)
from models.provenance import PROVENANCE_KEYS, read_provenance
from models.sampling import SamplerConfig
from priors.spec import Prior, PriorError

TABLE = pd.DataFrame(
    {"arm": ["control", "treatment"], "users": [4000, 4100], "conversions": [400, 451]}
)


def evan_miller(a_t, b_t, a_c, b_c):
    """P(p_t > p_c) for integer a_t (Evan Miller, 'Formulas for Bayesian A/B testing')."""
    i = np.arange(int(a_t))
    terms = betaln(a_c + i, b_c + b_t) - np.log(b_t + i) - betaln(1 + i, b_t) - betaln(a_c, b_c)
    return float(np.exp(terms).sum())


@pytest.fixture(scope="module")
def conversion():
    return BetaBinomialReadout(sampler=SamplerConfig(draws=5000, chains=4, seed=11)).fit(TABLE)


def test_beta_binomial_posterior_and_chance_to_win(conversion):
    m = conversion
    post = m.posterior_params()
    assert post["alpha"].tolist() == [401, 452] and post["beta"].tolist() == [3601, 3650]
    exact = evan_miller(452, 3650, 401, 3601)
    assert prob_beta_greater(452, 3650, 401, 3601) == pytest.approx(exact, abs=1e-9)
    r = m.readout()
    n = m.diagnostics_.ess_bulk_min
    assert abs(r["chance_to_win"] - exact) < 4 * math.sqrt(exact * (1 - exact) / n)
    draws = m.idata_.posterior["conversion_rate"].sel(arm="treatment").values.ravel()
    assert draws.mean() == pytest.approx(452 / 4102, abs=4 * draws.std() / math.sqrt(n))
    # expected losses: E[max(c - t, 0)] and E[max(t - c, 0)]; their difference is E[t - c]
    el = r["expected_loss"]
    lift = m.predict()["absolute_lift"].values
    assert el["choose_control"] - el["choose_treatment"] == pytest.approx(lift.mean(), abs=1e-12)
    assert r["absolute_lift"]["lower_90"] < 451 / 4100 - 0.1 < r["absolute_lift"]["upper_90"]


def test_contract_round_trip_and_provenance(conversion, tmp_path):
    m = conversion
    path = m.save(tmp_path / "conv.nc")
    m2 = bayes.load(path)
    assert isinstance(m2, BetaBinomialReadout) and m2.priors_ == m.priors_
    xr.testing.assert_identical(m.predict(), m2.predict())
    prov = read_provenance(m2.idata_)
    assert set(PROVENANCE_KEYS) <= set(prov) and prov["domain"] == "experiments"
    assert prov["sampler"]["method"] == "exact"
    assert {"posterior", "prior", "observed_data", "constant_data", "log_likelihood"} <= set(
        m.idata_.groups()
    )
    # same inputs and seed -> same bytes
    again = BetaBinomialReadout(sampler=SamplerConfig(draws=5000, chains=4, seed=11)).fit(TABLE)
    assert again.save(tmp_path / "b.nc").read_bytes() == path.read_bytes()
    assert "Beta(alpha=1, beta=1)" in repr(m) and "exact" in repr(m)


def test_beta_binomial_refuses_bad_tables_and_priors():
    with pytest.raises(ValueError, match="two arms"):
        BetaBinomialReadout().fit(TABLE.iloc[:1])
    with pytest.raises(ValueError, match="conversions <= users"):
        BetaBinomialReadout().fit(TABLE.assign(conversions=[400, 5000]))
    with pytest.raises(PriorError, match="conjugate"):
        BetaBinomialReadout(
            priors={"conversion_rate": Prior("Gamma", {"alpha": 1, "beta": 1})}
        ).fit(TABLE)


def _estimate(seed=0, lift=0.03, n=20_000):
    rng = np.random.default_rng(seed)
    arm = (rng.random(n) < 0.5).astype(int)
    y = rng.gamma(2.0, 10.0, n) * (1 + lift * arm)
    m = moments_from_arrays(arm, y[:, None], arms=("control", "treatment"), columns=["revenue"])
    return difference_in_means(m, "revenue")


def test_normal_readout_is_the_conjugate_update(tmp_path):
    e = _estimate()
    prior = Prior("Normal", {"mu": 0.01, "sigma": 0.02})
    m = NormalReadout(
        priors={"relative_lift": prior}, sampler=SamplerConfig(draws=4000, chains=4, seed=5)
    ).fit(e)
    prec = 1 / 0.02**2 + 1 / e.se_relative**2
    mean = (0.01 / 0.02**2 + e.relative / e.se_relative**2) / prec
    sd = 1 / math.sqrt(prec)
    post = m.posterior_params().iloc[0]
    assert post["mean"] == pytest.approx(mean, rel=1e-12) and post["sd"] == pytest.approx(
        sd, rel=1e-12
    )
    draws = m.predict()["relative_lift"].values.ravel()
    n = draws.size
    assert abs(draws.mean() - mean) < 4 * sd / math.sqrt(n)
    r = m.readout()[0]
    p_win = float(stats.norm.sf(0, mean, sd))
    assert abs(r["chance_to_win"] - p_win) < 4 * math.sqrt(p_win * (1 - p_win) / n) + 1e-12
    assert r["expected_loss_relative"]["choose_treatment"] == pytest.approx(
        normal_loss(mean, sd) if mean > 0 else normal_loss(mean, sd) + mean,
        abs=5 * sd / math.sqrt(n),
    )
    m2 = bayes.load(m.save(tmp_path / "lift.nc"))
    xr.testing.assert_identical(m.predict(), m2.predict())
    assert m2.priors_["relative_lift"] == prior
    with pytest.raises(PriorError, match="conjugate"):
        NormalReadout(priors={"relative_lift": Prior("HalfNormal", {"sigma": 1})}).fit(e)


@pytest.fixture(scope="module")
def library():
    rng = np.random.default_rng(4)
    k = 16
    theta = rng.normal(0.01, 0.02, k)
    se = rng.uniform(0.005, 0.02, k)
    past = pd.DataFrame(
        {
            "experiment": [f"e{i}" for i in range(k)],
            "lift": theta + se * rng.standard_normal(k),
            "se": se,
        }
    )
    return LiftLibrary(sampler=SamplerConfig(draws=800, tune=500, chains=2, seed=3)).fit(past), past


@pytest.mark.slow
def test_library_learns_the_next_lift_prior_and_updates(library, tmp_path):
    lib, past = library
    assert lib.diagnostics_.ok, lib.diagnostics_
    assert "log_likelihood" in lib.idata_.groups()
    assert np.isfinite(az.loo(lib.idata_).elpd_loo)  # the log_likelihood group serves az.loo
    prior = lib.next_lift_prior()
    assert prior.dist == "Normal"
    # the Normal keeps the predictive's quantiles within a fraction of its sd
    chk = lib.predictive_check()
    assert np.max(np.abs(chk["predictive"] - chk["normal"])) < 0.25 * prior.params["sigma"]
    # posterior of the library mean sits near the precision-weighted mean of the lifts
    w = 1 / (past["se"] ** 2 + lib.summary(["lift_sd"])["mean"].iloc[0] ** 2)
    wmean = float((w * past["lift"]).sum() / w.sum())
    mu = lib.summary(["lift_mean"]).iloc[0]
    assert mu["lower_90"] < wmean < mu["upper_90"]
    # each past experiment's lift is labelled by its name, as in the data the library saw
    lift = lib.predict()["lift"]
    assert list(lift["experiment"].values) == list(past["experiment"].astype(str))
    # reload predicts identically; the loop: a new readout joins the library
    lib2 = bayes.load(lib.save(tmp_path / "library.nc"))
    xr.testing.assert_identical(lib.predict(), lib2.predict())
    assert lib2.next_lift_prior() == prior
    new = lib2.update(pd.DataFrame({"experiment": ["new"], "lift": [0.05], "se": [0.004]}))
    assert new.experiments_[-1] == "new" and len(new.data_) == len(past) + 1
    assert new.next_lift_prior().params["mu"] > prior.params["mu"]
    with pytest.raises(ValueError, match="unique"):
        LiftLibrary().fit(pd.concat([past, past]))


def test_bayesian_sizing_closed_form_equals_simulation():
    sizes = (2_000, 20_000, 200_000)
    closed = bayesian_sizing(0.005, 0.02, cv=3.0, sizes=sizes).iloc[1:]
    sim = preposterior_simulation(0.005, 0.02, cv=3.0, sizes=sizes, sims=100_000, seed=1)
    for (_, c), (_, s) in zip(closed.iterrows(), sim.iterrows(), strict=True):
        assert abs(c["expected_loss"] - s["expected_loss"]) < 4 * s["expected_loss_se"]
        assert abs(c["p_right"] - s["p_right"]) < 4 * math.sqrt(0.25 / 100_000)
    table = bayesian_sizing(0.005, 0.02, cv=3.0, sizes=sizes)
    assert np.all(np.diff(table["expected_loss"]) < 0)
    assert table["evsi"].iloc[0] == 0 and table["expected_loss"].iloc[0] == pytest.approx(
        normal_loss(0.005, 0.02)
    )
    n = users_for_expected_loss(0.005, 0.02, 0.001, cv=3.0)
    below, above = bayesian_sizing(0.005, 0.02, cv=3.0, sizes=(n - 1, n))["expected_loss"].iloc[1:]
    assert above <= 0.001 < below
    assert users_for_expected_loss(0.2, 0.01, 0.001, cv=3.0) == 0  # the prior already decides


@pytest.mark.slow
def test_credible_intervals_cover_at_the_nominal_level():
    """Truths drawn from the prior, one experiment each: the 90% intervals cover 90% (exact
    posteriors are calibrated by construction; the test can fail if the update is wrong)."""
    rng = np.random.default_rng(2026)
    reps = 600
    hit_b = hit_n = 0
    for i in range(reps):
        p = rng.beta(2, 18, 2)
        users = np.array([800, 900])
        conv = rng.binomial(users, p)
        tab = pd.DataFrame({"arm": ["c", "t"], "users": users, "conversions": conv})
        m = BetaBinomialReadout(
            priors={"conversion_rate": Prior("Beta", {"alpha": 2, "beta": 18})},
            sampler=SamplerConfig(draws=500, chains=2, seed=i),
        ).fit(tab)
        r = m.readout(0.9)["absolute_lift"]
        hit_b += r["lower_90"] <= p[1] - p[0] <= r["upper_90"]
        lift = rng.normal(0.0, 0.03)
        se = rng.uniform(0.01, 0.04)
        from models.experiments.likelihood import normal_posterior

        mean, sd = normal_posterior(0.0, 0.03, lift + se * rng.standard_normal(), se)
        hit_n += mean - 1.6449 * sd <= lift <= mean + 1.6449 * sd
    tol = 4 * math.sqrt(0.9 * 0.1 / reps)
    assert abs(hit_b / reps - 0.9) < tol + 0.01  # + the draws' own quantile error
    assert abs(hit_n / reps - 0.9) < tol


def test_library_lift_draws_are_the_conjugate_conditional():
    """Given (lift_mean, lift_sd), each past experiment's true lift is the conjugate Normal
    update of Normal(lift_mean, lift_sd²) by its report (``normal_posterior``, the readout's
    own closed form): mean and sd of 200,000 draws within 5 Monte Carlo s.e.; at
    lift_sd = 0 every draw is lift_mean (full shrinkage, no NaN)."""
    from models.experiments.likelihood import library_lift_draws, normal_posterior

    lift, se = np.array([0.05, -0.02, 0.0]), np.array([0.01, 0.03, 0.02])
    n = 200_000
    draws = library_lift_draws(
        np.full(n, 0.01), np.full(n, 0.02), lift, se, np.random.default_rng(0)
    )
    mean, sd = normal_posterior(0.01, 0.02, lift, se)
    assert draws.shape == (n, 3)
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 5 * sd / np.sqrt(n))
    np.testing.assert_array_less(np.abs(draws.std(0) / sd - 1), 5 / np.sqrt(2 * n))
    flat = library_lift_draws(np.array([0.03]), np.array([0.0]), lift, se, np.random.default_rng(1))
    np.testing.assert_array_equal(flat, np.full((1, 3), 0.03))
