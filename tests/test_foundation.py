"""Shared pieces every domain uses: CLI number types, the one diagnostics rule, the prior
container and prior elicitation, the sampler configuration."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from scipy import stats

from bayes.cliargs import date, float_range, int_range, probability
from models.diagnostics import ESS_PER_CHAIN, fit_diagnostics
from models.sampling import SamplerConfig
from priors.spec import Prior, PriorError, PriorSet, interval_names


# ---------------------------------------------------------------------------- CLI types
@pytest.mark.parametrize(
    "parse, text, ok",
    [
        (int_range(1), "1000", 1000),
        (int_range(1), "1e6", 1_000_000),
        (int_range(1), "1_000", 1000),
        (int_range(1), "0", None),
        (int_range(0, 2**32 - 1), "-1", None),
        (int_range(1), "2.5", None),
        (int_range(1), "many", None),
        (float_range(0), "inf", None),
        (float_range(0), "nan", None),
        (float_range(0), "-1", None),
        (probability(), "0", None),
        (probability(), "0.3", 0.3),
    ],
)
def test_cli_number_types(parse, text, ok):
    if ok is None:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)
    else:
        assert parse(text) == ok


def test_cli_dates_are_utc_or_refused():
    assert str(date("2024-10-01")) == "2024-10-01 00:00:00+00:00"
    for bad in ("2024-13-45", "yesterday-ish", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a date"):
            date(bad)


def test_sampler_config_refuses_impossible_settings():
    for bad in (
        {"draws": 0},
        {"chains": 0},
        {"seed": -1},
        {"target_accept": 1.0},
        {"backend": "stan"},
        {"tune": -1},
    ):
        with pytest.raises(ValueError):
            SamplerConfig(**bad)
    cfg = SamplerConfig(draws=10, seed=3)
    assert SamplerConfig.from_dict(cfg.to_dict()) == cfg.replace(progress=None)


# ---------------------------------------------------------------------------- diagnostics
def _idata(chains, draws, rng, diverging=0, ar=0.0):
    import arviz as az

    x = rng.standard_normal((chains, draws))
    if ar:  # autocorrelated draws: AR(1) with coefficient ar
        for t in range(1, draws):
            x[:, t] = ar * x[:, t - 1] + np.sqrt(1 - ar**2) * x[:, t]
    div = np.zeros((chains, draws), bool)
    div.flat[:diverging] = True
    return az.from_dict(posterior={"x": x}, sample_stats={"diverging": div})


def test_one_chain_cannot_be_checked(rng):
    d = fit_diagnostics(_idata(1, 4000, rng))
    assert not d.ok and any("two chains" in p for p in d.problems)


def test_iid_draws_pass_and_the_ess_rule_scales_with_chains(rng):
    d = fit_diagnostics(_idata(4, 1000, rng))
    assert d.ok, d.problems
    assert d.thresholds["ess_min"] == 4 * ESS_PER_CHAIN
    # strongly autocorrelated chains (ESS ~ draws (1-ar)/(1+ar) = 4000 * 0.0101 ~ 40) fail
    d = fit_diagnostics(_idata(4, 1000, rng, ar=0.98))
    assert not d.ok and any("ess_bulk_min" in p for p in d.problems)


def test_any_divergence_fails(rng):
    d = fit_diagnostics(_idata(4, 1000, rng, diverging=1))
    assert not d.ok and d.divergences == 1 and "1 divergent" in d.problems[-1]


# ---------------------------------------------------------------------------- priors
@pytest.mark.parametrize(
    "dist, lo, hi, frozen",
    [
        ("Normal", -1.0, 3.0, lambda p: stats.norm(p["mu"], p["sigma"])),
        ("LogNormal", 0.8, 1.6, lambda p: stats.lognorm(p["sigma"], scale=np.exp(p["mu"]))),
        ("Gamma", 2.0, 9.0, lambda p: stats.gamma(p["alpha"], scale=1 / p["beta"])),
        ("Beta", 0.02, 0.15, lambda p: stats.beta(p["alpha"], p["beta"])),
    ],
)
def test_two_quantiles_are_met_exactly(dist, lo, hi, frozen):
    p = Prior.from_interval(dist, lo, hi, mass=0.9)
    np.testing.assert_allclose(frozen(p.params).ppf([0.05, 0.95]), [lo, hi], rtol=1e-6)
    rep = p.fit_report()
    assert rep["max_probability_gap"] < 1e-6 and rep["requested"] == {"q0.05": lo, "q0.95": hi}


def test_median_and_interval_is_a_least_squares_fit():
    # consistent statement: a LogNormal median at the geometric mean of the bounds is exact
    p = Prior.from_interval("LogNormal", 0.5, 2.0, median=1.0)
    assert p.fit_report()["max_probability_gap"] < 1e-9
    # inconsistent statement: reported, not hidden
    q = Prior.from_interval("LogNormal", 0.5, 2.0, median=1.5)
    assert q.fit_report()["max_probability_gap"] > 0.05


def test_impossible_statements_are_refused():
    with pytest.raises(PriorError, match="increase"):
        Prior.from_interval("Normal", 2.0, 1.0)
    with pytest.raises(PriorError, match="positive"):
        Prior.from_interval("Gamma", -1.0, 1.0)
    with pytest.raises(PriorError, match="needs parameter"):
        Prior("Beta", {"alpha": 1.0})
    with pytest.raises(PriorError, match="positive"):
        Prior("Normal", {"mu": 0.0, "sigma": -1.0})


def test_prior_set_table_json_and_file_overrides(tmp_path):
    base = PriorSet(
        {
            "rate": Prior.beta_from_mean([0.1, 0.2], 20, dims=("group",)),
            "scale": Prior("HalfNormal", {"sigma": 1.0}),
        },
        domain="demo",
        coords={"group": ["a", "b"]},
        descriptions={"scale": "spread"},
    )
    t = base.table()
    assert list(t.columns) == [
        "name",
        "coords",
        "distribution",
        "mean",
        "sd",
        "median",
        *interval_names(0.9),
        "description",
    ]
    assert list(t["coords"]) == ["a", "b", ""]
    np.testing.assert_allclose(t["mean"][:2], [0.1, 0.2])
    assert PriorSet.from_json(base.to_json()) == base
    f = tmp_path / "p.toml"
    f.write_text('[scale]\ndist = "HalfNormal"\nparams = { sigma = 2.0 }\n')
    assert base.__class__.read(f, base=base)["scale"].params["sigma"] == 2.0
    f.write_text('[shape]\ndist = "HalfNormal"\nparams = { sigma = 2.0 }\n')
    with pytest.raises(PriorError, match=r"p.toml: unknown demo prior 'shape'"):
        PriorSet.read(f, base=base)
    g = tmp_path / "q.json"
    g.write_text('{"scale": {"dist": "LogNormal", "median": 1, "interval": [0.5, 2]}}')
    fitted = PriorSet.read(g, base=base)["scale"]
    assert fitted.dist == "LogNormal" and abs(fitted.params["sigma"] - np.log(2) / 1.6449) < 1e-3
