import numpy as np
import pytest

from priors import Prior, PriorError


def test_beta_from_mean_and_roundtrip():
    p = Prior.beta_from_mean([0.7, 0.2], concentration=40, dims=("segment",))
    np.testing.assert_allclose(p.mean(), [0.7, 0.2])
    assert Prior.from_dict(p.to_dict()).to_dict() == p.to_dict()
    assert "Beta(alpha=[28, 8], beta=[12, 32]" in str(p)


def test_gamma_from_mean_cv_matches_samples(rng):
    p = Prior.gamma_from_mean(5.0, cv=0.2)
    x = p.sample(rng, 200_000)
    # Monte Carlo error of the mean: sd / sqrt(n) = 1 / 447 ~ 0.0022
    assert abs(x.mean() - 5.0) < 5 * 1.0 / np.sqrt(200_000)
    assert abs(x.std() / x.mean() - 0.2) < 0.005


def test_point_prior_and_pymc():
    import pymc as pm

    with pm.Model(coords={"segment": ["a", "b"]}):
        a = Prior.point([0.1, 0.2], dims=("segment",)).to_pymc("a")
        b = Prior.beta_from_mean(0.5, 10).to_pymc("b")
        draws = pm.draw([a, b], draws=50, random_seed=1)
    np.testing.assert_allclose(draws[0], np.tile([0.1, 0.2], (50, 1)))
    assert 0 < draws[1].min() and draws[1].max() < 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: Prior("Cauchy", {}),
        lambda: Prior.beta_from_mean(1.2, 10),
        lambda: Prior.gamma_from_mean(-1, 0.3),
        lambda: Prior("Normal", {"mu": float("nan"), "sigma": 1}),
    ],
)
def test_invalid_priors_raise(make):
    with pytest.raises(PriorError):
        make()
