"""The prior for the next lift, learned from a library of past experiments — and updated by
every new readout. This is the "updating priors after experiments" loop of the workbench.

:class:`LiftLibrary` is the hierarchical model of :func:`.likelihood.build_library_model`:
each past experiment ``j`` reported a relative lift ``r̂_j`` with standard error ``se_j``; its
true lift ``θ_j`` comes from the company-wide distribution ``Normal(lift_mean, lift_sd²)``,
whose parameters are learned by NUTS. The distribution of the *next* experiment's lift is
the posterior predictive ``θ_new ~ Normal(lift_mean, lift_sd²)``, averaged over the posterior.

The loop::

    lib = LiftLibrary().fit(past)                     # NUTS on the past lifts
    lib.save("library.nc")                            # a reviewer can open it with ArviZ
    prior = bayes.load("library.nc").next_lift_prior()
    readout = NormalReadout(priors={"relative_lift": prior}).fit(estimate)
    lib2 = lib.update([estimate])                     # the new experiment joins the library

:meth:`LiftLibrary.next_lift_prior` moment-matches the predictive with a Normal (so the readout
stays conjugate and its prior is one reviewable line); :meth:`predictive_check` reports how
far the Normal's quantiles sit from the predictive's, which the tests bound.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from models.base import BayesianModel
from models.experiments.estimators import Estimate
from models.experiments.likelihood import build_library_model, library_lift_draws
from priors.experiments import LIBRARY_PRIORS, experiment_priors
from priors.spec import Prior

__all__ = ["LIBRARY_COLUMNS", "LiftLibrary"]

#: columns of a library table: one row per past experiment (relative lifts)
LIBRARY_COLUMNS: tuple[str, ...] = ("experiment", "lift", "se")


class LiftLibrary(BayesianModel):
    """Hierarchical model of past relative lifts (see the module docstring).

    ``fit(table)`` takes columns ``experiment`` (unique names), ``lift`` (the estimated relative
    lift, 0.02 = +2%) and ``se`` (its standard error, > 0). ``predict()`` gives ``lift``
    (chain, draw, experiment): each past experiment's shrunken true lift, and ``next_lift``
    (chain, draw): the predictive of the next experiment's lift.
    """

    domain = "experiments"
    entity = "experiment"

    @classmethod
    def default_priors(cls):
        return experiment_priors(LIBRARY_PRIORS)

    def _prepare(self, data) -> pd.DataFrame:
        df = pd.DataFrame(data)
        missing = [c for c in LIBRARY_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(
                f"a library of past lifts needs columns {list(LIBRARY_COLUMNS)}; missing {missing}"
            )
        if len(df) == 0:
            raise ValueError("the library of past experiments is empty")
        names = df["experiment"].astype(str)
        dup = names[names.duplicated()].tolist()
        if dup:
            raise ValueError(f"experiment names must be unique; repeated: {dup[:5]}")
        lift = pd.to_numeric(df["lift"], errors="coerce").to_numpy(float)
        se = pd.to_numeric(df["se"], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(lift) | ~np.isfinite(se) | (se <= 0)
        if bad.any():
            raise ValueError(
                f"lift must be finite and se finite and > 0; bad rows for experiments "
                f"{names[bad].tolist()[:5]}"
            )
        return pd.DataFrame({"experiment": names.to_numpy(), "lift": lift, "se": se})

    def _data_hash(self, prepared) -> str:
        return hashlib.sha256(
            prepared.to_json(orient="split", double_precision=15).encode()
        ).hexdigest()

    def build_model(self, prepared):
        return build_library_model(
            self.priors_, prepared["experiment"], prepared["lift"], prepared["se"]
        )

    def _add_groups(self, idata, model, prepared) -> None:
        """``lift`` (chain, draw, experiment): each past experiment's true lift drawn from its
        exact conditional given the sampled ``(lift_mean, lift_sd)`` (seeded by the fit's
        seed); the pointwise (marginal) log-likelihood."""
        import pymc as pm

        post = idata.posterior
        rng = np.random.default_rng(np.random.SeedSequence([self.sampler_.seed, 515151]))
        draws = library_lift_draws(
            post["lift_mean"].values,
            post["lift_sd"].values,
            prepared["lift"].to_numpy(),
            prepared["se"].to_numpy(),
            rng,
        )
        post["lift"] = xr.DataArray(
            draws,
            dims=("chain", "draw", "experiment"),
            coords={
                "chain": post["chain"],
                "draw": post["draw"],
                "experiment": list(prepared["experiment"]),
            },
        )
        pm.compute_log_likelihood(idata, model=model, extend_inferencedata=True, progressbar=False)

    def _restore(self, idata) -> None:
        self.experiments_ = [str(e) for e in idata.constant_data["experiment"].values]
        self.data_ = pd.DataFrame(
            {
                "experiment": self.experiments_,
                "lift": idata.observed_data["lift_hat"].values.astype(float),
                "se": idata.constant_data["lift_se"].values.astype(float),
            }
        )

    def _diag_vars(self, idata):
        return ["lift_mean", "lift_sd", "lift"]

    def predict(self) -> xr.Dataset:
        """``lift`` per past experiment and ``next_lift``, the predictive for a new one (its
        Normal noise drawn with the fit's seed, so a reloaded model predicts identically)."""
        self.check_fitted()
        post = self.idata_.posterior
        rng = np.random.default_rng(np.random.SeedSequence([self.sampler_.seed, 424242]))
        eps = rng.standard_normal(post["lift_mean"].shape)
        nxt = post["lift_mean"] + post["lift_sd"] * xr.DataArray(eps, dims=("chain", "draw"))
        return xr.Dataset({"lift": post["lift"], "next_lift": nxt})

    def next_lift_prior(self) -> Prior:
        """A Normal with the predictive's mean and sd: the prior for the next readout."""
        x = self.predict()["next_lift"].values.ravel()
        return Prior(
            "Normal", {"mu": round(float(x.mean()), 10), "sigma": round(float(x.std(ddof=1)), 10)}
        )

    def predictive_check(
        self, probs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)
    ) -> pd.DataFrame:
        """Quantiles of the predictive draws beside those of :meth:`next_lift_prior`."""
        x = self.predict()["next_lift"].values.ravel()
        prior = self.next_lift_prior()
        fitted = prior._scipy().ppf(list(probs))
        return pd.DataFrame(
            {"prob": list(probs), "predictive": np.quantile(x, probs), "normal": fitted}
        )

    def update(self, new: Sequence[Estimate] | pd.DataFrame, *, names: Sequence[str] | None = None):
        """A new library: this one's experiments plus ``new`` (estimates or rows of
        ``experiment, lift, se``), refitted with the same priors and sampler."""
        self.check_fitted()
        if isinstance(new, pd.DataFrame):
            rows = new[list(LIBRARY_COLUMNS)]
        else:
            ests = [new] if isinstance(new, Estimate) else list(new)
            labels = list(names) if names is not None else [e.metric for e in ests]
            rows = pd.DataFrame(
                {
                    "experiment": labels,
                    "lift": [e.relative for e in ests],
                    "se": [e.se_relative for e in ests],
                }
            )
        table = pd.concat([self.data_, rows], ignore_index=True)
        return type(self)(priors=self.priors_, sampler=self.sampler_).fit(table)

    def _data_groups(self, prepared):
        return {
            "constant_data": xr.Dataset(
                {"lift_se": ("experiment", prepared["se"].to_numpy())},
                coords={"experiment": list(prepared["experiment"])},
            )
        }
