"""The model contract: one base for every Bayesian model of the workbench.

It takes the best of scikit-learn's estimator contract and pymc-marketing's ``ModelBuilder``:

* ``__init__(priors=None, sampler=None)`` only stores (no work, no validation);
  ``repr`` shows the priors in use and the sampler.
* :meth:`~BayesianModel.fit` ``(data)`` validates and compresses the data, builds the PyMC
  model from the declared priors (:meth:`build_model`), samples it with the one
  :class:`~models.sampling.SamplerConfig`, stamps the one provenance schema
  (:mod:`models.provenance`) and checks convergence under the one rule
  (:mod:`models.diagnostics`); it returns ``self`` with ``idata_`` and ``diagnostics_``.
* ``predict(...)`` returns xarray with ``chain, draw, <entity>`` dims; tables are summaries of
  it (:func:`models.summaries.draws_table`), never the other way round.
* :meth:`summary` is the parameter table; :meth:`save` / :func:`load` round-trip through one
  NetCDF (the data needed to predict is stored in its ``constant_data`` / ``observed_data``
  groups), so a reloaded model predicts identically without refitting.

A subclass declares ``domain``, ``entity`` and ``default_priors`` and implements
:meth:`_prepare` (validate + compress), :meth:`build_model`, :meth:`_data_groups`,
:meth:`_restore` and ``predict``. A model with an exact posterior overrides :meth:`_fit_idata`
and sets ``fit_method = "exact"``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from models.diagnostics import FitDiagnostics, check_fit, fit_diagnostics
from models.provenance import read_provenance, strip_timing, write_provenance
from models.sampling import SamplerConfig, sample
from models.storage import write_netcdf
from models.summaries import posterior_summary
from priors.spec import PriorSet

__all__ = ["BayesianModel", "NotFittedError", "load"]


class NotFittedError(RuntimeError):
    """A method that needs a posterior was called before :meth:`BayesianModel.fit`."""


class BayesianModel:
    """Base class of the workbench's Bayesian models (see the module docstring)."""

    #: domain name, the same in every layer (``priors/<domain>.py``, ``bayes/<domain>/``)
    domain: ClassVar[str] = ""
    #: the entity dim ``predict`` returns (``customer_id``, ``unit``, ``pilot_row``...)
    entity: ClassVar[str] = ""
    #: time unit of rates and durations in the posterior ("" when none applies)
    time_unit: ClassVar[str] = ""
    #: ``"NUTS"`` or ``"exact"`` (independent draws from a closed-form posterior)
    fit_method: ClassVar[str] = "NUTS"
    #: keyword arguments of ``pm.sample`` this model needs (e.g. a dense mass matrix)
    sample_kwargs: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, priors: PriorSet | Mapping | None = None, sampler=None):
        self.priors = priors
        self.sampler = sampler

    # ------------------------------------------------------------------ configuration
    @classmethod
    def default_priors(cls) -> PriorSet:
        """The domain's declared priors (from :mod:`priors`)."""
        raise NotImplementedError

    @property
    def priors_(self) -> PriorSet:
        """The priors in use: ``priors`` if a full :class:`PriorSet`, the defaults with
        ``priors`` as overrides if a mapping, else the defaults."""
        if isinstance(self.priors, PriorSet):
            return self.priors
        base = self.default_priors()
        return base.with_overrides(self.priors) if self.priors else base

    @property
    def sampler_(self) -> SamplerConfig:
        """The sampler configuration in use (:class:`SamplerConfig` defaults when unset)."""
        if self.sampler is None:
            return SamplerConfig()
        if isinstance(self.sampler, SamplerConfig):
            return self.sampler
        return SamplerConfig.from_dict(self.sampler)

    @classmethod
    def model_class(cls) -> str:
        return f"{cls.__module__}:{cls.__qualname__}"

    def __repr__(self) -> str:
        try:
            priors = repr(self.priors_)
        except Exception:  # noqa: BLE001 - repr must never fail
            priors = repr(self.priors)
        sampler = str(self.sampler_) if self.fit_method == "NUTS" else self.fit_method
        return f"{type(self).__name__}(priors={priors}, sampler={sampler})"

    # ------------------------------------------------------------------ hooks
    def _prepare(self, data) -> Any:
        """Validate (and compress) ``data``; return what :meth:`build_model` needs."""
        raise NotImplementedError

    def build_model(self, prepared):
        """The PyMC model: declared priors (:mod:`priors`) plus this model's likelihood."""
        raise NotImplementedError

    def _data_groups(self, prepared) -> dict:
        """``{"constant_data": Dataset, ...}``: what :meth:`_restore` needs to predict."""
        return {}

    def _restore(self, idata) -> None:
        """Rebuild the fitted state (``data_``...) from a loaded ``idata``."""

    def _data_hash(self, prepared) -> str:
        """SHA-256 of the data the posterior is conditioned on."""
        raise NotImplementedError

    def _diag_vars(self, idata) -> list[str] | None:
        """Variables checked by the diagnostics (default: the free random variables)."""
        return getattr(self, "_free_vars", None)

    def _fit_idata(self, prepared):
        """Default fit: NUTS on :meth:`build_model`, plus prior draws of the free variables."""
        import pymc as pm

        model = self.build_model(prepared)
        self._free_vars = [v.name for v in model.free_RVs]
        cfg = self.sampler_
        idata = sample(model, cfg, **dict(self.sample_kwargs))
        with model:  # a few hundred draws of a small graph: compiling it to C (~7 s) costs
            # more than running it in Python (FAST_COMPILE, ~1 s), with the same draws
            prior = pm.sample_prior_predictive(
                draws=min(500, cfg.draws * cfg.chains),
                random_seed=cfg.seed + 1,
                compile_kwargs={"mode": "FAST_COMPILE"},
            )
        idata.extend(prior)
        self._add_groups(idata, model, prepared)
        return idata

    def _add_groups(self, idata, model, prepared) -> None:
        """Add posterior predictive, log likelihood or other groups (subclasses)."""

    # ------------------------------------------------------------------ contract
    def fit(self, data, *, source: str | os.PathLike | None = None, extra_attrs=None):
        """Condition the priors on ``data``; returns ``self`` with ``idata_`` and
        ``diagnostics_`` (warns loudly if the checks fail)."""
        prepared = self._prepare(data)
        idata = self._fit_idata(prepared)
        for group, ds in self._data_groups(prepared).items():
            if group in idata.groups():
                getattr(idata, group).update(ds)
            else:
                idata.add_groups({group: ds})
        cfg = self.sampler_
        write_provenance(
            idata,
            model_class=self.model_class(),
            domain=self.domain,
            priors=self.priors_,
            data_hash=self._data_hash(prepared),
            data_source=str(source) if source is not None else "<DataFrame>",
            seed=cfg.seed,
            sampler=cfg
            if self.fit_method == "NUTS"
            else {"method": self.fit_method, **cfg.to_dict()},
            time_unit=self.time_unit,
            extra=extra_attrs,
        )
        self.idata_ = idata
        self.diagnostics_ = check_fit(
            idata,
            f"{self.domain or type(self).__name__} posterior",
            var_names=self._diag_vars(idata),
            method=self.fit_method,
        )
        self._restore(idata)
        return self

    def check_fitted(self) -> None:
        if not hasattr(self, "idata_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load()")

    @property
    def diagnostics(self) -> FitDiagnostics:
        self.check_fitted()
        return self.diagnostics_

    def summary(self, var_names=None, prob: float = 0.9):
        """Parameter table: ``variable, coords, mean, sd, median, lower_90, upper_90,
        ess_bulk, ess_tail, r_hat`` (central intervals of probability ``prob``)."""
        self.check_fitted()
        names = var_names if var_names is not None else self._diag_vars(self.idata_)
        return posterior_summary(self.idata_, names, prob)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the posterior with its data and provenance to one NetCDF (atomically)."""
        self.check_fitted()
        return write_netcdf(strip_timing(self.idata_), path)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Reopen a file written by :meth:`save` as its model (checks the class)."""
        obj = load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj

    @classmethod
    def from_idata(cls, idata):
        """A fitted model from an ``InferenceData`` written by this class."""
        prov = read_provenance(idata)
        sampler = prov["sampler"] if isinstance(prov["sampler"], dict) else None
        if sampler is not None:
            sampler = {k: v for k, v in sampler.items() if k != "method"}
        obj = cls(priors=PriorSet.from_dict(prov["prior_spec"]), sampler=sampler)
        obj.idata_ = idata
        obj._restore(idata)
        obj.diagnostics_ = fit_diagnostics(
            idata, var_names=obj._diag_vars(idata), method=cls.fit_method
        )
        return obj


def _import_class(spec: str):
    module, _, name = spec.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot find the model class {spec!r} of this file ({exc})") from exc
    if not (isinstance(obj, type) and issubclass(obj, BayesianModel)):
        raise ValueError(f"{spec!r} is not a workbench model class")
    return obj


def load(path: str | os.PathLike) -> BayesianModel:
    """Open any domain's posterior NetCDF as its fitted model (no refit).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` when the file is not a
    workbench posterior (no provenance, unknown model class).
    """
    import arviz as az

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        idata = az.from_netcdf(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a posterior file"
        raise ValueError(f"{path}: not an ArviZ NetCDF file ({exc})") from exc
    idata = idata.load() if hasattr(idata, "load") else idata
    try:
        prov = read_provenance(idata)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    cls = _import_class(prov["model_class"])
    return cls.from_idata(idata)
