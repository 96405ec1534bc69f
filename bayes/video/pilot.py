"""Pilot data for the video decision: the table schema, its validation and a generator.

A pilot table (CSV or Parquet) has one row per segment × arm (``control``, ``integrated``,
``standalone``; seed §11 Phase 0 starts with clusters 0 and 2, so any subset of segments may
appear):

========================  =====  ==========================================================
column                    type   meaning
========================  =====  ==========================================================
``segment``               str    one of :data:`priors.segments.SEGMENT_KEYS`
``arm``                   str    ``control``, ``integrated`` or ``standalone``
``users``                 int    users randomised to the arm (≥ 1)
``adopters``              int    users who adopted video (0 for control)
``core_90d``              int    users Core after 90 days (intention-to-treat: all users)
``video_sessions_7d``     int    optional: weekly video sessions summed over adopters
``video_minutes_7d``      float  optional: weekly video minutes summed over adopters
========================  =====  ==========================================================

The generator draws a pilot from the seed's per-user process (§7.1) with binomial and Poisson
counts: adoption ``A ~ Bernoulli(p)``, sessions ``S ~ Poisson(λ)``, minutes
``T = S · μ · exp(ε)``, Core ``Y ~ Bernoulli(clip(b + δ·A, 0, 0.99))``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes.io import Column, InputError, read_table, row_numbers, validate_frame
from bayes.video.simulate import point_params
from models.video import ARMS, CORE_CAP
from priors.segments import SEGMENT_KEYS
from priors.video import MODES, VideoPriors

__all__ = [
    "PILOT_COLUMNS",
    "central_params",
    "generate_pilot",
    "prior_param_draws",
    "read_pilot",
    "simulate_pilot",
    "simulate_pilot_counts",
    "standalone_multipliers",
    "validate_pilot",
]

#: seed §11 Phase 0: start with clusters 0 and 2
PHASE0_SEGMENTS: tuple[str, ...] = ("power_prime", "prime_mid")

PILOT_COLUMNS: tuple[Column, ...] = (
    Column("segment", "str", allowed=SEGMENT_KEYS),
    Column("arm", "str", allowed=ARMS),
    Column("users", "int", min=1),
    Column("adopters", "int", min=0),
    Column("core_90d", "int", min=0),
    Column("video_sessions_7d", "int", required=False, nullable=True, min=0),
    Column("video_minutes_7d", "float", required=False, nullable=True, min=0),
)


def validate_pilot(df: pd.DataFrame, *, source: str = "<pilot>") -> pd.DataFrame:
    """Check a pilot table; return a clean copy in canonical row order.

    Besides types and ranges (:data:`PILOT_COLUMNS`): adopters ≤ users, core_90d ≤ users,
    control adopters (and usage) = 0, no duplicate segment × arm rows, sessions only where
    there are adopters, minutes only with sessions. Errors are :class:`bayes.io.InputError`
    naming the file, column and rows (CSV line numbers, header = line 1).
    """
    out = validate_frame(df, PILOT_COLUMNS, source=source)
    idx = out.index

    def fail(message, column, mask):
        raise InputError(message, source=source, column=column, rows=row_numbers(mask, idx))

    users = out["users"].to_numpy()
    for col in ("adopters", "core_90d"):
        bad = out[col].to_numpy() > users
        if bad.any():
            fail(f"{col} exceeds users", col, bad)
    control = (out["arm"] == "control").to_numpy()
    bad = control & (out["adopters"].to_numpy() != 0)
    if bad.any():
        fail("control rows must have 0 adopters (no video in the control arm)", "adopters", bad)
    dup = out.duplicated(["segment", "arm"], keep=False).to_numpy()
    if dup.any():
        fail("duplicate segment × arm rows", "arm", dup)
    adopters = out["adopters"].to_numpy()
    s = (
        out["video_sessions_7d"].to_numpy(dtype=float)
        if "video_sessions_7d" in out
        else np.full(len(out), np.nan)
    )
    bad = (control | (adopters == 0)) & (np.nan_to_num(s) > 0)
    if bad.any():
        fail("sessions reported for a row without adopters", "video_sessions_7d", bad)
    if "video_minutes_7d" in out:
        m = out["video_minutes_7d"].to_numpy(dtype=float)
        bad = ~np.isnan(m) & ~control & np.isnan(s)
        if bad.any():
            fail("minutes need video_sessions_7d on the same row", "video_minutes_7d", bad)
        bad = (np.nan_to_num(s) == 0) & (np.nan_to_num(m) > 0)
        if bad.any():
            fail("minutes reported with 0 sessions", "video_minutes_7d", bad)
        arm_s = ~control & ~np.isnan(s)
        bad = arm_s & np.isnan(m)
        if bad.any() and (~np.isnan(m) & ~control).any():
            fail("give minutes on every row with sessions, or on none", "video_minutes_7d", bad)
    order = {(s, a): i for i, (s, a) in enumerate((s, a) for s in SEGMENT_KEYS for a in ARMS)}
    key = [order[(s, a)] for s, a in zip(out["segment"], out["arm"], strict=True)]
    out = out.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    return out


def read_pilot(path: str | os.PathLike) -> pd.DataFrame:
    """Read (CSV/Parquet) and validate a pilot table."""
    df = read_table(path, PILOT_COLUMNS)
    return validate_pilot(df, source=str(path))


# --------------------------------------------------------------------------- parameters


def standalone_multipliers(p_adopt, delta, alpha, beta) -> tuple[np.ndarray, np.ndarray]:
    """Seed §9: standalone adoption × α (capped at 1) and standalone uplift × β.

    ``p_adopt`` and ``delta`` are (…, segment, mode) with a leading axis matching ``alpha`` and
    ``beta`` (scalars or one value per draw); the integrated column is left as is. The NumPy
    twin of the ``adoption``/``uplift`` Deterministics of :func:`priors.video.build_video_model`.
    Returns new arrays ``(adoption, uplift)``.
    """
    adoption = np.array(p_adopt, dtype=float)
    uplift = np.array(delta, dtype=float)
    adoption[..., 1] = np.clip(adoption[..., 1] * np.asarray(alpha)[..., None], 0.0, 1.0)
    uplift[..., 1] = uplift[..., 1] * np.asarray(beta)[..., None]
    return adoption, uplift


def central_params(
    priors: VideoPriors | None = None, *, alpha: float = 1.0, beta: float = 1.0
) -> dict[str, np.ndarray]:
    """The prior's central values with standalone adoption × α and uplift × β (seed §9).

    Returns arrays ``baseline`` (segment), ``adoption``, ``uplift``, ``sessions``
    (segment, mode), ``minutes`` (segment), plus ``alpha`` and ``beta`` (scalars).
    """
    priors = priors or VideoPriors()
    out = {k: v[0] for k, v in point_params(priors).items()}
    out["adoption"], out["uplift"] = standalone_multipliers(
        out["adoption"], out["uplift"], alpha, beta
    )
    return {**out, "alpha": np.float64(alpha), "beta": np.float64(beta)}


def prior_param_draws(priors: VideoPriors, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Draws of every prior quantity (NumPy, no compile) with a leading ``draw`` axis.

    Uses the same :class:`priors.spec.Prior` records as :func:`priors.video.build_video_model`
    and the same deterministic transforms (standalone adoption × α capped at 1, uplift × β).
    Returns the raw ``p_adopt``, ``delta``, ``alpha``, ``beta`` as well as ``baseline``,
    ``adoption``, ``uplift``, ``sessions`` and ``minutes``.
    """
    rng = np.random.default_rng(seed)
    decl = priors.declarations()
    raw = {name: decl[name].sample(rng, draws) for name in decl}
    alpha = raw["alpha"].reshape(draws)
    beta = raw["beta"].reshape(draws)
    adoption, uplift = standalone_multipliers(raw["p_adopt"], raw["delta"], alpha, beta)
    return {
        "baseline": raw["baseline"],
        "p_adopt": raw["p_adopt"],
        "delta": raw["delta"],
        "alpha": alpha,
        "beta": beta,
        "adoption": adoption,
        "uplift": uplift,
        "sessions": raw["sessions"],
        "minutes": raw["minutes"],
    }


# --------------------------------------------------------------------------- simulation


def _segment_index(segments: Sequence[str] | None) -> np.ndarray:
    segments = list(SEGMENT_KEYS if segments is None else segments)
    unknown = [s for s in segments if s not in SEGMENT_KEYS]
    if unknown:
        raise InputError(f"unknown segment(s) {unknown}; expected {list(SEGMENT_KEYS)}")
    if len(set(segments)) != len(segments):
        raise InputError(f"duplicate segments in {segments}")
    return np.array([SEGMENT_KEYS.index(s) for s in segments], dtype=int)


def simulate_pilot_counts(
    params: dict[str, np.ndarray],
    users_per_arm: int,
    rng: np.random.Generator,
    segments: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Core and adoption counts of pilots, vectorised over parameter draws (seed §7.1).

    ``params`` hold ``baseline`` (draw, segment), ``adoption`` and ``uplift``
    (draw, segment, mode). Returns ``adopters`` (draw, seg, arm) and ``core`` (draw, seg, arm)
    over the pilot's segments and :data:`ARMS`; each arm has ``users_per_arm`` users. Usage is
    not simulated here (it does not inform the decision; see :func:`simulate_pilot`).
    """
    si = _segment_index(segments)
    n = int(users_per_arm)
    b = np.asarray(params["baseline"])[:, si]
    p = np.asarray(params["adoption"])[:, si, :]
    d = np.asarray(params["uplift"])[:, si, :]
    draws = b.shape[0]
    adopters = np.zeros((draws, len(si), len(ARMS)), dtype=np.int64)
    core = np.zeros_like(adopters)
    adopters[:, :, 1:] = rng.binomial(n, np.clip(p, 0, 1))
    q1 = np.clip(b[:, :, None] + d, 0.0, CORE_CAP)
    core[:, :, 0] = rng.binomial(n, b)
    core[:, :, 1:] = rng.binomial(adopters[:, :, 1:], q1) + rng.binomial(
        n - adopters[:, :, 1:], np.broadcast_to(b[:, :, None], q1.shape)
    )
    return {"adopters": adopters, "core": core, "segments": si}


def simulate_pilot(
    params: dict[str, np.ndarray],
    users_per_arm: int,
    seed: int,
    *,
    segments: Sequence[str] | None = None,
    minutes_log_sd: float = 0.5,
    usage: bool = True,
) -> pd.DataFrame:
    """One pilot table from one parameter set (no draw axis), per-user process of seed §7.1.

    Adoption and Core are binomial counts (:func:`simulate_pilot_counts`); sessions are
    drawn per adopter ``S_i ~ Poisson(λ)`` and minutes ``T_i = S_i · μ · exp(ε_i)`` with
    ``ε_i ~ Normal(0, minutes_log_sd²)``, then summed over adopters.
    """
    if int(users_per_arm) < 1:
        raise InputError(f"users per arm must be >= 1, got {users_per_arm}")
    rng = np.random.default_rng(seed)
    one = {k: np.asarray(params[k])[None] for k in ("baseline", "adoption", "uplift")}
    counts = simulate_pilot_counts(one, users_per_arm, rng, segments)
    si = counts["segments"]
    rows = []
    for j, c in enumerate(si):
        for a, arm in enumerate(ARMS):
            n_adopt = int(counts["adopters"][0, j, a])
            row = {
                "segment": SEGMENT_KEYS[c],
                "arm": arm,
                "users": int(users_per_arm),
                "adopters": n_adopt,
                "core_90d": int(counts["core"][0, j, a]),
            }
            if usage:
                if arm == "control":
                    row["video_sessions_7d"] = 0
                    row["video_minutes_7d"] = 0.0
                else:
                    m = MODES.index(arm)
                    s = rng.poisson(float(params["sessions"][c, m]), size=n_adopt)
                    eps = rng.normal(0.0, minutes_log_sd, size=n_adopt)
                    row["video_sessions_7d"] = int(s.sum())
                    row["video_minutes_7d"] = float(
                        (s * float(params["minutes"][c]) * np.exp(eps)).sum()
                    )
            rows.append(row)
    return pd.DataFrame(rows)


def generate_pilot(
    alpha: float = 1.0,
    beta: float = 1.0,
    users_per_arm: int = 5000,
    seed: int = 0,
    *,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    priors: VideoPriors | None = None,
    usage: bool = True,
) -> pd.DataFrame:
    """A pilot drawn at true (α, β) with everything else at the prior's central values.

    Defaults follow seed §11 Phase 0 (clusters 0 and 2). ``segments=None`` covers all four.
    """
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not (np.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a positive number, got {v!r}")
    priors = priors or VideoPriors()
    params = central_params(priors, alpha=alpha, beta=beta)
    return simulate_pilot(
        params,
        users_per_arm,
        seed,
        segments=segments,
        minutes_log_sd=priors.minutes_log_sd,
        usage=usage,
    )
