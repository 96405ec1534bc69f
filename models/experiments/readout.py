"""Bayesian A/B readouts on the model contract, with exact posteriors.

:class:`BetaBinomialReadout` (conversion) and :class:`NormalReadout` (a metric's relative lift
from its sufficient statistics, CUPED-adjusted where a covariate is given) have closed-form
posteriors (:mod:`.likelihood`); ``fit`` draws ``chains × draws`` independent samples from them
with the sampler's seed, so everything downstream — lifts, chance to win, expected loss, the
NetCDF a reviewer opens with ArviZ, ``bayes.load`` — works as for a NUTS posterior.

What the readout says, in words (GrowthBook #2737: do not let it be read as a p-value):

* **chance to win** — the posterior probability, given the data *and the prior*, that the
  treatment's true mean is above the control's. It is not ``1 − p``: 95% still leaves a 1 in
  20 chance that the treatment is worse;
* **expected loss** of a choice — how much of the metric we expect to give up if we make that
  choice and it is the wrong one, ``E[max(other − chosen, 0)]`` (Stucchio 2015; GrowthBook's
  "risk"); small for both choices means the data have settled the question;
* central credible intervals of the absolute and relative lift (``lower_90``/``upper_90``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from models.base import BayesianModel
from models.experiments.estimators import Estimate
from models.experiments.likelihood import (
    beta_posterior,
    build_beta_binomial_model,
    normal_posterior,
)
from priors.experiments import CONVERSION_PRIORS, LIFT_PRIORS, experiment_priors
from priors.spec import PriorError, interval_names

__all__ = ["DIM", "BetaBinomialReadout", "NormalReadout", "lift_summary"]

#: the dim of the metrics a NormalReadout reads out ("metric" itself is taken: az.summary
#: stacks its statistics along a dim of that name)
DIM = "outcome"


def lift_summary(absolute, relative, prob: float = 0.9) -> dict:
    """Chance to win, expected loss of each choice and central intervals from lift draws."""
    a = np.asarray(absolute, dtype=float).ravel()
    r = np.asarray(relative, dtype=float).ravel()
    q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
    lo, hi = interval_names(prob)
    qa, qr = np.quantile(a, q), np.quantile(r, q)
    return {
        "chance_to_win": float(np.mean(a > 0)),
        "absolute_lift": {
            "mean": float(a.mean()),
            "median": float(qa[1]),
            lo: float(qa[0]),
            hi: float(qa[2]),
        },
        "relative_lift": {
            "mean": float(r.mean()),
            "median": float(qr[1]),
            lo: float(qr[0]),
            hi: float(qr[2]),
        },
        "expected_loss": {
            "choose_treatment": float(np.mean(np.maximum(-a, 0))),
            "choose_control": float(np.mean(np.maximum(a, 0))),
        },
        "expected_loss_relative": {
            "choose_treatment": float(np.mean(np.maximum(-r, 0))),
            "choose_control": float(np.mean(np.maximum(r, 0))),
        },
    }


def _rng(cfg):
    return np.random.default_rng(np.random.SeedSequence([cfg.seed, 20131]))


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(
            np.ascontiguousarray(p).tobytes() if isinstance(p, np.ndarray) else repr(p).encode()
        )
    return h.hexdigest()


def _exact_idata(posterior: dict, prior: dict, coords: dict, dims: dict, log_lik: dict | None):
    import arviz as az

    kwargs = {}
    if log_lik:
        kwargs["log_likelihood"] = log_lik
    return az.from_dict(posterior=posterior, prior=prior, coords=coords, dims=dims, **kwargs)


# ---------------------------------------------------------------------------- conversion


class BetaBinomialReadout(BayesianModel):
    """Conversion per arm: ``conversions ~ Binomial(users, rate)``, ``rate ~ conversion_rate``
    prior (Beta); the posterior is ``Beta(α₀ + k, β₀ + n − k)`` exactly.

    ``fit(table)`` takes one row per arm, control first, with columns ``arm``, ``users``,
    ``conversions``. ``predict()`` gives ``conversion_rate`` (chain, draw, arm) and the
    ``absolute_lift`` / ``relative_lift`` of the second arm over the first (chain, draw).
    """

    domain = "experiments"
    entity = "arm"
    fit_method = "exact"

    @classmethod
    def default_priors(cls):
        return experiment_priors(CONVERSION_PRIORS)

    def _prior_ab(self) -> tuple[float, float]:
        p = self.priors_["conversion_rate"]
        if p.dist != "Beta" or np.ndim(p.params["alpha"]) or np.ndim(p.params["beta"]):
            raise PriorError(
                "the Beta-Binomial readout is conjugate: conversion_rate must be one scalar "
                f"Beta prior, got {p}"
            )
        return float(p.params["alpha"]), float(p.params["beta"])

    def _prepare(self, data) -> pd.DataFrame:
        df = pd.DataFrame(data)
        missing = {"arm", "users", "conversions"} - set(df.columns)
        if missing:
            raise ValueError(
                f"the arm table needs columns arm, users, conversions; missing {sorted(missing)}"
            )
        if len(df) != 2:
            raise ValueError(f"an A/B readout needs two arms, got {len(df)}: {list(df['arm'])}")
        users = df["users"].to_numpy()
        conv = df["conversions"].to_numpy()
        if np.any(users < 1) or np.any(conv < 0) or np.any(conv > users):
            raise ValueError(f"need users >= 1 and 0 <= conversions <= users per arm, got\n{df}")
        if np.any(np.asarray(users) % 1) or np.any(np.asarray(conv) % 1):
            raise ValueError("users and conversions must be whole numbers")
        return pd.DataFrame(
            {
                "arm": df["arm"].astype(str).to_numpy(),
                "users": users.astype(np.int64),
                "conversions": conv.astype(np.int64),
            }
        )

    def _data_hash(self, prepared) -> str:
        return _sha(
            list(prepared["arm"]), prepared["users"].to_numpy(), prepared["conversions"].to_numpy()
        )

    def build_model(self, prepared):
        return build_beta_binomial_model(
            self.priors_, prepared["arm"], prepared["users"], prepared["conversions"]
        )

    def _fit_idata(self, prepared):
        from scipy import stats as st

        a0, b0 = self._prior_ab()
        a, b = beta_posterior(a0, b0, prepared["conversions"], prepared["users"])
        cfg = self.sampler_
        rng = _rng(cfg)
        shape = (cfg.chains, cfg.draws, len(prepared))
        post = rng.beta(a, b, size=shape)
        prior = rng.beta(a0, b0, size=shape)
        loglik = st.binom.logpmf(
            prepared["conversions"].to_numpy(), prepared["users"].to_numpy(), post
        )
        arms = list(prepared["arm"])
        return _exact_idata(
            {"conversion_rate": post},
            {"conversion_rate": prior},
            {"arm": arms},
            {"conversion_rate": ["arm"], "conversions": ["arm"]},
            {"conversions": loglik},
        )

    def _data_groups(self, prepared):
        coords = {"arm": list(prepared["arm"])}
        return {
            "observed_data": xr.Dataset(
                {"conversions": ("arm", prepared["conversions"].to_numpy())}, coords=coords
            ),
            "constant_data": xr.Dataset(
                {"users": ("arm", prepared["users"].to_numpy())}, coords=coords
            ),
        }

    def _restore(self, idata) -> None:
        self.arms_ = [str(a) for a in idata.constant_data["arm"].values]
        self.table_ = pd.DataFrame(
            {
                "arm": self.arms_,
                "users": idata.constant_data["users"].values.astype(np.int64),
                "conversions": idata.observed_data["conversions"].values.astype(np.int64),
            }
        )

    def _diag_vars(self, idata):
        return ["conversion_rate"]

    def posterior_params(self) -> pd.DataFrame:
        """The exact posterior ``Beta(alpha, beta)`` of each arm's rate."""
        self.check_fitted()
        a0, b0 = self._prior_ab()
        a, b = beta_posterior(a0, b0, self.table_["conversions"], self.table_["users"])
        return pd.DataFrame({"arm": self.arms_, "alpha": a, "beta": b})

    def predict(self) -> xr.Dataset:
        self.check_fitted()
        rate = self.idata_.posterior["conversion_rate"]
        c = rate.isel(arm=0, drop=True)
        t = rate.isel(arm=1, drop=True)
        return xr.Dataset(
            {"conversion_rate": rate, "absolute_lift": t - c, "relative_lift": t / c - 1.0}
        )

    def readout(self, prob: float = 0.9) -> dict:
        """Chance to win, expected loss of each choice, lift intervals (see the module)."""
        p = self.predict()
        out = lift_summary(p["absolute_lift"].values, p["relative_lift"].values, prob)
        out["metric"] = "conversion"
        out["model"] = "beta-binomial (exact)"
        out["arms"] = self.arms_
        out["conversion_rate"] = {
            arm: float(p["conversion_rate"].sel(arm=arm).mean()) for arm in self.arms_
        }
        return out


# ---------------------------------------------------------------------------- relative lift


class NormalReadout(BayesianModel):
    """Relative lift of one or more metrics: ``r̂_m ~ Normal(r_m, se_m²)`` (the estimate from
    sums, CUPED- or regression-adjusted where covariates are given), ``r_m ~ relative_lift``
    (Normal); exact Normal posterior per metric.

    ``fit(estimates)`` takes :class:`~models.experiments.estimators.Estimate` objects (or
    one). ``predict()`` gives ``relative_lift`` and ``absolute_lift`` (chain, draw, outcome);
    the absolute lift is the relative one times the control's (adjusted) mean, a plug-in whose
    own error is negligible next to the lift's on arms of thousands of users.

    The prior can be learned from past experiments:
    ``NormalReadout(priors={"relative_lift": library.next_lift_prior()})``.
    """

    domain = "experiments"
    entity = DIM
    fit_method = "exact"

    @classmethod
    def default_priors(cls):
        return experiment_priors(LIFT_PRIORS)

    def _prior_normal(self) -> tuple[float, float]:
        p = self.priors_["relative_lift"]
        if p.dist != "Normal" or np.ndim(p.params.get("mu", 0.0)) or np.ndim(p.params["sigma"]):
            raise PriorError(
                f"the Normal readout is conjugate: relative_lift must be one scalar Normal prior, got {p}"
            )
        return float(p.params.get("mu", 0.0)), float(p.params["sigma"])

    def _prepare(self, data) -> pd.DataFrame:
        ests = [data] if isinstance(data, Estimate) else list(data)
        if not ests or not all(isinstance(e, Estimate) for e in ests):
            raise ValueError("NormalReadout.fit takes Estimate objects (models.experiments)")
        names = [e.metric for e in ests]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names must be unique, got {names}")
        rows = []
        for e in ests:
            if e.mean[0] == 0:
                raise ValueError(
                    f"metric {e.metric!r}: control mean is 0, so a relative lift is undefined"
                )
            if not e.se_relative > 0:
                raise ValueError(
                    f"metric {e.metric!r}: the lift's standard error is 0 (no variation)"
                )
            rows.append(
                {
                    "metric": e.metric,
                    "method": e.method,
                    "lift_hat": e.relative,
                    "lift_se": e.se_relative,
                    "mean_control": e.mean[0],
                    "mean_treatment": e.mean[1],
                    "n_control": e.n[0],
                    "n_treatment": e.n[1],
                }
            )
        return pd.DataFrame(rows)

    def _data_hash(self, prepared) -> str:
        return _sha(prepared.to_json(orient="split", double_precision=15))

    def build_model(self, prepared):
        import pymc as pm

        with pm.Model(coords={DIM: list(prepared["metric"])}) as model:
            r = self.priors_["relative_lift"].to_pymc("relative_lift", dims=(DIM,))
            pm.Normal(
                "lift_hat",
                mu=r,
                sigma=prepared["lift_se"].to_numpy(),
                observed=prepared["lift_hat"].to_numpy(),
                dims=DIM,
            )
        return model

    def _fit_idata(self, prepared):
        from scipy import stats as st

        mu0, sd0 = self._prior_normal()
        mean, sd = normal_posterior(mu0, sd0, prepared["lift_hat"], prepared["lift_se"])
        cfg = self.sampler_
        rng = _rng(cfg)
        shape = (cfg.chains, cfg.draws, len(prepared))
        post = mean + sd * rng.standard_normal(shape)
        prior = mu0 + sd0 * rng.standard_normal(shape)
        loglik = st.norm.logpdf(
            prepared["lift_hat"].to_numpy(), post, prepared["lift_se"].to_numpy()
        )
        return _exact_idata(
            {"relative_lift": post},
            {"relative_lift": prior},
            {DIM: list(prepared["metric"])},
            {"relative_lift": [DIM], "lift_hat": [DIM]},
            {"lift_hat": loglik},
        )

    def _data_groups(self, prepared):
        coords = {DIM: list(prepared["metric"])}
        const = {
            k: (DIM, prepared[k].to_numpy())
            for k in ("lift_se", "mean_control", "mean_treatment", "n_control", "n_treatment")
        }
        const["method"] = (DIM, prepared["method"].astype(str).to_numpy())
        return {
            "observed_data": xr.Dataset(
                {"lift_hat": (DIM, prepared["lift_hat"].to_numpy())}, coords=coords
            ),
            "constant_data": xr.Dataset(const, coords=coords),
        }

    def _restore(self, idata) -> None:
        cd = idata.constant_data
        self.metrics_ = [str(m) for m in cd[DIM].values]
        self.table_ = pd.DataFrame(
            {
                "metric": self.metrics_,
                "method": [str(m) for m in cd["method"].values],
                "lift_hat": idata.observed_data["lift_hat"].values,
                **{
                    k: cd[k].values
                    for k in (
                        "lift_se",
                        "mean_control",
                        "mean_treatment",
                        "n_control",
                        "n_treatment",
                    )
                },
            }
        )

    def _diag_vars(self, idata):
        return ["relative_lift"]

    def posterior_params(self) -> pd.DataFrame:
        """The exact Normal posterior ``(mean, sd)`` of each metric's relative lift."""
        self.check_fitted()
        mu0, sd0 = self._prior_normal()
        mean, sd = normal_posterior(mu0, sd0, self.table_["lift_hat"], self.table_["lift_se"])
        return pd.DataFrame({"metric": self.metrics_, "mean": mean, "sd": sd})

    def predict(self) -> xr.Dataset:
        self.check_fitted()
        rel = self.idata_.posterior["relative_lift"]
        base = xr.DataArray(
            self.table_["mean_control"].to_numpy(), dims=DIM, coords={DIM: self.metrics_}
        )
        return xr.Dataset({"relative_lift": rel, "absolute_lift": rel * base})

    def readout(self, prob: float = 0.9, metrics: Sequence[str] | None = None) -> list[dict]:
        """One :func:`lift_summary` per metric, with the estimate it was conditioned on."""
        p = self.predict()
        out = []
        for m in metrics or self.metrics_:
            row = self.table_.set_index("metric").loc[m]
            s = lift_summary(
                p["absolute_lift"].sel({DIM: m}).values,
                p["relative_lift"].sel({DIM: m}).values,
                prob,
            )
            s.update(
                {
                    "metric": m,
                    "model": f"normal on the relative lift ({row['method']}, exact)",
                    "lift_hat": float(row["lift_hat"]),
                    "lift_se": float(row["lift_se"]),
                    "mean_control": float(row["mean_control"]),
                }
            )
            out.append(s)
        return out
