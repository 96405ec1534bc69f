"""Randomised experiments on the growth users (seed 004), with known truth; a library of past
experiments; validated readers.

The generator (:func:`generate_experiment`) takes the growth domain's users (country, device,
acq_channel from :func:`bayes.growth.data.generate_growth_data`) and simulates, per user:

1. a weekly purchase rate ``λ_i ~ Gamma(k, θ_s)`` whose mean depends on the user's country and
   acquisition channel (``ExperimentTruth.rate_per_week`` × multipliers), and an order-value
   level ``ν_i ~ Gamma(c, 1/c)`` (mean 1); ``k`` and ``c`` set how different users are, hence
   how well the past predicts the future;
2. the **pre-period** (``pre_weeks`` before the experiment): ``pre_orders ~ Poisson(λ_i w₀)``
   and ``pre_revenue`` the sum of Gamma order values — the CUPED covariate, correlated with the
   outcome through ``λ_i``;
3. **both potential outcomes** over ``window_weeks`` after the user's exposure, with common
   random numbers: control ``orders0 ~ Poisson(λ_i w)``, treatment multiplies the rate by
   ``1 + lift_s`` with a lift that **differs by device** (``lift_by_device``), realised as
   ``orders1 = orders0 + Poisson(λ_i w lift_s)`` (or binomial thinning for a negative lift);
   revenue adds the extra orders' values; ``converted = orders > 0``;
4. **assignment** to treatment with probability ``split`` and an exposure time uniform over
   ``days``; the observed outcome is the assigned arm's potential outcome;
5. an optional **sample-ratio fault** ``srm``: that share of the treatment's *web* users is
   lost from the data (a logging bug on one platform) — the split no longer matches the plan,
   and because web users have the smallest lift the naive readout is biased upwards.

The truth (``ExperimentData.truth``) holds the parameters, each metric's expected average
treatment effect over these users (closed form: ``E[orders] = λ̄ w``,
``P(order) = 1 − (1 + θ w)^(−k)``), the sample ATE ``mean(Y1 − Y0)`` over the users kept, and
the true relative lifts.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.growth.data import CHANNELS, COUNTRIES, DEVICES, generate_growth_data
from bayes.io import InputError, read_table, row_numbers, write_json, write_table

__all__ = [
    "ARMS",
    "ExperimentData",
    "ExperimentTruth",
    "ExperimentTable",
    "PAST_EXPERIMENTS",
    "generate_experiment",
    "generate_library",
    "read_experiment",
    "read_library",
]

#: arm labels the generator writes (control first)
ARMS: tuple[str, str] = ("control", "treatment")
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class ExperimentTruth:
    """Parameters of the generator (rates per week, money in the orders' currency)."""

    split: float = 0.5
    srm: float = 0.0
    days: int = 14
    start: str = "2024-09-02"
    pre_weeks: float = 8.0
    window_weeks: float = 2.0
    rate_per_week: float = 0.1
    rate_shape: float = 0.3
    order_value_mean: float = 45.0
    order_value_shape: float = 2.5
    #: shape of each user's order-value level (mean 1): big spenders stay big spenders
    value_level_shape: float = 3.0
    #: relative lift of the purchase rate per device, in the order of DEVICES (ios, android, web)
    lift_by_device: tuple[float, ...] = (0.08, 0.04, 0.0)
    country_rate: tuple[float, ...] = (1.2, 0.7, 1.0, 1.1, 0.9)
    channel_rate: tuple[float, ...] = (0.8, 1.1, 1.3, 0.9)

    def __post_init__(self):
        if not 0 < self.split < 1:
            raise ValueError(f"split must lie in (0, 1), got {self.split}")
        if not 0 <= self.srm < 1:
            raise ValueError(
                f"srm (share of treatment web users lost) must lie in [0, 1), got {self.srm}"
            )
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if len(self.lift_by_device) != len(DEVICES) or min(self.lift_by_device) <= -1:
            raise ValueError(f"lift_by_device needs {len(DEVICES)} lifts > -1 ({DEVICES})")


@dataclass
class ExperimentData:
    frame: pd.DataFrame
    truth: dict
    seed: int = 0

    def meta(self) -> dict:
        return {"seed": self.seed, "n_users": len(self.frame), **self.truth}


def generate_experiment(
    n_users: int = 100_000,
    *,
    seed: int = 0,
    truth: ExperimentTruth | None = None,
    users: pd.DataFrame | None = None,
) -> ExperimentData:
    """Simulate an experiment on ``n_users`` growth users (see the module docstring).

    ``users`` (columns ``country, device, acq_channel``) replaces the growth generator's users,
    e.g. to build a very large experiment from a resample. Same inputs and seed, same table.
    """
    truth = truth or ExperimentTruth()
    if users is None:
        if n_users < 2:
            raise ValueError(f"n_users must be >= 2, got {n_users}")
        users = generate_growth_data(int(n_users), seed=seed).users
    n = len(users)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
    country = pd.Categorical(users["country"], categories=COUNTRIES).codes
    device = pd.Categorical(users["device"], categories=DEVICES).codes
    channel = pd.Categorical(users["acq_channel"], categories=CHANNELS).codes
    if min(country.min(), device.min(), channel.min()) < 0:
        raise ValueError("users have segment labels outside the growth schema")
    mean_rate = (
        truth.rate_per_week
        * np.asarray(truth.country_rate)[country]
        * np.asarray(truth.channel_rate)[channel]
    )
    k = truth.rate_shape
    lam = rng.gamma(k, mean_rate / k)
    lift = np.asarray(truth.lift_by_device)[device]
    level = rng.gamma(truth.value_level_shape, 1.0 / truth.value_level_shape, n)
    # pre-period
    pre_orders = rng.poisson(lam * truth.pre_weeks)
    vshape = truth.order_value_shape
    vscale = truth.order_value_mean / truth.order_value_shape * level
    pre_revenue = _sum_of_values(rng, pre_orders, vshape, vscale)
    # potential outcomes (common random numbers)
    w = truth.window_weeks
    orders0 = rng.poisson(lam * w)
    extra = rng.poisson(lam * w * np.maximum(lift, 0))
    kept = rng.binomial(orders0, np.clip(1 + np.minimum(lift, 0), 0, 1))
    orders1 = np.where(lift >= 0, orders0 + extra, kept)
    rev0 = _sum_of_values(rng, orders0, vshape, vscale)
    rev_extra = _sum_of_values(rng, extra, vshape, vscale)
    with np.errstate(invalid="ignore", divide="ignore"):
        rev1 = np.where(
            lift >= 0,
            rev0 + rev_extra,
            np.where(orders0 > 0, rev0 * kept / np.maximum(orders0, 1), 0.0),
        )
    # assignment, exposure, the sample-ratio fault
    treated = rng.random(n) < truth.split
    exposed = rng.random(n) * truth.days
    lost = treated & (device == DEVICES.index("web")) & (rng.random(n) < truth.srm)
    keep = ~lost
    t0 = pd.Timestamp(truth.start, tz="UTC")
    frame = pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy() if "user_id" in users else np.arange(1, n + 1),
            "country": users["country"].to_numpy(),
            "device": users["device"].to_numpy(),
            "acq_channel": users["acq_channel"].to_numpy(),
            "arm": np.where(treated, ARMS[1], ARMS[0]),
            "exposed_ts": t0
            + pd.to_timedelta(np.floor(exposed * 86400).astype(np.int64), unit="s"),
            "pre_orders": pre_orders,
            "pre_revenue": np.round(pre_revenue, 2),
            "orders": np.where(treated, orders1, orders0),
            "revenue": np.round(np.where(treated, rev1, rev0), 2),
        }
    )
    frame["converted"] = (frame["orders"] > 0).astype(np.int64)
    frame = frame[keep].reset_index(drop=True)
    # truth: expected and sample effects over the users kept
    lift_k, mr_k = lift[keep], mean_rate[keep]
    theta = mr_k / k
    p0 = 1 - (1 + theta * w) ** (-k)
    p1 = 1 - (1 + theta * (1 + lift_k) * w) ** (-k)
    e_rev0 = mr_k * w * truth.order_value_mean
    e_rev1 = e_rev0 * (1 + lift_k)
    sample = {
        "revenue": float(np.mean(np.round(rev1[keep], 2) - np.round(rev0[keep], 2))),
        "converted": float(np.mean((orders1[keep] > 0).astype(float) - (orders0[keep] > 0))),
        "orders": float(np.mean(orders1[keep] - orders0[keep])),
    }
    expected = {
        "revenue": float(np.mean(e_rev1 - e_rev0)),
        "converted": float(np.mean(p1 - p0)),
        "orders": float(np.mean(mr_k * w * lift_k)),
    }
    relative = {
        "revenue": float(e_rev1.sum() / e_rev0.sum() - 1),
        "converted": float(p1.sum() / p0.sum() - 1),
        "orders": float(np.sum(mr_k * (1 + lift_k)) / mr_k.sum() - 1),
    }
    info = {
        "parameters": asdict(truth),
        "devices": list(DEVICES),
        "arms": list(ARMS),
        "users_lost_to_srm": int(lost.sum()),
        "expected_ate": expected,
        "sample_ate": sample,
        "relative_lift": relative,
        "lift_by_device": dict(zip(DEVICES, truth.lift_by_device, strict=True)),
        "pre_post_correlation_revenue": float(
            np.corrcoef(pre_revenue[keep], np.where(treated, rev1, rev0)[keep])[0, 1]
        ),
        "units": "rates per week; revenue in the orders' currency over window_weeks",
    }
    return ExperimentData(frame=frame, truth=info, seed=seed)


def _sum_of_values(rng, counts, shape, scale):
    """Sum of ``counts`` Gamma(shape, scale) order values: Gamma(counts · shape, scale)."""
    counts = np.asarray(counts)
    out = np.zeros(counts.shape)
    pos = counts > 0
    out[pos] = rng.gamma(counts[pos] * shape, np.broadcast_to(scale, counts.shape)[pos])
    return out


def write_experiment(data: ExperimentData, outdir: str | os.PathLike, fmt: str = "csv") -> dict:
    """Write ``experiment.<fmt>`` (ISO8601 UTC timestamps in CSV; microsecond timestamps in
    Parquet, which Spark reads — it refuses pandas' nanoseconds) and ``truth.json``."""
    outdir = Path(outdir)
    df = data.frame.copy()
    if fmt == "csv":
        df["exposed_ts"] = df["exposed_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif fmt == "parquet":
        df["exposed_ts"] = df["exposed_ts"].astype("datetime64[us, UTC]")
    else:
        raise ValueError("fmt must be 'csv' or 'parquet'")
    return {
        "experiment": write_table(df, outdir / f"experiment.{fmt}"),
        "truth": write_json(data.meta(), outdir / "truth.json"),
    }


# ---------------------------------------------------------------------------- past experiments


#: past experiments in the demo's library (the demo report's and the app's)
PAST_EXPERIMENTS = 24


def generate_library(
    n_experiments: int = PAST_EXPERIMENTS,
    *,
    seed: int = 0,
    lift_mean: float = 0.01,
    lift_sd: float = 0.03,
    se_range: tuple[float, float] = (0.004, 0.02),
) -> pd.DataFrame:
    """A library of past experiments: true relative lifts ``θ_j ~ Normal(lift_mean, lift_sd)``,
    each estimated with a standard error uniform in ``se_range``. Columns ``experiment, lift,
    se, true_lift``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    theta = rng.normal(lift_mean, lift_sd, n_experiments)
    se = rng.uniform(*se_range, n_experiments)
    return pd.DataFrame(
        {
            "experiment": [f"exp-{i + 1:03d}" for i in range(n_experiments)],
            "lift": np.round(theta + se * rng.standard_normal(n_experiments), 6),
            "se": np.round(se, 6),
            "true_lift": theta,
        }
    )


def read_library(path) -> pd.DataFrame:
    """Read and validate a library table (``experiment, lift, se``; one row per experiment)."""
    from bayes.io import Column

    df = read_table(
        path,
        (Column("experiment", "str"), Column("lift", "float"), Column("se", "float", min=0)),
    )
    _finite(df, ["lift", "se"], str(path))
    zero = (df["se"] <= 0).to_numpy()
    if zero.any():
        raise InputError(
            "standard errors must be > 0",
            source=path,
            column="se",
            rows=row_numbers(zero, df.index),
        )
    dup = df["experiment"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            "experiment names must be unique",
            source=path,
            column="experiment",
            rows=row_numbers(dup, df.index),
        )
    return df


# ---------------------------------------------------------------------------- reading an experiment


@dataclass
class ExperimentTable:
    """A validated experiment: the rows (or, from :func:`bayes.experiments.engine.scan`, where
    they are), the arm column and its control / treatment labels, and which metrics are 0/1."""

    frame: pd.DataFrame
    arm: str
    control: str
    treatment: str
    metrics: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    time: str | None = None
    source: str = "<DataFrame>"
    binary: dict = field(default_factory=dict)
    #: where the rows are when ``frame`` is None (a path or a DataFrame, from :func:`scan`)
    origin: object = None
    #: sufficient statistics computed with the validation, keyed by their columns
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def arms(self) -> tuple[str, str]:
        return self.control, self.treatment


def _finite(df: pd.DataFrame, columns, source: str) -> None:
    for c in columns:
        v = df[c].to_numpy(dtype=float)
        bad = ~np.isfinite(v)
        if bad.any():
            raise InputError(
                "NaN or infinite values are not allowed in a metric or covariate",
                source=source,
                column=c,
                rows=row_numbers(bad, df.index),
            )


def resolve_arms(labels, counts, control: str | None, source: str, arm: str) -> tuple[str, str]:
    """Control and treatment labels from the arm column's distinct ``labels`` (with row
    ``counts``); errors name the file, the column and what was found."""
    labels = [str(x) for x in labels]
    found = ", ".join(f"{lab!r} ({c:,} rows)" for lab, c in zip(labels, counts, strict=True))
    if control is not None and control not in labels:
        raise InputError(
            f"the control label {control!r} is not in the data (it has no users); found {found}",
            source=source,
            column=arm,
        )
    if len(labels) > 2:
        raise InputError(
            f"an A/B analysis needs exactly two arms; found {len(labels)}: {found}",
            source=source,
            column=arm,
        )
    if len(labels) < 2:
        raise InputError(
            f"only one arm has users ({found}); the other arm has no users",
            source=source,
            column=arm,
        )
    if control is None:
        control = "control" if "control" in labels else sorted(labels)[0]
    treatment = next(lab for lab in labels if lab != control)
    return control, treatment


def read_experiment(
    source: str | os.PathLike | pd.DataFrame,
    *,
    arm: str,
    metrics,
    covariates=(),
    control: str | None = None,
    time: str | None = None,
) -> ExperimentTable:
    """Read (CSV/Parquet) and validate an experiment for analysis.

    Refused with :class:`~bayes.io.InputError` naming the file, column and rows: missing
    columns; an arm column with other than two labels, a named ``control`` that is not there,
    an arm with no users, missing arm labels; non-numeric, NaN or infinite metric or covariate
    values; a constant covariate. Without ``control`` the label ``control`` is the control if
    present, else the first label in sorted order.
    """
    from bayes.io import Column, validate_frame

    metrics, covariates = tuple(metrics), tuple(covariates or ())
    if not metrics:
        raise InputError("name at least one metric column")
    overlap = set(metrics) & set(covariates)
    if overlap or arm in metrics or arm in covariates:
        raise InputError(
            f"a column cannot be both arm, metric and covariate: {sorted(overlap) or arm}"
        )
    cols = [Column(arm, "str")] + [Column(c, "float") for c in (*metrics, *covariates)]
    if time:
        cols.append(Column(time, "datetime"))
    names = [c.name for c in cols]
    if isinstance(source, pd.DataFrame):
        src = "<DataFrame>"
        missing = [c for c in names if c not in source.columns]
        if missing:
            raise InputError(
                f"missing required column(s) {missing}; found {list(source.columns)}", source=src
            )
        df = validate_frame(source[names], cols, source=src)
    else:
        src = str(source)
        head = _columns_of(source)
        missing = [c for c in names if c not in head]
        if missing:
            raise InputError(f"missing required column(s) {missing}; found {head}", source=src)
        df = read_table(source, cols, read_columns=names)
    _finite(df, [*metrics, *covariates], src)
    counts = df[arm].value_counts(sort=False)
    control, treatment = resolve_arms(list(counts.index), list(counts.values), control, src, arm)
    for c in covariates:
        v = df[c].to_numpy(dtype=float)
        if v.size and np.all(v == v[0]):
            raise InputError(
                f"the covariate is constant (every row is {v[0]:g}), so it cannot adjust anything",
                source=src,
                column=c,
            )
    binary = {m: bool(np.isin(df[m].to_numpy(dtype=float), (0.0, 1.0)).all()) for m in metrics}
    return ExperimentTable(
        frame=df,
        arm=arm,
        control=control,
        treatment=treatment,
        metrics=metrics,
        covariates=covariates,
        time=time,
        source=src,
        binary=binary,
    )


def _columns_of(path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input
            raise InputError(f"cannot read the file ({exc})", source=path) from exc
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read the file ({exc})", source=path) from exc
