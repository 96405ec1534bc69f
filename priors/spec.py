"""Priors as data: one record per belief (:class:`Prior`) and one container per domain
(:class:`PriorSet`), printable, serialisable, reviewable as a table and turned into PyMC
variables by one method.

The idea follows ``pymc_extras.prior.Prior``: a decision scientist states a belief as a small
record (distribution name, parameters, dims), reviews it as a table, and the same record builds
the PyMC random variable for forward simulation and for updating. A belief can also be stated
the way people know it — a median and a 90% interval, or two quantiles — and the distribution
is fitted to it (:meth:`Prior.from_interval`, :meth:`Prior.from_quantiles`; the idea of
``pymc_extras``' ``constrain`` and PreliZ's ``maxent``), with the achieved interval reported.

>>> p = Prior.beta_from_mean(0.7, concentration=50)
>>> str(p)
'Beta(alpha=35, beta=15)'
>>> round(p.mean(), 3)
0.7
>>> q = Prior.from_interval("LogNormal", 0.5, 2.0, mass=0.9)
>>> [round(v, 3) for v in q.interval(0.9)]
[0.5, 2.0]

Interval naming
---------------
Every table and JSON of the workbench names a central interval of probability ``prob`` by
:func:`interval_names`: ``lower_90`` / ``upper_90`` for 0.9, ``lower_50`` / ``upper_50`` for
0.5 (prefixed by the quantity where a table holds several: ``ltv_12m_lower_90``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "REVIEW_COLUMNS",
    "Prior",
    "PriorError",
    "PriorSet",
    "interval_label",
    "interval_names",
]

_SUPPORTED = {
    "Beta",
    "Gamma",
    "Normal",
    "HalfNormal",
    "LogNormal",
    "Exponential",
    "TruncatedNormal",
    "Point",
}
#: the parameters each distribution needs (others are optional)
_REQUIRED = {
    "Beta": ("alpha", "beta"),
    "Gamma": ("alpha", "beta"),
    "Normal": ("sigma",),
    "HalfNormal": ("sigma",),
    "LogNormal": ("sigma",),
    "Exponential": ("lam",),
    "TruncatedNormal": ("sigma",),
    "Point": ("value",),
}
#: parameters that must be strictly positive
_POSITIVE = {"alpha", "beta", "sigma", "lam"}


class PriorError(ValueError):
    """An invalid prior declaration; the message names the entry."""


def interval_label(prob: float) -> str:
    """``0.9 -> "90"``, ``0.5 -> "50"``, ``0.975 -> "97.5"``."""
    if not 0 < prob < 1:
        raise ValueError(f"an interval probability must lie in (0, 1), got {prob!r}")
    return f"{prob * 100:.10g}"


def interval_names(prob: float = 0.9, prefix: str = "") -> tuple[str, str]:
    """Column/key names of a central ``prob`` interval: ``("lower_90", "upper_90")``, or with a
    ``prefix`` ``("ltv_lower_90", "ltv_upper_90")``. The one convention of the workbench."""
    lab = interval_label(prob)
    pre = f"{prefix}_" if prefix else ""
    return f"{pre}lower_{lab}", f"{pre}upper_{lab}"


@dataclass(frozen=True)
class Prior:
    """One prior: ``dist`` is a PyMC distribution name (or ``"Point"`` for a point mass).

    ``params`` map PyMC parameter names to scalars or per-coordinate lists; ``dims`` names
    the coordinates they run over (e.g. ``("segment",)``). ``statement`` optionally records
    the belief it was fitted to (:meth:`from_interval`), shown in review tables.
    """

    dist: str
    params: Mapping[str, Any] = field(default_factory=dict)
    dims: tuple[str, ...] = ()
    statement: Mapping[str, Any] | None = None

    def __post_init__(self):
        if self.dist not in _SUPPORTED:
            raise PriorError(f"unknown distribution {self.dist!r}; use one of {sorted(_SUPPORTED)}")
        object.__setattr__(self, "dims", tuple(self.dims))
        missing = [k for k in _REQUIRED[self.dist] if k not in self.params]
        if missing:
            raise PriorError(f"{self.dist} needs parameter(s) {missing}, got {sorted(self.params)}")
        for k, v in self.params.items():
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError) as exc:
                raise PriorError(f"{self.dist} parameter {k!r} must be numeric, got {v!r}") from exc
            if not np.all(np.isfinite(arr)):
                raise PriorError(f"{self.dist} parameter {k!r} must be finite, got {v!r}")
            if k in _POSITIVE and np.any(arr <= 0):
                raise PriorError(f"{self.dist} parameter {k!r} must be positive, got {v!r}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def point(cls, value, dims: tuple[str, ...] = ()) -> Prior:
        return cls("Point", {"value": _listify(value)}, dims)

    @classmethod
    def beta_from_mean(cls, mean, concentration: float, dims: tuple[str, ...] = ()) -> Prior:
        """Beta with the given mean and concentration ``kappa = alpha + beta``."""
        m = np.asarray(mean, dtype=float)
        if np.any((m <= 0) | (m >= 1)):
            raise PriorError(f"Beta mean must lie in (0, 1), got {mean!r}")
        if concentration <= 0:
            raise PriorError(f"Beta concentration must be positive, got {concentration!r}")
        return cls(
            "Beta",
            {"alpha": _listify(m * concentration), "beta": _listify((1 - m) * concentration)},
            dims,
        )

    @classmethod
    def gamma_from_mean(cls, mean, cv: float, dims: tuple[str, ...] = ()) -> Prior:
        """Gamma with the given mean and coefficient of variation (sd / mean)."""
        m = np.asarray(mean, dtype=float)
        if np.any(m <= 0):
            raise PriorError(f"Gamma mean must be positive, got {mean!r}")
        if cv <= 0:
            raise PriorError(f"Gamma cv must be positive, got {cv!r}")
        shape = 1.0 / cv**2
        return cls("Gamma", {"alpha": shape, "beta": _listify(shape / m)}, dims)

    @classmethod
    def from_quantiles(
        cls,
        dist: str,
        lower: float,
        upper: float,
        *,
        lower_prob: float = 0.05,
        upper_prob: float = 0.95,
        dims: tuple[str, ...] = (),
    ) -> Prior:
        """The ``dist`` whose ``lower_prob`` and ``upper_prob`` quantiles are ``lower`` and
        ``upper`` ("5% chance below 0.5, 5% above 2").

        Two-parameter families (Normal, LogNormal, Gamma, Beta) match both quantiles exactly;
        one-parameter families (HalfNormal, Exponential) match ``upper`` and report how far
        ``lower`` lands. The fitted prior's ``statement`` records the request and what was
        achieved (see :meth:`fit_report`).
        """
        return _fit(dist, [(lower_prob, lower), (upper_prob, upper)], dims)

    @classmethod
    def from_interval(
        cls,
        dist: str,
        lower: float,
        upper: float,
        *,
        mass: float = 0.9,
        median: float | None = None,
        dims: tuple[str, ...] = (),
    ) -> Prior:
        """The ``dist`` with a central ``mass`` interval ``[lower, upper]`` and, optionally, a
        ``median`` ("median 1.1, 90% between 0.8 and 1.6").

        With a median there are three conditions for two parameters: they are met in the
        least-squares sense on the probability scale (exact when the three agree with the
        family, e.g. a median at the geometric mean of the bounds for a LogNormal), and
        :meth:`fit_report` shows the achieved median and interval.
        """
        if not 0 < mass < 1:
            raise PriorError(f"mass must lie in (0, 1), got {mass!r}")
        targets = [((1 - mass) / 2, lower), ((1 + mass) / 2, upper)]
        if median is not None:
            targets.insert(1, (0.5, median))
        return _fit(dist, targets, dims)

    def fit_report(self) -> dict | None:
        """For a fitted prior: the requested and the achieved quantiles, and the largest gap
        on the probability scale; ``None`` for a declared one."""
        if not self.statement:
            return None
        st = dict(self.statement)
        probs = [p for p, _ in st["targets"]]
        achieved = [float(v) for v in np.atleast_1d(self._scipy().ppf(probs))]
        got_p = np.atleast_1d(self._scipy().cdf([v for _, v in st["targets"]]))
        return {
            "distribution": str(self),
            "requested": {f"q{p:g}": v for p, v in st["targets"]},
            "achieved": {f"q{p:g}": a for p, a in zip(probs, achieved, strict=True)},
            "max_probability_gap": float(np.max(np.abs(got_p - np.asarray(probs)))),
        }

    # ------------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict:
        d = {
            "dist": self.dist,
            "params": {k: _listify(v) for k, v in self.params.items()},
            "dims": list(self.dims),
        }
        if self.statement:
            d["statement"] = _jsonable(self.statement)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Prior:
        """From :meth:`to_dict`, or from a statement to fit:
        ``{"dist": "LogNormal", "median": 1, "interval": [0.8, 1.6], "mass": 0.9}`` or
        ``{"dist": "Gamma", "quantiles": {"0.05": 2, "0.95": 9}}``."""
        if not isinstance(d, Mapping) or "dist" not in d:
            raise PriorError(f"a prior needs a 'dist' entry, got {d!r}")
        dims = tuple(d.get("dims", ()))
        if "interval" in d:
            lo, hi = _pair(d["interval"], "interval")
            return cls.from_interval(
                d["dist"], lo, hi, mass=float(d.get("mass", 0.9)), median=d.get("median"), dims=dims
            )
        if "quantiles" in d:
            q = {float(k): float(v) for k, v in dict(d["quantiles"]).items()}
            if len(q) != 2:
                raise PriorError(f"'quantiles' needs exactly two entries, got {d['quantiles']!r}")
            (p1, v1), (p2, v2) = sorted(q.items())
            return cls.from_quantiles(d["dist"], v1, v2, lower_prob=p1, upper_prob=p2, dims=dims)
        unknown = set(d) - {"dist", "params", "dims", "statement"}
        if unknown:
            raise PriorError(f"unknown prior field(s) {sorted(unknown)} in {dict(d)!r}")
        return cls(d["dist"], dict(d.get("params", {})), dims, d.get("statement"))

    def __str__(self) -> str:
        def fmt(v):
            a = np.asarray(v, dtype=float)
            if a.ndim == 0:
                return f"{float(a):.4g}"
            return "[" + ", ".join(f"{x:.4g}" for x in a.ravel()) + "]"

        inner = ", ".join(f"{k}={fmt(v)}" for k, v in self.params.items())
        dims = f", dims={self.dims}" if self.dims else ""
        return f"{self.dist}({inner}{dims})"

    # ------------------------------------------------------------------ maths
    def _scipy(self):
        return _frozen(self.dist, {k: np.asarray(v, dtype=float) for k, v in self.params.items()})

    def mean(self):
        if self.dist == "Point":
            return _scalar_or_array(self.params["value"])
        return _scalar_or_array(self._scipy().mean())

    def median(self):
        if self.dist == "Point":
            return _scalar_or_array(self.params["value"])
        return _scalar_or_array(self._scipy().median())

    def sd(self):
        if self.dist == "Point":
            return _scalar_or_array(np.zeros_like(np.asarray(self.params["value"], float)))
        return _scalar_or_array(self._scipy().std())

    def interval(self, prob: float = 0.9):
        """Central ``prob`` interval (lower, upper)."""
        if self.dist == "Point":
            v = _scalar_or_array(self.params["value"])
            return v, v
        lo, hi = self._scipy().interval(prob)
        return _scalar_or_array(lo), _scalar_or_array(hi)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws with a leading draw axis (NumPy only; no PyMC compile)."""
        if self.dist == "Point":
            v = np.asarray(self.params["value"], dtype=float)
            return np.broadcast_to(v, (size, *v.shape)).copy()
        shape = np.broadcast_shapes(*(np.shape(v) for v in self.params.values()))
        return np.asarray(self._scipy().rvs(size=(size, *shape), random_state=rng))

    # ------------------------------------------------------------------ PyMC
    def to_pymc(self, name: str, *, dims: tuple[str, ...] | None = None, **pm_kwargs):
        """Create the PyMC variable inside the current ``pm.Model`` context (``pm_kwargs``,
        e.g. ``transform``, go to the distribution)."""
        import pymc as pm

        dims = self.dims if dims is None else tuple(dims)
        kw = {"dims": dims} if dims else {}
        if self.dist == "Point":
            import pytensor.tensor as pt

            return pm.Deterministic(
                name, pt.as_tensor_variable(np.asarray(self.params["value"], dtype=float)), **kw
            )
        params = {k: np.asarray(v, dtype=float) for k, v in self.params.items()}
        return getattr(pm, self.dist)(name, **params, **kw, **pm_kwargs)


# ---------------------------------------------------------------------------- the container

#: columns of every prior review table, in every domain
REVIEW_COLUMNS: tuple[str, ...] = (
    "name",
    "coords",
    "distribution",
    "mean",
    "sd",
    "median",
    "lower_90",
    "upper_90",
    "description",
)


class PriorSet(Mapping[str, Prior]):
    """The priors of one domain: an ordered, immutable mapping ``name -> Prior``.

    One serialiser (:meth:`to_json` / :meth:`from_json`, also stored in every posterior's
    attrs), one review table (:meth:`table`, columns :data:`REVIEW_COLUMNS` everywhere), one
    validation that names the entry (:meth:`with_overrides`, :meth:`read`).

    Parameters
    ----------
    priors
        ``name -> Prior`` (or its :meth:`Prior.to_dict` form, or a statement to fit).
    domain
        The domain the set belongs to (``"ltv"``, ``"rates"``...); checked on :meth:`read`.
    descriptions
        Optional ``name -> meaning`` shown in the review table.
    coords
        Optional ``dim -> labels`` used to label per-coordinate entries in the table.
    """

    def __init__(
        self,
        priors: Mapping[str, Prior | Mapping] | None = None,
        *,
        domain: str = "",
        descriptions: Mapping[str, str] | None = None,
        coords: Mapping[str, Any] | None = None,
    ):
        items = {}
        for name, p in (priors or {}).items():
            try:
                items[str(name)] = p if isinstance(p, Prior) else Prior.from_dict(p)
            except PriorError as exc:
                raise PriorError(f"{domain + ' ' if domain else ''}prior {name!r}: {exc}") from exc
        self._priors = items
        self.domain = domain
        self.descriptions = dict(descriptions or {})
        self.coords = {k: [str(x) for x in v] for k, v in (coords or {}).items()}

    # Mapping protocol
    def __getitem__(self, name: str) -> Prior:
        try:
            return self._priors[name]
        except KeyError:
            raise KeyError(
                f"no prior {name!r} in the {self.domain or 'prior'} set; "
                f"declared: {list(self._priors)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._priors)

    def __len__(self) -> int:
        return len(self._priors)

    def __eq__(self, other) -> bool:
        return isinstance(other, PriorSet) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(self.to_json())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self._priors.items())
        dom = f"{self.domain}: " if self.domain else ""
        return f"PriorSet({dom}{inner})"

    # ------------------------------------------------------------------ variants
    def with_overrides(self, overrides: Mapping[str, Prior | Mapping] | None) -> PriorSet:
        """A copy with some entries replaced; an unknown name raises :class:`PriorError`
        naming it and the declared ones."""
        out = dict(self._priors)
        for name, p in (overrides or {}).items():
            if name not in out:
                raise PriorError(
                    f"unknown {self.domain + ' ' if self.domain else ''}prior {name!r}; "
                    f"declared: {list(out)}"
                )
            try:
                out[name] = p if isinstance(p, Prior) else Prior.from_dict(p)
            except PriorError as exc:
                raise PriorError(f"prior {name!r}: {exc}") from exc
        return PriorSet(out, domain=self.domain, descriptions=self.descriptions, coords=self.coords)

    def subset(self, names) -> PriorSet:
        return PriorSet(
            {n: self[n] for n in names},
            domain=self.domain,
            descriptions=self.descriptions,
            coords=self.coords,
        )

    # ------------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "domain": self.domain,
            "priors": {k: p.to_dict() for k, p in self._priors.items()},
        }
        if self.descriptions:
            d["descriptions"] = dict(self.descriptions)
        if self.coords:
            d["coords"] = dict(self.coords)
        return d

    def to_json(self) -> str:
        """Deterministic JSON in declaration order: the ``prior_spec`` of every posterior file."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: Mapping) -> PriorSet:
        if "priors" not in d:  # a bare name -> prior mapping
            return cls(dict(d))
        return cls(
            d["priors"],
            domain=d.get("domain", ""),
            descriptions=d.get("descriptions"),
            coords=d.get("coords"),
        )

    @classmethod
    def from_json(cls, text: str) -> PriorSet:
        return cls.from_dict(json.loads(text))

    @classmethod
    def read(cls, path: str | os.PathLike, *, base: PriorSet | None = None) -> PriorSet:
        """Read priors from a JSON or TOML file.

        The file holds ``name -> prior`` entries (declared parameters or a statement to fit,
        see :meth:`Prior.from_dict`), at the top level or under ``priors``. With ``base``
        (the domain's defaults) the file may name only the entries it changes; names are
        checked against ``base`` and errors name the file and the entry.
        """
        path = Path(path)
        if not path.is_file():
            raise PriorError(f"{path}: prior file not found")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".toml":
                import tomllib

                raw = tomllib.loads(text)
            elif path.suffix.lower() == ".json":
                raw = json.loads(text)
            else:
                raise PriorError(f"{path}: use a .json or .toml prior file, got {path.suffix!r}")
        except (ValueError, TypeError) as exc:  # JSONDecodeError, TOMLDecodeError
            raise PriorError(f"{path}: cannot parse ({exc})") from exc
        if not isinstance(raw, Mapping):
            raise PriorError(f"{path}: expected a table of priors")
        domain = raw.get("domain", "")
        entries = raw.get("priors", raw if "priors" not in raw else {})
        entries = {k: v for k, v in entries.items() if k not in ("domain", "descriptions")}
        try:
            if base is None:
                return cls(entries, domain=domain)
            if domain and base.domain and domain != base.domain:
                raise PriorError(f"the file is for domain {domain!r}, not {base.domain!r}")
            return base.with_overrides(entries)
        except PriorError as exc:
            raise PriorError(f"{path}: {exc}") from exc

    def write(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as indented JSON (a file :meth:`read` accepts)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    # ------------------------------------------------------------------ review
    def table(self, prob: float = 0.9):
        """One row per scalar belief: ``name, coords, distribution, mean, sd, median,
        lower_90, upper_90, description`` (the interval columns follow ``prob``)."""
        import pandas as pd

        lo_name, hi_name = interval_names(prob)
        rows = []
        for name, prior in self._priors.items():
            mean = np.atleast_1d(prior.mean())
            sd = np.atleast_1d(prior.sd())
            med = np.atleast_1d(prior.median())
            lo, hi = (np.atleast_1d(x) for x in prior.interval(prob))
            shape = np.broadcast_shapes(mean.shape, lo.shape, hi.shape)
            labels = _coord_labels(prior.dims, shape, self.coords)
            for i, label in enumerate(labels):
                idx = np.unravel_index(i, shape)
                rows.append(
                    {
                        "name": name,
                        "coords": label,
                        "distribution": str(prior) if len(labels) == 1 else prior.dist,
                        "mean": float(np.broadcast_to(mean, shape)[idx]),
                        "sd": float(np.broadcast_to(sd, shape)[idx]),
                        "median": float(np.broadcast_to(med, shape)[idx]),
                        lo_name: float(np.broadcast_to(lo, shape)[idx]),
                        hi_name: float(np.broadcast_to(hi, shape)[idx]),
                        "description": self.descriptions.get(name, ""),
                    }
                )
        order = [*REVIEW_COLUMNS[:6], lo_name, hi_name, "description"]
        return pd.DataFrame(rows, columns=order)

    def to_pymc(self, names=None) -> dict:
        """Create the PyMC variables ``names`` (default all) in the current model."""
        return {n: self[n].to_pymc(n) for n in (names or list(self))}

    def sample(self, rng: np.random.Generator, size: int, names=None) -> dict[str, np.ndarray]:
        """``size`` prior draws of each entry (NumPy only), leading draw axis."""
        return {n: self[n].sample(rng, size) for n in (names or list(self))}


# ---------------------------------------------------------------------------- helpers


def _frozen(dist: str, p: dict):
    from scipy import stats

    if dist == "Beta":
        return stats.beta(p["alpha"], p["beta"])
    if dist == "Gamma":
        return stats.gamma(p["alpha"], scale=1.0 / p["beta"])
    if dist == "Normal":
        return stats.norm(p.get("mu", 0.0), p["sigma"])
    if dist == "HalfNormal":
        return stats.halfnorm(scale=p["sigma"])
    if dist == "LogNormal":
        return stats.lognorm(s=p["sigma"], scale=np.exp(p.get("mu", 0.0)))
    if dist == "Exponential":
        return stats.expon(scale=1.0 / p["lam"])
    if dist == "TruncatedNormal":
        mu, sigma = p.get("mu", 0.0), p["sigma"]
        lo, hi = p.get("lower", -np.inf), p.get("upper", np.inf)
        return stats.truncnorm((lo - mu) / sigma, (hi - mu) / sigma, loc=mu, scale=sigma)
    raise PriorError(f"no scipy form for {dist}")


def _fit(dist: str, targets: list[tuple[float, float]], dims) -> Prior:
    """Fit ``dist`` to ``[(prob, value), ...]`` quantile conditions (see the constructors)."""
    from scipy import optimize, stats

    targets = sorted((float(p), float(v)) for p, v in targets)
    probs = np.array([p for p, _ in targets])
    vals = np.array([v for _, v in targets])
    if not np.all(np.isfinite(vals)):
        raise PriorError(f"quantiles must be finite, got {vals.tolist()}")
    if np.any(np.diff(vals) <= 0) or np.any(np.diff(probs) <= 0):
        raise PriorError(f"quantiles must increase with their probabilities, got {targets}")
    if np.any((probs <= 0) | (probs >= 1)):
        raise PriorError(f"quantile probabilities must lie in (0, 1), got {probs.tolist()}")
    z = stats.norm.ppf(probs)
    statement = {"targets": [[p, v] for p, v in targets]}
    if dist in ("Normal", "LogNormal"):
        x = vals if dist == "Normal" else _log_positive(vals, dist)
        # least squares of x = mu + sigma z (exact with two conditions)
        A = np.column_stack([np.ones_like(z), z])
        (mu, sigma), *_ = np.linalg.lstsq(A, x, rcond=None)
        if sigma <= 0:
            raise PriorError(f"no {dist} has these quantiles: {targets}")
        mu, sigma = (float(np.round(v, 12)) for v in (mu, sigma))
        return Prior(dist, {"mu": mu, "sigma": sigma}, dims, statement)
    if dist in ("HalfNormal", "Exponential"):
        if vals[0] < 0:
            raise PriorError(f"a {dist} prior is positive; got a quantile {vals[0]}")
        base = stats.halfnorm if dist == "HalfNormal" else stats.expon
        scale = vals[-1] / base.ppf(probs[-1])  # match the upper quantile
        params = {"sigma": float(scale)} if dist == "HalfNormal" else {"lam": float(1 / scale)}
        return Prior(dist, params, dims, statement)
    if dist in ("Gamma", "Beta"):
        if dist == "Gamma":
            _log_positive(vals, dist)
        elif np.any((vals <= 0) | (vals >= 1)):
            raise PriorError(f"Beta quantiles must lie in (0, 1), got {vals.tolist()}")

        def make(theta):
            a, b = np.exp(theta)
            return stats.gamma(a, scale=1 / b) if dist == "Gamma" else stats.beta(a, b)

        def resid(theta):
            return make(theta).cdf(vals) - probs

        # start from the moment match of a Normal through the quantiles
        m = np.mean(vals)
        s = max((vals[-1] - vals[0]) / (z[-1] - z[0]), 1e-12)
        if dist == "Gamma":
            shape = (m / s) ** 2
            start = np.log([shape, shape / m])
        else:
            k = max(m * (1 - m) / s**2 - 1, 0.5)
            start = np.log([m * k, (1 - m) * k])
        sol = optimize.least_squares(resid, start, xtol=1e-14, ftol=1e-14, gtol=1e-14)
        a, b = np.exp(sol.x)
        gap = float(np.max(np.abs(resid(sol.x))))
        if len(targets) == 2 and gap > 1e-4:
            raise PriorError(f"no {dist} has these quantiles: {targets} (closest misses by {gap})")
        return Prior(dist, {"alpha": float(a), "beta": float(b)}, dims, statement)
    raise PriorError(
        f"cannot fit a {dist} prior to quantiles; use Normal, LogNormal, Gamma, "
        "Beta, HalfNormal or Exponential"
    )


def _log_positive(vals, dist):
    if np.any(vals <= 0):
        raise PriorError(f"{dist} quantiles must be positive, got {vals.tolist()}")
    return np.log(vals)


def _pair(v, what):
    try:
        lo, hi = (float(x) for x in v)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"{what!r} must be two numbers [lower, upper], got {v!r}") from exc
    return lo, hi


def _coord_labels(dims, shape, coords) -> list[str]:
    n = int(np.prod(shape)) if shape else 1
    if not dims or shape in ((), (1,)) and not dims:
        return [""] * max(n, 1)
    names = []
    for d, k in zip(dims, shape, strict=False):
        labels = coords.get(d)
        names.append(
            list(labels)[:k] if labels and len(labels) >= k else [str(i) for i in range(k)]
        )
    if len(names) != len(shape):
        return [str(i) for i in range(n)]
    grids = np.meshgrid(*[np.asarray(x, dtype=object) for x in names], indexing="ij")
    return [", ".join(str(g.ravel()[i]) for g in grids) for i in range(n)]


def _jsonable(o):
    if isinstance(o, Mapping):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return o


def _listify(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()


def _scalar_or_array(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a
