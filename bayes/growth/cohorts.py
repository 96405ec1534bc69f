"""Weekly cohort retention (seed 004, "Methods: Cohorts & retention").

A user is **retained in week k** when they have at least one ``session_start`` in
``[signup + 7k days, signup + 7(k+1) days)``. Users are grouped into cohorts by the calendar
week of their signup (weeks start on Monday, UTC). A cell of the matrix is the fraction of the
cohort retained in week ``k``; it is left empty (NaN) unless week ``k`` of *every* member of the
cohort ended before ``as_of`` (the end of the data), so no cell is biased by censoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes.growth.data import check_events_after_signup
from bayes.io import InputError

__all__ = ["SEGMENTS", "plot_retention", "retention_curve", "retention_matrix"]

SEGMENTS = ("country", "device", "acq_channel")
_WEEK = pd.Timedelta(days=7)


def _week_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("week_")]


def retention_matrix(
    users: pd.DataFrame,
    events: pd.DataFrame,
    *,
    segment: str | None = None,
    max_weeks: int = 12,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Cohort x week retention fractions.

    Parameters
    ----------
    users, events
        Tables of the seed's data dictionary (validated, timestamps tz-aware UTC).
    segment
        Optional ``country``, ``device`` or ``acq_channel``: one block of cohorts per value.
    max_weeks
        Last week index shown (weeks ``0..max_weeks``).
    as_of
        End of observation; defaults to the last event's timestamp.

    Returns
    -------
    DataFrame
        Columns ``[segment,] cohort, cohort_size, week_0 .. week_{max_weeks}``; one row per
        (segment, cohort), sorted. ``cohort`` is the Monday (ISO date) of the signup week.
    """
    if segment is not None and segment not in SEGMENTS:
        raise InputError(f"unknown segment {segment!r}; use one of {list(SEGMENTS)}")
    if max_weeks < 0:
        raise InputError("max_weeks must be >= 0")
    u = users[["user_id", "signup_ts"] + ([segment] if segment else [])].copy()
    if u["user_id"].duplicated().any():
        dup = np.flatnonzero(u["user_id"].duplicated().to_numpy()) + 2
        raise InputError("duplicate user_id", source="users", column="user_id", rows=dup)
    check_events_after_signup(users, events)
    sess = events.loc[events["event_type"] == "session_start", ["user_id", "event_ts"]]
    known = sess["user_id"].isin(u["user_id"]).to_numpy()
    if not known.all():
        raise InputError(
            "events of users missing from the users table",
            source="events",
            column="user_id",
            rows=(np.flatnonzero(~known) + 2).tolist()
            if isinstance(sess.index, pd.RangeIndex)
            else list(sess.index[~known] + 2),
        )
    as_of = events["event_ts"].max() if as_of is None else pd.Timestamp(as_of)
    if as_of.tzinfo is None:
        as_of = as_of.tz_localize("UTC")
    u["cohort"] = (
        u["signup_ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    )
    keys = ([segment] if segment else []) + ["cohort"]

    s = sess.merge(u, on="user_id", how="inner")
    k = np.floor((s["event_ts"] - s["signup_ts"]) / _WEEK).astype(int)
    s = s.assign(week=k)[(k >= 0) & (k <= max_weeks)]
    active = s.drop_duplicates(["user_id", "week"]).groupby(keys + ["week"]).size()

    g = u.groupby(keys)
    size = g.size().rename("cohort_size")
    last_signup = g["signup_ts"].max()
    weeks = np.arange(max_weeks + 1)
    frac = active.unstack("week").reindex(index=size.index, columns=weeks).fillna(0.0)
    frac = frac.div(size, axis=0)
    # censoring: week k observed only if every member's window [.., signup + 7(k+1)) ended
    last = last_signup.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    window_end = last[:, None] + (weeks[None, :] + 1) * np.timedelta64(7, "D")
    observed = window_end <= np.datetime64(as_of.tz_convert("UTC").tz_localize(None))
    frac = frac.where(observed)
    if not observed.any():
        raise InputError(
            f"as-of {as_of.date()}: no cohort has a fully observed week (the first signup is "
            f"{u['signup_ts'].min().date()}); every cell of the cohort matrix would be empty"
        )
    frac.columns = [f"week_{w}" for w in weeks]
    out = pd.concat([size, frac], axis=1).reset_index()
    out["cohort"] = out["cohort"].dt.strftime("%Y-%m-%d")
    return out


def retention_curve(matrix: pd.DataFrame, segment: str | None = None) -> pd.DataFrame:
    """Cohort-size weighted mean retention per week over the cohorts observed in that week.

    Returns columns ``[segment,] week, retention, users`` (``users``: people behind the mean).
    """
    cols = _week_cols(matrix)
    keys = [segment] if segment else []
    rows = []
    groups = matrix.groupby(keys) if keys else [((), matrix)]
    for key, block in groups:
        size = block["cohort_size"].to_numpy(float)
        for c in cols:
            vals = block[c].to_numpy(float)
            ok = ~np.isnan(vals)
            n = size[ok].sum()
            row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=False))
            row.update(
                week=int(c.split("_")[1]),
                retention=float((vals[ok] * size[ok]).sum() / n) if n else np.nan,
                users=int(n),
            )
            rows.append(row)
    return pd.DataFrame(rows)


def plot_retention(matrix: pd.DataFrame, segment: str | None = None, *, annotate: bool = True):
    """Heatmap(s) of the retention matrix: one panel, or one per segment value."""
    import matplotlib.pyplot as plt

    cols = _week_cols(matrix)
    blocks = list(matrix.groupby(segment)) if segment else [("all users", matrix)]
    n = len(blocks)
    ncols = min(n, 2)
    nrows = int(np.ceil(n / ncols))
    first = blocks[0][1]
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(max(6, 0.45 * len(cols) + 3.5) * ncols, max(3, 0.28 * len(first) + 1.5) * nrows),
        squeeze=False,
        layout="constrained",
    )
    im = None
    for ax, (name, block) in zip(axes.ravel(), blocks, strict=False):
        vals = block[cols].to_numpy(float)
        im = ax.imshow(np.ma.masked_invalid(vals), aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(cols)), [c.split("_")[1] for c in cols])
        labels = [
            f"{c} (n={s})" for c, s in zip(block["cohort"], block["cohort_size"], strict=True)
        ]
        ax.set_yticks(range(len(block)), labels, fontsize=7)
        ax.set_xlabel("weeks since signup")
        ax.set_title(f"{segment} = {name}" if segment else "weekly retention by signup cohort")
        if annotate and vals.size <= 600:
            for (i, j), val in np.ndenumerate(vals):
                if np.isfinite(val):
                    ax.text(
                        j,
                        i,
                        f"{100 * val:.0f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if val < 0.5 else "black",
                    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.colorbar(im, ax=axes.ravel().tolist(), label="share of cohort with a session")
    return fig
