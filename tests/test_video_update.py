"""Updating after a pilot: likelihood, the model contract (fit, predict, save, load), the
NetCDF, summary, decision, fast approximation, sizing.

One short NUTS fit per module (draws 300, tune 300, 2 chains) is shared by the tests.
"""

import json

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayes.video.data import generate_pilot, validate_pilot
from bayes.video.decide import ppc_table, rule_11, update
from bayes.video.report import UPDATE_FILES, write_update
from bayes.video.sizing import approx_update, pilot_sizing
from models.sampling import SamplerConfig
from models.video import VideoPilotModel, build_pilot_model, pilot_hash, set_pilot_data
from priors.spec import PriorSet
from priors.video import VideoPriors
from tests.contract import assert_posterior_on_contract

TRUE_ALPHA, TRUE_BETA = 1.2, 1.1


@pytest.fixture(scope="module")
def pilot():
    return validate_pilot(generate_pilot(TRUE_ALPHA, TRUE_BETA, users_per_arm=4000, seed=5))


@pytest.fixture(scope="module")
def result(pilot):
    cfg = SamplerConfig(draws=300, tune=300, chains=2, seed=2)
    return update(pilot, sampler=cfg, grid_draws=400, source="pilot.csv")


@pytest.fixture(scope="module")
def written(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("update")
    write_update(result, out)
    return out


def test_likelihood_matches_closed_form(pilot):
    """The model's observed log-likelihood at a point equals the formulas of models.video."""
    pr = VideoPriors()
    model = build_pilot_model(pilot, pr)
    ip = model.initial_point()
    names = ["baseline", "uplift", "adoption", "sessions", "minutes"]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    vals = dict(zip(names, fn(ip), strict=True))
    obs = [model[n] for n in ("core", "adopters", "sessions_7d", "minutes_7d")]
    got = model.compile_logp(vars=obs, jacobian=False)(ip)
    seg = pilot.segment.map({s: i for i, s in enumerate(pr.table.index)}).to_numpy()
    mode = pilot.arm.map({"control": 0, "integrated": 0, "standalone": 1}).to_numpy()
    n, a, k = pilot.users.to_numpy(), pilot.adopters.to_numpy(), pilot.core_90d.to_numpy()
    b = vals["baseline"][seg]
    q1 = np.clip(b + vals["uplift"][seg, mode], 0, 0.99)
    want = stats.binom.logpmf(k, n, b + a / n * (q1 - b)).sum()
    arm = pilot.arm.to_numpy() != "control"
    want += stats.binom.logpmf(a[arm], n[arm], vals["adoption"][seg[arm], mode[arm]]).sum()
    s_obs = pilot.video_sessions_7d.to_numpy()[arm]
    lam = vals["sessions"][seg[arm], mode[arm]]
    want += stats.poisson.logpmf(s_obs, a[arm] * lam).sum()
    s2 = pr.minutes_log_sd**2
    mu = vals["minutes"][seg[arm]]
    sd = mu * np.sqrt(np.expm1(s2) * np.exp(s2) * (s_obs + s_obs * (s_obs - 1) / a[arm])) + 1e-6
    want += stats.norm.logpdf(
        pilot.video_minutes_7d.to_numpy()[arm], mu * np.exp(s2 / 2) * s_obs, sd
    ).sum()
    assert got == pytest.approx(want, rel=1e-9)


def test_refit_layout_guard(pilot):
    model = build_pilot_model(pilot)
    other = validate_pilot(generate_pilot(1.0, 1.0, 100, 1, segments=["mixed_mid"]))
    with pytest.raises(ValueError, match="layout"):
        set_pilot_data(model, other)
    set_pilot_data(model, validate_pilot(generate_pilot(1.0, 1.0, 4000, 9)))
    assert model["core_obs"].get_value().shape == (6,)
    with pytest.raises(ValueError, match="point prior"):
        build_pilot_model(pilot, VideoPriors().as_point())


def test_studies_compile_once_and_each_refit_is_a_fresh_seeded_run(pilot):
    """``sample_posterior`` (parameter recovery, SBC) refits one compiled model: the log
    density is compiled once (``models.laplace.compiled_logp``) and serves the mode search,
    the Hessian and NUTS of every refit; the same pilot and seed give the same draws after a
    refit on other counts, and other counts give other draws."""
    from models.laplace import compiled_logp

    est = VideoPilotModel(sampler=SamplerConfig(draws=30, tune=30, chains=1, progress=False))
    first = est.sample_posterior(pilot, seed=3)
    model = est._model_cache[1]
    f = compiled_logp(model)
    other = est.sample_posterior(
        validate_pilot(generate_pilot(0.7, 1.4, users_per_arm=4000, seed=6)), seed=3
    )
    again = est.sample_posterior(pilot, seed=3)
    assert est._model_cache[1] is model and compiled_logp(model) is f
    xr.testing.assert_equal(first.posterior, again.posterior)
    assert not np.allclose(first.posterior["alpha"], other.posterior["alpha"])


def test_laplace_start_cuts_the_trajectories(pilot):
    """From the Laplace start (dense mass matrix at the posterior's curvature) NUTS needs a
    fraction of the leapfrog steps of PyMC's default start on the same pilot, tuning
    included, with no divergence (docs/updating.md: ~11 against ~60 per draw)."""
    from models.video.estimator import _sample

    est = VideoPilotModel(sampler=SamplerConfig(draws=100, tune=150, chains=1, progress=False))
    model = est.build_model(est._prepare(pilot))
    cfg = est.sampler_.replace(seed=4)
    steps = {}
    for name, kwargs in (("default", {}), ("laplace", est._laplace_start(model, cfg))):
        idata = _sample(model, cfg, discard_tuned_samples=False, **kwargs)
        steps[name] = int(idata.warmup_sample_stats["n_steps"].sum()) + int(
            idata.sample_stats["n_steps"].sum()
        )
        assert int(idata.sample_stats["diverging"].sum()) == 0, name
    assert steps["laplace"] < steps["default"] / 2, steps


def test_idata_groups_dims_attrs(result, pilot):
    from models.provenance import PROVENANCE_KEYS, read_provenance

    idata = result.idata
    assert set(idata.groups()) == {
        "posterior",
        "posterior_predictive",
        "log_likelihood",
        "sample_stats",
        "prior",
        "prior_predictive",
        "observed_data",
        "constant_data",
    }
    for group in idata.groups():
        for name, da in getattr(idata, group).data_vars.items():
            assert not any("_dim_" in d for d in da.dims), (group, name)
    assert idata.posterior["adoption"].dims[2:] == ("segment", "mode")
    assert idata.observed_data["core"].dims == ("pilot_row",)
    prov = read_provenance(idata)
    assert set(PROVENANCE_KEYS) <= set(prov)
    assert prov["domain"] == "video" and prov["model_class"].endswith(":VideoPilotModel")
    assert prov["seed"] == 2 and prov["sampler"]["draws"] == 300
    assert prov["data_hash"] == pilot_hash(pilot) and prov["data_source"] == "pilot.csv"
    assert PriorSet.from_dict(prov["prior_spec"]) == VideoPriors().declarations()
    # the prior group comes from the one prior sampler: draws × chains prior draws
    assert idata.prior.sizes["draw"] == 600 and "adoption" in idata.prior


def test_save_load_predicts_identically_without_refitting(result, tmp_path):
    """The contract round trip: save -> bayes.load -> predict is identical; the pilot table,
    priors, sampler and diagnostics come back from the file."""
    import bayes

    model = result.model
    path = model.save(tmp_path / "posterior.nc")
    again = bayes.load(path)
    assert type(again) is VideoPilotModel and again.priors_ == model.priors_
    assert again.sampler_ == model.sampler_
    assert again.diagnostics_.to_dict() == model.diagnostics_.to_dict()
    xr.testing.assert_identical(model.predict(), again.predict())
    xr.testing.assert_identical(
        model.predict(population="all", seed=5), again.predict(population="all", seed=5)
    )
    assert pilot_hash(again.pilot_) == again.idata_.attrs["data_hash"]
    assert again.declaration_.n_high == VideoPriors().n_high
    assert not hasattr(again, "_model_cache")  # nothing was rebuilt or resampled
    assert "LogNormal(mu=0, sigma=0.25)" in repr(again)
    assert again.summary(["alpha"])["lower_90"].item() < again.summary(["alpha"])["upper_90"].item()
    # and the cross-domain check every domain's posterior passes
    assert type(assert_posterior_on_contract(path)) is VideoPilotModel


def test_predict_dims_and_decision_inputs(result):
    pred = result.prediction
    assert pred["delta_core"].dims == ("chain", "draw", "mode")
    assert pred["alpha"].dims == ("chain", "draw")
    assert pred["core"].dims == ("chain", "draw", "pilot_row")
    assert pred["adopters_pilot"].dims == ("chain", "draw", "arm_row")
    xr.testing.assert_equal(pred["alpha"], result.idata.posterior["alpha"])
    # ΔCore per draw is the exact population simulation of that draw's parameters: its mean
    # matches the closed form of the posterior draws within the binomial noise
    from models.summaries import stack_draws
    from models.video.simulator import closed_form_delta_core

    post = result.idata.posterior
    params = {n: stack_draws(post[n]).to_numpy() for n in ("baseline", "adoption", "uplift")}
    closed = closed_form_delta_core(params, VideoPriors())
    err = pred["delta_core"].stack(s=("chain", "draw")).transpose("s", "mode").to_numpy() - closed
    assert np.all(np.abs(err.mean(0)) < 4 * err.std(0, ddof=1) / np.sqrt(len(err)))


def test_log_likelihood_is_pointwise_per_pilot_row(result):
    """One log-likelihood value per pilot row (its Core count + adopters + usage), which sums
    to the model's observed log-likelihood at each draw, so az.loo works as is."""
    import arviz as az

    idata = result.idata
    ll = idata.log_likelihood
    assert list(ll.data_vars) == ["pilot"] and ll["pilot"].dims == ("chain", "draw", "pilot_row")
    model = build_pilot_model(result.pilot, VideoPriors())
    obs = [model[n] for n in ("core", "adopters", "sessions_7d", "minutes_7d")]
    logp = model.compile_logp(vars=obs, jacobian=False)
    draw = idata.posterior.isel(chain=1, draw=11)
    values = {}
    for rv in model.free_RVs:
        value_var = model.rvs_to_values[rv]
        transform = model.rvs_to_transforms.get(rv)
        x = draw[rv.name].to_numpy()
        values[value_var.name] = transform.forward(x).eval() if transform is not None else x
    assert ll["pilot"].isel(chain=1, draw=11).sum().item() == pytest.approx(logp(values), rel=1e-9)
    loo = az.loo(idata)
    assert loo.n_data_points == len(result.pilot) and np.isfinite(loo.elpd_loo)


def test_summary_schema_and_consistency(result):
    s = result.summary
    for key in ("alpha_hat", "beta_hat"):
        h = s[key]
        assert h["lower_90"] < h["lower_50"] < h["median"] < h["upper_50"] < h["upper_90"]
        x = result.idata.posterior[key.removesuffix("_hat")].to_numpy().ravel()
        assert h["lower_50"] == pytest.approx(np.quantile(x, 0.25))
        assert h["prior_lower_90"] < 1 < h["prior_upper_90"]
    assert s["divergences"] == 0
    # the short run (2 × 300 draws) cannot reach 100 ESS per chain for every parameter: the
    # one diagnostics rule says so, and the summary carries it
    diag = result.model.diagnostics_
    assert s["ok"] is diag.ok and s["problems"] == diag.problems
    assert s["r_hat_max"] == diag.r_hat_max and s["diagnostics"]["thresholds"]["ess_min"] == 200
    d = result.prediction["delta_core"].stack(s=("chain", "draw"))
    diff = (d.sel(mode="standalone") - d.sel(mode="integrated")).to_numpy()
    assert s["p_standalone_better"] == pytest.approx(np.mean(diff > 0))
    assert s["expected_loss"]["integrated"] == pytest.approx(np.mean(np.maximum(diff, 0)))
    better = min(s["expected_loss"], key=s["expected_loss"].get)
    assert s["recommendation"] == better
    assert d.sizes["s"] == 600  # one population simulation per posterior draw
    assert 0 <= s["rule_11"]["p_blue"] <= 1 and "§11" in s["rule_11"]["text"]


def test_written_files(written, result):
    import pandas as pd

    import bayes

    assert sorted(p.name for p in written.iterdir()) == sorted(UPDATE_FILES)
    again = bayes.load(written / "posterior.nc")
    xr.testing.assert_identical(again.predict(), result.prediction)
    summary = json.loads((written / "summary.json").read_text())
    assert summary["alpha_hat"]["median"] == result.summary["alpha_hat"]["median"]
    assert sorted(summary["files"]) == sorted(UPDATE_FILES)  # relative names, no paths
    ab = pd.read_csv(written / "alpha_beta.csv")
    assert list(ab["multiplier"]) == ["alpha", "beta"]
    assert ab["lower_90"][0] == pytest.approx(summary["alpha_hat"]["lower_90"])
    priors = pd.read_csv(written / "priors.csv")
    assert list(priors.columns)[:8] == [
        "name", "coords", "distribution", "mean", "sd", "median", "lower_90", "upper_90",
    ]  # fmt: skip
    for png in (p for p in UPDATE_FILES if p.endswith(".png")):
        assert (written / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


def test_ppc_covers_observed(result):
    tab = ppc_table(result.idata)
    assert set(tab.variable) == {"core", "adopters", "sessions_7d", "minutes_7d"}
    # a calibrated model leaves few extreme posterior predictive p-values
    assert (tab.ppp < 0.01).sum() <= 1


def test_rule_11_on_known_surface():
    a = np.linspace(0.5, 2.0, 31)
    grid = xr.DataArray(
        (a[:, None] + a[None, :] - 2.6) * 1e5,
        dims=("alpha", "beta"),
        coords={"alpha": a, "beta": a},
    )
    rng = np.random.default_rng(0)
    alpha = rng.normal(1.5, 0.1, 4000)
    beta = rng.normal(1.5, 0.1, 4000)
    # D > 0  <=>  α + β > 2.6; α + β ~ N(3.0, 0.1·√2)
    want = stats.norm.sf(2.6, 3.0, 0.1 * np.sqrt(2))
    r = rule_11(grid, alpha, beta)
    assert r["p_blue"] == pytest.approx(want, abs=4 * np.sqrt(want * (1 - want) / 4000) + 1e-3)
    assert r["verdict"] == "standalone"
    assert rule_11(grid, alpha - 0.4, beta - 0.4)["verdict"] == "integrated"


def test_rule_11_on_the_seed_heatmap(result):
    """Seed §9.1: D(1, 1) ≈ −58k (red); §11: standalone only where α, β ≈ 1.4–1.5× priors.

    The seed rounds to the nearest thousand (±500); the grid's Monte Carlo error is at most
    ``mc_se_max`` per cell, so |D(1, 1) + 58k| < 500 + 4 · mc_se_max.
    """
    grid = result.grid
    ones = np.ones(200)
    base = rule_11(grid, ones, ones)
    assert abs(base["D_at_median"] + 58_000) < 500 + 4 * grid.attrs["mc_se_max"]
    assert base["p_blue"] == 0 and base["verdict"] == "integrated"
    rng = np.random.default_rng(0)
    top = rule_11(grid, rng.normal(1.5, 0.02, 400), rng.normal(1.4, 0.02, 400))
    assert top["p_blue"] == 1 and top["verdict"] == "standalone"
    assert top["fraction_outside_grid"] == 0


def test_fast_approximation_agrees_with_nuts(pilot, result):
    """Importance-sampled semi-analytic posterior vs NUTS on the same pilot.

    Tolerances: NUTS Monte Carlo error of a mean is sd/sqrt(ESS) ≈ 0.2/sqrt(300) ≈ 0.012;
    the approximation (Normal Core likelihood, population noise neglected) adds a little.
    """
    approx = approx_update(pilot, draws=4000, seed=1)
    post = result.idata.posterior
    assert approx["alpha_mean"] == pytest.approx(float(post.alpha.mean()), abs=0.05)
    assert approx["beta_mean"] == pytest.approx(float(post.beta.mean()), abs=0.05)
    p_nuts = result.summary["p_standalone_better"]
    assert approx["p_standalone_better"] == pytest.approx(p_nuts, abs=0.08)
    assert approx["ess"] > 300


def test_pilot_sizing_value_grows_with_size():
    df = pilot_sizing(sizes=(200, 50_000), sims=150, seed=3, is_draws=2000)
    assert list(df.users_per_arm) == [0, 200, 50_000]
    none, small, big = df.itertuples()
    # more data cannot hurt on average (EVSI >= 0 up to Monte Carlo error)
    assert small.evsi > -3 * small.evsi_se
    assert big.evsi > 0 and big.p_right > none.p_right
    assert big.expected_loss < none.expected_loss
    assert big.p_right >= small.p_right - 0.05
