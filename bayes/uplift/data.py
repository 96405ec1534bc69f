"""A promotion experiment on the growth customers, with known heterogeneous effects; and the
validated readers of experiment and score files.

The generator (:func:`generate_uplift_data`):

1. calls :func:`bayes.growth.data.generate_growth_data` (users, events, orders with a known
   BG/NBD + Gamma-Gamma truth) and takes every *customer* (a user with at least one order) at
   the end of its observation window — the day the promotion is sent;
2. builds features a marketer has on that day: ``country, device, acq_channel``,
   ``tenure_weeks``, ``frequency`` (repeat orders), ``recency_weeks`` (weeks since the last
   order), ``avg_order_value``, ``sessions_4w`` (sessions in the last 28 days);
3. draws each customer's response type — persuadable, sure thing, lost cause, sleeping dog —
   from feature-dependent probabilities whose population shares equal the declared ones
   exactly (:mod:`models.uplift.simulate`), and a fair-coin ``treatment_flag``;
4. the outcome ``converted`` is the type's potential outcome in the assigned arm; a
   conversion's ``margin`` is the customer's mean order margin times Gamma(10, 1/10) noise;
   ``promo_flag`` marks conversions that used the promotion (treated converters).

The truth file holds every customer's type, ``p_control``, ``p_treated``, the true uplift
``tau(x) = P(persuadable | x) − P(sleeping dog | x)`` and the individual effect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.io import (
    Column,
    InputError,
    read_table,
    row_numbers,
    validate_frame,
    write_json,
    write_table,
)
from models.uplift.simulate import (
    RESPONSE_TYPES,
    draw_types,
    potential_outcomes,
    true_effects,
    type_probabilities,
)

__all__ = [
    "CATEGORICAL_FEATURES",
    "DEFAULT_SHARES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "UpliftData",
    "binary_column",
    "generate_uplift_data",
    "read_experiment",
    "read_scores",
    "write_uplift_data",
]

#: declared shares of the response types
DEFAULT_SHARES: dict[str, float] = {
    "persuadable": 0.20,
    "sure_thing": 0.15,
    "lost_cause": 0.55,
    "sleeping_dog": 0.10,
}
CATEGORICAL_FEATURES = ("country", "device", "acq_channel")
NUMERIC_FEATURES = (
    "tenure_weeks",
    "frequency",
    "recency_weeks",
    "avg_order_value",
    "sessions_4w",
)
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

#: how the features move each type's log-odds against ``lost_cause`` (z = standardised)
EFFECTS = {
    "persuadable": {
        "z_sessions": 0.8,
        "z_recency": 0.6,
        "z_frequency": -0.3,
        "mobile": 0.5,
        "paid_or_affiliate": 0.5,
    },
    "sure_thing": {"z_frequency": 1.2, "z_recency": -0.8, "z_value": 0.3},
    "lost_cause": {},
    "sleeping_dog": {
        "z_frequency": 0.7,
        "web": 0.6,
        "organic_or_referral": 0.6,
        "z_sessions": -0.5,
    },
}

_WEEK = pd.Timedelta(weeks=1)


@dataclass
class UpliftData:
    """The experiment (one row per customer), the truth, and the growth orders (for LTV)."""

    experiment: pd.DataFrame
    truth: pd.DataFrame
    orders: pd.DataFrame
    observation_end: pd.Timestamp
    shares: dict = field(default_factory=lambda: dict(DEFAULT_SHARES))
    intercepts: dict = field(default_factory=dict)
    seed: int = 0

    def meta(self) -> dict:
        tr = self.truth
        realised = tr["response_type"].value_counts(normalize=True)
        ex = self.experiment
        t = ex["treatment_flag"] == 1
        return {
            "seed": self.seed,
            "customers": len(ex),
            "treated": int(t.sum()),
            "control": int((~t).sum()),
            "promotion_sent": self.observation_end.isoformat(),
            "shares_declared": self.shares,
            "shares_expected": {
                k: float(v) for k, v in zip(RESPONSE_TYPES, _type_means(tr), strict=True)
            },
            "shares_realised": {k: float(realised.get(k, 0.0)) for k in RESPONSE_TYPES},
            "ate_true": float(tr["true_uplift"].mean()),
            "ate_observed": float(ex.loc[t, "converted"].mean() - ex.loc[~t, "converted"].mean()),
            "type_logit_effects": EFFECTS,
            "type_intercepts": self.intercepts,
        }


def _type_means(truth: pd.DataFrame):
    return [truth[f"p_{k}"].mean() for k in RESPONSE_TYPES]


def _z(x):
    x = np.asarray(x, dtype=float)
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def customer_features(growth) -> tuple[pd.DataFrame, np.ndarray]:
    """The features of every customer of a :class:`~bayes.growth.data.GrowthData` at its
    observation end (see the module docstring)."""
    end = growth.observation_end
    o = growth.orders
    g = o.groupby("user_id")
    per = pd.DataFrame(
        {
            "orders": g.size(),
            "last_order": g["order_ts"].max(),
            "avg_order_value": g["amount"].mean(),
            "avg_margin": g["margin"].mean(),
        }
    )
    ev = growth.events
    recent = ev[(ev["event_type"] == "session_start") & (ev["event_ts"] >= end - 4 * _WEEK)]
    sessions = recent.groupby("user_id").size()
    users = growth.users.set_index("user_id").loc[per.index]
    df = pd.DataFrame(
        {
            "user_id": per.index.to_numpy(),
            "country": users["country"].to_numpy(),
            "device": users["device"].to_numpy(),
            "acq_channel": users["acq_channel"].to_numpy(),
            "tenure_weeks": ((end - users["signup_ts"]) / _WEEK).round(2).to_numpy(),
            "frequency": (per["orders"] - 1).to_numpy(),
            "recency_weeks": ((end - per["last_order"]) / _WEEK).round(2).to_numpy(),
            "avg_order_value": per["avg_order_value"].round(2).to_numpy(),
            "sessions_4w": sessions.reindex(per.index, fill_value=0).to_numpy(),
        }
    )
    return df, per["avg_margin"].to_numpy()


def _type_logits(f: pd.DataFrame) -> np.ndarray:
    terms = {
        "z_sessions": _z(np.log1p(f["sessions_4w"])),
        "z_recency": _z(f["recency_weeks"]),
        "z_frequency": _z(np.log1p(f["frequency"])),
        "z_value": _z(np.log(f["avg_order_value"])),
        "mobile": f["device"].isin(["ios", "android"]).to_numpy(float),
        "web": (f["device"] == "web").to_numpy(float),
        "paid_or_affiliate": f["acq_channel"].isin(["paid", "affiliate"]).to_numpy(float),
        "organic_or_referral": f["acq_channel"].isin(["organic", "referral"]).to_numpy(float),
    }
    eta = np.zeros((len(f), len(RESPONSE_TYPES)))
    for j, kind in enumerate(RESPONSE_TYPES):
        for term, coef in EFFECTS[kind].items():
            eta[:, j] += coef * terms[term]
    return eta


def generate_uplift_data(
    n_users: int = 20_000,
    *,
    seed: int = 0,
    shares: Mapping[str, float] | None = None,
    treated_share: float = 0.5,
) -> UpliftData:
    """Generate the promotion experiment on the growth customers (module docstring).

    ``n_users`` growth users are generated (about 60% become customers and enter the
    experiment). Same arguments, same tables.
    """
    from bayes.growth.data import generate_growth_data

    shares = dict(DEFAULT_SHARES if shares is None else shares)
    if not 0 < treated_share < 1:
        raise ValueError(f"treated_share must lie in (0, 1), got {treated_share!r}")
    growth = generate_growth_data(n_users, seed=seed)
    feats, avg_margin = customer_features(growth)
    pi, b = type_probabilities(_type_logits(feats), shares)
    rng = np.random.default_rng([seed, 13])  # a stream of its own, after the growth data
    types = draw_types(rng, pi)
    treated = (rng.random(len(feats)) < treated_share).astype(np.int8)
    y0, y1 = potential_outcomes(types)
    converted = np.where(treated == 1, y1, y0).astype(np.int8)
    noise = rng.gamma(10.0, 0.1, len(feats))
    margin = np.where(converted == 1, np.round(avg_margin * noise, 2), 0.0)
    p0, p1, tau = true_effects(pi)
    experiment = feats.assign(
        treatment_flag=treated,
        converted=converted,
        promo_flag=(converted * treated).astype(np.int8),
        margin=margin,
    )
    truth = pd.DataFrame(
        {
            "user_id": feats["user_id"],
            "response_type": np.asarray(RESPONSE_TYPES, dtype=object)[types],
            "p_control": p0,
            "p_treated": p1,
            "true_uplift": tau,
            "individual_uplift": (y1 - y0).astype(np.int8),
            "expected_margin": avg_margin,
            **{f"p_{k}": pi[:, j] for j, k in enumerate(RESPONSE_TYPES)},
        }
    )
    return UpliftData(
        experiment=experiment,
        truth=truth,
        orders=growth.orders,
        observation_end=growth.observation_end,
        shares=shares,
        intercepts={k: float(v) for k, v in zip(RESPONSE_TYPES, b, strict=True)},
        seed=seed,
    )


def write_uplift_data(data: UpliftData, outdir: str | os.PathLike) -> dict:
    """Write ``experiment.csv``, ``truth.csv``, ``orders.csv`` (ISO8601 UTC) and
    ``truth.json``; return the paths."""
    outdir = Path(outdir)
    orders = data.orders.copy()
    orders["order_ts"] = orders["order_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "experiment": write_table(data.experiment, outdir / "experiment.csv"),
        "truth": write_table(data.truth, outdir / "truth.csv"),
        "orders": write_table(orders, outdir / "orders.csv"),
        "meta": write_json(data.meta(), outdir / "truth.json"),
    }


# ----------------------------------------------------------------------------- readers


def binary_column(df: pd.DataFrame, column: str, *, source: str, what: str) -> np.ndarray:
    """A 0/1 column as ``int8``: accepts 0/1, true/false, 0.0/1.0; anything else (or a
    missing value) raises :class:`InputError` naming the file, column and rows."""
    if column not in df.columns:
        raise InputError(
            f"no {what} column; found {list(df.columns)}", source=source, column=column
        )
    s = df[column]
    if s.dtype == bool:
        return s.to_numpy(np.int8)
    text = s.astype(str).str.strip().str.lower()
    mapping = {"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0}
    ok = text.isin(mapping).to_numpy() & s.notna().to_numpy()
    if not ok.all():
        bad = s[~ok]
        shown = sorted({str(v) for v in bad.unique()})[:5]
        raise InputError(
            f"{what} must be 0/1 (or true/false); found {shown}",
            source=source,
            column=column,
            rows=row_numbers(~ok, df.index),
        )
    return text.map(mapping).to_numpy(np.int8)


def _check_arms(t: np.ndarray, *, source: str, column: str):
    for arm, name in ((1, "treated"), (0, "control")):
        if not (t == arm).any():
            raise InputError(
                f"the {name} arm ({column} = {arm}) is empty: all {t.size} rows have "
                f"{column} = {1 - arm}; uplift needs both arms",
                source=source,
                column=column,
            )


def _feature_columns(df: pd.DataFrame, features: Sequence[str]) -> list[Column]:
    cols = []
    for f in features:
        if f in df.columns and not pd.api.types.is_numeric_dtype(df[f]):
            cols.append(Column(f, "str"))
        else:
            cols.append(Column(f, "float"))
    return cols


def read_experiment(
    path_or_frame,
    *,
    outcome: str,
    treatment: str,
    features: Sequence[str] = (),
    binary_outcome: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """A validated experiment table: the outcome (numeric, no missing value; 0/1 when
    ``binary_outcome``), the treatment (0/1, both arms present) and the features (no
    missing value). The returned frame holds every input column, treatment as 0/1 ints."""
    if isinstance(path_or_frame, pd.DataFrame):
        df, src = path_or_frame, source or "<experiment>"
    else:
        df, src = read_table(path_or_frame), str(path_or_frame)
    dup = [c for c in features if c in (outcome, treatment)]
    if dup:
        raise InputError(f"features {dup} are also the outcome or the treatment", source=src)
    t = binary_column(df, treatment, source=src, what="the treatment")
    if binary_outcome:
        y = binary_column(df, outcome, source=src, what="the outcome of a classifier learner")
        checked = validate_frame(
            df.drop(columns=[treatment, outcome]), _feature_columns(df, features), source=src
        )
        out = df.copy()
        out[outcome] = y
    else:
        cols = [Column(outcome, "float"), *_feature_columns(df, features)]
        checked = validate_frame(df.drop(columns=[treatment]), cols, source=src)
        out = df.copy()
        out[outcome] = checked[outcome]  # numbers, finite (validate_frame refuses inf)
    for f in features:
        out[f] = checked[f]
    out[treatment] = t
    _check_arms(t, source=src, column=treatment)
    return out


def read_scores(
    path_or_frame,
    *,
    score: str,
    outcome: str | None = None,
    treatment: str | None = None,
    numeric: Sequence[str] = (),
    source: str | None = None,
) -> pd.DataFrame:
    """A validated score file: ``score`` finite (NaN or inf named by rows), optional outcome
    and treatment checked as in :func:`read_experiment`, other ``numeric`` columns finite."""
    if isinstance(path_or_frame, pd.DataFrame):
        df, src = path_or_frame, source or "<scores>"
    else:
        df, src = read_table(path_or_frame), str(path_or_frame)
    cols = [Column(c, "float") for c in (score, *numeric)]
    checked = validate_frame(df, cols, source=src)  # NaN and inf refused, rows named
    out = df.copy()
    for c in (score, *numeric):
        out[c] = checked[c].to_numpy(float)
    if treatment is not None:
        t = binary_column(df, treatment, source=src, what="the treatment")
        _check_arms(t, source=src, column=treatment)
        out[treatment] = t
    if outcome is not None:
        checked = validate_frame(df, [Column(outcome, "float")], source=src)
        out[outcome] = checked[outcome]
    return out
