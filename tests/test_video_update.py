"""Updating after a pilot: likelihood, NetCDF, summary, decision, fast approximation, sizing.

One short NUTS fit per module (draws 300, tune 300, 2 chains) is shared by the tests.
"""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from bayes.video.pilot import generate_pilot, validate_pilot
from bayes.video.update import (
    approx_update,
    pilot_sizing,
    ppc_table,
    rule_11,
    update,
    write_update,
)
from models.video import build_pilot_model, set_pilot_data
from priors.video import VideoPriors

TRUE_ALPHA, TRUE_BETA = 1.2, 1.1


@pytest.fixture(scope="module")
def pilot():
    return validate_pilot(generate_pilot(TRUE_ALPHA, TRUE_BETA, users_per_arm=4000, seed=5))


@pytest.fixture(scope="module")
def result(pilot):
    return update(pilot, draws=300, tune=300, chains=2, seed=2, grid_draws=400)


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


def test_idata_groups_dims_attrs(result):
    idata = result.idata
    for g in ("prior", "posterior", "posterior_predictive", "observed_data", "sample_stats"):
        assert hasattr(idata, g), g
    for name, da in idata.posterior.data_vars.items():
        assert not any("_dim_" in d for d in da.dims), name
    assert idata.posterior["adoption"].dims[2:] == ("segment", "mode")
    assert idata.observed_data["core"].dims == ("pilot_row",)
    assert idata.attrs["seed"] == 2
    assert len(idata.attrs["data_hash"]) == 64
    assert VideoPriors.from_dict(json.loads(idata.attrs["prior_spec"])).to_dict() == (
        VideoPriors().to_dict()
    )


def test_summary_schema_and_consistency(result):
    s = result.summary
    for key in ("alpha_hat", "beta_hat"):
        h = s[key]
        lo90, hi90 = h["interval_90"]
        lo50, hi50 = h["interval_50"]
        assert lo90 < lo50 < h["median"] < hi50 < hi90
    for key in ("p_standalone_better", "expected_loss", "recommendation", "r_hat_max"):
        assert key in s
    assert s["divergences"] == 0
    assert s["ok"] == (not s["problems"])
    d = result.delta_core["delta_core"]
    diff = (d.sel(mode="standalone") - d.sel(mode="integrated")).to_numpy()
    assert s["p_standalone_better"] == pytest.approx(np.mean(diff > 0))
    assert s["expected_loss"]["integrated"] == pytest.approx(np.mean(np.maximum(diff, 0)))
    better = min(s["expected_loss"], key=s["expected_loss"].get)
    assert s["recommendation"] == better
    assert d.sizes["draw"] == 600  # one population simulation per posterior draw
    assert 0 <= s["rule_11"]["p_blue"] <= 1 and "§11" in s["rule_11"]["text"]


def test_written_files(written):
    import arviz as az

    names = {p.name for p in written.iterdir()}
    for f in (
        "posterior.nc",
        "summary.json",
        "ppc.png",
        "prior_posterior_alpha_beta.png",
        "heatmap_posterior.png",
    ):
        assert f in names
    idata = az.from_netcdf(written / "posterior.nc")
    assert "prior_spec" in idata.attrs and "posterior_predictive" in idata.groups()
    summary = json.loads((written / "summary.json").read_text())
    assert set(summary["alpha_hat"]) >= {"median", "mean", "interval_50", "interval_90"}


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
    assert isinstance(df, pd.DataFrame)
