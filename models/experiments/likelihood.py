"""Likelihoods of the experiments domain: the conjugate closed forms and their PyMC models.

* Conversion: ``k_a ~ Binomial(n_a, p_a)``, ``p_a ~ Beta(α₀, β₀)`` gives the exact posterior
  ``Beta(α₀ + k_a, β₀ + n_a − k_a)`` per arm (:func:`beta_posterior`); the chance that the
  treatment's rate is higher is the Beta integral ``∫ f_t(x) F_c(x) dx``
  (:func:`prob_beta_greater`).
* A metric's relative lift: its estimate from the sufficient statistics (CUPED-adjusted where
  a covariate is given) is ``r̂ ~ Normal(r, se²)`` for large arms (delta method); with
  ``r ~ Normal(μ₀, τ₀²)`` the posterior is ``Normal`` with precision ``1/τ₀² + 1/se²``
  (:func:`normal_posterior`).
* Past lifts: ``r̂_j ~ Normal(θ_j, se_j²)``, ``θ_j ~ Normal(μ, τ²)`` — the hierarchical model
  of a library of past experiments: NUTS on ``(μ, τ)`` with the ``θ_j`` integrated out
  (:func:`build_library_model`), the ``θ_j`` drawn from their exact conditionals
  (:func:`library_lift_draws`).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy import stats as st

__all__ = [
    "beta_posterior",
    "build_beta_binomial_model",
    "build_library_model",
    "library_lift_draws",
    "normal_posterior",
    "prob_beta_greater",
]


def beta_posterior(alpha0, beta0, conversions, users) -> tuple[np.ndarray, np.ndarray]:
    """``(α₀ + k, β₀ + n − k)`` per arm."""
    k = np.asarray(conversions, dtype=float)
    n = np.asarray(users, dtype=float)
    return alpha0 + k, beta0 + n - k


def prob_beta_greater(a_t: float, b_t: float, a_c: float, b_c: float) -> float:
    """``P(X_t > X_c)`` for independent ``X_t ~ Beta(a_t, b_t)``, ``X_c ~ Beta(a_c, b_c)``:
    ``∫₀¹ f_t(x) F_c(x) dx`` by adaptive quadrature over the bulk of ``f_t``."""
    ft = st.beta(a_t, b_t)
    fc = st.beta(a_c, b_c)
    lo, hi = ft.ppf(1e-15), ft.isf(1e-15)
    pts = list(ft.ppf([0.01, 0.1, 0.5, 0.9, 0.99]))
    val, _ = integrate.quad(
        lambda x: ft.pdf(x) * fc.cdf(x), lo, hi, points=pts, epsabs=1e-13, epsrel=1e-11, limit=200
    )
    return float(min(max(val, 0.0), 1.0))


def normal_posterior(mu0: float, sd0: float, estimate, se) -> tuple[np.ndarray, np.ndarray]:
    """Conjugate update of ``Normal(mu0, sd0²)`` by ``estimate ~ Normal(r, se²)``:
    ``(mean, sd)`` of the posterior of ``r``."""
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    prec = 1.0 / sd0**2 + 1.0 / se**2
    mean = (mu0 / sd0**2 + est / se**2) / prec
    return mean, 1.0 / np.sqrt(prec)


def build_beta_binomial_model(priors, arms, users, conversions):
    """The PyMC form of the conversion readout (``conversion_rate`` per arm, binomial
    ``conversions``); its posterior is :func:`beta_posterior` exactly."""
    import pymc as pm

    with pm.Model(coords={"arm": list(arms)}) as model:
        rate = priors["conversion_rate"].to_pymc("conversion_rate", dims=("arm",))
        pm.Binomial(
            "conversions",
            n=np.asarray(users, dtype=np.int64),
            p=rate,
            observed=np.asarray(conversions, dtype=np.int64),
            dims="arm",
        )
    return model


def build_library_model(priors, experiments, lift, se):
    """Hierarchical model of past relative lifts with the true lifts integrated out:
    ``lift_hat_j ~ Normal(lift_mean, sqrt(lift_sd² + se_j²))``.

    ``r̂_j ~ Normal(θ_j, se_j²)`` with ``θ_j ~ Normal(μ, τ²)`` is exactly that marginal, so NUTS
    samples the two hyperparameters only (a two-dimensional posterior, no funnel between τ
    and the θ_j) and each ``θ_j`` is drawn afterwards from its exact conditional posterior
    (:func:`library_lift_draws`). The pointwise log-likelihood is then the marginal one: the
    density of experiment ``j``'s report under the company-wide distribution, which is what
    leave-one-experiment-out compares.
    """
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model(coords={"experiment": list(experiments)}) as model:
        mu = priors["lift_mean"].to_pymc("lift_mean")
        tau = priors["lift_sd"].to_pymc("lift_sd")
        se_data = pm.Data("lift_se", np.asarray(se, dtype=float), dims="experiment")
        pm.Normal(
            "lift_hat",
            mu=mu,
            sigma=pt.sqrt(tau**2 + se_data**2),
            observed=np.asarray(lift, dtype=float),
            dims="experiment",
        )
    return model


def library_lift_draws(mu, tau, lift, se, rng) -> np.ndarray:
    """Draws of each past experiment's true lift ``θ_j`` given posterior draws of ``μ`` and
    ``τ`` (arrays of one shape ``S``): ``θ_j | μ, τ, r̂_j ~ Normal(B_j μ + (1 − B_j) r̂_j,
    B_j τ²)`` with ``B_j = se_j² / (se_j² + τ²)``, the shrinkage of the Normal-Normal model
    (exact; finite at τ = 0, where θ_j = μ). Returns shape ``S + (n_experiments,)``."""
    mu = np.asarray(mu, dtype=float)[..., None]
    tau2 = np.asarray(tau, dtype=float)[..., None] ** 2
    se2 = np.asarray(se, dtype=float) ** 2
    shrink = se2 / (se2 + tau2)
    mean = shrink * mu + (1.0 - shrink) * np.asarray(lift, dtype=float)
    return mean + np.sqrt(shrink * tau2) * rng.standard_normal(mean.shape)
