"""One provenance schema for every posterior file, written by one function and read by one.

Every NetCDF the workbench saves carries these attrs (:data:`PROVENANCE_KEYS`):

=================  ==========================================================================
``schema``         ``"bayes-posterior/1"``
``model_class``    ``"module:Class"`` of the model that wrote it; :func:`models.load` uses it
``domain``         ``video``, ``signup``, ``ltv``, ``rates``, ``experiments``...
``prior_spec``     the :class:`priors.spec.PriorSet` as JSON (:meth:`PriorSet.to_json`)
``data_hash``      SHA-256 of the data the model was conditioned on
``data_source``    where the data came from (a path relative to the outputs, or a label)
``seed``           the seed of everything random in the fit
``package_version``  version of the workbench
``sampler``        the :class:`models.sampling.SamplerConfig` as JSON (or ``"exact"`` draws)
``time_unit``      the time unit of rates and durations (``"week"``...), ``""`` when none
=================  ==========================================================================

Wall-clock times are *not* in the file: the same inputs and seed give a byte-identical NetCDF
(:func:`strip_timing` removes ArviZ/PyMC's ``created_at`` and ``sampling_time``). When and
how long a run took is in the run record (``manifest.json``) written beside the outputs;
:func:`read_provenance` adds its ``created_at`` when the file sits in such a folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "PROVENANCE_KEYS",
    "SCHEMA",
    "package_version",
    "read_provenance",
    "strip_timing",
    "write_provenance",
]

SCHEMA = "bayes-posterior/1"
PROVENANCE_KEYS: tuple[str, ...] = (
    "schema",
    "model_class",
    "domain",
    "prior_spec",
    "data_hash",
    "data_source",
    "seed",
    "package_version",
    "sampler",
    "time_unit",
)
#: group attrs that change from run to run and carry no information about the result
_TIMING_ATTRS = ("created_at", "sampling_time")
#: PyMC's per-draw timing statistics in ``sample_stats`` (wall-clock, never reproducible)
_TIMING_STATS = ("perf_counter_start", "perf_counter_diff", "process_time_diff")


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayes-workbench")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0+unknown"


def strip_timing(idata):
    """Remove wall-clock attrs (``created_at``, ``sampling_time``) from every group and PyMC's
    per-draw timing statistics from ``sample_stats``, in place."""
    for group in idata.groups():
        attrs = getattr(idata, group).attrs
        for k in _TIMING_ATTRS:
            attrs.pop(k, None)
    if "sample_stats" in idata.groups():
        ss = idata.sample_stats
        drop = [v for v in _TIMING_STATS if v in ss.data_vars]
        if drop:
            idata.sample_stats = ss.drop_vars(drop)
    for k in _TIMING_ATTRS:
        idata.attrs.pop(k, None)
    return idata


def _json(value) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "to_dict"):
        return json.dumps(value.to_dict(), sort_keys=True)
    return json.dumps(value, sort_keys=True)


def write_provenance(
    idata,
    *,
    model_class: str,
    domain: str,
    priors,
    data_hash: str,
    data_source: str = "<DataFrame>",
    seed: int,
    sampler,
    time_unit: str = "",
    extra: dict[str, Any] | None = None,
):
    """Set the provenance attrs on ``idata`` (in place; returns it) and strip timing attrs.

    ``priors`` is a :class:`~priors.spec.PriorSet` (or its JSON), ``sampler`` a
    :class:`~models.sampling.SamplerConfig` (or a dict / string such as ``"exact"``).
    ``extra`` adds domain attrs (scalars or JSON strings).
    """
    attrs = {
        "schema": SCHEMA,
        "model_class": model_class,
        "domain": domain,
        "prior_spec": _json(priors),
        "data_hash": str(data_hash),
        "data_source": str(data_source),
        "seed": int(seed),
        "package_version": package_version(),
        "sampler": _json(sampler),
        "time_unit": str(time_unit or ""),
    }
    for k, v in (extra or {}).items():
        if k in attrs:
            raise ValueError(f"extra attr {k!r} would overwrite a provenance key")
        attrs[k] = v if isinstance(v, (str, int, float)) else _json(v)
    idata.attrs.update(attrs)
    return strip_timing(idata)


def read_provenance(source) -> dict[str, Any]:
    """The provenance of an ``InferenceData`` or a NetCDF path, JSON fields decoded.

    Raises ``ValueError`` naming the missing keys when the file does not follow the schema.
    For a path, ``created_at`` and ``duration_s`` come from the run record beside it, when
    there is one.
    """
    path = None
    if isinstance(source, (str, os.PathLike)):
        import arviz as az

        path = Path(source)
        idata = az.from_netcdf(str(path))
    else:
        idata = source
    attrs = dict(idata.attrs)
    missing = [k for k in PROVENANCE_KEYS if k not in attrs]
    if missing:
        where = f"{path}: " if path else ""
        raise ValueError(f"{where}not a workbench posterior (missing attrs {missing})")
    out = dict(attrs)
    for k in ("prior_spec", "sampler"):
        try:
            out[k] = json.loads(attrs[k])
        except (TypeError, ValueError):
            out[k] = attrs[k]
    out["seed"] = int(attrs["seed"])
    if path is not None:
        record = _run_record(path)
        if record:
            out["created_at"] = record.get("created_at")
            out["duration_s"] = record.get("duration_s")
    return out


def _run_record(path: Path) -> dict | None:
    for folder in (path.parent, path.parent.parent):
        m = folder / "manifest.json"
        if m.is_file():
            try:
                return json.loads(m.read_text()).get("run", {})
            except ValueError:
                return None
    return None
