"""The grouped-binomial estimator (models/rates.py): validation naming rows, closed forms
against quadrature, the empirical-Bayes special case, interval coverage with the true group
parameters, parameter recovery, SBC, and ``bayes rates fit`` end to end."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from bayes.cli import main
from models.rates import (
    CountsError,
    HierarchicalBetaBinomial,
    check_counts,
    count_form_logp,
    loglik,
    posterior_moment,
    posterior_quantiles,
    sample_posterior,
    units_from_frame,
)
from models.sampling import SamplerConfig
from priors.rates import RATES_PRIORS


def simulate(rng, mu, kappa, units_per_group=200, n_max=30):
    """Units drawn from the model: p ~ Beta(mu kappa, (1 - mu) kappa), k ~ Binomial(n, p)."""
    mu, kappa = np.asarray(mu, float), np.asarray(kappa, float)
    g = np.repeat(np.arange(len(mu)), units_per_group)
    n = rng.integers(0, n_max + 1, len(g))
    p = rng.beta(mu[g] * kappa[g], (1 - mu[g]) * kappa[g])
    k = rng.binomial(n, p)
    df = pd.DataFrame({"region": [f"g{i}" for i in g], "k": k, "n": n})
    return df, p


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("k", "n", "column", "message", "rows"),
    [
        ([1, 5, 2], [3, 4, 2], "k", "more k than n", [1]),
        ([1, -1, 2], [3, 4, 2], "k", "negative", [1]),
        ([1, 2, 2], [3, 4, -2], "n", "negative", [2]),
        ([1, 1.5, 2], [3, 4, 2], "k", "whole number", [1]),
        ([1, np.nan, 2], [3, 4, 2], "k", "missing", [1]),
        ([1, 2, 2], [3, np.inf, 2], "n", "infinite", [1]),
        (["1", "two", "2"], [3, 4, 2], "k", "not a number", [1]),
    ],
)
def test_impossible_counts_name_column_and_rows(k, n, column, message, rows):
    with pytest.raises(CountsError, match=message) as err:
        check_counts(k, n, names=("k", "n"))
    assert err.value.column == column and err.value.rows == rows


def test_frame_validation():
    df = pd.DataFrame({"k": [0, 1, 1], "n": [2, 2, 3], "g": ["a", None, "b"], "u": [1, 2, 1]})
    with pytest.raises(CountsError, match="missing column"):
        units_from_frame(df, successes="k", trials="trials")
    with pytest.raises(CountsError, match="missing group label") as err:
        units_from_frame(df, successes="k", trials="n", group="g")
    assert err.value.rows == [1]
    with pytest.raises(CountsError, match="duplicated unit") as err:
        units_from_frame(df, successes="k", trials="n", unit="u")
    assert err.value.rows == [0, 2]
    with pytest.raises(CountsError, match="0/1"):
        units_from_frame(df.assign(k=[0, 2, 1]), successes="k", trials="n", likelihood="any")
    d = units_from_frame(df.assign(g=["a", "b", "a"]), successes="k", trials="n", group="g")
    assert list(d.groups) == ["a", "b"] and d.rows["weight"].sum() == 3
    # (group, k, n) rows are sufficient statistics: two units with the same counts share a row
    same = units_from_frame(
        pd.DataFrame({"k": [1, 1, 0], "n": [2, 2, 2]}), successes="k", trials="n"
    )
    assert len(same.rows) == 2 and sorted(same.rows["weight"]) == [1, 2]


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("a", "b", "n"), [(0.5, 4.5, 1), (2.0, 18.0, 7), (0.2, 1.8, 12)])
def test_any_posterior_against_quadrature(a, b, n):
    """k = 1 of the 'any' likelihood: density ∝ Beta(a, b)(1 - (1 - p)^n). Moments, the
    mixture CDF behind the quantiles and the exact sampler against numerical integration."""
    dens = lambda p: stats.beta(a, b).pdf(p) * (1 - (1 - p) ** n)  # noqa: E731
    z = integrate.quad(dens, 0, 1)[0]
    for r in (1, 2):
        m = integrate.quad(lambda p, r=r: p**r * dens(p), 0, 1)[0] / z
        assert posterior_moment(a, b, 1, n, r, "any") == pytest.approx(m, rel=1e-7)
    q = posterior_quantiles([[a]], [[b]], [1], [n], [0.05, 0.5, 0.95], "any")[:, 0]
    for level, x in zip((0.05, 0.5, 0.95), q, strict=True):
        assert integrate.quad(dens, 0, x)[0] / z == pytest.approx(level, abs=1e-7)
    m = 40_000
    x = sample_posterior(np.random.default_rng(5), np.full(m, a), np.full(m, b), 1, n, "any")
    for level, xq in zip((0.05, 0.5, 0.95), q, strict=True):
        assert abs(np.mean(x <= xq) - level) < 4 * np.sqrt(level * (1 - level) / m)


def test_mixture_quantiles_solve_the_mixture_cdf(rng):
    """Quantiles of a unit's posterior mixed over draws: the mixture CDF at them equals the
    level to 1e-9 (exact, no sampling), for both likelihoods."""
    d, u = 300, 40
    a = rng.uniform(0.3, 5, (d, 1)) * rng.uniform(0.5, 1.5, (1, u))
    b = rng.uniform(3, 60, (d, 1)) * rng.uniform(0.5, 1.5, (1, u))
    n = rng.integers(0, 25, u)
    for lik, k in (("binomial", rng.binomial(n, 0.2)), ("any", (rng.random(u) < 0.5) * (n > 0))):
        probs = [0.05, 0.5, 0.95]
        q = posterior_quantiles(a, b, k, n, probs, lik)
        assert np.all(np.diff(q, axis=0) > 0)
        if lik == "binomial":
            cdf = special.betainc(a + k, b + n - k, q[:, None, :]).mean(1)
            np.testing.assert_allclose(cdf, np.repeat([probs], u, 0).T, atol=1e-9)
        else:  # against a large sample of the mixture
            x = sample_posterior(rng, np.repeat(a, 20, 0), np.repeat(b, 20, 0), k, n, lik)
            emp = (x[None] <= q[:, None, :]).mean(1)
            se = np.sqrt(np.outer(probs, 1 - np.array(probs)).diagonal()[:, None] / x.shape[0])
            assert np.all(np.abs(emp - np.array(probs)[:, None]) < 5 * se + 1e-12)


@pytest.mark.parametrize("likelihood", ["binomial", "any"])
def test_count_form_equals_the_row_sum_and_its_gradient(rng, likelihood):
    """The count-statistics likelihood NUTS uses equals SciPy's beta-binomial (and the Beta
    moment for "any") summed row by row with weights, and so does its gradient (checked by
    central differences), for groups with and without rows."""
    import pytensor
    import pytensor.tensor as pt

    g = rng.integers(0, 4, 200)  # group 4 of 5 has no rows
    n = rng.integers(0, 30, 200)
    k = rng.binomial(n, 0.3) if likelihood == "binomial" else (rng.random(200) < 0.6) * (n > 0)
    w = rng.integers(1, 50, 200).astype(float)
    ab = pt.dvector("ab")
    a, b = ab[:5], ab[5:]
    logp = count_form_logp(g, k, n, w, a, b, likelihood)
    # one function for the value and the gradient, compiled without C (tiny data: the C
    # compilation would cost more than the test)
    f = pytensor.function([ab], [logp, pytensor.grad(logp, ab)], mode="FAST_COMPILE")
    x = np.r_[rng.uniform(0.2, 5, 5), rng.uniform(0.5, 20, 5)]
    want = np.sum(w * loglik(k, n, x[:5][g], x[5:][g], likelihood))
    if likelihood == "binomial":
        np.testing.assert_allclose(
            want, np.sum(w * stats.betabinom.logpmf(k, n, x[:5][g], x[5:][g])), rtol=1e-12
        )
    np.testing.assert_allclose(f(x)[0], want, rtol=1e-12)
    h = 1e-6
    fd = np.array([(f(x + h * e)[0] - f(x - h * e)[0]) / (2 * h) for e in np.eye(10)])
    np.testing.assert_allclose(f(x)[1], fd, rtol=1e-5, atol=1e-5)


def test_empirical_bayes_is_the_special_case(rng):
    """(k + alpha p0)/(n + alpha) is the posterior mean with kappa = alpha, mu = p0: equal to
    1e-12 on many units; the interval is the Beta(alpha p0 + k, alpha (1 - p0) + n - k) one."""
    n = rng.integers(0, 40, 3000)
    k = rng.binomial(n, 0.15)
    groups = np.array(["A", "B", "C"])
    g = groups[rng.integers(0, 3, len(n))]
    p0 = {"A": 0.02, "B": 0.4, "C": 1e-4}
    alpha = 2.0
    m = HierarchicalBetaBinomial.from_draws(groups, [[p0[x] for x in groups]], alpha)
    t = m.unit_table(pd.DataFrame({"successes": k, "trials": n, "group": g}))
    prior = np.array([p0[x] for x in g])
    np.testing.assert_allclose(t["mean"], (k + alpha * prior) / (n + alpha), rtol=0, atol=1e-12)
    post = stats.beta(alpha * prior + k, alpha * (1 - prior) + n - k)
    np.testing.assert_allclose(t["sd"], post.std(), rtol=1e-9)
    np.testing.assert_allclose(t["lower_90"], post.ppf(0.05), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(t["upper_90"], post.ppf(0.95), rtol=1e-7, atol=1e-12)


def test_interval_coverage_with_the_true_group_parameters(rng):
    """Units drawn from Beta(mu kappa, (1 - mu) kappa) and scored with the true group
    parameters: every unit's 90% interval covers its true rate with probability exactly 0.9,
    independently, so the share of 6,000 units covered has binomial SE sqrt(0.09/6000) =
    0.0039 (tolerance 4 SE)."""
    mu, kappa = [0.05, 0.2, 0.5], [4.0, 20.0, 60.0]
    df, p = simulate(rng, mu, kappa, units_per_group=2000)
    m = HierarchicalBetaBinomial.from_draws(["g0", "g1", "g2"], [mu], [kappa])
    t = m.unit_table(df.rename(columns={"k": "successes", "n": "trials", "region": "group"}))
    inside = (t["lower_90"] <= p) & (p <= t["upper_90"])
    assert abs(inside.mean() - 0.9) < 4 * np.sqrt(0.09 / len(p))


# ----------------------------------------------------------------------------- fits


@pytest.fixture(scope="module")
def small_fit():
    rng = np.random.default_rng(7)
    df, _ = simulate(rng, [0.1, 0.3], [10.0, 30.0], units_per_group=60)
    m = HierarchicalBetaBinomial(sampler=SamplerConfig(draws=150, tune=150, chains=2, seed=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(df, successes="k", trials="n", group="region", source="small.csv")
    return m, df


def test_contract_round_trip(small_fit, tmp_path):
    """fit (tiny) -> save -> bayes.load -> predict identically, one provenance schema, the
    log_likelihood group for az.loo, and the same bytes for the same inputs and seed."""
    import arviz as az
    import xarray as xr

    import bayes
    from models.provenance import PROVENANCE_KEYS, read_provenance
    from tests.contract import assert_posterior_on_contract

    m, df = small_fit
    prov = read_provenance(m.idata_)
    assert set(PROVENANCE_KEYS) <= set(prov) and prov["domain"] == "rates"
    assert prov["data_source"] == "small.csv" and prov["sampler"]["chains"] == 2
    assert "logit_mu_loc" in repr(m) and "2 chains × 150 draws" in repr(m)
    pred = m.predict()
    assert pred["rate"].dims == ("chain", "draw", "unit") and pred.sizes["unit"] == len(df)
    path = m.save(tmp_path / "fit.nc")
    assert_posterior_on_contract(path)  # the cross-domain check every posterior passes
    m2 = bayes.load(path)
    assert isinstance(m2, HierarchicalBetaBinomial) and m2.priors_ == m.priors_
    xr.testing.assert_identical(m2.predict(), pred)
    pd.testing.assert_frame_equal(m2.unit_table(), m.unit_table())
    pd.testing.assert_frame_equal(m2.summary(), m.summary())
    assert m2.diagnostics_.to_dict() == m.diagnostics_.to_dict()
    # new units in known groups; an unknown group is refused
    new = pd.DataFrame({"k": [0, 3], "n": [0, 4], "region": ["g0", "g1"]})
    assert len(m2.unit_table(new)) == 2
    with pytest.raises(CountsError, match="not in the fitted model"):
        m2.unit_table(new.assign(region=["g0", "zz"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pareto k of a 2 x 150-draw toy fit
        loo = az.loo(m2.idata_)
    assert np.isfinite(loo.elpd_loo)
    m3 = HierarchicalBetaBinomial(sampler=SamplerConfig(draws=150, tune=150, chains=2, seed=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m3.fit(df, successes="k", trials="n", group="region", source="small.csv")
    assert m3.save(tmp_path / "again.nc").read_bytes() == path.read_bytes()


def test_sample_kind_averages_to_the_exact_mean(small_fit):
    """predict(kind="sample") draws each unit's rate; its mean over draws matches the exact
    mean within 4 Monte Carlo SE (sd / sqrt(draws))."""
    m, _ = small_fit
    t = m.unit_table()
    x = m.predict(kind="sample", seed=1)["rate"]
    mc = x.mean(("chain", "draw")).values
    se = t["sd"].to_numpy() / np.sqrt(x.sizes["chain"] * x.sizes["draw"])
    assert np.mean(np.abs(mc - t["mean"].to_numpy()) < 4 * se) > 0.99
    np.testing.assert_allclose(m.predict()["rate"].mean(("chain", "draw")), t["mean"], rtol=1e-12)


@pytest.mark.slow
def test_recovers_known_group_parameters():
    """5 groups × 300 units from known (mu, kappa): every true mu within 4 posterior sd and
    every true kappa inside its 99% interval; diagnostics pass."""
    rng = np.random.default_rng(11)
    mu = np.array([0.03, 0.1, 0.2, 0.35, 0.6])
    kappa = np.array([8.0, 30.0, 12.0, 50.0, 20.0])
    df, _ = simulate(rng, mu, kappa, units_per_group=300, n_max=40)
    m = HierarchicalBetaBinomial(sampler=SamplerConfig(draws=400, tune=400, chains=2, seed=2))
    m.fit(df, successes="k", trials="n", group="region")
    assert m.diagnostics_.ok, m.diagnostics_.problems
    post = m.idata_.posterior
    est, sd = post["mu"].mean(("chain", "draw")).values, post["mu"].std(("chain", "draw")).values
    assert np.all(np.abs(est - mu) < 4 * sd)
    lo, hi = post["kappa"].quantile([0.005, 0.995], ("chain", "draw")).values
    assert np.all((lo <= kappa) & (kappa <= hi))


@pytest.mark.slow
def test_sbc_ranks_uniform():
    """Simulation-based calibration (Talts et al. 2018): 20 replications with truths drawn
    from the declared hyperpriors, 3 groups × 60 units with fixed trials; ranks of group 0's
    mu and kappa and of the hyper-location m among 100 thinned draws, in 4 bins; chi-square
    p > 0.001 per quantity (5 expected per bin; family-wise false alarm ~0.3%). One model is
    compiled for the study: every (group, k, n) row with n <= 12 and its weight in pm.Data."""
    import logging

    import pymc as pm

    from bayes.calibration import sbc_rank, sbc_uniformity
    from models.rates import build_rates_model

    rng = np.random.default_rng(3)
    n_g, per, n_max, reps = 3, 60, 12, 20
    cells = [(g, k, n) for g in range(n_g) for n in range(n_max + 1) for k in range(n + 1)]
    grid = pd.DataFrame(cells, columns=["group", "successes", "trials"]).assign(weight=0)
    index = {c: i for i, c in enumerate(cells)}
    model = build_rates_model(
        grid,
        [f"g{i}" for i in range(n_g)],
        RATES_PRIORS,
        centered={"logit_mu": False, "log_kappa": False},
        weights_as_data=True,
    )
    step = pm.NUTS(model=model, target_accept=0.95)
    g = np.repeat(np.arange(n_g), per)
    n = rng.integers(0, n_max + 1, len(g))
    rows = []
    logging.getLogger("pymc").setLevel(logging.WARNING)
    for r in range(reps):
        h = {k: float(v.sample(rng, 1)[0]) for k, v in RATES_PRIORS.items()}
        mu = special.expit(h["logit_mu_loc"] + h["logit_mu_scale"] * rng.standard_normal(n_g))
        kappa = np.exp(h["log_kappa_loc"] + h["log_kappa_scale"] * rng.standard_normal(n_g))
        k = rng.binomial(n, rng.beta(mu[g] * kappa[g], (1 - mu[g]) * kappa[g]))
        w = np.bincount([index[c] for c in zip(g, k, n, strict=True)], minlength=len(cells))
        pm.set_data({"weight": w.astype(float)}, model=model)
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = pm.sample(
                draws=200,
                tune=250,
                chains=1,
                step=step,
                random_seed=r,
                progressbar=False,
                compute_convergence_checks=False,
            )
        post = idata.posterior
        thin = {v: post[v].values[0, ::2] for v in ("mu", "kappa", "logit_mu_loc")}
        rows.append(
            {
                "mu_rank": sbc_rank(thin["mu"][:, 0], mu[0]),
                "kappa_rank": sbc_rank(thin["kappa"][:, 0], kappa[0]),
                "logit_mu_loc_rank": sbc_rank(thin["logit_mu_loc"], h["logit_mu_loc"]),
                "L": 100,
            }
        )
    res = sbc_uniformity(pd.DataFrame(rows), ("mu", "kappa", "logit_mu_loc"), 4)
    for name, r in res.items():
        assert r["p_value"] > 0.001, (name, r)


# ----------------------------------------------------------------------------- CLI


def test_cli_fit_writes_the_unit(tmp_path, capsys):
    rng = np.random.default_rng(2)
    df, _ = simulate(rng, [0.1, 0.4], [10.0, 20.0], units_per_group=40)
    df.insert(0, "store", [f"s{i}" for i in range(len(df))])
    data = tmp_path / "stores.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "fit"
    args = ["rates", "fit", "--data", str(data), "--successes", "k", "--trials", "n"]
    flags = ["--group", "region", "--unit", "store", "--draws", "100", "--tune", "100"]
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([*args, *flags, "--chains", "2", "--prob", "0.8", "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["units"] == 80 and summary["groups"] == 2
    # the JSON's verdict is the one rule applied to the saved posterior
    import bayes

    reloaded = bayes.load(out / "posterior.nc").diagnostics_
    assert (summary["ok"], summary["problems"]) == (reloaded.ok, reloaded.problems)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*summary["files"].values(), "manifest.json"]
    )
    units = pd.read_csv(out / "units.csv")
    assert list(units.columns) == [
        "unit",
        "group",
        "successes",
        "trials",
        "mean",
        "sd",
        "lower_80",
        "upper_80",
    ]
    assert units["unit"].tolist() == df["store"].tolist()
    assert ((units["lower_80"] <= units["mean"]) & (units["mean"] <= units["upper_80"])).all()
    assert {"mu_lower_80", "kappa_upper_80"} <= set(pd.read_csv(out / "groups.csv").columns)


def test_cli_refuses_impossible_counts_naming_file_column_rows(tmp_path, capsys):
    data = tmp_path / "bad.csv"
    pd.DataFrame({"k": [1, 7, 2, 9], "n": [3, 5, 2, 4]}).to_csv(data, index=False)
    out = tmp_path / "fit"
    args = ["rates", "fit", "--data", str(data), "--successes", "k", "--trials", "n"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "column 'k'" in err and "rows 3, 5" in err and "k > n" in err
    assert main([*args[:-2], "--trials", "visits", "--out", str(out)]) == 2
    assert "missing column" in capsys.readouterr().err
    assert not out.exists()


def test_cli_show_priors_and_priors_file(tmp_path, capsys):
    assert main(["rates", "fit", "--show-priors", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in out["priors"]] == list(RATES_PRIORS)
    f = tmp_path / "p.toml"
    f.write_text('[logit_mu_loc]\ndist = "Normal"\nmedian = -3.0\ninterval = [-4.0, -2.0]\n')
    assert main(["rates", "fit", "--show-priors", "--priors", str(f), "--json"]) == 0
    pp = {r["quantity"]: r for r in json.loads(capsys.readouterr().out)["prior_predictive"]}
    assert pp["a group's mean rate (mu)"]["median"] < 0.1  # the new belief moved it from 0.5
