"""Priors for the short-form video decision (seed 000 §6), declared once.

The numbers live in two reviewed tables:

* ``priors/video_priors.csv`` — per segment: adoption probabilities (§6.1), weekly sessions and
  minutes per session (§6.2), and the Core_90d uplift per adopter δ (§6.3);
* :data:`priors.segments.SEGMENTS` — segment shares π_c and baselines b_c (§4).

:class:`VideoPriors` adds how sure we are of each number (Beta concentrations, Gamma
coefficients of variation, the spread of δ, and the standalone multipliers α, β of §9) and
produces the domain's one prior container, a :class:`priors.spec.PriorSet` (domain ``video``,
coords ``segment`` and ``mode``; :meth:`VideoPriors.declarations`): its review table
(:meth:`PriorSet.table`), its JSON (stored in every posterior) and the PyMC model of
:func:`build_video_model`. Any entry can be replaced by a stated belief (``overrides``, e.g. α
as a median and a 90% interval, read from a JSON/TOML file by :meth:`VideoPriors.from_file`).
Forward simulation (:mod:`models.video.simulator`) and updating after a pilot
(:class:`models.video.VideoPilotModel`) both start from that model.

The standalone multipliers enter through one transform, :func:`standalone_multipliers`, used
on PyTensor variables (the model's Deterministics) and on NumPy arrays alike.

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
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from priors.segments import ACTIVE_BASE, SEGMENT_KEYS, SEGMENTS, segments_from_table
from priors.spec import Prior, PriorError, PriorSet

__all__ = [
    "DESCRIPTIONS",
    "MODES",
    "TABLE_COLUMNS",
    "VideoPriors",
    "build_video_model",
    "load_video_table",
    "standalone_multipliers",
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

#: what each prior of :meth:`VideoPriors.declarations` means (shown in the review table)
DESCRIPTIONS: dict[str, str] = {
    "baseline": "b_c: Core_90d rate without video (segment baselines, seed §4)",
    "p_adopt": "p_{c,m}: video adoption probability, before the standalone multiplier α (§6.1)",
    "sessions": "λ_{c,m}: weekly video sessions per adopter (§6.2)",
    "minutes": "μ_c: minutes per video session (§6.2)",
    "delta": "δ_{c,m}: Core_90d uplift per adopter, before the standalone multiplier β (§6.3)",
    "alpha": "α: multiplier on standalone adoption (§9; 1 = as in the table)",
    "beta": "β: multiplier on standalone uplift (§9; 1 = as in the table)",
}
#: the dims of each prior (an override stated without dims takes these)
DIMS: dict[str, tuple[str, ...]] = {
    "baseline": ("segment",),
    "p_adopt": ("segment", "mode"),
    "sessions": ("segment", "mode"),
    "minutes": ("segment",),
    "delta": ("segment", "mode"),
    "alpha": (),
    "beta": (),
}
#: priors whose point value (the seed's fixed priors) is the median rather than the mean: the
#: multipliers, which are 1 at their median under the default LogNormal(0, 0.25)
_MEDIAN_CENTRED = ("alpha", "beta")
COORDS: dict[str, tuple[str, ...]] = {"segment": SEGMENT_KEYS, "mode": MODES}


def standalone_multipliers(p_adopt, delta, alpha, beta, *, cap: bool = True):
    """Seed §9, the one transform: standalone adoption × α (capped at 1) and uplift × β.

    ``p_adopt`` and ``delta`` are ``(…, segment, mode)``; ``alpha`` and ``beta`` broadcast
    against the leading ``…`` (scalars, one value per draw, a grid of values). The integrated
    column is left as is. Works on NumPy arrays and on PyTensor variables (the ``adoption`` and
    ``uplift`` Deterministics of :func:`build_video_model`). ``cap=False`` leaves α·p
    uncapped (the pilot likelihood needs to see α·p > 1). Returns ``(adoption, uplift)``.
    """
    xp = _backend(p_adopt, delta, alpha, beta)
    alpha = xp.as_tensor_variable(alpha) if xp is not np else np.asarray(alpha, dtype=float)
    beta = xp.as_tensor_variable(beta) if xp is not np else np.asarray(beta, dtype=float)
    mult_a = xp.stack([xp.ones_like(alpha), alpha], axis=-1)[..., None, :]
    mult_b = xp.stack([xp.ones_like(beta), beta], axis=-1)[..., None, :]
    adoption = p_adopt * mult_a
    if cap:
        adoption = xp.clip(adoption, 0.0, 1.0)
    return adoption, delta * mult_b


def _backend(*xs):
    """``pytensor.tensor`` if any argument is a PyTensor variable, else NumPy."""
    import sys

    pt_mod = sys.modules.get("pytensor.tensor")
    if pt_mod is not None and any(isinstance(x, pt_mod.TensorVariable) for x in xs):
        return pt_mod
    return np


@functools.lru_cache(maxsize=16)
def _read_table(path: Path, mtime_ns: int) -> pd.DataFrame:
    return validate_video_table(pd.read_csv(path), source=str(path))


def load_video_table(path: str | Path = TABLE_PATH) -> pd.DataFrame:
    """Read and validate a video prior table (one row per segment)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise PriorError(f"{path}: prior table not found")
    try:
        # every VideoPriors() starts from this table: read it once per file version
        return _read_table(path, path.stat().st_mtime_ns).copy()
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriorError(f"{path}: cannot read the prior table ({exc})") from exc


def validate_video_table(table: pd.DataFrame, source: str = "video prior table") -> pd.DataFrame:
    """Check segments, probabilities in [0, 1] (δ in [-1, 1]) and positive rates.

    Errors name the entry at fault, e.g. ``p_adopt_standalone[prime_mid] = 1.3``, and for a
    segment given twice the column and the CSV lines (header = line 1).
    """
    if "segment" in table.columns:
        seg = table["segment"].astype(str)
        dup = seg.duplicated(keep=False).to_numpy()
        if dup.any():
            lines = ", ".join(str(i + 2) for i in np.flatnonzero(dup))
            names = sorted(set(seg[dup]))
            raise PriorError(
                f"{source}: column 'segment': rows {lines}: segment(s) {names} given more "
                "than once (one row per segment)"
            )
        t = table.set_index("segment")
    else:
        t = table.copy()
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
    t = t.loc[list(SEGMENT_KEYS), list(TABLE_COLUMNS)]
    for col in TABLE_COLUMNS:
        values = pd.to_numeric(t[col], errors="coerce")
        for seg_name, raw in t[col][values.isna()].items():
            raise PriorError(f"{source}: {col}[{seg_name}] = {raw!r} must be a number")
        t[col] = values.astype(float)
    for col, (lo, hi) in COLUMN_BOUNDS.items():
        for seg_name, v in t[col].items():
            if not np.isfinite(v) or v < lo or v > hi or (col in RATE_COLUMNS and v <= 0):
                kind = "a positive rate" if col in RATE_COLUMNS else f"within [{lo:g}, {hi:g}]"
                raise PriorError(f"{source}: {col}[{seg_name}] = {v!r} must be {kind}")
    t.index.name = "segment"
    return t


@dataclass(frozen=True)
class VideoPriors:
    """The full video prior declaration: beliefs (a :class:`PriorSet`) and the constants of
    the population they are simulated on.

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
        Multipliers on standalone adoption and standalone uplift (seed §9), median 1.
    minutes_log_sd
        σ of the log-normal noise on weekly minutes, ``T = S · μ · exp(ε)`` (seed §7.1).
    active_base
        Size of the active base (24M, seed §7).
    point
        If true, every prior collapses to a point mass at its centre (the seed's fixed priors).
    overrides
        ``name -> Prior`` replacing entries of the declaration (a prior file, see
        :meth:`from_file`); an override stated without dims takes the entry's dims.
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
    overrides: Mapping[str, Prior] = field(default_factory=dict)

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
        object.__setattr__(self, "overrides", _check_overrides(self.overrides))

    # ------------------------------------------------------------------ variants
    def replace(self, **changes) -> VideoPriors:
        return dataclasses.replace(self, **changes)

    def as_point(self) -> VideoPriors:
        """The seed's fixed priors: every quantity a point mass at its central value."""
        return self.replace(point=True)

    def with_segments(self, table: pd.DataFrame) -> VideoPriors:
        """Swap in segment shares/baselines measured on another dataset."""
        return self.replace(segments=segments_from_table(table))

    def with_overrides(self, overrides: Mapping[str, Prior | Mapping]) -> VideoPriors:
        """A copy with some priors replaced (names checked, dims inherited)."""
        merged = {**self.overrides, **dict(overrides)}
        return self.replace(overrides=merged)

    @classmethod
    def from_file(cls, path: str | os.PathLike, base: VideoPriors | None = None) -> VideoPriors:
        """The declaration a prior file asks for.

        * ``.csv`` — an edited copy of ``priors/video_priors.csv`` (new central values);
        * ``.json`` / ``.toml`` — entries of the :class:`PriorSet` to replace, declared or
          stated as a belief (``{"alpha": {"dist": "LogNormal", "median": 1.0,
          "interval": [0.8, 1.25]}}``, see :meth:`priors.spec.Prior.from_dict`).

        Errors (:class:`PriorError`) name the file and the entry.
        """
        base = base if base is not None else cls()
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            if not path.is_file():
                raise PriorError(f"{path}: prior file not found")
            try:
                table = pd.read_csv(path)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise PriorError(f"{path}: cannot read the prior table ({exc})") from exc
            return base.replace(table=validate_video_table(table, source=str(path)))
        if suffix not in (".json", ".toml"):
            raise PriorError(
                f"{path}: a video prior file is a .csv table or a .json/.toml prior set, "
                f"got {suffix or 'no suffix'!r}"
            )
        read = PriorSet.read(path, base=base.declarations())
        changed = {k: p for k, p in read.items() if p != base.declarations()[k]}
        try:
            return base.with_overrides(changed)
        except PriorError as exc:
            raise PriorError(f"{path}: {exc}") from exc

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
    def declarations(self) -> PriorSet:
        """Every random quantity as a :class:`Prior` with dims, in one :class:`PriorSet`
        (domain ``video``, coords ``segment`` and ``mode``): the reviewed list of beliefs.

        With ``point`` every entry is a point mass at its centre: the table's value (the
        seed's fixed priors), or for an override its mean (its median for α and β)."""
        seg, sm = ("segment",), ("segment", "mode")
        if self.point:
            centres = {
                "baseline": self.baselines,
                "p_adopt": self.by_mode("p_adopt"),
                "sessions": self.by_mode("mean_sessions"),
                "minutes": self.central("mean_minutes_per_session"),
                "delta": self.by_mode("delta"),
                "alpha": 1.0,
                "beta": 1.0,
            }
            centres.update({n: _centre(n, p) for n, p in self.overrides.items()})
            declared = {n: Prior.point(centres[n], DIMS[n]) for n in DIMS}
        else:
            declared = {
                "baseline": Prior.beta_from_mean(self.baselines, self.baseline_concentration, seg),
                "p_adopt": Prior.beta_from_mean(
                    self.by_mode("p_adopt"), self.adoption_concentration, sm
                ),
                "sessions": Prior.gamma_from_mean(
                    self.by_mode("mean_sessions"), self.sessions_cv, sm
                ),
                "minutes": Prior.gamma_from_mean(
                    self.central("mean_minutes_per_session"), self.minutes_cv, seg
                ),
                "delta": Prior(
                    "Normal", {"mu": self.by_mode("delta").tolist(), "sigma": self.uplift_sd}, sm
                ),
                "alpha": self.alpha,
                "beta": self.beta,
                **self.overrides,
            }
        return PriorSet(declared, domain="video", descriptions=DESCRIPTIONS, coords=COORDS)

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """The review table of :meth:`declarations` (:meth:`PriorSet.table`: ``name, coords,
        distribution, mean, sd, median, lower_90, upper_90, description``)."""
        return self.declarations().table(prob)

    def to_dict(self) -> dict:
        """JSON-ready record of the whole declaration (table, constants and overrides)."""
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
            "overrides": {k: p.to_dict() for k, p in self.overrides.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=_json_default, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> VideoPriors:
        d = dict(d)
        d["table"] = pd.DataFrame(d["table"])
        d["segments"] = pd.DataFrame(d["segments"])
        d["alpha"] = Prior.from_dict(d["alpha"])
        d["beta"] = Prior.from_dict(d["beta"])
        d["overrides"] = {k: Prior.from_dict(v) for k, v in d.get("overrides", {}).items()}
        return cls(**d)


def _check_overrides(overrides: Mapping) -> dict[str, Prior]:
    """Overrides as Prior records with the declared dims; names and shapes checked."""
    out = {}
    for name, p in dict(overrides or {}).items():
        if name not in DIMS:
            raise PriorError(f"unknown video prior {name!r}; declared: {list(DIMS)}")
        try:
            prior = p if isinstance(p, Prior) else Prior.from_dict(p)
        except PriorError as exc:
            raise PriorError(f"prior {name!r}: {exc}") from exc
        dims = DIMS[name]
        if prior.dims and tuple(prior.dims) != dims:
            raise PriorError(f"prior {name!r}: dims must be {dims}, got {tuple(prior.dims)}")
        shape = tuple(len(COORDS[d]) for d in dims)
        for k, v in prior.params.items():
            try:
                np.broadcast_to(np.asarray(v, dtype=float), shape)
            except ValueError:
                raise PriorError(
                    f"prior {name!r}: parameter {k!r} has shape {np.shape(v)}, which does not "
                    f"fit {dict(zip(dims, shape, strict=True)) or 'a scalar'}"
                ) from None
        out[name] = Prior(prior.dist, prior.params, dims, prior.statement)
    return out


def _centre(name: str, prior: Prior):
    return prior.median() if name in _MEDIAN_CENTRED else prior.mean()


def _json_default(o):
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        return o.item()
    raise TypeError(type(o))


def _as_prior_set(priors) -> PriorSet:
    if priors is None:
        return VideoPriors().declarations()
    if isinstance(priors, VideoPriors):
        return priors.declarations()
    if isinstance(priors, PriorSet):
        return priors
    raise TypeError(f"expected VideoPriors or PriorSet, got {type(priors).__name__}")


def build_video_model(priors: VideoPriors | PriorSet | None = None, model=None):
    """Turn the declaration into a PyMC model with coords ``segment`` and ``mode``.

    Free variables: ``baseline[segment]`` (b_c), ``p_adopt[segment, mode]`` (p_{c,m} before the
    standalone multiplier), ``sessions[segment, mode]`` (λ_{c,m}), ``minutes[segment]`` (μ_c),
    ``delta[segment, mode]`` (δ_{c,m} before the multiplier), ``alpha`` and ``beta`` (seed §9);
    a point-mass entry becomes a Deterministic instead.

    Deterministics: ``adoption[segment, mode]`` and ``uplift[segment, mode]``, the quantities
    that enter the seed's §7.1 process (:func:`standalone_multipliers`: standalone adoption × α
    capped at 1, standalone uplift × β).

    Pass an existing ``model`` to add the variables to it (the updating model adds likelihoods).
    """
    import pymc as pm

    ps = _as_prior_set(priors)
    coords = {k: list(v) for k, v in COORDS.items()}
    model = model if model is not None else pm.Model(coords=coords)
    for k, v in coords.items():
        if k not in model.coords:
            model.add_coord(k, v)
    with model:
        rv = {name: ps[name].to_pymc(name) for name in DIMS}
        adoption, uplift = standalone_multipliers(
            rv["p_adopt"], rv["delta"], rv["alpha"], rv["beta"]
        )
        pm.Deterministic("adoption", adoption, dims=("segment", "mode"))
        pm.Deterministic("uplift", uplift, dims=("segment", "mode"))
    return model
