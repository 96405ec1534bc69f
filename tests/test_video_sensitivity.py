"""Sensitivity of the decision to the standalone priors (seed 000 §9, §9.1)."""

import numpy as np
import pytest

from bayes.video.decide import decide
from bayes.video.plots import plot_sensitivity
from bayes.video.sensitivity import DEFAULT_GRID, sensitivity_grid
from models.video.simulator import closed_form_delta_core, point_params, simulate_users
from priors.video import VideoPriors

Z = 4.0


@pytest.fixture(scope="module")
def grid():
    return sensitivity_grid(draws=2000, seed=0)


def test_grid_is_the_seeds(grid):
    assert grid.dims == ("alpha", "beta")
    assert grid.shape == (17, 17)
    np.testing.assert_allclose(DEFAULT_GRID[[0, -1]], [0.8, 1.6])
    np.testing.assert_allclose(np.diff(DEFAULT_GRID), 0.05)


def test_heatmap_shows_section_9_1(grid):
    d = grid.sel
    assert abs(d(alpha=1.0, beta=1.0).item() - (-58_000)) < 10_000
    assert d(alpha=1.2, beta=1.0).item() < 0  # still red
    assert d(alpha=1.0, beta=1.2).item() < 0
    top_right = grid.sel(alpha=slice(1.4, 1.6), beta=slice(1.3, 1.5))
    assert (top_right > 0).all()  # blue where both beat expectations
    assert grid.attrs["integrated_mean"] == pytest.approx(306_240, rel=0.02)


def test_grid_matches_closed_form_everywhere(grid):
    """No clipping on this grid, so E[D] = αβ·E[ΔCore_stand] − E[ΔCore_int] exactly."""
    p = VideoPriors()
    closed = closed_form_delta_core(point_params(p), p)[0]
    a = grid["alpha"].to_numpy()[:, None]
    b = grid["beta"].to_numpy()[None, :]
    expected = a * b * closed[1] - closed[0]
    assert np.all(np.abs(grid.to_numpy() - expected) < Z * grid.attrs["mc_se_max"])


def test_common_random_numbers_make_the_surface_monotone(grid):
    """Same users and uniforms in every cell: raising α (β) only adds adopters (Core users),
    so D is non-decreasing along both axes in every run, hence in the mean."""
    assert np.all(np.diff(grid.to_numpy(), axis=0) >= 0)
    assert np.all(np.diff(grid.to_numpy(), axis=1) >= 0)


def test_cell_1_1_has_the_per_user_distribution():
    """The counts engine at (1, 1) reproduces the per-user difference's mean and sd."""
    draws = 1000
    g = sensitivity_grid(alphas=[1.0], betas=[1.0], draws=draws, seed=5)
    users = simulate_users(VideoPriors(), draws, seed=6)
    diff = decide(users["delta_core"])["difference"]
    se = np.hypot(diff["mc_se"], g.attrs["mc_se_max"])
    assert abs(g.item() - diff["mean"]) < Z * se
    sd_grid = g.attrs["mc_se_max"] * np.sqrt(draws)
    assert abs(sd_grid / diff["sd"] - 1) < Z * np.sqrt(2 / (draws - 1))


def test_same_seed_same_grid_and_stable_shape():
    a = sensitivity_grid(alphas=[0.8, 1.2, 1.6], betas=[0.8, 1.6], draws=300, seed=1)
    b = sensitivity_grid(alphas=[0.8, 1.2, 1.6], betas=[0.8, 1.6], draws=300, seed=1)
    np.testing.assert_array_equal(a, b)
    c = sensitivity_grid(alphas=[0.8, 1.2, 1.6], betas=[0.8, 1.6], draws=300, seed=2)
    assert np.array_equal(np.sign(a), np.sign(c))  # §10.1: the shape is stable across runs


def test_bayes_preset_grid():
    g = sensitivity_grid(alphas=[1.0, 1.6], betas=[1.0, 1.6], draws=300, seed=3, preset="bayes")
    assert g.attrs["preset"] == "bayes"
    # prior mean of D(1, 1) is the point-prior difference (α, β of the prior fixed at 1)
    assert abs(g.sel(alpha=1.0, beta=1.0).item() - (248_604 - 306_240)) < Z * g.attrs["mc_se_max"]
    assert g.sel(alpha=1.6, beta=1.6).item() > 0
    with pytest.raises(ValueError, match="preset"):
        sensitivity_grid(draws=5, preset="nope")


def test_plot_is_diverging_centred_at_zero(grid, tmp_path):
    from matplotlib.colors import TwoSlopeNorm

    from bayes.io import save_figure

    fig = plot_sensitivity(grid)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    assert isinstance(mesh.norm, TwoSlopeNorm) and mesh.norm.vcenter == 0
    assert mesh.get_cmap().name == "RdBu"  # red < 0 (integrated wins), blue > 0
    assert len(ax.collections) >= 2  # the D = 0 contour
    assert ax.get_xlabel().startswith("α") and ax.get_ylabel().startswith("β")
    path = save_figure(fig, tmp_path / "heat.png")
    assert path.stat().st_size > 1000


def test_section_9_1_within_monte_carlo_error(grid):
    """§9.1 with tolerances from the Monte Carlo error (mc_se_max, 2000 runs per cell):
    D(1, 1) is the seed's −58k up to its rounding (1k); red (D < 0 by more than Z se) along
    α ∈ [0.8, 1.2] at β = 1 and β ∈ [0.8, 1.2] at α = 1; clearly blue (D > 0 by more than Z se)
    on α ∈ [1.4, 1.6] × β ∈ [1.3, 1.5]."""
    tol = Z * grid.attrs["mc_se_max"]
    assert abs(grid.sel(alpha=1.0, beta=1.0).item() - (-58_000)) < 1_000 + tol
    assert (grid.sel(alpha=slice(0.8, 1.2), beta=1.0) < -tol).all()
    assert (grid.sel(alpha=1.0, beta=slice(0.8, 1.2)) < -tol).all()
    assert (grid.sel(alpha=slice(1.4, 1.6), beta=slice(1.3, 1.5)) > tol).all()
