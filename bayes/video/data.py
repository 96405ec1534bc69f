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

The generator (:func:`generate_pilot`, ``bayes video pilot``) draws a pilot from the seed's
per-user process (§7.1) with binomial and Poisson counts
(:func:`models.video.simulator.simulate_pilot`): adoption ``A ~ Bernoulli(p)``, sessions
``S ~ Poisson(λ)``, minutes ``T = S · μ · exp(ε)``, Core ``Y ~ Bernoulli(clip(b + δ·A, 0,
0.99))``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes.io import Column, InputError, read_table, row_numbers, validate_frame
from models.video import ARMS
from models.video.simulator import point_params, simulate_pilot
from priors.segments import ACTIVE_BASE, SEGMENT_KEYS
from priors.video import VideoPriors

__all__ = [
    "PHASE0_SEGMENTS",
    "PILOT_COLUMNS",
    "generate_pilot",
    "read_pilot",
    "validate_pilot",
]

#: seed §11 Phase 0: start with clusters 0 and 2
PHASE0_SEGMENTS: tuple[str, ...] = ("power_prime", "prime_mid")

PILOT_COLUMNS: tuple[Column, ...] = (
    Column("segment", "str", allowed=SEGMENT_KEYS),
    Column("arm", "str", allowed=ARMS),
    # a pilot arm cannot hold more users than the active base (seed §7: 24M)
    Column("users", "int", min=1, max=ACTIVE_BASE),
    Column("adopters", "int", min=0),
    Column("core_90d", "int", min=0),
    Column("video_sessions_7d", "int", required=False, nullable=True, min=0),
    Column("video_minutes_7d", "float", required=False, nullable=True, min=0),
)


def validate_pilot(df: pd.DataFrame, *, source: str = "<pilot>") -> pd.DataFrame:
    """Check a pilot table; return a clean copy in canonical row order.

    Besides types and ranges (:data:`PILOT_COLUMNS`: users between 1 and the 24M active base;
    every number finite, :func:`bayes.io.validate_frame`): the users of all rows sum to at most the active base, adopters ≤ users,
    core_90d ≤ users, control adopters (and usage) = 0, no duplicate segment × arm rows,
    sessions only where there are adopters, minutes only with sessions. Errors are
    :class:`bayes.io.InputError` naming the file, column and rows (CSV line numbers, header =
    line 1); they come before any sampling.
    """
    out = validate_frame(df, PILOT_COLUMNS, source=source)
    idx = out.index

    def fail(message, column, mask):
        raise InputError(message, source=source, column=column, rows=row_numbers(mask, idx))

    users = out["users"].to_numpy()
    if users.sum() > ACTIVE_BASE:
        fail(
            f"the pilot's users sum to {users.sum():,}, more than the active base "
            f"({ACTIVE_BASE:,})",
            "users",
            np.ones(len(out), bool),
        )
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


# --------------------------------------------------------------------------- generator


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
    params = {k: v[0] for k, v in point_params(priors, alpha=alpha, beta=beta).items()}
    unknown = sorted(set(segments or ()) - set(SEGMENT_KEYS))
    if unknown:
        raise InputError(f"unknown segment(s) {unknown}; expected {list(SEGMENT_KEYS)}")
    if segments is not None and len(set(segments)) != len(segments):
        raise InputError(f"duplicate segments in {list(segments)}")
    if int(users_per_arm) < 1:
        raise InputError(f"users per arm must be >= 1, got {users_per_arm}")
    return simulate_pilot(
        params,
        users_per_arm,
        seed,
        segments=segments,
        minutes_log_sd=priors.minutes_log_sd,
        usage=usage,
    )
