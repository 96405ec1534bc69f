"""Retention depth (seed 004, "next steps: survival curves by cohort, seasonality").

* :func:`activity_lifetimes` — one row per user: days from signup to the last session, and
  whether the user has churned, defined operationally: **churned** when no session followed
  the last one for ``churn_days`` before ``as_of``; otherwise the lifetime is censored at the
  last session (the user is known to have lasted at least that long).
* :func:`kaplan_meier` — the Kaplan-Meier estimator with Greenwood standard errors and
  log-log (``log(-log S)``) pointwise intervals, which stay inside [0, 1] (Kalbfleisch &
  Prentice 2002, §1.4). Written here (a few vectorised lines) rather than adding a survival
  library: statsmodels, already a dependency, is the oracle in the tests
  (``SurvfuncRight``), and a coverage test checks the intervals.
* :func:`survival_by_cohort` — Kaplan-Meier per signup cohort (month or week) or segment.
* :func:`seasonality` — repeat orders per customer-week by weekday or calendar month, against
  the exposure of customers active (first purchase made) on each day, with exact Poisson
  intervals and a chi-square test of "no seasonality".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bayes.growth.data import check_events_after_signup
from bayes.io import InputError
from priors.spec import interval_names

__all__ = [
    "activity_lifetimes",
    "kaplan_meier",
    "lifetimes_table",
    "plot_seasonality",
    "plot_survival",
    "seasonality",
    "seasonality_table",
    "survival_by_cohort",
]

_DAY = pd.Timedelta(days=1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def kaplan_meier(duration, observed, prob: float = 0.9) -> pd.DataFrame:
    """Kaplan-Meier survival with Greenwood standard errors and log-log intervals.

    ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)``; ``Var S = S^2 sum d_i / (n_i (n_i - d_i))``
    (Greenwood); the interval is ``S^exp(±z se / |log S|)`` with ``se`` Greenwood's on the
    log scale. Returns one row per distinct event time, preceded by ``time = 0``: ``time,
    at_risk, events, censored, survival, survival_se, lower_90, upper_90``.
    """
    d = np.asarray(duration, float)
    e = np.asarray(observed, bool)
    if d.shape != e.shape or d.size == 0:
        raise ValueError("duration and observed must be non-empty and of the same length")
    if np.any(~np.isfinite(d) | (d < 0)):
        raise ValueError("durations must be finite and >= 0")
    times = np.unique(d[e])
    sorted_d = np.sort(d)
    at_risk = d.size - np.searchsorted(sorted_d, times, side="left")
    events = np.searchsorted(np.sort(d[e]), times, side="right") - np.searchsorted(
        np.sort(d[e]), times, side="left"
    )
    # censored in [t_i, t_{i+1}) (row 0: before the first event time)
    slot = np.searchsorted(times, d[~e], side="right")
    cens = np.bincount(slot, minlength=times.size + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - events / at_risk)
        gw = np.cumsum(events / (at_risk * (at_risk - events)))
        se = surv * np.sqrt(gw)
        z = stats.norm.ppf((1 + prob) / 2)
        theta_se = np.sqrt(gw) / np.abs(np.log(surv))
        lower = surv ** np.exp(z * theta_se)
        upper = surv ** np.exp(-z * theta_se)
    last = surv == 0
    lower = np.where(last, 0.0, lower)
    upper = np.where(last, 0.0, upper)
    lo_name, hi_name = interval_names(prob)
    out = pd.DataFrame(
        {
            "time": np.concatenate([[0.0], times]),
            "at_risk": np.concatenate([[d.size], at_risk]),
            "events": np.concatenate([[0], events]),
            "censored": cens,
            "survival": np.concatenate([[1.0], surv]),
            "survival_se": np.concatenate([[0.0], np.nan_to_num(se)]),
            lo_name: np.concatenate([[1.0], np.nan_to_num(lower, nan=1.0)]),
            hi_name: np.concatenate([[1.0], np.nan_to_num(upper, nan=1.0)]),
        }
    )
    return out


def _as_utc(ts) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def activity_lifetimes(
    users: pd.DataFrame,
    events: pd.DataFrame,
    *,
    as_of=None,
    churn_days: int = 28,
    cohort: str = "month",
) -> pd.DataFrame:
    """One row per user: ``cohort``, ``lifetime_days`` (signup to last session), ``churned``.

    ``cohort`` is ``"month"`` or ``"week"`` (of signup, UTC) or a users column (country,
    device, acq_channel). ``as_of`` defaults to the last event; users who signed up after it
    are left out.
    """
    if churn_days <= 0:
        raise InputError(f"churn_days must be positive, got {churn_days}")
    check_events_after_signup(users, events)
    as_of = _as_utc(events["event_ts"].max() if as_of is None else as_of)
    u = users[users["signup_ts"] <= as_of].copy()
    if u.empty:
        raise InputError(
            f"--as-of {as_of.date()} is before every signup "
            f"(first {users['signup_ts'].min().date()}): no lifetime is observed"
        )
    sess = events[(events["event_type"] == "session_start") & (events["event_ts"] <= as_of)]
    last = sess.groupby("user_id")["event_ts"].max()
    last = last.reindex(u["user_id"]).to_numpy()
    return lifetimes_table(u, last, as_of=as_of, churn_days=churn_days, cohort=cohort)


def lifetimes_table(
    u: pd.DataFrame, last, *, as_of: pd.Timestamp, churn_days: int, cohort: str
) -> pd.DataFrame:
    """:func:`activity_lifetimes`' rows from the users signed up by ``as_of`` (``u``:
    ``user_id``, tz-aware ``signup_ts`` and the users columns) and each one's ``last`` session
    up to ``as_of`` (NaT: none) — also what an engine's aggregation is shaped into
    (:func:`bayes.engines.growth.activity_lifetimes`)."""
    signup = u["signup_ts"].to_numpy()
    last = np.where(pd.isna(last), signup, last)
    last = pd.to_datetime(last, utc=True)
    life = (last - pd.to_datetime(signup, utc=True)) / _DAY
    churned = (as_of - last) >= pd.Timedelta(days=churn_days)
    if cohort == "month":
        label = u["signup_ts"].dt.tz_convert("UTC").dt.strftime("%Y-%m")
    elif cohort == "week":
        label = (
            u["signup_ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN")
        ).dt.start_time.dt.strftime("%Y-%m-%d")
    elif cohort in u.columns:
        label = u[cohort].astype(str)
    else:
        raise InputError(f"unknown cohort {cohort!r}; use month, week or a users column")
    return pd.DataFrame(
        {
            "user_id": u["user_id"].to_numpy(),
            "cohort": label.to_numpy(),
            "lifetime_days": np.asarray(life, float),
            "churned": np.asarray(churned, bool),
        }
    )


def survival_by_cohort(lifetimes: pd.DataFrame, prob: float = 0.9) -> pd.DataFrame:
    """Kaplan-Meier per ``cohort`` (tidy: ``cohort`` + the :func:`kaplan_meier` columns)."""
    parts = []
    for name, g in lifetimes.groupby("cohort", sort=True):
        km = kaplan_meier(g["lifetime_days"], g["churned"], prob)
        parts.append(km.assign(cohort=name, users=len(g)))
    out = pd.concat(parts, ignore_index=True)
    return out[["cohort", "users", *[c for c in out.columns if c not in ("cohort", "users")]]]


def survival_at(table: pd.DataFrame, days=(7, 30, 90), prob: float = 0.9) -> pd.DataFrame:
    """S(t) with its interval per cohort at each of ``days`` (step function read-off)."""
    lo_name, hi_name = interval_names(prob)
    rows = []
    for name, g in table.groupby("cohort", sort=True):
        t = g["time"].to_numpy()
        row = {"cohort": name, "users": int(g["users"].iloc[0])}
        for day in days:
            i = np.searchsorted(t, day, side="right") - 1
            row[f"S_{day}d"] = float(g["survival"].iloc[i])
            row[f"S_{day}d_{lo_name}"] = float(g[lo_name].iloc[i])
            row[f"S_{day}d_{hi_name}"] = float(g[hi_name].iloc[i])
        rows.append(row)
    return pd.DataFrame(rows)


def seasonality(orders: pd.DataFrame, *, by: str = "weekday", prob: float = 0.9) -> pd.DataFrame:
    """Repeat orders per customer-week by ``weekday`` or calendar ``month``.

    Exposure: a customer is at risk of a repeat order from the day after their first order to
    the end of the log; ``rate = repeat orders / customer-days * 7``, ``index = rate / overall
    rate``, with exact (Garwood) Poisson intervals on the count. ``attrs`` hold the chi-square
    test of "the same rate in every group" (``chi2``, ``dof``, ``p_value``).
    """
    if by not in ("weekday", "month"):
        raise InputError(f"by must be 'weekday' or 'month', got {by!r}")
    idc = "user_id" if "user_id" in orders.columns else "customer_id"
    tsc = "order_ts" if "order_ts" in orders.columns else "date"
    day = (
        pd.to_datetime(orders[tsc], utc=True)
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .dt.floor("D")
    )
    df = pd.DataFrame({"c": orders[idc].to_numpy(), "day": day.to_numpy()})
    first = df.groupby("c")["day"].transform("min")
    repeat = df[df["day"] > first]
    days = pd.date_range(df["day"].min(), df["day"].max(), freq="D")
    starts = df.groupby("c")["day"].min().value_counts().reindex(days, fill_value=0)
    counts = repeat["day"].value_counts().reindex(days, fill_value=0)
    return seasonality_table(days, counts.to_numpy(), starts.to_numpy(), by=by, prob=prob)


def seasonality_table(days: pd.DatetimeIndex, counts, starts, *, by: str, prob: float = 0.9):
    """:func:`seasonality` from the daily counts over ``days`` (every day from the first order
    to the last): ``counts`` repeat orders and ``starts`` first orders per day — also what an
    engine counts (:func:`bayes.engines.growth.seasonality_counts`)."""
    if by not in ("weekday", "month"):
        raise InputError(f"by must be 'weekday' or 'month', got {by!r}")
    starts = pd.Series(np.asarray(starts), index=days)
    counts = pd.Series(np.asarray(counts), index=days)
    exposure = starts.cumsum().shift(1, fill_value=0)  # at risk from the day after the first
    key = (
        pd.Index(days.dayofweek, name="group")
        if by == "weekday"
        else pd.Index(days.strftime("%Y-%m"), name="group")
    )
    g = pd.DataFrame({"orders": counts.to_numpy(), "customer_days": exposure.to_numpy()}, index=key)
    g = g.groupby(level=0).sum()
    g = g[g["customer_days"] > 0]
    a = 1 - prob
    o = g["orders"].to_numpy(float)
    lo = np.where(o > 0, stats.chi2.ppf(a / 2, 2 * o) / 2, 0.0)
    hi = stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2
    cd = g["customer_days"].to_numpy(float)
    overall = o.sum() / cd.sum()
    lo_name, hi_name = interval_names(prob)
    out = pd.DataFrame(
        {
            by: [_WEEKDAYS[i] for i in g.index] if by == "weekday" else list(g.index),
            "repeat_orders": o.astype(int),
            "customer_days": cd,
            "rate_per_customer_week": 7 * o / cd,
            "index": (o / cd) / overall,
            f"index_{lo_name}": (lo / cd) / overall,
            f"index_{hi_name}": (hi / cd) / overall,
        }
    )
    expected = cd / cd.sum() * o.sum()
    chi2 = float(np.sum((o - expected) ** 2 / expected))
    dof = len(o) - 1
    out.attrs.update(chi2=chi2, dof=dof, p_value=float(stats.chi2.sf(chi2, dof)))
    return out


def plot_survival(table: pd.DataFrame, prob: float = 0.9, max_cohorts: int = 8, ax=None):
    """Kaplan-Meier curves per cohort with their pointwise intervals (step functions)."""
    import matplotlib.pyplot as plt

    lo_name, hi_name = interval_names(prob)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
    else:
        fig = ax.figure
    cohorts = list(dict.fromkeys(table["cohort"]))[:max_cohorts]
    for name in cohorts:
        g = table[table["cohort"] == name]
        (line,) = ax.step(
            g["time"], g["survival"], where="post", label=f"{name} (n={g['users'].iloc[0]:,})"
        )
        ax.fill_between(
            g["time"], g[lo_name], g[hi_name], step="post", alpha=0.15, color=line.get_color()
        )
    ax.set_xlabel("days since signup")
    ax.set_ylabel("share still active (Kaplan-Meier)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"survival by cohort, {int(prob * 100)}% intervals (Greenwood, log-log)")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_seasonality(table: pd.DataFrame, prob: float = 0.9, ax=None):
    """Seasonality index per group with its interval; 1 = the overall rate."""
    import matplotlib.pyplot as plt

    lo_name, hi_name = interval_names(prob)
    by = table.columns[0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    else:
        fig = ax.figure
    x = np.arange(len(table))
    idx = table["index"].to_numpy()
    ax.errorbar(
        x,
        idx,
        yerr=[idx - table[f"index_{lo_name}"], table[f"index_{hi_name}"] - idx],
        fmt="o",
        capsize=3,
    )
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_xticks(x, table[by], rotation=45 if by == "month" else 0)
    p = table.attrs.get("p_value")
    ax.set_ylabel("repeat-order rate / overall")
    ax.set_title(f"seasonality by {by}" + (f" (chi-square p = {p:.3g})" if p is not None else ""))
    return fig
