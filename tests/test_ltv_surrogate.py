"""Surrogate-transition NUTS (models.ltv.surrogate): exact draws from cheap trajectories.

The truth is independent of the method: a Poisson-Gamma posterior in closed form sampled through
a deliberately wrong expansion; the BG/NBD likelihood's own values for the expansion; plain NUTS
on the same LTV data for the end-to-end fit (posterior means within their Monte Carlo error)."""

import json
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest

from models import ltv as M
from models.diagnostics import fit_diagnostics
from models.laplace import compiled_logp, sample_kwargs
from models.ltv import LTVModel
from models.ltv import model as ltv_model
from models.ltv.likelihood import BGNBDKernel, compress_rfm
from models.ltv.surrogate import (
    LogWeight,
    SurrogateNUTS,
    quadratic_expansion,
    quadratic_node,
)
from models.sampling import SamplerConfig, sample

Y = np.array([3.0, 5.0, 4.0])  # Poisson counts; Exponential(1) prior: posterior Gamma(13, 4)


class _PoissonKernel:
    n_segments = 1

    def __call__(self, rate):
        rate = np.asarray(rate, float)
        return float(np.sum(Y.sum() * np.log(rate) - Y.size * rate)), Y.sum() / rate - Y.size


def _poisson_model(quad=None):
    with pm.Model() as model:
        rate = pm.Exponential("rate", 1.0)
        if quad is None:
            pm.Potential("ll", Y.sum() * pt.log(rate) - Y.size * rate)
        else:
            pm.Potential("ll", quadratic_node(quad, rate))
    return model


def _mcse(x: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of ``(chain, draw)`` draws."""
    return float(x.std() / np.sqrt(az.ess(x)))


def test_surrogate_transitions_sample_the_exact_posterior_whatever_the_surrogate():
    # an expansion at rate 1.5 (the posterior mean is 3.25): its own posterior is far off
    quad = quadratic_expansion(_PoissonKernel(), np.log([[1.5]]))
    exact, sur = _poisson_model(), _poisson_model(quad)
    cfg = SamplerConfig(draws=3000, tune=500, chains=2, seed=3, progress=False, cores=1)
    weight = LogWeight(compiled_logp(exact), compiled_logp(sur))
    kwargs = sample_kwargs(
        sur, {"rate_log__": np.log(3.0)}, cfg, step_cls=SurrogateNUTS, log_weight=weight
    )
    idata = sample(sur, cfg, **kwargs)
    draws = idata.posterior["rate"].to_numpy()
    mean_tol = 4 * _mcse(draws)
    assert draws.mean() == pytest.approx(13 / 4, abs=mean_tol)
    sq = (draws - 13 / 4) ** 2  # its mean is the posterior variance, 13 / 16
    assert sq.mean() == pytest.approx(13 / 16, abs=4 * _mcse(sq))
    # the surrogate's own posterior (by quadrature) is many tolerances away: the test can fail
    grid = np.linspace(1e-3, 12, 20001)
    dens = np.exp(-grid + np.array([quad(np.log([[g]])) for g in grid]))
    sur_mean = float(np.sum(grid * dens) / np.sum(dens))
    assert abs(sur_mean - 13 / 4) > 5 * mean_tol
    rate = float(idata.sample_stats["surrogate_accept"].mean())
    assert 0.05 < rate < 0.99  # transitions were rejected, and some were accepted
    diag = fit_diagnostics(idata)
    assert diag.surrogate_acceptance == pytest.approx(rate)
    assert any("surrogate_acceptance" in p for p in diag.problems) == (rate < 0.8)


def test_quadratic_expansion_of_the_bgnbd_kernel():
    rng = np.random.default_rng(0)
    n, seg = 30_000, np.arange(30_000) % 3
    T = rng.integers(1, 53, n).astype(float)
    x, tx = M.simulate_bgnbd(rng, np.array([0.2, 0.3, 0.4])[seg], 4.0, 0.8, 2.5, T)
    kernel = BGNBDKernel(compress_rfm(x, np.floor(tx), T, seg), 3)
    center = np.log(np.array([[0.2, 0.3, 0.4], [4.0] * 3, [0.8] * 3, [2.5] * 3]))
    quad = quadratic_expansion(kernel, center)
    value0, *grads = kernel(*np.exp(center))
    np.testing.assert_allclose(quad.grad, np.stack(grads) * np.exp(center), rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(quad.precision) > 0)
    # a step of ~1 posterior sd: the quadratic's error is far below the linear term's
    step = rng.normal(0, 1, center.shape) * 0.02
    exact = kernel(*np.exp(center + step))[0] - value0
    linear = float(np.sum(quad.grad * step))
    assert abs(exact - quad(center + step)) < 0.02 * abs(exact - linear)


def _segmented(n=9000, seed=5):
    rng = np.random.default_rng(seed)
    seg = np.arange(n) % 3
    T = rng.integers(5, 53, n).astype(float)
    x, tx = M.simulate_bgnbd(rng, np.array([0.15, 0.3, 0.6])[seg], 4.0, 0.8, 2.5, T)
    m = M.simulate_gamma_gamma(rng, 6.0, 4.0, 15.0, x)
    return pd.DataFrame(
        {
            "frequency": x.astype(float),
            "recency": np.floor(tx),
            "T": T,
            "monetary_value": np.round(np.nan_to_num(m), 2),
            "channel": np.array(["web", "app", "shop"])[seg],
        },
        index=pd.Index([f"u{i}" for i in range(n)], name="customer_id"),
    )


def test_ltv_fit_with_surrogate_trajectories_matches_plain_nuts():
    # one population with spend (BG/NBD expanded, Gamma-Gamma exact) against plain NUTS
    data = _segmented().drop(columns="channel")
    cfg = SamplerConfig(draws=500, tune=300, chains=2, seed=1, progress=False)
    fits = {flag: LTVModel(sampler=cfg, surrogate=flag).fit(data) for flag in (False, True)}
    plain, sur = fits[False].idata_, fits[True].idata_
    assert "surrogate_accept" in sur.sample_stats and "surrogate_accept" not in plain.sample_stats
    assert "ltv_sampler" in sur.attrs and "ltv_sampler" not in plain.attrs
    assert float(sur.sample_stats["surrogate_accept"].mean()) > 0.8
    for name in ["r", "alpha", "a", "b", "p", "q", "v"]:
        a, b = (f.posterior[name].to_numpy() for f in (plain, sur))
        se = np.hypot(_mcse(a), _mcse(b))
        assert abs(a.mean() - b.mean()) <= 4.5 * se, (name, a.mean(), b.mean(), se)


def test_partial_pooling_fit_samples_the_hierarchy_with_surrogate_trajectories():
    data = _segmented().drop(columns="monetary_value")
    cfg = SamplerConfig(draws=150, tune=150, chains=2, seed=2, progress=False)
    model = LTVModel(sampler=cfg, segment="channel", surrogate=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 150 draws: the convergence checks may fail
        model.fit(data)
    idata = model.idata_
    assert json.loads(idata.attrs["ltv_sampler"])["acceptance"] > 0.8
    assert "ltv_pilot" in idata.attrs
    # the weight of each kept draw is the exact likelihood minus the expansion there
    prep = model._prepare(data)
    quad = model._expansions(
        prep,
        {n: np.log(idata.posterior[n].mean(("chain", "draw"))) for n in ("r", "alpha", "a", "b")},
    )["bgnbd"]
    post = idata.posterior.isel(chain=0, draw=-1)
    theta = [post[n].to_numpy() for n in ("r", "alpha", "a", "b")]
    exact = BGNBDKernel(prep.rfm, 3)(*theta)[0] - BGNBDKernel(prep.rfm, 3)(*np.exp(quad.center))[0]
    assert quad(np.log(theta)) == pytest.approx(exact, abs=0.05)
    # the segments' r: ordered as simulated (0.15 < 0.3 < 0.6), each near its truth
    r = idata.posterior["r"].mean(("chain", "draw")).sel(segment=["web", "app", "shop"])
    np.testing.assert_allclose(r, [0.15, 0.3, 0.6], rtol=0.25)


def test_surrogate_by_default_only_when_every_segment_is_large(monkeypatch):
    data = _segmented(n=600)
    model = LTVModel(segment="channel")
    prep = model._prepare(data)
    cfg = SamplerConfig()
    monkeypatch.setattr(ltv_model, "SURROGATE_MIN_CUSTOMERS", 200)
    assert model._uses_surrogate(prep, cfg)
    monkeypatch.setattr(ltv_model, "SURROGATE_MIN_CUSTOMERS", 201)
    assert not model._uses_surrogate(prep, cfg)
    assert LTVModel(segment="channel", surrogate=True)._uses_surrogate(prep, cfg)
    assert not model._uses_surrogate(prep, SamplerConfig(backend="nutpie"))
    with pytest.raises(ValueError, match="surrogate"):
        LTVModel(surrogate="yes")._validate_config()
