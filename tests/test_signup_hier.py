"""Hierarchical beta-binomial: compression, simulator, closed forms, fit, backtest, NetCDF."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes.signup.backtest import backtest, brier_score, log_loss
from bayes.signup.counting import campaign_topics, count_pairs
from bayes.signup.generate import generate_signup_data
from models.rates import CountsError, any_success_logp, posterior_moment, sample_posterior
from models.sampling import SamplerConfig
from models.signup import (
    HierarchicalSignupModel,
    compress,
    consistent_counts,
    simulate_recipients,
    simulate_summaries,
)
from priors.signup import SIGNUP_PRIORS, priors_table, signup_priors
from priors.spec import REVIEW_COLUMNS, Prior, PriorError


def _pairs(rng, n=4000, n_topics=3):
    topic = rng.integers(0, n_topics, n)
    sends = 1 + rng.poisson(3, n)
    mu_c, k_c = np.array([0.05, 0.1, 0.2])[:n_topics], np.array([10.0, 30.0, 5.0])[:n_topics]
    mu_s, k_s = np.array([0.1, 0.2, 0.3])[:n_topics], np.array([8.0, 8.0, 8.0])[:n_topics]
    sim = simulate_recipients(rng, mu_c, k_c, mu_s, k_s, topic, sends)
    names = [f"T{i}" for i in range(n_topics)]
    pairs = pd.DataFrame(
        {
            "email": pd.Categorical([f"e{i}" for i in range(n)]),
            "topic": pd.Categorical.from_codes(topic, names),
            "sends": sends,
            "clicks": sim["clicks"],
            "signed_up": sim["signed_up"],
        }
    )
    return pairs, (mu_c, k_c, mu_s, k_s)


def test_priors_are_declared_proper_and_printable():
    table = priors_table()
    assert list(table.columns) == list(REVIEW_COLUMNS) and len(table) == 8
    assert table["description"].str.len().gt(0).all()
    for p in SIGNUP_PRIORS.values():
        assert p.dist in ("Normal", "HalfNormal")  # proper, no flat priors
    custom = signup_priors({"click_log_kappa_loc": Prior("Normal", {"mu": 1.0, "sigma": 1.0})})
    assert custom["click_log_kappa_loc"].params["mu"] == 1.0
    with pytest.raises(PriorError):
        signup_priors({"nope": Prior("Normal", {"sigma": 1.0})})
    with pytest.raises(PriorError):
        signup_priors({"sc_logit_mu_scale": Prior("Normal", {"sigma": 1.0})})


def test_compression_keeps_the_sufficient_statistics(rng):
    pairs, _ = _pairs(rng)
    st = compress(pairs)
    assert st["click"]["weight"].sum() == len(pairs) == st["n_pairs"]
    assert (st["click"]["weight"] * st["click"]["clicks"]).sum() == pairs["clicks"].sum()
    assert st["sc"]["weight"].sum() == (pairs["clicks"] > 0).sum()
    assert len(st["click"]) < len(pairs) / 10


def test_consistency_repair_only_touches_signups_without_clicks():
    pairs = pd.DataFrame({"sends": [3, 0, 2, 1], "clicks": [1, 0, 0, 1], "signed_up": [1, 1, 1, 0]})
    s, c, y = consistent_counts(pairs, "binomial")
    np.testing.assert_array_equal(s, [3, 0, 2, 1])
    np.testing.assert_array_equal(c, [1, 1, 1, 1])
    # "any": a signup without a logged click is not an outcome of clicks; counts stay
    s, c, y = consistent_counts(pairs, "any")
    np.testing.assert_array_equal(c, [1, 0, 0, 1])
    st = compress(pairs.assign(topic=pd.Categorical(["T"] * 4)), signup_likelihood="any")
    assert st["sc"]["weight"].sum() == 2 and st["n_signup_without_click"] == 1
    with pytest.raises(ValueError, match="signup_likelihood"):
        consistent_counts(pairs, "poisson")


def test_impossible_pair_counts_are_refused_naming_rows():
    """A click needs a send: clicks > sends is refused (it once gave p_click = 2.07), and so
    are negative, fractional or missing counts and signed_up outside 0/1."""
    ok = {"sends": [3, 1, 2], "clicks": [1, 0, 2], "signed_up": [0, 1, 1]}
    cases = [
        ("clicks", [1, 2, 2], "more clicks than sends", [1]),
        ("sends", [3, -1, 2], "negative", [1]),
        ("clicks", [1, 0.5, 2], "whole number", [1]),
        ("clicks", [1, np.nan, 2], "missing", [1]),
        ("signed_up", [0, 2, 1], "0 or 1", [1]),
    ]
    for col, values, message, rows in cases:
        bad = pd.DataFrame({**ok, col: values})
        with pytest.raises(CountsError, match=message) as err:
            consistent_counts(bad)
        assert err.value.column == col and err.value.rows == rows
    model = HierarchicalSignupModel(sampler=SamplerConfig(draws=10, tune=10, chains=2))
    bad = pd.DataFrame({**ok, "clicks": [1, 2, 2], "topic": pd.Categorical(["T"] * 3)})
    with pytest.raises(CountsError, match="more clicks than sends"):
        model.fit(bad)


@pytest.mark.parametrize(
    ("a", "b", "c"), [(0.5, 4.5, 1), (0.5, 4.5, 3), (2.0, 18.0, 7), (0.2, 1.8, 12)]
)
def test_any_signup_posterior_against_numerical_integration(a, b, c):
    """Y = 1 after C clicks: density ∝ Beta(a, b)(1 - (1 - p)^C). Closed-form moments and the
    mixture sampler against quadrature; Y = 0 is Beta(a, b + C)."""
    from scipy import integrate

    dens = lambda p: stats.beta(a, b).pdf(p) * (1 - (1 - p) ** c)  # noqa: E731
    z = integrate.quad(dens, 0, 1)[0]
    for k in (1, 2):
        m = integrate.quad(lambda p, k=k: p**k * dens(p), 0, 1)[0] / z
        assert posterior_moment(a, b, 1, c, k, "any") == pytest.approx(m, rel=1e-7)
        assert posterior_moment(a, b, 0, c, k, "any") == pytest.approx(
            stats.beta(a, b + c).moment(k), rel=1e-10
        )
    if c == 1:  # one click: "any" and "binomial" coincide, Beta(a + 1, b)
        assert posterior_moment(a, b, 1, 1, 1, "binomial") == pytest.approx(
            posterior_moment(a, b, 1, 1, 1, "any")
        )
    n = 40_000
    rng = np.random.default_rng(5)
    x = sample_posterior(rng, np.full(n, a), np.full(n, b), np.ones(n, int), np.full(n, c), "any")
    # the sample's quantiles sit at the right CDF levels (binomial error of a proportion, 4 SE)
    for q in (0.05, 0.5, 0.95):
        level = integrate.quad(dens, 0, np.quantile(x, q))[0] / z
        assert abs(level - q) < 4 * np.sqrt(q * (1 - q) / n)
    mean = posterior_moment(a, b, 1, c, 1, "any")
    sd = np.sqrt(posterior_moment(a, b, 1, c, 2, "any") - mean**2)
    assert abs(x.mean() - mean) < 4 * sd / np.sqrt(n)


def test_any_signup_likelihood_is_the_exact_probability():
    """pytensor log P(Y | C) of the fitted model equals quadrature of E[(1 - p)^C]."""
    from scipy import integrate

    a, b = np.array([0.5, 2.0, 0.2, 3.0]), np.array([4.5, 18.0, 1.8, 1.0])
    c, y = np.array([1.0, 4.0, 12.0, 2.0]), np.array([0.0, 1.0, 1.0, 0.0])
    got = any_success_logp(y, c, a, b).eval()
    p0 = [
        integrate.quad(lambda p, i=i: stats.beta(a[i], b[i]).pdf(p) * (1 - p) ** c[i], 0, 1)[0]
        for i in range(4)
    ]
    want = np.log(np.where(y == 0, p0, 1 - np.array(p0)))
    np.testing.assert_allclose(got, want, rtol=1e-7)


def test_any_and_binomial_differ_only_for_owners_with_two_or_more_clicks(rng):
    pairs, (mu_c, k_c, mu_s, k_s) = _pairs(rng, n=3000)
    topics = pairs["topic"].cat.categories
    kw = {"max_draws": 50}
    p_any = HierarchicalSignupModel.from_point(topics, mu_c, k_c, mu_s, k_s).pair_table(pairs, **kw)
    p_bin = HierarchicalSignupModel.from_point(
        topics, mu_c, k_c, mu_s, k_s, signup_likelihood="binomial"
    ).pair_table(pairs, **kw)
    differ = ((pairs["signed_up"] == 1) & (pairs["clicks"] >= 2)).to_numpy()
    assert differ.sum() > 10
    same = np.isclose(p_any["p_signup_given_click"], p_bin["p_signup_given_click"], atol=1e-12)
    np.testing.assert_array_equal(same, ~differ)
    # "at least one signup among C >= 2 clicks" does not say the other C - 1 clicks failed,
    # so the "any" posterior mean is higher than the binomial one, which reads them as failures
    assert (p_any["p_signup_given_click"][differ] > p_bin["p_signup_given_click"][differ]).all()


def test_predictive_summaries_match_recipient_simulator(rng):
    """The compressed simulator (multinomial over beta-binomial) agrees with simulating every
    recipient: means of total clicks and signed-up counts within 4 Monte Carlo SEs."""
    pairs, (mu_c, k_c, mu_s, k_s) = _pairs(rng, n=3000)
    st = compress(pairs)
    n_rep = 300
    summ = simulate_summaries(
        rng,
        np.tile(mu_c, (n_rep, 1)),
        np.tile(k_c, (n_rep, 1)),
        np.tile(mu_s, (n_rep, 1)),
        np.tile(k_s, (n_rep, 1)),
        st,
    )
    t = pairs["topic"].cat.codes.to_numpy()
    s = pairs["sends"].to_numpy()
    direct = np.array(
        [
            np.bincount(t, simulate_recipients(rng, mu_c, k_c, mu_s, k_s, t, s)["clicks"], 3)
            for _ in range(n_rep)
        ]
    )
    diff = summ["total_clicks"].mean(0) - direct.mean(0)
    se = np.sqrt(summ["total_clicks"].var(0) / n_rep + direct.var(0) / n_rep)
    assert np.all(np.abs(diff) < 4 * se)
    # zero-click share: exact expectation from the beta-binomial pmf
    a, b = mu_c[t] * k_c[t], (1 - mu_c[t]) * k_c[t]
    p0 = stats.betabinom(s, a, b).pmf(0)
    expect = np.bincount(t, p0, 3) / np.bincount(t, minlength=3)
    sd = np.sqrt(summ["zero_click_share"].var(0) / n_rep)
    assert np.all(np.abs(summ["zero_click_share"].mean(0) - expect) < 4 * sd + 1e-12)


def test_interval_coverage_with_true_topic_parameters():
    """Generator data (signups are "any signup among the C clicks", seed 11) scored with the true
    topic means and concentrations: the recipients' true rates are draws from exactly these
    priors, so the 90% intervals of p_signup cover with probability 0.90 independently per
    recipient; the coverage proportion of ~10,700 recipients has binomial SE
    sqrt(0.9 * 0.1 / n) = 0.003 (tolerance 4 SE). Organic owners (signup without a click) are
    the only misspecified rows (1%)."""
    data = generate_signup_data(6000, 5, seed=11)
    counts = count_pairs(data.events, data.campaigns, data.signups)
    tt = data.topic_truth.set_index("topic").loc[list(counts.pairs["topic"].cat.categories)]
    m = HierarchicalSignupModel.from_point(
        tt.index, tt["mu_click"], tt["kappa_click"], tt["mu_sc"], tt["kappa_sc"]
    )
    pred = m.pair_table(counts.pairs, max_draws=2000)
    t = data.truth.set_index(["email", "topic"])
    idx = pd.MultiIndex.from_arrays([pred.email.astype(str), pred.topic.astype(str)])
    ts = t["p_signup"].reindex(idx).to_numpy()
    inside = ((pred["p_signup_lower_90"] <= ts) & (ts <= pred["p_signup_upper_90"])).to_numpy()
    n = len(inside)
    assert abs(inside.mean() - 0.90) < 4 * np.sqrt(0.09 / n)


def test_expected_signups_draws_exact_vs_clt(rng):
    pairs, (mu_c, k_c, mu_s, k_s) = _pairs(rng, n=3000)
    m = HierarchicalSignupModel.from_point(pairs["topic"].cat.categories, mu_c, k_c, mu_s, k_s)
    n_d = 400
    m.draws_ = {
        k: np.repeat(v, n_d, axis=0) * rng.uniform(0.9, 1.1, (n_d, 3)) for k, v in m.draws_.items()
    }
    exact = m.expected_signups_draws(pairs, seed=1)
    clt = m.expected_signups_draws(pairs, seed=2, exact_limit=0)
    pred = m.pair_table(pairs)
    # Monte Carlo error: given draw d the sum over members has variance v_d = sum_i Var(p_i | d)
    # (closed-form moments); predict() averages the exact per-draw means over the same 400
    # draws, so exact.mean() - that is noise with sd sqrt(mean(v_d) / n_d); clt and exact share
    # the draws, so their means differ by noise with sd sqrt(2 mean(v_d) / n_d); 4 sd each
    # (about 0.4% of the sum here)
    inv, t, s, c, y = m._combos(pairs)
    a_c, b_c, a_s, b_s = m._beta_params(t, s, c, np.arange(n_d))
    e1 = a_c * (a_c + 1) / ((a_c + b_c) * (a_c + b_c + 1))
    m1 = a_c / (a_c + b_c)
    e2, m2 = (posterior_moment(a_s, b_s, y, c, k, "any") for k in (2, 1))
    v = ((e1 * e2 - (m1 * m2) ** 2) @ np.bincount(inv, minlength=len(t))).mean()
    assert abs(exact.mean() - pred["p_signup"].sum()) < 4 * np.sqrt(v / n_d)
    assert abs(clt.mean() - exact.mean()) < 4 * np.sqrt(2 * v / n_d)
    # sample sds of 400 draws each: relative SE ~ 1/sqrt(2 * 400) = 0.035, of the ratio ~0.05
    assert clt.std() == pytest.approx(exact.std(), rel=0.2)
    lo, hi = pred["p_signup_lower_90"], pred["p_signup_upper_90"]
    assert ((lo <= pred["p_signup"]) & (pred["p_signup"] <= hi)).all()


def test_log_loss_and_brier_closed_forms():
    y = np.array([1, 0, 0, 1])
    p = np.array([0.9, 0.2, 0.1, 0.6])
    assert log_loss(y, p) == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.9, 0.6])))
    assert brier_score(y, p) == pytest.approx(np.mean([0.01, 0.04, 0.01, 0.16]))


@pytest.fixture(scope="module")
def fitted():
    data = generate_signup_data(6000, 5, seed=11)
    counts = count_pairs(data.events, data.campaigns, data.signups)
    model = HierarchicalSignupModel(sampler=SamplerConfig(draws=400, tune=400, chains=2, seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(counts.pairs)
    return data, counts, model


@pytest.mark.slow
def test_fit_recovers_topic_parameters_and_ships_diagnostics(fitted, tmp_path):
    import arviz as az

    import bayes

    data, counts, model = fitted
    diag = model.diagnostics_
    assert diag.divergences <= 2 and diag.r_hat_max < 1.05
    post = model.idata_.posterior
    assert post["click_mu"].dims == ("chain", "draw", "topic")
    truth = data.topic_truth.set_index("topic").loc[list(post.topic.values)]
    # click means: well identified; true value within 4 posterior sds for every topic
    mean, sd = post["click_mu"].mean(("chain", "draw")), post["click_mu"].std(("chain", "draw"))
    assert np.all(np.abs(mean.values - truth["mu_click"].values) < 4 * sd.values + 0.005)
    # the click concentrations are learned away from the seed's 2 (truth is 8-40)
    k_lo = post["click_kappa"].quantile(0.05, ("chain", "draw")).values
    assert np.all(k_lo > 2.0)
    assert {
        "posterior",
        "prior",
        "posterior_predictive",
        "prior_predictive",
        "observed_data",
    } <= set(model.idata_.groups())
    path = model.save(tmp_path / "fit.nc")
    back = az.from_netcdf(path)
    assert back.attrs["data_hash"] == model.idata_.attrs["data_hash"]
    assert "click_log_kappa_loc" in back.attrs["prior_spec"]
    assert back.attrs["seed"] == 3 and "package_version" in back.attrs
    # reopened, it scores identically without refitting
    again = bayes.load(path)
    pd.testing.assert_frame_equal(again.pair_table(counts.pairs), model.pair_table(counts.pairs))
    assert back.posterior_predictive["total_clicks"].dims == ("chain", "draw", "topic")
    # posterior predictive total clicks cover the observed
    obs = back.observed_data["total_clicks"].values
    pp = back.posterior_predictive["total_clicks"]
    lo = pp.quantile(0.005, ("chain", "draw")).values
    hi = pp.quantile(0.995, ("chain", "draw")).values
    assert np.all((lo <= obs) & (obs <= hi))


@pytest.mark.slow
def test_hierarchical_predict_beats_eb_against_truth(fitted):
    from models.signup import eb_scores

    data, counts, model = fitted
    pred = model.pair_table(counts.pairs)
    eb = eb_scores(counts.pairs, counts.topics)
    t = data.truth.set_index(["email", "topic"])
    idx = pd.MultiIndex.from_arrays([pred.email.astype(str), pred.topic.astype(str)])
    true = t["p_click"].reindex(idx).to_numpy()
    rmse_h = np.sqrt(np.nanmean((pred["p_click"] - true) ** 2))
    rmse_e = np.sqrt(np.nanmean((eb["p_click"] - true) ** 2))
    assert rmse_h < rmse_e
    # 90% intervals of p_signup with the "any signup" likelihood: measured 0.871 (the seed's
    # binomial convention gave 0.718). Tolerance: recipients are independent given the topic
    # parameters (binomial SE sqrt(0.09/n) = 0.003), but all recipients of a topic share its
    # posterior error (kappa_sc is weakly identified: only recipients with C >= 2 inform it), so
    # the effective number of independent units is the number of topics; the SE of the mean
    # of the per-topic coverages, sd_t / sqrt(T), is added; 3 SE in all
    ts = t["p_signup"].reindex(idx).to_numpy()
    ok = ~np.isnan(ts)
    inside = ((pred["p_signup_lower_90"] <= ts) & (ts <= pred["p_signup_upper_90"])).to_numpy()
    inside = inside[ok]
    per_topic = pd.Series(inside).groupby(pred["topic"].astype(str).to_numpy()[ok]).mean()
    se = np.sqrt(per_topic.var(ddof=1) / len(per_topic) + 0.09 / len(inside))
    assert abs(inside.mean() - 0.90) < 3 * se, (inside.mean(), se, per_topic.to_dict())


@pytest.mark.slow
def test_backtest_hierarchical_not_worse_than_eb():
    data = generate_signup_data(6000, 5, seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = backtest(
            data.events,
            campaign_topics(data.campaigns),
            data.signups,
            truth=data.truth,
            model=HierarchicalSignupModel(
                sampler=SamplerConfig(draws=300, tune=300, chains=2, seed=1)
            ),
        )
    m = res.metrics.set_index(["target", "method"])
    assert res.info["n_holdout"] > 5000
    for target in ("click", "signup"):
        # not worse, with a tolerance of 0.1% of the EB log loss / Brier
        for k in ("log_loss", "brier"):
            assert m.loc[(target, "hierarchical"), k] <= m.loc[(target, "eb"), k] * 1.001
        assert (
            m.loc[(target, "hierarchical"), "rmse_vs_truth"]
            < m.loc[(target, "eb"), "rmse_vs_truth"]
        )
    # the true rates score best on click (they are the data-generating probabilities)
    assert m.loc[("click", "truth"), "log_loss"] <= m.loc[("click", "hierarchical"), "log_loss"]


def test_contract_round_trip(tmp_path):
    """fit (tiny) -> save -> bayes.load -> predict identically, the one provenance schema,
    repr with the priors, and the same bytes for the same inputs and seed."""
    import xarray as xr

    import bayes
    from models.provenance import PROVENANCE_KEYS, read_provenance
    from tests.contract import assert_posterior_on_contract

    pairs, _ = _pairs(np.random.default_rng(3), n=400, n_topics=2)

    def fit():
        m = HierarchicalSignupModel(sampler=SamplerConfig(draws=100, tune=100, chains=2, seed=5))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return m.fit(pairs, source="pairs.csv")

    m = fit()
    assert "click_logit_mu_loc=Normal" in repr(m) and "2 chains × 100 draws" in repr(m)
    prov = read_provenance(m.idata_)
    assert set(PROVENANCE_KEYS) <= set(prov) and prov["domain"] == "signup"
    assert prov["model_class"] == "models.signup:HierarchicalSignupModel"
    pred = m.predict()
    assert pred["p_signup"].dims == ("chain", "draw", "pair") and pred.sizes["pair"] == 400
    np.testing.assert_allclose(
        pred["p_signup"].mean(("chain", "draw")), m.pair_table(pairs)["p_signup"], rtol=1e-12
    )
    path = m.save(tmp_path / "a.nc")
    assert_posterior_on_contract(path)  # the cross-domain check every posterior passes
    m2 = bayes.load(path)
    assert isinstance(m2, HierarchicalSignupModel) and m2.priors_ == m.priors_
    assert m2.signup_likelihood == "any" and m2.sampler_ == m.sampler_
    xr.testing.assert_identical(m2.predict(), pred)
    xr.testing.assert_identical(m2.predict(kind="sample", seed=2), m.predict(kind="sample", seed=2))
    pd.testing.assert_frame_equal(m2.pair_table(pairs), m.pair_table(pairs))
    pd.testing.assert_frame_equal(m2.summary(), m.summary())
    assert m2.diagnostics_.to_dict() == m.diagnostics_.to_dict()
    assert list(m.summary().columns[:7]) == [
        "variable",
        "coords",
        "mean",
        "sd",
        "median",
        "lower_90",
        "upper_90",
    ]
    assert fit().save(tmp_path / "b.nc").read_bytes() == path.read_bytes()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # r-hat of chains stuck by huge steps
def test_divergent_fit_warns_and_says_so():
    """Issue 11: a hierarchical beta-binomial fit with divergences raised no warning. Sampled
    with a step size forced far too large (no tuning, step_scale 20), it warns and its
    diagnostics carry ok = False and the divergences among the problems."""
    from models.diagnostics import FitDiagnosticsWarning

    pairs, _ = _pairs(np.random.default_rng(4), n=300, n_topics=2)
    m = HierarchicalSignupModel(sampler=SamplerConfig(draws=60, tune=0, chains=2, seed=1))
    m.sample_kwargs = {"step_scale": 20.0}
    with pytest.warns(FitDiagnosticsWarning, match="divergent"):
        m.fit(pairs)
    assert m.diagnostics_.divergences > 0 and not m.diagnostics_.ok
    assert any("divergent" in p for p in m.diagnostics_.problems)
