"""Priors for the short-form video decision (seed 000 §6), declared once.

The numbers live in two reviewed tables:

* ``priors/video_priors.csv`` — per segment: adoption probabilities (§6.1), weekly sessions and
  minutes per session (§6.2), and the Core_90d uplift per adopter δ (§6.3);
* :data:`priors.segments.SEGMENTS` — segment shares π_c and baselines b_c (§4).

:class:`VideoPriors` adds how sure we are of each number (Beta concentrations, Gamma
coefficients of variation, the spread of δ, and the standalone multipliers α, β of §9), and
:func:`build_video_model` turns the whole declaration into one PyMC model with coords
``segment`` and ``mode``. Forward simulation (prior predictive, :mod:`bayes.video`) and
updating after a pilot (posterior, :mod:`models.video`) both start from that model.

The uplifts are calibrated (see ``docs/video.md``) so that, with point priors and the seed's
per-user simulation, the integrated feed yields ≈306k and the standalone app ≈248k incremental
Core customers on the high-engagement share of the 24M base (seed §8):

    E[ΔCore_m] = N_high · Σ_c π_c · p_{c,m} · δ_{c,m}     (clipping aside)

with π_c the share of segment c within the high-engagement base.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from priors.segments import ACTIVE_BASE, SEGMENT_KEYS, SEGMENTS, segments_from_table
from priors.spec import Prior, PriorError

__all__ = [
    "MODES",
    "TABLE_COLUMNS",
    "VideoPriors",
    "build_video_model",
    "load_video_table",
]

MODES: tuple[str, ...] = ("integrated", "standalone")
TABLE_PATH = Path(__file__).with_name("video_priors.csv")
#: every column of the table and the interval its entries must lie in; rates must be > 0
COLUMN_BOUNDS: dict[str, tuple[float, float]] = {
    "p_adopt_integrated": (0.0, 1.0),
    "p_adopt_standalone": (0.0, 1.0),
    "delta_integrated": (-1.0, 1.0),
    "delta_standalone": (-1.0, 1.0),
    "mean_sessions_integrated": (0.0, np.inf),
    "mean_sessions_standalone": (0.0, np.inf),
    "mean_minutes_per_session": (0.0, np.inf),
}
TABLE_COLUMNS = tuple(COLUMN_BOUNDS)
RATE_COLUMNS = tuple(c for c, (_, hi) in COLUMN_BOUNDS.items() if hi == np.inf)


@functools.lru_cache(maxsize=16)
def _read_table(path: Path, mtime_ns: int) -> pd.DataFrame:
    return validate_video_table(pd.read_csv(path), source=str(path))


def load_video_table(path: str | Path = TABLE_PATH) -> pd.DataFrame:
    """Read and validate a video prior table (one row per segment)."""
    path = Path(path).resolve()
    # every VideoPriors() starts from this table: read it once per file version, not per call
    return _read_table(path, path.stat().st_mtime_ns).copy()


def validate_video_table(table: pd.DataFrame, source: str = "video prior table") -> pd.DataFrame:
    """Check segments, probabilities in [0, 1] (δ in [-1, 1]) and positive rates.

    Errors name the entry at fault, e.g. ``p_adopt_standalone[prime_mid] = 1.3``.
    """
    t = table.set_index("segment") if "segment" in table.columns else table.copy()
    t.index = t.index.map(str)
    unknown = sorted(set(t.index) - set(SEGMENT_KEYS))
    if unknown:
        raise PriorError(f"{source}: unknown segment(s) {unknown}; expected {list(SEGMENT_KEYS)}")
    missing_rows = [s for s in SEGMENT_KEYS if s not in t.index]
    if missing_rows:
        raise PriorError(f"{source}: missing segment(s) {missing_rows}")
    missing_cols = [c for c in TABLE_COLUMNS if c not in t.columns]
    if missing_cols:
        raise PriorError(f"{source}: missing column(s) {missing_cols}")
    t = t.loc[list(SEGMENT_KEYS), list(TABLE_COLUMNS)].astype(float)
    for col, (lo, hi) in COLUMN_BOUNDS.items():
        for seg, v in t[col].items():
            if not np.isfinite(v) or v < lo or v > hi or (col in RATE_COLUMNS and v <= 0):
                kind = "a positive rate" if col in RATE_COLUMNS else f"within [{lo:g}, {hi:g}]"
                raise PriorError(f"{source}: {col}[{seg}] = {v!r} must be {kind}")
    t.index.name = "segment"
    return t


@dataclass(frozen=True)
class VideoPriors:
    """The full video prior declaration.

    Parameters
    ----------
    table
        Per-segment central values (columns :data:`TABLE_COLUMNS`), default the seed's table.
    segments
        Segment shares and baselines (default :data:`priors.segments.SEGMENTS`).
    adoption_concentration
        κ of the Beta priors on adoption probabilities (α+β of the Beta): 40 puts the 90%
        interval of a 0.5 adoption at about ±0.13.
    baseline_concentration
        κ of the Beta priors on baselines b_c; large because b_c is measured on the base.
    sessions_cv, minutes_cv
        Coefficients of variation of the Gamma priors on weekly sessions λ and minutes μ.
    uplift_sd
        Standard deviation (absolute, probability points) of the Normal priors on δ.
    alpha, beta
        Multipliers on standalone adoption and standalone uplift (seed §9), centred at 1.
    minutes_log_sd
        σ of the log-normal noise on weekly minutes, ``T = S · μ · exp(ε)`` (seed §7.1).
    active_base
        Size of the active base (24M, seed §7).
    point
        If true, every prior collapses to a point mass at its centre (the seed's fixed priors).
    """

    table: pd.DataFrame = field(default_factory=load_video_table)
    segments: pd.DataFrame = field(default_factory=lambda: SEGMENTS.copy())
    adoption_concentration: float = 40.0
    baseline_concentration: float = 400.0
    sessions_cv: float = 0.25
    minutes_cv: float = 0.2
    uplift_sd: float = 0.015
    alpha: Prior = field(default_factory=lambda: Prior("LogNormal", {"mu": 0.0, "sigma": 0.25}))
    beta: Prior = field(default_factory=lambda: Prior("LogNormal", {"mu": 0.0, "sigma": 0.25}))
    minutes_log_sd: float = 0.5
    active_base: int = ACTIVE_BASE
    point: bool = False

    def __post_init__(self):
        object.__setattr__(self, "table", validate_video_table(self.table))
        object.__setattr__(self, "segments", segments_from_table(self.segments))
        for name in (
            "adoption_concentration",
            "baseline_concentration",
            "sessions_cv",
            "minutes_cv",
            "minutes_log_sd",
        ):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise PriorError(f"{name} must be positive, got {v!r}")
        if not (np.isfinite(self.uplift_sd) and self.uplift_sd >= 0):
            raise PriorError(f"uplift_sd must be >= 0, got {self.uplift_sd!r}")
        if self.active_base <= 0:
            raise PriorError(f"active_base must be positive, got {self.active_base!r}")

    # ------------------------------------------------------------------ variants
    def replace(self, **changes) -> VideoPriors:
        return dataclasses.replace(self, **changes)

    def as_point(self) -> VideoPriors:
        """The seed's fixed priors: every quantity a point mass at its central value."""
        return self.replace(point=True)

    def with_segments(self, table: pd.DataFrame) -> VideoPriors:
        """Swap in segment shares/baselines measured on another dataset."""
        return self.replace(segments=segments_from_table(table))

    # ------------------------------------------------------------------ central values
    def central(self, column: str) -> np.ndarray:
        return self.table[column].to_numpy(dtype=float)

    def by_mode(self, stem: str) -> np.ndarray:
        """Central values of ``{stem}_{mode}`` as a (segment, mode) array."""
        return np.stack([self.central(f"{stem}_{m}") for m in MODES], axis=1)

    @property
    def shares(self) -> np.ndarray:
        return self.segments.loc[list(SEGMENT_KEYS), "share"].to_numpy(dtype=float)

    @property
    def baselines(self) -> np.ndarray:
        return self.segments.loc[list(SEGMENT_KEYS), "baseline_core_90d"].to_numpy(dtype=float)

    @property
    def high_engagement(self) -> np.ndarray:
        return self.segments.loc[list(SEGMENT_KEYS), "high_engagement"].to_numpy(dtype=bool)

    @property
    def n_high(self) -> int:
        """Users in the high-engagement clusters (0, 2, 3) of the active base (seed §7.2)."""
        return int(round(self.active_base * self.shares[self.high_engagement].sum()))

    # ------------------------------------------------------------------ declarations
    def declarations(self) -> dict[str, Prior]:
        """Every random quantity as a :class:`Prior` with dims (the reviewed list of beliefs)."""
        seg, sm = ("segment",), ("segment", "mode")
        if self.point:
            return {
                "baseline": Prior.point(self.baselines, seg),
                "p_adopt": Prior.point(self.by_mode("p_adopt"), sm),
                "sessions": Prior.point(self.by_mode("mean_sessions"), sm),
                "minutes": Prior.point(self.central("mean_minutes_per_session"), seg),
                "delta": Prior.point(self.by_mode("delta"), sm),
                "alpha": Prior.point(1.0),
                "beta": Prior.point(1.0),
            }
        return {
            "baseline": Prior.beta_from_mean(self.baselines, self.baseline_concentration, seg),
            "p_adopt": Prior.beta_from_mean(
                self.by_mode("p_adopt"), self.adoption_concentration, sm
            ),
            "sessions": Prior.gamma_from_mean(self.by_mode("mean_sessions"), self.sessions_cv, sm),
            "minutes": Prior.gamma_from_mean(
                self.central("mean_minutes_per_session"), self.minutes_cv, seg
            ),
            "delta": Prior(
                "Normal", {"mu": self.by_mode("delta").tolist(), "sigma": self.uplift_sd}, sm
            ),
            "alpha": self.alpha,
            "beta": self.beta,
        }

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """One row per scalar belief: distribution, mean and central ``prob`` interval."""
        rows = []
        for name, prior in self.declarations().items():
            mean = np.atleast_1d(prior.mean())
            lo, hi = (np.atleast_1d(x) for x in prior.interval(prob))
            labels = _labels(prior.dims, mean.shape)
            for i, label in enumerate(labels):
                idx = np.unravel_index(i, mean.shape)
                rows.append(
                    {
                        "variable": name,
                        "coords": label,
                        "dist": prior.dist,
                        "mean": mean[idx],
                        f"q{(1 - prob) / 2:.2f}": lo[idx],
                        f"q{(1 + prob) / 2:.2f}": hi[idx],
                    }
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-ready record of the whole declaration (stored in NetCDF attrs)."""
        return {
            "table": self.table.reset_index().to_dict(orient="records"),
            "segments": self.segments.reset_index().to_dict(orient="records"),
            "adoption_concentration": self.adoption_concentration,
            "baseline_concentration": self.baseline_concentration,
            "sessions_cv": self.sessions_cv,
            "minutes_cv": self.minutes_cv,
            "uplift_sd": self.uplift_sd,
            "alpha": self.alpha.to_dict(),
            "beta": self.beta.to_dict(),
            "minutes_log_sd": self.minutes_log_sd,
            "active_base": self.active_base,
            "point": self.point,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=_json_default)

    @classmethod
    def from_dict(cls, d: dict) -> VideoPriors:
        d = dict(d)
        d["table"] = pd.DataFrame(d["table"])
        d["segments"] = pd.DataFrame(d["segments"])
        d["alpha"] = Prior.from_dict(d["alpha"])
        d["beta"] = Prior.from_dict(d["beta"])
        return cls(**d)


def _labels(dims: tuple[str, ...], shape: tuple[int, ...]) -> list[str]:
    names = {"segment": SEGMENT_KEYS, "mode": MODES}
    if not dims:
        return [""]
    grids = np.meshgrid(
        *[np.asarray(names[d])[:n] for d, n in zip(dims, shape, strict=True)], indexing="ij"
    )
    return [", ".join(str(g.ravel()[i]) for g in grids) for i in range(int(np.prod(shape)))]


def _json_default(o):
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        return o.item()
    raise TypeError(type(o))


def build_video_model(priors: VideoPriors | None = None, model=None):
    """Turn the declaration into a PyMC model with coords ``segment`` and ``mode``.

    Free variables: ``baseline[segment]`` (b_c), ``p_adopt[segment, mode]`` (p_{c,m} before the
    standalone multiplier), ``sessions[segment, mode]`` (λ_{c,m}), ``minutes[segment]`` (μ_c),
    ``delta[segment, mode]`` (δ_{c,m} before the multiplier), ``alpha`` and ``beta`` (seed §9).

    Deterministics: ``adoption[segment, mode]`` with the standalone column multiplied by α and
    capped at 1, and ``uplift[segment, mode]`` with the standalone column multiplied by β —
    the quantities that enter the seed's §7.1 process.

    Pass an existing ``model`` to add the variables to it (the updating model adds likelihoods).
    """
    import pymc as pm
    import pytensor.tensor as pt

    priors = priors or VideoPriors()
    coords = {"segment": list(SEGMENT_KEYS), "mode": list(MODES)}
    model = model if model is not None else pm.Model(coords=coords)
    for k, v in coords.items():
        if k not in model.coords:
            model.add_coord(k, v)
    with model:
        rv = {name: prior.to_pymc(name) for name, prior in priors.declarations().items()}
        alpha_col = pt.stack([pt.ones_like(rv["alpha"]), rv["alpha"]])
        beta_col = pt.stack([pt.ones_like(rv["beta"]), rv["beta"]])
        pm.Deterministic(
            "adoption",
            pt.clip(rv["p_adopt"] * alpha_col[None, :], 0.0, 1.0),
            dims=("segment", "mode"),
        )
        pm.Deterministic("uplift", rv["delta"] * beta_col[None, :], dims=("segment", "mode"))
    return model
