"""A prior as data: printable, serialisable, and turned into a PyMC variable by one method.

The idea follows ``pymc_extras.prior.Prior``: a decision scientist states a belief as a small
record (distribution name, parameters, dims), reviews it as a table, and the same record builds
the PyMC random variable for forward simulation and for updating.

>>> p = Prior.beta_from_mean(0.7, concentration=50)
>>> str(p)
'Beta(alpha=35, beta=15)'
>>> round(p.mean(), 3)
0.7
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Prior", "PriorError"]

# PyMC distribution name -> (scipy name, function mapping PyMC params to scipy kwargs)
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


class PriorError(ValueError):
    """An invalid prior declaration; the message names the entry."""


@dataclass(frozen=True)
class Prior:
    """One prior: ``dist`` is a PyMC distribution name (or ``"Point"`` for a point mass).

    ``params`` map PyMC parameter names to scalars or per-coordinate lists; ``dims`` names
    the coordinates they run over (e.g. ``("segment",)``).
    """

    dist: str
    params: Mapping[str, Any] = field(default_factory=dict)
    dims: tuple[str, ...] = ()

    def __post_init__(self):
        if self.dist not in _SUPPORTED:
            raise PriorError(f"unknown distribution {self.dist!r}; use one of {sorted(_SUPPORTED)}")
        object.__setattr__(self, "dims", tuple(self.dims))
        for k, v in self.params.items():
            arr = np.asarray(v, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise PriorError(f"{self.dist} parameter {k!r} must be finite, got {v!r}")

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

    # ------------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict:
        return {
            "dist": self.dist,
            "params": {k: _listify(v) for k, v in self.params.items()},
            "dims": list(self.dims),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Prior:
        return cls(d["dist"], dict(d.get("params", {})), tuple(d.get("dims", ())))

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
        from scipy import stats

        p = {k: np.asarray(v, dtype=float) for k, v in self.params.items()}
        if self.dist == "Beta":
            return stats.beta(p["alpha"], p["beta"])
        if self.dist == "Gamma":
            return stats.gamma(p["alpha"], scale=1.0 / p["beta"])
        if self.dist == "Normal":
            return stats.norm(p.get("mu", 0.0), p["sigma"])
        if self.dist == "HalfNormal":
            return stats.halfnorm(scale=p["sigma"])
        if self.dist == "LogNormal":
            return stats.lognorm(s=p["sigma"], scale=np.exp(p.get("mu", 0.0)))
        if self.dist == "Exponential":
            return stats.expon(scale=1.0 / p["lam"])
        if self.dist == "TruncatedNormal":
            mu, sigma = p.get("mu", 0.0), p["sigma"]
            lo, hi = p.get("lower", -np.inf), p.get("upper", np.inf)
            return stats.truncnorm((lo - mu) / sigma, (hi - mu) / sigma, loc=mu, scale=sigma)
        raise PriorError(f"no scipy form for {self.dist}")

    def mean(self):
        if self.dist == "Point":
            return _scalar_or_array(self.params["value"])
        return _scalar_or_array(self._scipy().mean())

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
    def to_pymc(self, name: str, *, dims: tuple[str, ...] | None = None):
        """Create the PyMC variable inside the current ``pm.Model`` context."""
        import pymc as pm

        dims = self.dims if dims is None else tuple(dims)
        kw = {"dims": dims} if dims else {}
        if self.dist == "Point":
            import pytensor.tensor as pt

            return pm.Deterministic(
                name, pt.as_tensor_variable(np.asarray(self.params["value"], dtype=float)), **kw
            )
        params = {k: np.asarray(v, dtype=float) for k, v in self.params.items()}
        return getattr(pm, self.dist)(name, **params, **kw)


def _listify(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()


def _scalar_or_array(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a
