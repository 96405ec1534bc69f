"""Synthetic ``photos_first_login_features`` (seed 000 §2, Part A): one row per customer.

The generating process
----------------------
Every customer belongs to a latent *behavioural type* ``z`` (the four kinds of customer the seed
describes in §4, from power Prime viewers to low-engaged NonPrime/Trial). Given ``z``:

1. **Context.** Prime status, entry client, attribution channel (and from the channel the client
   tier) are drawn from categorical tables that depend on ``z``; power users are Prime and
   mobile-heavy, low-engaged users arrive more often through the web and low-intent channels.
2. **Lead flags.** Each lead source (group sharing, wakescreen, prints, Snapfish, retail prints)
   is Bernoulli with a probability that depends on ``z`` and the channel (Sharing brings group
   sharing leads, Alexa brings wakescreen leads); ``lead_any`` is their logical OR.
3. **Early 7-day behaviour.** A per-customer engagement frailty ``e ~ Gamma(k, 1/k)`` (mean 1)
   scales every count, so counts are over-dispersed (gamma-Poisson) and positively correlated:

   * launches ``L = 1 + Poisson(lambda_L[z] * e * g_L)`` (the first login is itself a launch),
   * photo views ``V ~ Poisson(L * v[z] * g_V)``,
   * uploads ``U ~ Poisson(lambda_U[z] * e * g_U)``,
   * distinct platforms ``P = 1 + Binomial(4, q[z] * c[client])``, with ``c`` lower for a
     PhotosWeb or Desktop entry (platforms coherent with the entry client),
   * notifications opened ``N ~ Poisson(lambda_N[z] * e * g_N * m)``, ``m = 1`` when the customer
     uses a mobile client (mobile entry or more than one platform), else ``0.15``,

   with independent gamma noises ``g ~ Gamma(k_g, 1/k_g)``. Power users launch about 30+ times
   a week (seed §6.2).
4. **Core_90d.** A logistic model on the observed drivers of seed §3.2, an unobserved intent of
   the latent type ``a[z]`` and an unobserved customer effect ``sigma * eps`` (what the first week
   cannot show), ``eps ~ Normal(0, 1)``:

   ``logit P(Core) = b0 + b_prime Prime + b_trial Trial + b_lead lead_any + b_plat (P - 1)
   + b_up log1p(U) + b_launch log1p(L) + b_notif log1p(N) + b_web PhotosWeb + b_channel
   + b_habit [U >= 1 and P >= 2] + b_trial_launch Trial (log1p(L) - log1p(8)) + a[z]
   + sigma eps``.

   Two terms are non-additive: the *habit* term is the Core definition itself (content
   uploaded *and* use across platforms), and a Trial that is used converts while an unused one
   lapses. An additive logistic model misses both and a forest finds them, which is why the
   random forest edges out the logistic regression (seed §3.1).
5. **Other outcomes.** Core implies Engaged implies Acquired; non-Core customers are Engaged or
   Acquired with probabilities rising with engagement. ``is_churned_90d`` (no activity in days
   61-90) is rare among Core customers. Revenue hooks: ``storage_upgrade_90d`` (paid storage
   upgrade) and ``prints_revenue_90d`` (USD, from print leads).

The default parameters are calibrated so that the K-means segmentation of
:mod:`models.core_activation` on the default table (200,000 rows, seed 0) reproduces the segment
shares and baseline Core_90d rates of :data:`priors.segments.SEGMENTS`, and the baseline
classifiers land on the test metrics of seed §3.1 (both are checked by the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes.io import Column, InputError, read_table, row_numbers, validate_frame
from priors.segments import SEGMENT_KEYS

__all__ = [
    "CHANNELS",
    "CLIENTS",
    "COUNT_COLUMNS",
    "DEFAULT_ROWS",
    "LEAD_FLAGS",
    "PRIME_STATUSES",
    "SCHEMA",
    "TIERS",
    "PhotosDGP",
    "generate_photos",
    "read_photos",
    "schema_table",
    "validate_photos",
]

DEFAULT_ROWS = 200_000

CHANNELS: tuple[str, ...] = ("Marketing", "Alexa", "Sharing", "Clickstream", "BizDev", "Other")
TIERS: tuple[str, ...] = ("1P", "2P", "3P", "Other")
CLIENTS: tuple[str, ...] = ("Android", "iOS", "Desktop", "PhotosWeb")
PRIME_STATUSES: tuple[str, ...] = ("Prime", "NonPrime", "Trial")
LEAD_FLAGS: tuple[str, ...] = (
    "lead_group_sharing",
    "lead_wakescreen",
    "lead_prints",
    "lead_snapfish",
    "lead_retail_prints",
)
COUNT_COLUMNS: tuple[str, ...] = (
    "n_upload_events_7d",
    "n_app_launch_7d",
    "n_photo_view_events_7d",
    "n_notifications_opened_7d",
    "n_distinct_platforms_7d",
)
MAX_PLATFORMS = 5

#: Schema of ``photos_first_login_features``. The columns the models need are required; the
#: other outcome columns are validated when present.
SCHEMA: tuple[Column, ...] = (
    Column("customer_id", "int", min=0),
    Column("first_login_ts", "datetime", required=False),
    Column("attrib_channel_type", "str", allowed=CHANNELS),
    Column("attrib_client_tier", "str", allowed=TIERS),
    Column("entry_client", "str", allowed=CLIENTS),
    Column("prime_status_at_first_login", "str", allowed=PRIME_STATUSES),
    *(Column(name, "int", min=0, max=1) for name in LEAD_FLAGS),
    Column("lead_any", "int", min=0, max=1),
    Column("n_upload_events_7d", "int", min=0),
    Column("n_app_launch_7d", "int", min=0),
    Column("n_photo_view_events_7d", "int", min=0),
    Column("n_notifications_opened_7d", "int", min=0),
    Column("n_distinct_platforms_7d", "int", min=0, max=MAX_PLATFORMS + 1),
    Column("is_acquired_90d", "int", required=False, min=0, max=1),
    Column("is_engaged_90d", "int", required=False, min=0, max=1),
    Column("is_core_90d", "int", min=0, max=1),
    Column("is_churned_90d", "int", required=False, min=0, max=1),
    Column("storage_upgrade_90d", "int", required=False, min=0, max=1),
    Column("prints_revenue_90d", "float", required=False, min=0),
)


def _rows(*rows) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(x) for x in r) for r in rows)


@dataclass(frozen=True)
class PhotosDGP:
    """Parameters of the Photos data-generating process (see the module docstring).

    Rows of the per-type tables follow the latent types, in the order of
    :data:`priors.segments.SEGMENT_KEYS` (``power_prime, prime_mid, mixed_mid, low_engaged``);
    columns follow :data:`PRIME_STATUSES`, :data:`CLIENTS` or :data:`CHANNELS`.
    """

    type_weights: tuple[float, ...] = (0.15, 0.235, 0.245, 0.37)
    prime_probs: tuple[tuple[float, ...], ...] = _rows(
        (0.93, 0.03, 0.04), (0.90, 0.05, 0.05), (0.45, 0.40, 0.15), (0.12, 0.62, 0.26)
    )
    client_probs: tuple[tuple[float, ...], ...] = _rows(
        (0.48, 0.40, 0.07, 0.05),
        (0.42, 0.36, 0.10, 0.12),
        (0.38, 0.30, 0.14, 0.18),
        (0.30, 0.22, 0.18, 0.30),
    )
    channel_probs: tuple[tuple[float, ...], ...] = _rows(
        (0.30, 0.20, 0.28, 0.10, 0.07, 0.05),
        (0.30, 0.16, 0.22, 0.14, 0.10, 0.08),
        (0.26, 0.12, 0.18, 0.20, 0.12, 0.12),
        (0.20, 0.08, 0.10, 0.30, 0.14, 0.18),
    )
    #: P(tier | channel): rows follow CHANNELS, columns TIERS
    tier_given_channel: tuple[tuple[float, ...], ...] = _rows(
        (0.70, 0.05, 0.20, 0.05),
        (0.10, 0.85, 0.00, 0.05),
        (0.85, 0.05, 0.05, 0.05),
        (0.60, 0.05, 0.10, 0.25),
        (0.10, 0.10, 0.70, 0.10),
        (0.15, 0.10, 0.15, 0.60),
    )
    #: base lead probability per type, scaled per flag (LEAD_FLAGS order) by ``lead_flag_scale``
    lead_base: tuple[float, ...] = (0.30, 0.22, 0.15, 0.07)
    lead_flag_scale: tuple[float, ...] = (1.0, 0.6, 0.5, 0.25, 0.3)
    #: shape k of the engagement frailty e ~ Gamma(k, 1/k) and of the per-count noises g
    engagement_shape: float = 15.0
    noise_shape: float = 15.0
    launch_rate: tuple[float, ...] = (36.0, 14.0, 5.5, 1.5)
    views_per_launch: tuple[float, ...] = (9.0, 6.0, 4.0, 3.0)
    upload_rate: tuple[float, ...] = (6.0, 2.5, 1.0, 0.25)
    notif_rate: tuple[float, ...] = (7.0, 3.0, 1.2, 0.25)
    #: per-platform probability of using each extra platform, by type ...
    platform_q: tuple[float, ...] = (0.55, 0.32, 0.15, 0.04)
    #: ... times a factor of the entry client (CLIENTS order): web entries stay on the web
    platform_q_client: tuple[float, ...] = (1.0, 1.0, 0.7, 0.4)
    # Core_90d logit (module docstring, step 4)
    b0: float = -2.9
    b_prime: float = 1.0
    b_trial: float = 0.3
    b_lead: float = 0.5
    b_plat: float = 0.15
    b_up: float = 0.2
    b_launch: float = 0.25
    b_notif: float = 0.2
    b_web: float = -0.5
    b_channel: tuple[float, ...] = (0.15, 0.2, 0.25, -0.35, -0.1, -0.4)
    b_habit: float = 1.2
    #: Trial x engagement: a Trial that is used converts, an unused one lapses
    b_trial_launch: float = 1.6
    #: unobserved intent of each latent type (what the first week does not show)
    b_type: tuple[float, ...] = (-0.4, -0.65, 0.7, 0.3)
    sigma: float = 1.85
    start: str = "2024-01-01"
    days: int = 365


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1), vectorised by inversion."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))[:, None]
    return (u > cum).sum(axis=1)


def _gamma1(rng: np.random.Generator, shape: float, size: int) -> np.ndarray:
    """Gamma noise with mean 1 and variance ``1/shape``."""
    return rng.gamma(shape, 1.0 / shape, size)


def _norm(rows) -> np.ndarray:
    a = np.asarray(rows, dtype=float)
    return a / a.sum(axis=-1, keepdims=True)


def generate_photos(
    n_rows: int = DEFAULT_ROWS,
    seed: int = 0,
    *,
    params: PhotosDGP | None = None,
    return_latent: bool = False,
) -> pd.DataFrame:
    """Simulate ``photos_first_login_features`` (seed 000 §2).

    Parameters
    ----------
    n_rows : int
        Number of customers (one row each).
    seed : int
        Seed of the ``numpy`` generator; the same ``(n_rows, seed, params)`` give the same table.
    params : PhotosDGP, optional
        Parameters of the generating process; the calibrated defaults if omitted.
    return_latent : bool
        Add the latent behavioural type (``latent_type``) and the true Core probability
        (``p_core_true``); useful to test recovery, never a model input.

    Returns
    -------
    pandas.DataFrame
        One row per customer, columns as in :data:`SCHEMA`.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    p = params or PhotosDGP()
    rng = np.random.default_rng(seed)
    n = int(n_rows)

    # 0. latent type and first login time
    z = rng.choice(len(SEGMENT_KEYS), size=n, p=_norm(p.type_weights))
    start = pd.Timestamp(p.start, tz="UTC")
    ts = start + pd.to_timedelta(rng.integers(0, p.days * 86_400, size=n), unit="s")

    # 1. context
    prime = _categorical(rng, _norm(p.prime_probs)[z])
    client = _categorical(rng, _norm(p.client_probs)[z])
    channel = _categorical(rng, _norm(p.channel_probs)[z])
    tier = _categorical(rng, _norm(p.tier_given_channel)[channel])

    # 2. lead flags: the channel shifts the relevant lead source
    base = np.asarray(p.lead_base)[z]
    scale = np.asarray(p.lead_flag_scale)
    lead_p = np.clip(base[:, None] * scale[None, :], 0, 1)
    for flag, boosting_channel in (("lead_group_sharing", "Sharing"), ("lead_wakescreen", "Alexa")):
        j = LEAD_FLAGS.index(flag)
        boost = np.where(channel == CHANNELS.index(boosting_channel), 2.0, 1.0)
        lead_p[:, j] = np.clip(lead_p[:, j] * boost, 0, 0.95)
    leads = (rng.random((n, len(LEAD_FLAGS))) < lead_p).astype(np.int64)
    lead_any = leads.max(axis=1)

    # 3. early behaviour: shared frailty e, independent gamma noises g
    e = _gamma1(rng, p.engagement_shape, n)
    k = p.noise_shape
    launches = 1 + rng.poisson(np.asarray(p.launch_rate)[z] * e * _gamma1(rng, k, n))
    views = rng.poisson(launches * np.asarray(p.views_per_launch)[z] * _gamma1(rng, k, n))
    uploads = rng.poisson(np.asarray(p.upload_rate)[z] * e * _gamma1(rng, k, n))
    q = np.clip(np.asarray(p.platform_q)[z] * np.asarray(p.platform_q_client)[client], 0, 0.95)
    platforms = 1 + rng.binomial(MAX_PLATFORMS - 1, q)
    mobile = (client <= CLIENTS.index("iOS")) | (platforms > 1)
    notifs = rng.poisson(
        np.asarray(p.notif_rate)[z] * e * _gamma1(rng, k, n) * np.where(mobile, 1.0, 0.15)
    )

    # 4. Core_90d
    is_prime = prime == PRIME_STATUSES.index("Prime")
    is_trial = prime == PRIME_STATUSES.index("Trial")
    is_web = client == CLIENTS.index("PhotosWeb")
    habit = (uploads >= 1) & (platforms >= 2)
    eta = (
        p.b0
        + p.b_prime * is_prime
        + p.b_trial * is_trial
        + p.b_lead * lead_any
        + p.b_plat * (platforms - 1)
        + p.b_up * np.log1p(uploads)
        + p.b_launch * np.log1p(launches)
        + p.b_notif * np.log1p(notifs)
        + p.b_web * is_web
        + np.asarray(p.b_channel)[channel]
        + p.b_habit * habit
        + np.asarray(p.b_type)[z]
        + p.b_trial_launch * is_trial * (np.log1p(launches) - np.log1p(8))
        + p.sigma * rng.standard_normal(n)
    )
    p_core = 1.0 / (1.0 + np.exp(-eta))
    core = rng.random(n) < p_core

    # 5. other outcomes: Core => Engaged => Acquired
    act = 1.0 / (1.0 + np.exp(-(eta + 1.2)))
    engaged = core | (rng.random(n) < act)
    acquired = engaged | (rng.random(n) < 0.5 + 0.4 * act)
    churn_p = np.where(core, 0.05, np.where(engaged, 0.35, 0.75))
    churned = rng.random(n) < churn_p
    upgrade = rng.random(n) < np.where(core, 0.08, 0.015) * (1 + np.log1p(uploads) / 3)
    print_lead = leads[:, 2] | leads[:, 3] | leads[:, 4]
    buys = rng.random(n) < np.where(print_lead, 0.35, 0.03) * np.where(core, 1.5, 1.0)
    revenue = np.where(buys, np.round(rng.gamma(2.0, 9.0, n), 2), 0.0)

    df = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "first_login_ts": ts,
            "attrib_channel_type": np.asarray(CHANNELS, dtype=object)[channel],
            "attrib_client_tier": np.asarray(TIERS, dtype=object)[tier],
            "entry_client": np.asarray(CLIENTS, dtype=object)[client],
            "prime_status_at_first_login": np.asarray(PRIME_STATUSES, dtype=object)[prime],
            **{name: leads[:, j] for j, name in enumerate(LEAD_FLAGS)},
            "lead_any": lead_any,
            "n_upload_events_7d": uploads.astype(np.int64),
            "n_app_launch_7d": launches.astype(np.int64),
            "n_photo_view_events_7d": views.astype(np.int64),
            "n_notifications_opened_7d": notifs.astype(np.int64),
            "n_distinct_platforms_7d": platforms.astype(np.int64),
            "is_acquired_90d": acquired.astype(np.int64),
            "is_engaged_90d": engaged.astype(np.int64),
            "is_core_90d": core.astype(np.int64),
            "is_churned_90d": churned.astype(np.int64),
            "storage_upgrade_90d": upgrade.astype(np.int64),
            "prints_revenue_90d": revenue,
        }
    )
    if return_latent:
        df["latent_type"] = np.asarray(SEGMENT_KEYS, dtype=object)[z]
        df["p_core_true"] = p_core
    return df


def schema_table() -> pd.DataFrame:
    """:data:`SCHEMA` as a reviewable table (one row per column)."""
    return pd.DataFrame(
        [
            {
                "column": c.name,
                "kind": c.kind,
                "required": c.required,
                "allowed": ", ".join(c.allowed) if c.allowed else "",
                "min": c.min,
                "max": c.max,
            }
            for c in SCHEMA
        ]
    )


def validate_photos(df: pd.DataFrame, *, source: str = "<photos table>") -> pd.DataFrame:
    """Validate a Photos table against :data:`SCHEMA` (returns a coerced copy): column types
    and ranges, and one row per ``customer_id`` (a customer counted twice would bias every
    rate and leak between the train and test splits)."""
    out = validate_frame(df, SCHEMA, source=source)
    dup = out["customer_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        ids = sorted(set(out.loc[dup, "customer_id"].tolist()))
        shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
        raise InputError(
            f"{len(ids):,} customer_id value(s) appear on more than one row (e.g. {shown}); "
            "the table must have one row per customer",
            source=source,
            column="customer_id",
            rows=row_numbers(dup, out.index),
        )
    return out


def read_photos(path) -> pd.DataFrame:
    """Read and validate a Photos CSV/Parquet file; bad input raises :class:`bayes.io.InputError`."""
    return validate_photos(read_table(path), source=str(path))
