"""LTV maths: oracles (lifetimes, closed forms, the published CDNOW fit), the compressed and
factored likelihoods, the simulators, priors and their time units."""

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
from scipy import optimize, stats

from bayes.ltv.workflow import PUBLISHED_CDNOW
from models import ltv as M
from models.ltv import LTVModel
from priors.ltv import BGNBD_PARAMS, LTV_PRIORS, ltv_prior_names, rescale_time
from priors.spec import Prior, PriorError

# Oracle quoted from FHL05a Table 1 (CDNOW, weeks), deliberately not imported.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow():
    df = load_cdnow_summary_data_with_monetary_value()
    df.index = df.index.astype(str)
    return df


@pytest.fixture(scope="module")
def fitted(cdnow):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow["T"])
        rep = cdnow[cdnow.frequency > 0]
        ggf = GammaGammaFitter().fit(rep.frequency, rep.monetary_value)
    return bgf, ggf


def _rft(d):
    return d.frequency.to_numpy(float), d.recency.to_numpy(float), d["T"].to_numpy(float)


@pytest.fixture(scope="module")
def cdnow_map(cdnow):
    return LTVModel(spend=False).map(cdnow[["frequency", "recency", "T"]])


# ---------------------------------------------------------------------------- priors


def test_priors_are_one_prior_set_with_reviewable_entries():
    assert LTV_PRIORS.domain == "ltv"
    assert ltv_prior_names(spend=False) == ["r", "alpha", "a", "b"]
    names = ltv_prior_names(spend=True, pooling="partial")
    assert names[:7] == ["r", "alpha", "a", "b", "p", "q", "v"]
    assert names[7:] == [f"{n}_segment_sd" for n in names[:7]]
    assert set(names) == set(LTV_PRIORS)
    table = LTV_PRIORS.table()
    assert {"lower_90", "upper_90", "description"} <= set(table.columns)
    assert (table["description"] != "").all()
    with pytest.raises(PriorError, match="zeta"):
        LTV_PRIORS.with_overrides({"zeta": Prior("HalfNormal", {"sigma": 1.0})})
    # the model uses only the entries of its configuration
    assert list(LTVModel(spend=False).priors_) == ["r", "alpha", "a", "b"]
    assert len(LTVModel(segment="country").priors_) == 14


@pytest.mark.parametrize(
    "prior",
    [
        LTV_PRIORS["alpha"],
        Prior("Gamma", {"alpha": 3.0, "beta": 0.5}),
        Prior("HalfNormal", {"sigma": 4.0}),
        Prior("TruncatedNormal", {"mu": 4.0, "sigma": 2.0, "lower": 0.5}),
    ],
)
def test_rescaled_alpha_prior_is_the_same_belief_in_days(prior):
    """alpha in days = 7 x alpha in weeks: every quantile scales by 7 (exact)."""
    weeks = LTV_PRIORS.with_overrides({"alpha": prior})
    days = rescale_time(weeks, 7.0, "days")
    for q in (0.05, 0.5, 0.95):
        assert days["alpha"]._scipy().ppf(q) == pytest.approx(7 * prior._scipy().ppf(q), rel=1e-9)
    assert days["r"] == weeks["r"]
    with pytest.raises(PriorError, match="duration"):
        rescale_time(
            LTV_PRIORS.with_overrides({"alpha": Prior("Beta", {"alpha": 1, "beta": 1})}), 7
        )


# ---------------------------------------------------------------------------- likelihoods


def test_loglike_matches_lifetimes_and_compression(cdnow, fitted):
    bgf, _ = fitted
    x, tx, T = _rft(cdnow)
    pr = bgf.params_
    mine = M.bgnbd_loglike(pr.r, pr.alpha, pr.a, pr.b, x, tx, T)
    theirs = -bgf._negative_log_likelihood(
        np.log([pr.r, pr.alpha, pr.a, pr.b]), x, tx, T, np.ones_like(x), 0.0
    ) * len(x)
    assert mine == pytest.approx(theirs, rel=1e-10)
    c = M.compress_rfm(x, tx, T)
    assert c.n_unique < len(x) and c.n_customers == len(x)
    np.testing.assert_array_equal(c.x[c.inverse], x)
    assert M.bgnbd_loglike(pr.r, pr.alpha, pr.a, pr.b, c.x, c.t_x, c.T, c.weight) == pytest.approx(
        mine, rel=1e-12
    )
    seg = (np.arange(len(x)) % 3).astype(int)
    cs = M.compress_rfm(x, tx, T, seg)
    np.testing.assert_array_equal(cs.segment[cs.inverse], seg)
    np.testing.assert_array_equal(cs.T[cs.inverse], T)


def test_gamma_gamma_loglike_maximised_at_lifetimes_mle(cdnow, fitted):
    _, ggf = fitted
    rep = cdnow[cdnow.frequency > 0]
    p0 = ggf.params_
    base = M.gamma_gamma_loglike(p0.p, p0.q, p0.v, rep.frequency, rep.monetary_value)
    for dp in ([1.02, 1, 1], [0.98, 1, 1], [1, 0.98, 1], [1, 1.02, 1], [1, 1, 1.02], [1, 1, 0.98]):
        other = M.gamma_gamma_loglike(
            p0.p * dp[0], p0.q * dp[1], p0.v * dp[2], rep.frequency, rep.monetary_value
        )
        assert other < base


def _segment_data(rng, n=3000, segments=("a", "b", "c")):
    T = rng.integers(5, 60, n).astype(float)
    seg = rng.integers(0, len(segments), n)
    x, tx = M.simulate_bgnbd(rng, 0.5, 3.0, 1.2, 2.5, T)
    m = M.simulate_gamma_gamma(rng, 5.0, 4.0, 12.0, x)
    return pd.DataFrame(
        {
            "frequency": x,
            "recency": np.round(tx, 2),
            "T": T,
            "monetary_value": np.round(np.nan_to_num(m), 2),
            "segment": np.asarray(segments)[seg],
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


def _numpy_logp(z, x, tx, T):
    """BG/NBD log posterior density on the log scale with NumPy/SciPy only."""
    prior = sum(
        stats.norm(LTV_PRIORS[k].params["mu"], LTV_PRIORS[k].params["sigma"]).logpdf(zk)
        for k, zk in zip(BGNBD_PARAMS, z, strict=True)
    )
    return M.bgnbd_loglike(*np.exp(z), x, tx, T) + prior


def test_factored_model_logp_equals_numpy_loglike(cdnow):
    """The sampler's likelihood (``bgnbd_loglike_factored`` in a ``pm.Potential``) is the NumPy
    ``bgnbd_loglike`` (FHL05a eq. 6, checked against lifetimes above): model logp equals it
    plus the log-scale Normal priors, at the MLE and away from it, on CDNOW and on simulated
    data with unequal ``T``; the gradient matches central differences of the NumPy form
    (step 1e-5: rounding error ~eps |logp| / h ~ 3e-7 absolute; atol 1e-5)."""
    sim = _segment_data(np.random.default_rng(5))
    points = [PUBLISHED, {"r": 1.7, "alpha": 0.6, "a": 0.2, "b": 9.0}]
    for data in (cdnow, sim):
        x, tx, T = _rft(data)
        assert (x == 0).any() and (x > 0).any() and np.unique(T).size > 1
        m = LTVModel(spend=False)
        model = m.build_model(m._prepare(data[["frequency", "recency", "T"]]))
        logp, dlogp = model.compile_logp(), model.compile_dlogp()
        assert [v.name for v in model.value_vars] == [f"log_{k}" for k in BGNBD_PARAMS]
        for theta in points:
            z = np.log([theta[k] for k in BGNBD_PARAMS])
            point = {f"log_{k}": zk for k, zk in zip(BGNBD_PARAMS, z, strict=True)}
            assert logp(point) == pytest.approx(_numpy_logp(z, x, tx, T), rel=1e-10)
            h = 1e-5
            fd = [
                (_numpy_logp(z + h * e, x, tx, T) - _numpy_logp(z - h * e, x, tx, T)) / (2 * h)
                for e in np.eye(4)
            ]
            np.testing.assert_allclose(dlogp(point), fd, rtol=1e-6, atol=1e-5)


def test_segmented_likelihood_is_the_sum_of_per_segment_likelihoods():
    """With independent segments (pooling none), the model's BG/NBD and Gamma-Gamma
    potentials at per-segment parameters equal the NumPy likelihoods summed by segment."""
    data = _segment_data(np.random.default_rng(8))
    m = LTVModel(segment="segment", pooling="none")
    prep = m._prepare(data)
    model = m.build_model(prep)
    theta = {
        "r": [0.4, 0.6, 0.5],
        "alpha": [2.0, 3.5, 5.0],
        "a": [0.9, 1.4, 1.1],
        "b": [2.0, 3.0, 2.6],
        "p": [4.0, 6.0, 5.0],
        "q": [3.5, 4.5, 4.0],
        "v": [10.0, 14.0, 12.0],
    }
    point = {f"log_{k}": np.log(v) for k, v in theta.items()}
    outs = model.replace_rvs_by_values([model["bgnbd_loglike"], model["gamma_gamma_loglike"]])
    pots = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    got_bg, got_gg = pots(point)
    exp_bg = exp_gg = 0.0
    for i, s in enumerate(prep.segments):
        d = data[data["segment"] == s]
        exp_bg += M.bgnbd_loglike(*(theta[k][i] for k in BGNBD_PARAMS), *_rft(d))
        rep = d[d.frequency > 0]
        exp_gg += M.gamma_gamma_loglike(
            theta["p"][i], theta["q"][i], theta["v"][i], rep.frequency, rep.monetary_value
        )
    assert got_bg == pytest.approx(exp_bg, rel=1e-10)
    assert got_gg == pytest.approx(exp_gg, rel=1e-10)


# ---------------------------------------------------------------------------- predictions


def test_predictions_match_lifetimes(cdnow, fitted):
    bgf, ggf = fitted
    x, tx, T = _rft(cdnow)
    bg = bgf.params_.to_dict()
    args = (bg["r"], bg["alpha"], bg["a"], bg["b"])
    for t in (1.0, 10.0, 39.0):
        ours = M.expected_purchases(t, *args, x, tx, T)
        ref = bgf.conditional_expected_number_of_purchases_up_to_time(
            t, cdnow.frequency, cdnow.recency, cdnow["T"]
        ).to_numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-9)
        assert M.expected_purchases_new(t, *args) == pytest.approx(
            bgf.expected_number_of_purchases_up_to_time(t), rel=1e-10
        )
    np.testing.assert_allclose(
        M.prob_alive(*args, x, tx, T),
        bgf.conditional_probability_alive(cdnow.frequency, cdnow.recency, cdnow["T"]),
        rtol=1e-10,
    )
    gg = ggf.params_.to_dict()
    m = cdnow.monetary_value.to_numpy()
    np.testing.assert_allclose(
        M.expected_spend(gg["p"], gg["q"], gg["v"], x, m),
        ggf.conditional_expected_average_profit(cdnow.frequency, cdnow.monetary_value),
        rtol=1e-10,
    )
    ref = ggf.customer_lifetime_value(
        bgf,
        cdnow.frequency,
        cdnow.recency,
        cdnow["T"],
        cdnow.monetary_value,
        time=12,
        discount_rate=0.01,
        freq="W",
    ).to_numpy()
    ours = M.clv(12, bg, gg, x, tx, T, m, discount_rate=0.01, units_per_month=4.345)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


def test_probability_of_n_purchases(fitted):
    """P(Y(t) = n | x, t_x, T): for a new customer it is FHL05a eq. (8) (lifetimes'
    ``probability_of_n_purchases_up_to_time``); for any customer it sums to one and its mean
    is FHL05a eq. (10)."""
    bgf, _ = fitted
    args = tuple(bgf.params_[k] for k in BGNBD_PARAMS)
    for n in range(6):
        assert M.prob_n_purchases_new(n, 12.0, *args) == pytest.approx(
            bgf.probability_of_n_purchases_up_to_time(12.0, n), rel=1e-10
        )
    n = np.arange(600)[:, None]
    x = np.array([0.0, 1, 4, 25])
    tx = np.array([0.0, 3, 30, 37])
    T = np.full(4, 38.0)
    P = M.prob_n_purchases(n, 39.0, *args, x, tx, T)
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-10)
    np.testing.assert_allclose(
        (n * P).sum(axis=0), M.expected_purchases(39.0, *args, x, tx, T), rtol=1e-8
    )
    # P(Y = 0) includes the dead: at least 1 - P(alive)
    assert np.all(P[0] >= 1 - M.prob_alive(*args, x, tx, T))


def test_predictions_broadcast_over_draws(cdnow, fitted):
    bgf, _ = fitted
    x, tx, T = _rft(cdnow)
    draws = {k: np.array([v, v * 1.1])[:, None] for k, v in bgf.params_.items()}
    out = M.expected_purchases(10.0, draws["r"], draws["alpha"], draws["a"], draws["b"], x, tx, T)
    assert out.shape == (2, len(x))
    single = M.expected_purchases(10.0, *bgf.params_.to_numpy(), x, tx, T)
    np.testing.assert_allclose(out[0], single)
    assert np.isnan(M.expected_spend(1.0, 0.9, 10.0, 2, 5.0))  # q <= 1: no finite mean


# ---------------------------------------------------------------------------- simulators


def test_simulators_match_closed_forms():
    """Mean purchases of simulated customers vs E[X(T)] (FHL05a eq. 7), within 4 MC s.e.; the
    calibration + holdout simulator gives E[X(T)] in calibration and E[X(T + H)] in all."""
    rng = np.random.default_rng(7)
    r, alpha, a, b = 0.4, 5.0, 0.9, 3.0
    T = np.full(400_000, 30.0)
    x, tx = M.simulate_bgnbd(rng, r, alpha, a, b, T)
    assert np.all((tx <= T) & (tx >= 0)) and np.all(tx[x == 0] == 0)
    expected = M.expected_purchases_new(30.0, r, alpha, a, b)
    assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(x.size)
    xc, txc, y, latent = M.simulate_bgnbd_holdout(rng, r, alpha, a, b, T, 20.0)
    assert abs(xc.mean() - expected) < 4 * xc.std() / np.sqrt(xc.size)
    total = xc + y
    assert abs(
        total.mean() - M.expected_purchases_new(50.0, r, alpha, a, b)
    ) < 4 * total.std() / np.sqrt(total.size)
    assert np.all(y[~latent["alive"]] == 0)
    p, q, v = 5.0, 4.0, 12.0
    xs = np.full(200_000, 3)
    m = M.simulate_gamma_gamma(rng, p, q, v, xs)
    assert abs(m.mean() - p * v / (q - 1)) < 4 * m.std() / np.sqrt(m.size)
    assert np.isnan(M.simulate_gamma_gamma(rng, p, q, v, np.array([0]))).all()


def test_holdout_simulator_agrees_with_the_conditional_expectation():
    """Given (x, t_x, T), the mean simulated holdout purchases equal FHL05a eq. (10): checked
    on the customers of one calibration cell (x = 2, t_x in a narrow band), within 4 MC s.e."""
    rng = np.random.default_rng(3)
    r, alpha, a, b = 0.5, 4.0, 0.8, 2.5
    T = np.full(2_000_000, 30.0)
    x, tx, y, _ = M.simulate_bgnbd_holdout(rng, r, alpha, a, b, T, 26.0)
    cell = (x == 2) & (tx > 20) & (tx < 21)
    assert cell.sum() > 1000
    pred = M.expected_purchases(26.0, r, alpha, a, b, 2.0, tx[cell], 30.0).mean()
    se = y[cell].std() / np.sqrt(cell.sum())
    assert abs(y[cell].mean() - pred) < 4 * se


# ---------------------------------------------------------------------------- CDNOW


def test_model_rejects_bad_rows_naming_customers():
    bad = pd.DataFrame(
        {"frequency": [1, 2], "recency": [5.0, 9.0], "T": [4.0, 10.0]}, index=["ann", "bob"]
    )
    with pytest.raises(ValueError, match="customers ann"):
        LTVModel(spend=False)._prepare(bad)
    neg = bad.assign(recency=[3.0, 9.0], monetary_value=[-1.0, 5.0])
    with pytest.raises(ValueError, match="monetary_value.*ann"):
        LTVModel()._prepare(neg)
    with pytest.raises(ValueError, match="time unit"):
        LTVModel(time_unit="fortnight")._prepare(bad)


def test_map_within_one_percent_of_lifetimes_mle(cdnow_map, fitted):
    bgf, _ = fitted
    for k, v in bgf.params_.items():
        assert cdnow_map[k] == pytest.approx(v, rel=0.01), k


def test_published_cdnow_values(cdnow, cdnow_map):
    """FHL05a Table 1: the MLE of our NumPy likelihood rounds to r=0.243, alpha=4.414,
    a=0.793, b=2.426 at the published 3 decimals; the posterior mode is within 1% of them
    (0.6% measured: log-scale priors); the constant the reports show is the paper's."""
    assert PUBLISHED_CDNOW == PUBLISHED
    c = M.compress_rfm(*_rft(cdnow))
    res = optimize.minimize(
        lambda z: -M.bgnbd_loglike(*np.exp(z), c.x, c.t_x, c.T, c.weight),
        np.zeros(4),
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 20_000},
    )
    assert res.success
    mle = dict(zip(BGNBD_PARAMS, np.exp(res.x), strict=True))
    assert {k: round(float(v), 3) for k, v in mle.items()} == PUBLISHED
    for k, v in PUBLISHED.items():
        assert cdnow_map[k] == pytest.approx(v, rel=0.01), k


def test_the_same_customers_in_days_give_the_same_map(cdnow, cdnow_map):
    """Time units: CDNOW in days (x 7) with the rescaled prior has its mode at alpha x 7 and
    the same r, a, b — the same belief and the same data in another unit."""
    days = cdnow[["frequency", "recency", "T"]].assign(recency=cdnow.recency * 7, T=cdnow["T"] * 7)
    mp = LTVModel(spend=False, time_unit="D").map(days)
    for k in ("r", "a", "b"):
        assert mp[k] == pytest.approx(cdnow_map[k], rel=2e-3), k
    assert mp["alpha"] == pytest.approx(7 * cdnow_map["alpha"], rel=2e-3)


@pytest.mark.slow
def test_posterior_medians_within_three_percent_of_published(cdnow):
    """CDNOW posterior medians vs FHL05a: measured r -0.2%, alpha -0.1%, a +1.5%, b +2.7%
    (4 x 1000 draws); with 2 x 500 the Monte Carlo error of a median is ~1% (ESS ~ 300), so
    the check is 3% + 3 MC s.e. of the median (1.25 sd / sqrt(ESS))."""
    import arviz as az

    from models.sampling import SamplerConfig

    m = LTVModel(spend=False, sampler=SamplerConfig(draws=500, tune=500, chains=2, seed=1))
    m.fit(cdnow[["frequency", "recency", "T"]])
    post = m.idata_.posterior
    for k, v in PUBLISHED.items():
        med = float(post[k].median())
        se = 1.25 * float(post[k].std()) / np.sqrt(float(az.ess(post[k].values)))
        assert abs(med / v - 1) < 0.03 + 3 * se / v, (k, med)


@pytest.mark.slow
def test_recovery_truth_inside_90_percent_intervals():
    from models.sampling import SamplerConfig

    rng = np.random.default_rng(11)
    truth = {"r": 0.3, "alpha": 5.0, "a": 0.7, "b": 2.0, "p": 5.0, "q": 4.0, "v": 12.0}
    T = rng.integers(20, 60, 6000).astype(float)
    x, tx = M.simulate_bgnbd(rng, truth["r"], truth["alpha"], truth["a"], truth["b"], T)
    tx = np.round(tx, 1)  # on a grid, as real data are: compression pays off
    m = M.simulate_gamma_gamma(rng, truth["p"], truth["q"], truth["v"], x)
    data = pd.DataFrame({"frequency": x, "recency": tx, "T": T, "monetary_value": np.nan_to_num(m)})
    model = LTVModel(sampler=SamplerConfig(draws=500, tune=500, chains=2, seed=3)).fit(data)
    for k, v in truth.items():
        lo, hi = np.quantile(model.idata_.posterior[k].values, [0.05, 0.95])
        assert lo < v < hi, (k, lo, v, hi)


# ---------------------------------------------------------------------------- fast path


def test_compression_equals_numpy_unique_rows():
    """compress_rfm/compress_spend code columns one by one instead of sorting rows: the
    same unique rows, order, counts and inverse as np.unique(axis=0)."""
    rng = np.random.default_rng(12)
    n = 5000
    seg = rng.integers(0, 4, n)
    x = rng.integers(0, 6, n).astype(float)
    tx = np.where(x > 0, rng.integers(1, 30, n) / 7, 0.0)
    T = rng.integers(30, 40, n) / 7
    c = M.compress_rfm(x, tx, T, seg)
    uniq, inv, counts = np.unique(
        np.column_stack([seg, x, tx, T]), axis=0, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(np.column_stack([c.segment, c.x, c.t_x, c.T]), uniq)
    np.testing.assert_array_equal(c.inverse, inv.ravel())
    np.testing.assert_array_equal(c.weight, counts)
    m = np.round(rng.gamma(2.0, 5.0, n), 0)
    sp = M.compress_spend(x, m, seg)
    keep = (x > 0) & (m > 0)  # Gamma-Gamma sees positive-value repeat purchases only
    uniq = np.unique(np.column_stack([seg[keep], x[keep], m[keep]]), axis=0, return_counts=True)
    np.testing.assert_array_equal(np.column_stack([sp.segment, sp.x, sp.m]), uniq[0])
    np.testing.assert_array_equal(sp.weight, uniq[1])


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("segments", [1, 3])
def test_kernels_value_and_gradient_match_numpy(segments, engine):
    """The sampler's kernels (numba row passes, and the NumPy ones): the BG/NBD and
    Gamma-Gamma totals equal the per-customer likelihoods (bgnbd_loglike,
    gamma_gamma_loglike: lifetimes-checked) summed by segment, and the hand-written
    gradients equal central differences of those (step 1e-6 relative: rounding
    ~1e-16 |ll| / 1e-6 against gradients of order |ll| / theta; rtol 1e-5)."""
    from functools import partial

    from models.ltv import likelihood

    BGNBDKernel = partial(likelihood.BGNBDKernel, engine=engine)
    GammaGammaKernel = partial(likelihood.GammaGammaKernel, engine=engine)

    data = _segment_data(np.random.default_rng(9), n=1500, segments=("a", "b", "c")[:segments])
    codes = pd.Categorical(data["segment"]).codes
    x, tx, T = _rft(data)
    rng = np.random.default_rng(1)
    bg = [v * np.exp(rng.normal(0, 0.2, segments)) for v in (0.5, 3.0, 1.2, 2.5)]
    gg = [v * np.exp(rng.normal(0, 0.2, segments)) for v in (5.0, 4.0, 12.0)]
    rep = x > 0
    m = data["monetary_value"].to_numpy()
    for kernel, theta, ref in (
        (
            BGNBDKernel(M.compress_rfm(x, tx, T, codes), segments),
            bg,
            lambda th: sum(
                M.bgnbd_loglike(*(v[s] for v in th), x[codes == s], tx[codes == s], T[codes == s])
                for s in range(segments)
            ),
        ),
        (
            GammaGammaKernel(M.compress_spend(x, m, codes), segments),
            gg,
            lambda th: sum(
                M.gamma_gamma_loglike(
                    *(v[s] for v in th), x[rep & (codes == s)], m[rep & (codes == s)]
                )
                for s in range(segments)
            ),
        ),
    ):
        value, *grads = kernel(*theta)
        assert value == pytest.approx(ref(theta), rel=1e-12)
        for i, g in enumerate(grads):
            for s in range(segments):
                h = 1e-6 * theta[i][s]
                up = [v.copy() for v in theta]
                dn = [v.copy() for v in theta]
                up[i][s] += h
                dn[i][s] -= h
                assert g[s] == pytest.approx((ref(up) - ref(dn)) / (2 * h), rel=1e-5), (i, s)


@pytest.mark.parametrize("segments", [1, 4])
def test_numba_row_passes_equal_the_numpy_kernels(segments):
    """The numba row passes (:mod:`models.ltv.fused`) give the NumPy kernels' value and
    gradient to 1e-12 relative, with segments, on rows with large ``d`` of both signs
    (heavy buyers seen recently and long ago: softplus in both tails) and more rows than
    one block (:data:`models.ltv.fused.CHUNK`)."""
    from models.ltv import fused
    from models.ltv.likelihood import BGNBDKernel, GammaGammaKernel

    rng = np.random.default_rng(4)
    n = 3 * fused.CHUNK
    T = rng.integers(1, 105, n).astype(float)
    x = rng.poisson(rng.gamma(0.6, 8.0, n)).astype(float)
    tx = np.where(x > 0, np.floor(T * rng.beta(2.0, 0.6, n)), 0.0)
    seg = rng.integers(0, segments, n)
    comp = M.compress_rfm(x, tx, T, seg)
    assert (comp.x > 0).sum() > fused.CHUNK
    m = np.round(rng.gamma(2.0, 20.0, n), 2)
    spend = M.compress_spend(x, m, seg)
    for make, theta in (
        (
            lambda e: BGNBDKernel(comp, segments, engine=e),
            [v * np.exp(rng.normal(0, 0.3, segments)) for v in (0.4, 6.0, 0.9, 2.0)],
        ),
        (
            lambda e: GammaGammaKernel(spend, segments, engine=e),
            [v * np.exp(rng.normal(0, 0.3, segments)) for v in (5.0, 4.0, 12.0)],
        ),
    ):
        fast, slow = make("numba")(*theta), make("numpy")(*theta)
        assert fast[0] == pytest.approx(slow[0], rel=1e-12, abs=0)
        for g_fast, g_slow in zip(fast[1:], slow[1:], strict=True):
            np.testing.assert_allclose(g_fast, g_slow, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="engine"):
        BGNBDKernel(comp, segments, engine="cuda")


def test_whitened_segments_keep_the_declared_prior():
    """However the pilot whitens the segment coordinates (estimates and standard errors from
    an independent fit), log theta_s - median ~ Normal(0, sd) a priori: prior draws,
    standardised, have mean 0 and sd 1 within 4 Monte Carlo s.e. (mean: 1/sqrt(n); sd:
    1/sqrt(2n)) and pass a Kolmogorov-Smirnov test against N(0, 1) at the 0.1% level."""
    import pymc as pm

    from priors.ltv import add_ltv_parameters

    pilot = {"r": (np.array([-3.0, -1.2, 0.5]), np.array([0.01, 0.3, 5.0]))}
    with pm.Model(coords={"segment": ["a", "b", "c"]}):
        add_ltv_parameters(LTV_PRIORS, ["r"], segment_dim="segment", pilot=pilot)
        prior = pm.sample_prior_predictive(draws=4000, random_seed=3).prior
    z = (prior["log_r"] - prior["log_r_median"]) / prior["r_segment_sd"]
    z = z.values.reshape(-1, 3)
    n = z.shape[0]
    for s in range(3):
        assert abs(z[:, s].mean()) < 4 / np.sqrt(n), s
        assert abs(z[:, s].std() - 1) < 4 / np.sqrt(2 * n), s
        assert stats.kstest(z[:, s], "norm").pvalue > 1e-3, s


def test_segment_spread_is_the_dersimonian_laird_estimate():
    """The pilot's spread across segments: tau^2 = max(0, (Q - (k - 1)) / (S1 - S2 / S1))
    with w = 1/se^2, Q = sum w (y - y_w)^2 (DerSimonian & Laird 1986), computed by hand; 0
    when the estimates agree within their errors."""
    from models.ltv.start import segment_spread

    y = np.array([0.1, 0.5, -0.2, 0.9])
    se = np.array([0.1, 0.2, 0.15, 0.3])
    w = 1 / se**2
    yw = (w * y).sum() / w.sum()
    q = (w * (y - yw) ** 2).sum()
    tau2 = (q - 3) / (w.sum() - (w**2).sum() / w.sum())
    centre, tau = segment_spread(y, se)
    assert tau == pytest.approx(np.sqrt(tau2), rel=1e-12)
    wr = 1 / (se**2 + tau2)
    assert centre == pytest.approx((wr * y).sum() / wr.sum(), rel=1e-12)
    assert segment_spread(np.array([1.0, 1.01, 0.99]), np.array([0.1, 0.1, 0.1]))[1] == 0.0


def test_spread_coordinate_is_a_change_of_coordinates_only():
    """The pilot's coordinate of a segment spread, tau = c (u Phi(u) + phi(u)): increasing,
    inverted to 1e-10, dtau/du = c Phi(u) (linear for u >> 0, a Gaussian tail for
    u << 0), and in the model the spread's log density in u is the
    declared HalfNormal(0.5) at tau plus log |dtau/du| (central differences): the prior is
    the declared one, only the coordinate changed."""
    import pymc as pm
    from scipy import special

    from priors.ltv import (
        add_ltv_parameters,
        spread_from_unconstrained,
        spread_to_unconstrained,
    )

    c = 0.02
    u = np.array([-12.0, -3.0, -0.5, 0.0, 0.7, 2.0, 15.0, 40.0])
    tau = spread_from_unconstrained(u, c)
    assert np.all(tau > 0) and np.all(np.diff(tau) > 0)
    np.testing.assert_allclose(spread_to_unconstrained(tau, c), u, rtol=1e-10, atol=1e-10)
    h = 1e-6
    fd = (spread_from_unconstrained(u + h, c) - spread_from_unconstrained(u - h, c)) / (2 * h)
    np.testing.assert_allclose(fd, c * special.ndtr(u), rtol=1e-6, atol=0)

    pilot = {"r": (np.array([-1.0, -0.8, -1.3]), np.array([0.01, 0.02, 0.015]), c)}
    with pm.Model(coords={"segment": ["a", "b", "c"]}) as model:
        add_ltv_parameters(LTV_PRIORS, ["r"], segment_dim="segment", pilot=pilot)
    value = model.rvs_to_values[model["r_segment_sd"]]
    assert value.name == "r_segment_sd_spread__"
    logp = model.compile_logp(vars=[model["r_segment_sd"]])
    point = model.initial_point()
    for ui, ti, di in zip(u[:-1], tau[:-1], fd[:-1], strict=True):
        point[value.name] = np.asarray(ui)
        want = stats.halfnorm(scale=0.5).logpdf(ti) + np.log(di)
        assert logp(point) == pytest.approx(want, rel=1e-6, abs=1e-6), ui
    # without a scale in the pilot (or without a pilot) the spread keeps PyMC's log scale
    with pm.Model(coords={"segment": ["a", "b", "c"]}) as plain:
        add_ltv_parameters(LTV_PRIORS, ["r"], segment_dim="segment", pilot={"r": pilot["r"][:2]})
    assert plain.rvs_to_values[plain["r_segment_sd"]].name == "r_segment_sd_log__"


@pytest.mark.study  # ~80 s: `make study`; the fast test above proves the change of variables exact
def test_spread_coordinate_leaves_the_posterior_unchanged(monkeypatch):
    """The same hierarchical fit (3 segments of 5,000 generated customers, r varying by
    segment, alpha, a, b shared: spreads from clear to unidentified) with the spreads in
    the pilot's coordinate and on PyMC's log scale: every parameter's posterior mean agrees
    within 4 Monte Carlo standard errors of the difference."""
    import arviz as az

    from models.ltv import start as S
    from models.sampling import SamplerConfig

    rng = np.random.default_rng(5)
    n = 15_000
    seg = rng.integers(0, 3, n)
    T = rng.integers(10, 53, n).astype(float)
    x, tx = M.simulate_bgnbd(rng, 0.3 * np.exp(np.array([-0.4, 0.0, 0.4]))[seg], 4.0, 0.8, 2.5, T)
    data = pd.DataFrame(
        {
            "frequency": x,
            "recency": np.floor(tx),
            "T": T,
            "segment": np.char.add("s", seg.astype(str)),
        }
    )
    cfg = SamplerConfig(draws=300, tune=300, chains=2, seed=1, progress=False)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LTVModel(sampler=cfg, spend=False, segment="segment").fit(data).idata_

    new = fit()
    assert "r_segment_sd_spread__" not in new.posterior  # value variables are not stored
    pilot = S.segment_pilot
    monkeypatch.setattr(S, "segment_pilot", lambda *a: {k: v[:2] for k, v in pilot(*a).items()})
    old = fit()
    assert old.attrs["ltv_pilot"] != new.attrs["ltv_pilot"]  # spread_scale only in the new
    names = [f"{p}{s}" for p in BGNBD_PARAMS for s in ("", "_median", "_segment_sd")]
    for name in names:
        m_new, m_old = (
            new.posterior[name].mean(("chain", "draw")),
            old.posterior[name].mean(("chain", "draw")),
        )
        se = np.sqrt(
            az.mcse(new.posterior[name]).to_array() ** 2
            + az.mcse(old.posterior[name]).to_array() ** 2
        ).values.reshape(np.shape(m_new))
        assert np.all(np.abs(m_new - m_old).values <= 4 * se), (
            name,
            m_new.values,
            m_old.values,
            se,
        )
