"""Sufficient statistics of an experiment, computed once; every readout reads out from them.

The design follows GrowthBook's gbstats: the warehouse (here DuckDB, or NumPy for the
reference) reduces millions of rows to a few numbers per arm, and the frequentist, CUPED,
regression-adjusted, ratio, sequential and Bayesian readouts all run on those numbers.

For a set of columns ``z = (y, x_1, ..., x_k)`` (metrics and covariates) :class:`ArmMoments`
holds, per arm ``a``:

* ``n_a`` — users;
* ``mean_a`` — the column means ``z̄_a``;
* ``scatter_a`` — the centred cross-products ``Σ_i (z_i − z̄_a)(z_i − z̄_a)ᵀ``.

Centred sums (rather than raw ``Σ z``, ``Σ z zᵀ``) keep the variances exact in floating point
when means are large against spreads. Arms or days combine exactly by Chan, Golub & LeVeque's
(1979) parallel formula: ``S = Σ_a [S_a + n_a (z̄_a − z̄)(z̄_a − z̄)ᵀ]``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ArmMoments", "combine", "moments_from_arrays"]


@dataclass(frozen=True)
class ArmMoments:
    """Per-arm count, means and centred cross-products of ``columns``.

    Arms are ordered control first, then treatment.
    """

    arms: tuple[str, ...]
    columns: tuple[str, ...]
    n: np.ndarray  # (arms,)
    mean: np.ndarray  # (arms, p)
    scatter: np.ndarray  # (arms, p, p)

    def __post_init__(self):
        object.__setattr__(self, "arms", tuple(str(a) for a in self.arms))
        object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
        n = np.asarray(self.n, dtype=np.int64).reshape(-1)
        mean = np.asarray(self.mean, dtype=float).reshape(len(self.arms), len(self.columns))
        p = len(self.columns)
        scatter = np.asarray(self.scatter, dtype=float).reshape(len(self.arms), p, p)
        if n.shape != (len(self.arms),):
            raise ValueError(f"n must have one count per arm {self.arms}, got {n.tolist()}")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scatter", scatter)

    # ------------------------------------------------------------------ access
    def index(self, column: str) -> int:
        try:
            return self.columns.index(column)
        except ValueError:
            raise KeyError(f"no column {column!r} in the statistics; have {self.columns}") from None

    def cov(self, ddof: int = 1) -> np.ndarray:
        """Per-arm covariance matrices ``scatter / (n − ddof)`` (arms, p, p)."""
        return self.scatter / np.maximum(self.n - ddof, 1)[:, None, None]

    def var(self, column: str, ddof: int = 1) -> np.ndarray:
        """Per-arm sample variance of ``column``."""
        j = self.index(column)
        return self.scatter[:, j, j] / np.maximum(self.n - ddof, 1)

    def col_mean(self, column: str) -> np.ndarray:
        return self.mean[:, self.index(column)]

    def subset(self, columns: Sequence[str]) -> ArmMoments:
        idx = [self.index(c) for c in columns]
        return ArmMoments(
            self.arms, tuple(columns), self.n, self.mean[:, idx], self.scatter[:, idx][:, :, idx]
        )

    def pooled(self, name: str = "pooled") -> ArmMoments:
        """The arms combined into one (exact, :func:`combine`)."""
        return combine([self], arm_name=name)

    def select(self, arm: str) -> ArmMoments:
        i = self.arms.index(arm)
        return ArmMoments(
            (arm,), self.columns, self.n[i : i + 1], self.mean[i : i + 1], self.scatter[i : i + 1]
        )

    # ------------------------------------------------------------------ serialise
    def to_dataset(self):
        """An xarray Dataset (dims ``arm``, ``column``, ``column2``) for a NetCDF group."""
        import xarray as xr

        cols = list(self.columns)
        return xr.Dataset(
            {
                "n": ("arm", self.n),
                "mean": (("arm", "column"), self.mean),
                "scatter": (("arm", "column", "column2"), self.scatter),
            },
            coords={"arm": list(self.arms), "column": cols, "column2": cols},
        )

    @classmethod
    def from_dataset(cls, ds) -> ArmMoments:
        return cls(
            tuple(str(a) for a in ds["arm"].values),
            tuple(str(c) for c in ds["column"].values),
            ds["n"].values,
            ds["mean"].values,
            ds["scatter"].values,
        )

    def digest(self) -> str:
        """SHA-256 of the statistics (the ``data_hash`` of fits conditioned on them)."""
        h = hashlib.sha256()
        h.update(repr((self.arms, self.columns)).encode())
        for a in (self.n, self.mean, self.scatter):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


def moments_from_arrays(
    arm_index: np.ndarray,
    values: np.ndarray,
    *,
    arms: Sequence[str],
    columns: Sequence[str],
) -> ArmMoments:
    """The NumPy reference: statistics of ``values`` (rows × columns) for each arm.

    ``arm_index`` holds, per row, the position of its arm in ``arms`` (0 = control).
    Two passes per arm (means, then centred cross-products), in float64.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    arm_index = np.asarray(arm_index)
    k, p = len(arms), values.shape[1]
    n = np.zeros(k, dtype=np.int64)
    mean = np.zeros((k, p))
    scatter = np.zeros((k, p, p))
    for a in range(k):
        z = values[arm_index == a]
        n[a] = z.shape[0]
        if n[a] == 0:
            continue
        mean[a] = z.mean(axis=0)
        c = z - mean[a]
        scatter[a] = c.T @ c
    return ArmMoments(tuple(arms), tuple(columns), n, mean, scatter)


def combine(parts: Sequence[ArmMoments], *, arm_name: str | None = None) -> ArmMoments:
    """Combine statistics exactly (Chan, Golub & LeVeque 1979).

    With ``arm_name`` every arm of every part is merged into one arm of that name (the pooled
    data); otherwise the parts must have the same arms and are merged arm by arm (e.g. days
    into a cumulative total).
    """
    if not parts:
        raise ValueError("nothing to combine")
    cols = parts[0].columns
    for p in parts:
        if p.columns != cols:
            raise ValueError(f"cannot combine statistics of {p.columns} with {cols}")
    if arm_name is not None:
        groups = [[(p.n[i], p.mean[i], p.scatter[i]) for p in parts for i in range(len(p.arms))]]
        arms: tuple[str, ...] = (arm_name,)
    else:
        arms = parts[0].arms
        for p in parts:
            if p.arms != arms:
                raise ValueError(f"cannot combine arms {p.arms} with {arms}")
        groups = [[(p.n[i], p.mean[i], p.scatter[i]) for p in parts] for i in range(len(arms))]
    n_out, m_out, s_out = [], [], []
    for g in groups:
        ns = np.array([x[0] for x in g], dtype=float)
        means = np.array([x[1] for x in g])
        total = ns.sum()
        m = (ns[:, None] * means).sum(axis=0) / total if total > 0 else np.zeros(len(cols))
        d = means - m
        s = sum(x[2] for x in g) + np.einsum("a,ai,aj->ij", ns, d, d)
        n_out.append(int(total))
        m_out.append(m)
        s_out.append(s)
    return ArmMoments(arms, cols, np.array(n_out), np.array(m_out), np.array(s_out))
