"""models.laplace: the mode and covariance of a Gaussian posterior are exact, the compiled
log density is made once per model and follows its pm.Data, starts are dispersed and finite."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def gaussian():
    """A 3-dimensional Gaussian posterior on the unconstrained scale: a correlated pair and a
    LogNormal whose log is Normal(0.3, 0.2) (its value variable is that log)."""
    import pymc as pm

    cov = np.array([[0.5, 0.3], [0.3, 0.4]])  # eigenvalues < 1: below the curvature floor
    with pm.Model() as model:
        shift = pm.Data("shift", np.array([0.5, -1.0]))
        pm.MvNormal("x", mu=shift, cov=cov)
        pm.LogNormal("s", mu=0.3, sigma=0.2)
    return model, cov


def test_mode_and_covariance_of_a_gaussian_are_exact(gaussian):
    from models.laplace import laplace

    model, cov = gaussian
    fit = laplace(model)
    assert fit.converged
    np.testing.assert_allclose(fit.point["x"], [0.5, -1.0], atol=1e-5)
    np.testing.assert_allclose(fit.point["s_log__"], 0.3, atol=1e-5)
    want = np.zeros((3, 3))
    want[:2, :2] = cov
    want[2, 2] = 0.2**2
    np.testing.assert_allclose(fit.cov, want, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(fit.sd(model, "x"), np.sqrt(np.diag(cov)), rtol=1e-5)


def test_directions_wider_than_a_unit_normal_are_floored():
    """The curvature floor: a direction of sd 3 gets sd 1 (``MIN_PRECISION``), the others
    keep theirs."""
    import pymc as pm

    from models.laplace import laplace

    with pm.Model() as model:
        pm.Normal("wide", 0.0, 3.0)
        pm.Normal("narrow", 1.0, 0.1)
    fit = laplace(model)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), [1.0, 0.1], rtol=1e-5)


def test_one_compile_per_model_that_reads_new_data(gaussian):
    import pymc as pm

    from models.laplace import compiled_logp, laplace

    model, _ = gaussian
    f = compiled_logp(model)
    pm.set_data({"shift": np.array([2.0, 3.0])}, model=model)
    try:
        fit = laplace(model)
        assert compiled_logp(model) is f
        np.testing.assert_allclose(fit.point["x"], [2.0, 3.0], atol=1e-5)
    finally:
        pm.set_data({"shift": np.array([0.5, -1.0])}, model=model)


def test_nuts_step_starts_each_chain_apart_and_samples_the_gaussian(gaussian):
    import pymc as pm

    from models.laplace import initvals, laplace, nuts_step

    model, cov = gaussian
    fit = laplace(model)
    step, starts = nuts_step(model, fit, target_accept=0.9, chains=2, seed=1)
    assert len(starts) == 2 and not np.allclose(starts[0]["x"], starts[1]["x"])
    inits = [initvals(model, p) for p in starts]
    np.testing.assert_allclose(inits[0]["s"], np.exp(starts[0]["s_log__"]))
    with model:
        idata = pm.sample(
            draws=1000,
            tune=300,
            chains=2,
            cores=1,
            step=step,
            initvals=inits,
            random_seed=2,
            progressbar=False,
            compute_convergence_checks=False,
        )
    x = idata.posterior["x"].values.reshape(-1, 2)
    # 2,000 correlated draws: the means within ~5 Monte Carlo s.e. (ESS >= 500 assumed)
    assert (np.abs(x.mean(0) - [0.5, -1.0]) < 5 * np.sqrt(np.diag(cov) / 500)).all(), x.mean(0)
    assert int(idata.sample_stats["diverging"].sum()) == 0
    # the exact covariance as the first mass matrix: short trajectories from the start
    assert float(idata.sample_stats["n_steps"].mean()) < 8
