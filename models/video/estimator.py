"""The video pilot update on the model contract: :class:`VideoPilotModel`.

``VideoPilotModel(priors, sampler).fit(pilot)`` conditions the video priors
(:mod:`priors.video`) on a pilot table with NUTS (likelihood: :mod:`models.video.likelihood`)
and returns the model with ``idata_`` (groups prior, prior_predictive, posterior,
posterior_predictive, log_likelihood, observed_data, constant_data, sample_stats) and
``diagnostics_``. ``predict()`` pushes every posterior draw through the exact population
simulation (:func:`models.video.simulator.simulate_population`): ΔCore per mode, α and β, and
the posterior predictive of the pilot counts, with ``chain, draw`` dims. ``save`` / ``load``
(or :func:`bayes.load`) round-trip through one NetCDF: the pilot table and the population
constants (segment shares and baselines, active base, minutes noise σ) are in
``constant_data``, the priors in the ``prior_spec`` attr, so a reloaded model predicts
identically without refitting.

Seeds. One seed drives the whole update; :func:`seed_streams` splits it into independent
streams (NUTS, prior draws, posterior predictive, population simulation, sensitivity grid).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.base import BayesianModel
from models.sampling import SamplerConfig, default_cores, sample
from models.summaries import stack_draws
from models.video.likelihood import (
    OBSERVED,
    PilotLayout,
    build_pilot_model,
    pilot_layout,
    row_log_likelihood,
    set_pilot_data,
)
from models.video.simulator import PARAM_NAMES, PRIOR_NAMES, prior_draws, simulate_population
from priors.segments import SEGMENT_KEYS
from priors.spec import PriorSet
from priors.video import DIMS, MODES, VideoPriors

__all__ = ["PILOT_COLUMNS", "VideoPilotModel", "seed_streams"]

#: pilot columns the model reads (the last two optional)
PILOT_COLUMNS: tuple[str, ...] = (
    "segment",
    "arm",
    "users",
    "adopters",
    "core_90d",
    "video_sessions_7d",
    "video_minutes_7d",
)
_COUNTS = ("users", "adopters", "core_90d")


def seed_streams(seed: int) -> dict[str, int]:
    """Independent seeds for each random step of an update with ``seed``.

    ``population`` (ΔCore under the posterior) and ``grid`` (the sensitivity heatmap) are
    children of ``np.random.SeedSequence(seed)``; NUTS, the prior draws and the posterior
    predictive are drawn from the first child (the scheme the published numbers of
    ``docs/updating.md`` were computed with).
    """
    s_fit, s_pop, s_grid = (
        int(c.generate_state(1)[0]) for c in np.random.SeedSequence(int(seed)).spawn(3)
    )
    nuts, prior, ppc = np.random.default_rng(s_fit).integers(0, 2**31 - 1, size=3)
    return {
        "nuts": int(nuts),
        "prior": int(prior),
        "posterior_predictive": int(ppc),
        "population": s_pop,
        "grid": s_grid,
    }


class _StopLaterChains:
    """A ``pm.sample`` callback for chains sampled one after another (one core).

    PyMC swallows a ``KeyboardInterrupt`` per chain: a Ctrl-C or SIGTERM ends the current
    chain and the next one starts, so :func:`models.sampling.sample` would refuse the partial
    posterior only after every later chain had run to the end. A chain that ended early can
    only have been interrupted, so the next chains stop at their first draw.
    """

    def __init__(self, per_chain: int):
        self.per_chain = per_chain
        self.last: dict[int, int] = {}

    def __call__(self, trace, draw) -> None:
        if any(c != draw.chain and i < self.per_chain - 1 for c, i in self.last.items()):
            raise KeyboardInterrupt
        self.last[draw.chain] = draw.draw_idx


def _sample(model, cfg: SamplerConfig, **kwargs):
    """:func:`models.sampling.sample`, stopping every chain on an interrupt (see above).

    An interrupt during the tuning of the first chain leaves PyMC no draw to keep, and it
    raises ``ValueError("Not enough samples ...")``: that too is reported as
    :class:`~models.sampling.SamplingInterrupted` (without the signal's name). ``kwargs`` go
    to :func:`~models.sampling.sample` (``step=``: a NUTS step reused across studies' refits).
    """
    from models.sampling import SamplingInterrupted

    cores = cfg.cores or default_cores(cfg.chains)
    if cfg.backend == "pymc" and cores == 1 and cfg.chains > 1:
        kwargs["callback"] = _StopLaterChains(cfg.tune + cfg.draws)
    try:
        return sample(model, cfg, **kwargs)
    except ValueError as exc:
        if "Not enough samples" in str(exc):
            raise SamplingInterrupted("sampling interrupted during tuning") from exc
        raise


@dataclass(frozen=True)
class _Prepared:
    pilot: pd.DataFrame
    layout: PilotLayout
    declaration: VideoPriors


class VideoPilotModel(BayesianModel):
    """Bayesian update of the video priors after a pilot (seed 000 §9–§11).

    Parameters
    ----------
    priors
        ``None`` (the declared priors, :class:`priors.video.VideoPriors`), a
        :class:`VideoPriors` (an edited table, other segments, a different minutes noise),
        its :class:`~priors.spec.PriorSet`, or a mapping of overrides (``{"alpha": Prior(...)}``;
        an override without dims takes the entry's dims).
    sampler
        A :class:`models.sampling.SamplerConfig` (or its dict); ``None``: the defaults.

    Examples
    --------
    >>> model = VideoPilotModel(sampler=SamplerConfig(draws=500, chains=4)).fit(pilot)
    >>> model.predict()["delta_core"]       # (chain, draw, mode)
    >>> model.save("posterior.nc"); bayes.load("posterior.nc").predict()   # identical
    """

    domain = "video"
    entity = "pilot_row"
    time_unit = "week"  # sessions and minutes are weekly; Core_90d is a 90-day outcome

    # ------------------------------------------------------------------ configuration
    @classmethod
    def default_priors(cls) -> PriorSet:
        return VideoPriors().declarations()

    @property
    def declaration_(self) -> VideoPriors:
        """The :class:`VideoPriors` in use: priors plus population constants (after
        :meth:`load`, rebuilt from the file's ``prior_spec`` and ``constant_data``)."""
        restored = getattr(self, "_restored_declaration", None)
        return restored if restored is not None else _declaration_of(self.priors)

    @property
    def priors_(self) -> PriorSet:
        if isinstance(self.priors, PriorSet):
            return self.priors
        return self.declaration_.declarations()

    @property
    def seed_(self) -> int:
        self.check_fitted()
        return int(self.idata_.attrs["seed"])

    # ------------------------------------------------------------------ hooks
    def _prepare(self, data: pd.DataFrame) -> _Prepared:
        """Model-level checks of a pilot table (the user-facing validation with file, column
        and rows is :func:`bayes.video.data.validate_pilot`, run before)."""
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"a pilot table must be a DataFrame, got {type(data).__name__}")
        missing = [c for c in PILOT_COLUMNS[:5] if c not in data.columns]
        if missing:
            raise ValueError(f"the pilot table lacks column(s) {missing}")
        pilot = data[[c for c in PILOT_COLUMNS if c in data.columns]].reset_index(drop=True)
        counts = pilot[list(_COUNTS)].to_numpy(dtype=float)
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError("pilot counts must be finite and non-negative; validate the table")
        if np.any(pilot["adopters"] > pilot["users"]) or np.any(pilot["core_90d"] > pilot["users"]):
            raise ValueError("adopters and core_90d cannot exceed users; validate the table")
        for col in PILOT_COLUMNS[5:]:
            if col in pilot and np.isinf(pilot[col].to_numpy(dtype=float)).any():
                raise ValueError(f"{col} must be finite; validate the table")
        self._restored_declaration = None
        return _Prepared(pilot, pilot_layout(pilot), _declaration_of(self.priors))

    def _data_hash(self, prepared: _Prepared) -> str:
        return pilot_hash(prepared.pilot)

    def build_model(self, prepared: _Prepared):
        """The PyMC model (:func:`models.video.likelihood.build_pilot_model`); a model built
        for the same priors and pilot layout is reused with the new counts (no recompile)."""
        decl = prepared.declaration
        key = (self.priors_.to_json(), decl.minutes_log_sd, prepared.layout.rows)
        cached = getattr(self, "_model_cache", None)
        if cached is not None and cached[0] == key:
            try:
                set_pilot_data(cached[1], prepared.pilot)
                return cached[1]
            except ValueError:  # same rows, other usage columns: build anew
                pass
        model = build_pilot_model(prepared.pilot, self.priors_, minutes_log_sd=decl.minutes_log_sd)
        self._model_cache = (key, model)
        return model

    def _diag_vars(self, idata) -> list[str]:
        """The sampled parameters: every prior that is not a point mass."""
        return [n for n, p in self.priors_.items() if p.dist != "Point"]

    def _fit_idata(self, prepared: _Prepared):
        """NUTS, then the prior (the one prior sampler), prior and posterior predictive and
        the pointwise log-likelihood per pilot row."""
        import pymc as pm
        from pymc.model.fgraph import clone_model

        model = self.build_model(prepared)
        cfg = self.sampler_
        seeds = seed_streams(cfg.seed)
        cfg_nuts = cfg.replace(seed=seeds["nuts"])
        idata = _sample(model, cfg_nuts, **self._laplace_start(model, cfg_nuts))
        n_prior = cfg.draws * cfg.chains
        prior = prior_dataset(prior_draws(self.priors_, n_prior, seeds["prior"]))
        with warnings.catch_warnings():
            # the adoption_cap potential only acts on the posterior (see models.video.likelihood)
            warnings.filterwarnings("ignore", message=".*[Pp]otential.*")
            # on clones: sample_posterior_predictive leaves PyMC 5.28's model unable to compile
            # its logp again, which would break refits of the cached model
            prior_pred = pm.sample_posterior_predictive(
                prior,
                model=clone_model(model),
                var_names=[v for v in OBSERVED if v in model.named_vars],
                random_seed=seeds["prior"],
                progressbar=False,
            ).posterior_predictive
            pm.sample_posterior_predictive(
                idata,
                model=clone_model(model),
                extend_inferencedata=True,
                random_seed=seeds["posterior_predictive"],
                progressbar=False,
            )
            log_lik = pm.compute_log_likelihood(
                idata, model=clone_model(model), extend_inferencedata=False, progressbar=False
            )
        idata.add_groups(
            {
                "prior": prior,
                "prior_predictive": prior_pred,
                "log_likelihood": row_log_likelihood(log_lik, prepared.layout).to_dataset(),
            }
        )
        return idata

    def _data_groups(self, prepared: _Prepared) -> dict:
        p, decl = prepared.pilot, prepared.declaration
        rows = {"pilot_row": list(prepared.layout.rows)}
        data: dict[str, Any] = {
            f"pilot_{c}": ("pilot_row", p[c].to_numpy()) for c in PILOT_COLUMNS if c in p
        }
        data["segment_share"] = ("segment", decl.shares)
        data["segment_baseline_core_90d"] = ("segment", decl.baselines)
        data["active_base"] = ((), np.int64(decl.active_base))
        data["minutes_log_sd"] = ((), float(decl.minutes_log_sd))
        ds = xr.Dataset(data, coords={**rows, "segment": list(SEGMENT_KEYS)})
        for c in ("pilot_segment", "pilot_arm"):
            ds[c] = ds[c].astype(str)
        return {"constant_data": ds}

    def _restore(self, idata) -> None:
        cd = idata.constant_data
        cols = {c: cd[f"pilot_{c}"].to_numpy() for c in PILOT_COLUMNS if f"pilot_{c}" in cd}
        pilot = pd.DataFrame(cols)
        for c in ("segment", "arm"):
            pilot[c] = pilot[c].astype(str).astype(object)
        self.pilot_ = pilot
        self.layout_ = pilot_layout(pilot)
        if getattr(self, "_restored_declaration", None) is None and not hasattr(
            self, "_model_cache"
        ):
            segments = pd.DataFrame(
                {
                    "segment": list(SEGMENT_KEYS),
                    "share": cd["segment_share"].to_numpy(),
                    "baseline_core_90d": cd["segment_baseline_core_90d"].to_numpy(),
                }
            )
            self._restored_declaration = VideoPriors(
                segments=segments,
                active_base=int(cd["active_base"].item()),
                minutes_log_sd=float(cd["minutes_log_sd"].item()),
                overrides=dict(PriorSet.from_json(idata.attrs["prior_spec"])),
            )

    # ------------------------------------------------------------------ studies
    def sample_posterior(self, pilot: pd.DataFrame, seed: int):
        """NUTS only (posterior and sample_stats; no predictive groups, provenance or
        diagnostics), reusing the compiled model for pilots of one layout: for studies that
        refit many pilots (parameter recovery, simulation-based calibration)."""
        prepared = self._prepare(pilot)
        model = self.build_model(prepared)
        cfg = self.sampler_.replace(seed=int(seed))
        return _sample(model, cfg, **self._laplace_start(model, cfg))

    @staticmethod
    def _laplace_start(model, cfg: SamplerConfig) -> dict:
        """``pm.sample`` arguments that start NUTS from the Laplace approximation
        (:mod:`models.laplace`): a dense mass matrix at the posterior's curvature and one
        dispersed start per chain. The pilot identifies products (α with each segment's
        adoption, β with its uplift) more sharply than their factors: from PyMC's default
        start (diagonal adaptation) the sampler needed ~60 leapfrog steps per draw, from this
        one ~11 (see docs/updating.md). The log density is compiled once per model and reads
        the model's ``pm.Data``, so refits on new counts compile nothing. ``{}`` (PyMC's own
        start) for the other backends, or when the mode search fails."""
        if cfg.backend != "pymc":
            return {}
        from models.laplace import laplace, sample_kwargs

        fit = laplace(model)
        return sample_kwargs(model, fit, cfg) if fit.converged else {}

    # ------------------------------------------------------------------ predict
    def predict(self, *, population: str = "high", seed: int | None = None) -> xr.Dataset:
        """The decision quantities under the posterior, with ``chain, draw`` dims.

        Every posterior draw of (baseline, adoption, uplift, sessions, minutes) goes through
        the exact population simulation (:func:`models.video.simulator.simulate_population`)
        on the high-engagement base (``population="all"``: the whole active base).

        Returns a Dataset: ``delta_core``, ``adopters``, ``sessions``, ``minutes``
        (chain, draw, mode) — incremental Core_90d users and weekly usage per mode —,
        ``alpha``, ``beta`` (chain, draw), and the posterior predictive of the pilot counts
        ``core`` (pilot_row), ``adopters_pilot`` (arm_row), ``sessions_7d``, ``minutes_7d``
        (usage_row). ``seed`` (default: the population stream of the fit's seed,
        :func:`seed_streams`) drives the population simulation, so repeated calls and a
        reloaded model give identical results.
        """
        self.check_fitted()
        post = self.idata_.posterior
        params = {n: np.asarray(stack_draws(post[n]).to_numpy(), float) for n in PARAM_NAMES}
        if seed is None:
            seed = seed_streams(self.seed_)["population"]
        sim = simulate_population(params, self.declaration_, int(seed), population=population)
        shape = (post.sizes["chain"], post.sizes["draw"])
        sample_coords = {"chain": post["chain"].to_numpy(), "draw": post["draw"].to_numpy()}
        out = xr.Dataset(
            {
                name: (
                    ("chain", "draw", "mode"),
                    sim[name].to_numpy().reshape(*shape, len(MODES)),
                    sim[name].attrs,
                )
                for name in ("delta_core", "adopters", "sessions", "minutes")
            },
            coords={**sample_coords, "mode": list(MODES)},
        )
        out["alpha"] = post["alpha"]
        out["beta"] = post["beta"]
        pp = self.idata_.posterior_predictive
        for name in OBSERVED:
            if name in pp:
                out["adopters_pilot" if name == "adopters" else name] = pp[name]
        out.attrs.update(
            {
                "population": population,
                "n_population": int(sim.attrs["n_population"]),
                "n_high": int(sim.attrs["n_high"]),
                "seed": int(seed),
            }
        )
        return out


# ---------------------------------------------------------------------------- helpers


def _declaration_of(priors) -> VideoPriors:
    if priors is None:
        return VideoPriors()
    if isinstance(priors, VideoPriors):
        return priors
    if isinstance(priors, PriorSet):
        return VideoPriors(overrides=dict(priors))
    return VideoPriors().with_overrides(priors)


def pilot_hash(pilot: pd.DataFrame) -> str:
    """SHA-256 of a pilot table's contents (its canonical CSV): the ``data_hash`` of a fit."""
    cols = [c for c in PILOT_COLUMNS if c in pilot]
    return hashlib.sha256(pilot[cols].to_csv(index=False).encode()).hexdigest()


def prior_dataset(draws: dict[str, np.ndarray]) -> xr.Dataset:
    """Prior draws of :func:`models.video.simulator.prior_draws` as an ArviZ ``prior`` group
    (one chain)."""
    dims = {**DIMS, "adoption": ("segment", "mode"), "uplift": ("segment", "mode")}
    n = next(iter(draws.values())).shape[0]
    return xr.Dataset(
        {name: (("chain", "draw", *dims[name]), draws[name][None]) for name in PRIOR_NAMES},
        coords={
            "chain": [0],
            "draw": np.arange(n),
            "segment": list(SEGMENT_KEYS),
            "mode": list(MODES),
        },
    )
