"""Synthetic growth data per the seed 004 data dictionary, with purchases from a known truth.

Tables (seed 004, "Data Dictionary"; all timestamps ISO8601 UTC):

* ``users``: ``user_id, signup_ts, country (US, MX, CA, GB, DE), device (ios, android, web),
  acq_channel (paid, organic, referral, affiliate)``
* ``events``: ``user_id, event_ts, event_type (session_start, view, add_to_cart, purchase),
  session_id, amount (0 if not purchase)``
* ``orders``: ``order_id, user_id, order_ts, amount, margin, promo_flag, treatment_flag``

The data-generating process (all vectorised, one ``numpy.random.Generator``):

1. Users sign up uniformly over ``signup_weeks``; segments are drawn independently.
2. A user becomes a customer with probability ``first_purchase_prob``, at an exponential delay
   after signup (if before the observation end). From that first purchase on, repeat purchases
   follow **BG/NBD** with the truth ``(r, alpha, a, b)`` in weeks (:func:`models.ltv.simulate_bgnbd`),
   and every order's amount follows **Gamma-Gamma** with ``(p, q, v)``: a customer's
   ``nu ~ Gamma(q, rate=v)``, each amount ``z ~ Gamma(p, rate=nu)``. So a BG/NBD + Gamma-Gamma
   fit on the orders must recover the truth.
3. Sessions: every user has a signup session; every order sits in a session
   (``session_start``, at least one view, ``add_to_cart``, ``purchase`` with the order's
   amount); other sessions have Poisson(1) views and an ``add_to_cart`` 10% of the time; and users
   browse at a Gamma-distributed weekly rate during an exponential engagement lifetime whose
   mean depends on device and channel — this is what the cohort retention matrix sees.
4. ``margin = amount * Beta(6, 14)`` (mean 30%); ``treatment_flag`` is a per-user fair coin;
   ``promo_flag`` is set on 30% of treated users' orders and 5% of the others'. Neither changes
   the amounts, so the LTV truth stays exact.
5. Optionally (``GrowthTruth.segment_truth``) the BG/NBD and Gamma-Gamma truths differ by
   segment (country, device or channel): the data for checking the segment models of
   :mod:`bayes.ltv` against segment-level truths. Without it the output is unchanged.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.io import Column, InputError, read_table, row_numbers, write_json, write_table
from models.ltv import simulate_bgnbd

__all__ = [
    "COUNTRIES",
    "DEVICES",
    "CHANNELS",
    "EVENTS_COLUMNS",
    "ORDERS_COLUMNS",
    "USERS_COLUMNS",
    "GrowthData",
    "GrowthTruth",
    "check_events_after_signup",
    "generate_growth_data",
    "read_events",
    "read_orders",
    "read_users",
    "write_growth_data",
    "write_growth_files",
]

COUNTRIES = ("US", "MX", "CA", "GB", "DE")
DEVICES = ("ios", "android", "web")
CHANNELS = ("paid", "organic", "referral", "affiliate")
EVENT_TYPES = ("session_start", "view", "add_to_cart", "purchase")

USERS_COLUMNS = (
    Column("user_id", "int", min=0),
    Column("signup_ts", "datetime"),
    Column("country", "str", allowed=COUNTRIES),
    Column("device", "str", allowed=DEVICES),
    Column("acq_channel", "str", allowed=CHANNELS),
)
EVENTS_COLUMNS = (
    Column("user_id", "int", min=0),
    Column("event_ts", "datetime"),
    Column("event_type", "str", allowed=EVENT_TYPES),
    Column("session_id", "int", min=0),
    Column("amount", "float", min=0),
)
ORDERS_COLUMNS = (
    Column("order_id", "int", min=0),
    Column("user_id", "int", min=0),
    Column("order_ts", "datetime"),
    Column("amount", "float", min=0),
    Column("margin", "float"),
    Column("promo_flag", "bool"),
    Column("treatment_flag", "bool"),
)

_DAY = 86_400.0
_WEEK = 7 * _DAY


@dataclass(frozen=True)
class GrowthTruth:
    """Parameters of the generator. BG/NBD time unit: week; Gamma-Gamma in currency units."""

    r: float = 0.25
    alpha: float = 4.0
    a: float = 0.8
    b: float = 2.5
    p: float = 6.0
    q: float = 4.0
    v: float = 15.0
    first_purchase_prob: float = 0.6
    first_purchase_delay_days: float = 3.0
    browse_rate_per_week: float = 0.5
    engagement_weeks: float = 5.0
    views_per_session: float = 1.0
    cart_prob: float = 0.1
    country_probs: tuple = (0.45, 0.15, 0.12, 0.15, 0.13)
    device_probs: tuple = (0.40, 0.35, 0.25)
    channel_probs: tuple = (0.35, 0.40, 0.15, 0.10)
    device_engagement: tuple = (1.15, 1.0, 0.8)
    channel_engagement: tuple = (0.7, 1.2, 1.3, 0.8)
    #: optional segment-level truths: ``{"country": {"DE": {"r": 0.18, "v": 12.0}, ...}}``
    #: (one column; unnamed values and parameters keep the population values above)
    segment_truth: dict | None = None

    def customer_params(self, segments: dict[str, np.ndarray]) -> tuple[dict, dict]:
        """BG/NBD and Gamma-Gamma parameters per customer: scalars, or arrays when
        :attr:`segment_truth` gives per-segment values (``segments``: column -> labels)."""
        bg, gg = self.bgnbd, self.gamma_gamma
        for column, table in (self.segment_truth or {}).items():
            labels = np.asarray(segments[column], dtype=object)
            for params in (bg, gg):
                for k, base in params.items():
                    vals = np.array([table.get(lab, {}).get(k, base) for lab in labels], float)
                    params[k] = vals if np.any(vals != base) else base
        return bg, gg

    @property
    def bgnbd(self) -> dict:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def gamma_gamma(self) -> dict:
        return {"p": self.p, "q": self.q, "v": self.v}


@dataclass
class GrowthData:
    users: pd.DataFrame
    events: pd.DataFrame
    orders: pd.DataFrame
    observation_end: pd.Timestamp
    truth: GrowthTruth = field(default_factory=GrowthTruth)
    seed: int = 0

    def meta(self) -> dict:
        return {
            "seed": self.seed,
            "n_users": len(self.users),
            "n_events": len(self.events),
            "n_orders": len(self.orders),
            "observation_end": self.observation_end.isoformat(),
            "truth": asdict(self.truth),
        }


def _ts(start: pd.Timestamp, seconds: np.ndarray) -> pd.DatetimeIndex:
    return start + pd.to_timedelta(np.floor(seconds).astype(np.int64), unit="s")


def generate_growth_data(
    n_users: int = 100_000,
    *,
    seed: int = 0,
    start: str = "2024-01-01",
    signup_weeks: int = 26,
    observation_weeks: int = 52,
    truth: GrowthTruth | None = None,
    sessions: bool = True,
) -> GrowthData:
    """Generate ``users``, ``events`` and ``orders`` (see the module docstring for the process).

    Same ``n_users``, ``seed`` and parameters give identical tables. ``sessions=False`` skips
    step 3 (``events`` is then empty; users and orders are unchanged, step 3 drawing last).
    """
    if n_users <= 0:
        raise ValueError("n_users must be positive")
    if observation_weeks <= signup_weeks:
        raise ValueError("observation_weeks must exceed signup_weeks")
    truth = truth or GrowthTruth()
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    end_s = observation_weeks * _WEEK
    n = int(n_users)

    # 1. users ------------------------------------------------------------------------
    signup = np.sort(rng.uniform(0, signup_weeks * _WEEK, n))
    country = rng.choice(len(COUNTRIES), n, p=truth.country_probs)
    device = rng.choice(len(DEVICES), n, p=truth.device_probs)
    channel = rng.choice(len(CHANNELS), n, p=truth.channel_probs)
    user_id = np.arange(1, n + 1)
    users = pd.DataFrame(
        {
            "user_id": user_id,
            "signup_ts": _ts(t0, signup),
            "country": np.asarray(COUNTRIES, dtype=object)[country],
            "device": np.asarray(DEVICES, dtype=object)[device],
            "acq_channel": np.asarray(CHANNELS, dtype=object)[channel],
        }
    )

    # 2. purchases: first purchase, then BG/NBD repeats, Gamma-Gamma amounts ----------
    first = signup + rng.exponential(truth.first_purchase_delay_days * _DAY, n)
    buyer = (rng.random(n) < truth.first_purchase_prob) & (first < end_s)
    cust = np.flatnonzero(buyer)
    T_weeks = (end_s - first[cust]) / _WEEK
    labels = {"country": COUNTRIES, "device": DEVICES, "acq_channel": CHANNELS}
    codes = {"country": country, "device": device, "acq_channel": channel}
    bg, gg = truth.customer_params(
        {c: np.asarray(labels[c], dtype=object)[codes[c][cust]] for c in truth.segment_truth or {}}
    )
    x, t_x = simulate_bgnbd(rng, bg["r"], bg["alpha"], bg["a"], bg["b"], T_weeks)
    # repeat times: the x-th at t_x, the x-1 earlier ones uniform on (0, t_x) (order statistics)
    n_orders_c = 1 + x
    owner = np.repeat(cust, n_orders_c)  # user index of each order
    cidx = np.repeat(np.arange(cust.size), n_orders_c)
    start_pos = np.cumsum(n_orders_c) - n_orders_c
    k = np.arange(owner.size) - np.repeat(start_pos, n_orders_c)  # 0 = first purchase
    u = rng.random(owner.size)
    offset_w = np.where(k == n_orders_c[cidx] - 1, 1.0, u) * t_x[cidx]
    offset_w[k == 0] = 0.0
    order_s = first[owner] + offset_w * _WEEK
    q_c, v_c, p_c = (np.broadcast_to(gg[k], cust.size) for k in ("q", "v", "p"))
    nu = rng.gamma(q_c, 1.0 / v_c)
    amount = np.round(rng.gamma(p_c[cidx], 1.0 / nu[cidx]), 2)
    amount = np.maximum(amount, 0.01)
    margin = np.round(amount * rng.beta(6, 14, owner.size), 2)
    treated = rng.random(n) < 0.5
    promo = rng.random(owner.size) < np.where(treated[owner], 0.30, 0.05)
    o_order = np.lexsort((owner, order_s))
    owner, order_s, amount, margin, promo = (
        z[o_order] for z in (owner, order_s, amount, margin, promo)
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, owner.size + 1),
            "user_id": user_id[owner],
            "order_ts": _ts(t0, order_s),
            "amount": amount,
            "margin": margin,
            "promo_flag": promo,
            "treatment_flag": treated[owner],
        }
    )

    if not sessions:
        return GrowthData(
            users=users,
            events=pd.DataFrame({c.name: [] for c in EVENTS_COLUMNS}),
            orders=orders,
            observation_end=t0 + pd.Timedelta(seconds=end_s),
            truth=truth,
            seed=seed,
        )

    # 3. sessions -----------------------------------------------------------------------
    # browsing: rate ~ Gamma(1, mean) per week during an exponential engagement lifetime
    engage = (
        np.asarray(truth.device_engagement)[device] * np.asarray(truth.channel_engagement)[channel]
    )
    life = np.minimum(rng.exponential(truth.engagement_weeks * engage) * _WEEK, end_s - signup)
    rate = rng.gamma(1.0, truth.browse_rate_per_week, n) / _WEEK
    n_browse = rng.poisson(rate * life)
    b_user = np.repeat(np.arange(n), n_browse)
    b_start = signup[b_user] + rng.random(b_user.size) * life[b_user]
    # session table: signup sessions, browse sessions, purchase sessions
    p_dur = rng.uniform(60, 1200, owner.size)
    p_start = np.maximum(order_s - p_dur, signup[owner])
    s_user = np.concatenate([np.arange(n), b_user, owner])
    s_start = np.concatenate([signup, b_start, p_start])
    s_end = np.concatenate(
        [signup + rng.uniform(30, 900, n), b_start + rng.uniform(30, 900, b_user.size), order_s]
    )
    s_kind = np.concatenate(
        [np.zeros(n + b_user.size, dtype=np.int8), np.ones(owner.size, dtype=np.int8)]
    )
    s_amount = np.concatenate([np.zeros(n + b_user.size), amount])
    ns = s_user.size
    s_order = np.lexsort((s_start, s_user))
    s_user, s_start, s_end, s_kind, s_amount = (
        z[s_order] for z in (s_user, s_start, s_end, s_kind, s_amount)
    )
    session_id = np.arange(1, ns + 1)
    n_views = rng.poisson(truth.views_per_session, ns) + (s_kind == 1)
    cart = (s_kind == 1) | (rng.random(ns) < truth.cart_prob)
    buy = s_kind == 1
    n_ev = 1 + n_views + cart + buy  # session_start, views, add_to_cart?, purchase?
    e_sess = np.repeat(np.arange(ns), n_ev)
    e_pos = np.arange(e_sess.size) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    e_type = np.ones(e_sess.size, dtype=np.int8)  # view
    e_type[e_pos == 0] = 0
    last = e_pos == n_ev[e_sess] - 1
    e_type[last & buy[e_sess]] = 3
    cart_pos = n_ev[e_sess] - 1 - buy[e_sess]
    e_type[(e_pos == cart_pos) & cart[e_sess]] = 2
    frac = e_pos / np.maximum(n_ev[e_sess] - 1, 1)
    e_s = s_start[e_sess] + frac * (s_end[e_sess] - s_start[e_sess])
    events = pd.DataFrame(
        {
            "user_id": user_id[s_user[e_sess]],
            "event_ts": _ts(t0, e_s),
            "event_type": np.asarray(EVENT_TYPES, dtype=object)[e_type],
            "session_id": session_id[e_sess],
            "amount": np.where(e_type == 3, s_amount[e_sess], 0.0),
        }
    )
    return GrowthData(
        users=users,
        events=events,
        orders=orders,
        observation_end=t0 + pd.Timedelta(seconds=end_s),
        truth=truth,
        seed=seed,
    )


def _iso(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_growth_data(data: GrowthData, outdir: str | os.PathLike, fmt: str = "csv") -> dict:
    """Write ``users``, ``events``, ``orders`` (CSV with ISO8601 UTC strings, or Parquet) and
    ``truth.json``; return the paths."""
    outdir = Path(outdir)
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    paths = {}
    for name, df, ts in (
        ("users", data.users, "signup_ts"),
        ("events", data.events, "event_ts"),
        ("orders", data.orders, "order_ts"),
    ):
        out = df.copy()
        if fmt == "csv":
            out[ts] = _iso(out[ts])
        paths[name] = write_table(out, outdir / f"{name}.{fmt}")
    paths["truth"] = write_json(data.meta(), outdir / "truth.json")
    return paths


def write_growth_files(
    outdir: str | os.PathLike,
    n_users: int,
    *,
    seed: int = 0,
    fmt: str = "parquet",
    block_users: int = 250_000,
    tables: tuple[str, ...] = ("users", "events", "orders"),
    progress: bool | None = None,
    **kwargs,
) -> dict:
    """:func:`generate_growth_data` for any ``n_users``, written block by block with constant
    memory (one Parquet row group per block; :class:`bayes.engines.writers.ChunkedTables`).

    Block 0 is ``generate_growth_data(block, seed=seed)``, so up to ``block_users`` users the
    files equal :func:`write_growth_data`'s; block ``b >= 1`` draws from ``seed=[seed, b]``, its
    ids following the previous blocks'. ``tables`` picks what to write (without ``events`` the
    sessions are not simulated: 50M orders take minutes). Returns the paths (and
    ``truth.json``) and the row counts under ``"rows"``.
    """
    from bayes.engines.writers import ChunkedTables
    from bayes.progress import progress as bar

    if n_users <= 0 or block_users <= 0:
        raise ValueError("n_users and block_users must be positive")
    n_blocks = -(-int(n_users) // block_users)
    offsets = {"user_id": 0, "order_id": 0, "session_id": 0}
    data = None
    with ChunkedTables(outdir, fmt) as out:
        for b in bar(range(n_blocks), total=n_blocks, desc="generate", enabled=progress):
            size = min(block_users, n_users - b * block_users)
            data = generate_growth_data(
                size, seed=seed if b == 0 else [seed, b], sessions="events" in tables, **kwargs
            )
            shifted = {}
            for name, df, ts in (
                ("users", data.users, "signup_ts"),
                ("events", data.events, "event_ts"),
                ("orders", data.orders, "order_ts"),
            ):
                df = df.assign(**{c: df[c] + offsets[c] for c in offsets if c in df.columns})
                if fmt == "csv" and len(df):
                    df[ts] = _iso(df[ts])
                shifted[name] = df
            for name in tables:
                out.append(name, shifted[name])
            offsets["user_id"] += size
            offsets["order_id"] += len(data.orders)
            if len(data.events):
                offsets["session_id"] = int(shifted["events"]["session_id"].max())
    meta = data.meta() | {
        "seed": seed,
        "n_users": int(n_users),
        "block_users": block_users,
        **{f"n_{t}": out.rows.get(t) for t in ("events", "orders")},
    }
    paths = dict(out.paths) | {"truth": write_json(meta, Path(outdir) / "truth.json")}
    return paths | {"rows": dict(out.rows)}


def read_users(path) -> pd.DataFrame:
    """Read and validate a users table (CSV/Parquet)."""
    return read_table(path, USERS_COLUMNS)


def read_events(path) -> pd.DataFrame:
    """Read and validate an events table; only the columns cohorts need are required."""
    return read_table(path, EVENTS_COLUMNS)


def read_orders(path) -> pd.DataFrame:
    """Read and validate an orders table."""
    return read_table(path, ORDERS_COLUMNS)


def check_events_after_signup(users: pd.DataFrame, events: pd.DataFrame, *, source="events"):
    """Refuse events of a user before their signup (an impossible log), naming the rows."""
    signup = users.drop_duplicates("user_id").set_index("user_id")["signup_ts"]
    before = (events["event_ts"] < events["user_id"].map(signup)).to_numpy()
    if before.any():
        raise InputError(
            "events before the user's signup_ts (impossible: check time zones and user ids)",
            source=source,
            column="event_ts",
            rows=row_numbers(before, events.index),
        )
