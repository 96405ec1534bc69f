"""Synthetic Customer 360 data with the dirt real data has, and known true rates.

Per topic the true recipient rates are Beta with mean ``mu_t`` and concentration ``kappa_t``
(drawn away from the seed's ``kappa = 2`` so the hierarchical model has something to learn):

* ``p_click ~ Beta(mu_c kappa_c, (1 - mu_c) kappa_c)`` — chance a send is clicked;
* ``p_sc ~ Beta(mu_s kappa_s, (1 - mu_s) kappa_s)`` — chance a click leads to a signup;

so the true per-send signup probability of seed §1 is ``p_click * p_sc``.

Dirt: repeated events per ``msg_id`` (about 5% of rows duplicated), e-mails in mixed case with
surrounding spaces, naive (UTC, ``"2025-01-03 10:00:00"``) and zoned
(``"2025-01-03T12:00:00+02:00"``) timestamps in one column, campaigns without a ``topic`` whose
subject is ``[Mortgage] …``, ``Credit Card — …``, ``Savings - …`` or ``Insurance: …`` (or whose
subject says nothing and whose name carries the topic), signups present only in the signups
table, only in the events, or in both, and a few "organic" owners whose table signup predates
any send. Everything is vectorised (the benchmark makes 10M events) and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.signup.counting import EVENT_TYPES

__all__ = [
    "TOPIC_NAMES",
    "SignupFiles",
    "SyntheticSignupData",
    "generate_signup_data",
    "write_signup_data",
    "write_signup_files",
]

TOPIC_NAMES: tuple[str, ...] = (
    "Mortgage",
    "Credit Card",
    "Savings",
    "Personal Loan",
    "Insurance",
    "Investments",
    "Auto Loan",
    "Travel Card",
    "Pensions",
    "Student Loan",
    "Business Banking",
    "Home Insurance",
    "Current Account",
    "Crypto",
    "Wealth",
    "Green Energy",
    "Rewards",
    "Gold Card",
    "Kids Account",
    "Pet Insurance",
)
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "example.org", "bank.co.uk")
DOMAIN_WEIGHTS = (0.45, 0.15, 0.2, 0.1, 0.1)
OFFSETS = (("+02:00", 120), ("-05:00", -300), ("Z", 0), ("+05:30", 330))
_NS_MIN = 60 * 10**9
_NS_DAY = 86400 * 10**9


@dataclass
class SyntheticSignupData:
    """Generated inputs (``events``, ``campaigns``, ``signups``) and the truth.

    ``truth`` has one row per ``(email, topic)`` with the true ``p_click``, ``p_sc``,
    ``p_signup`` and whether the recipient is an organic owner; ``topic_truth`` the per-topic
    Beta means and concentrations.
    """

    events: pd.DataFrame
    campaigns: pd.DataFrame
    signups: pd.DataFrame
    truth: pd.DataFrame
    topic_truth: pd.DataFrame


def _ts_strings(ts_ns: np.ndarray, zoned: np.ndarray, offset_idx: np.ndarray):
    """Mixed timestamp strings: naive UTC ``"YYYY-MM-DD HH:MM:SS"`` or local ISO with offset."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mins = np.array([o[1] for o in OFFSETS], dtype=np.int64)
    suffix = np.array([o[0] for o in OFFSETS], dtype=object)
    local = ts_ns + np.where(zoned, mins[offset_idx] * _NS_MIN, 0)
    s = pc.cast(pa.array(local // 10**9, type=pa.timestamp("s")), pa.string())
    iso = pc.replace_substring(s, " ", "T")
    suf = pa.array(np.where(zoned, suffix[offset_idx], ""), type=pa.string())
    out = pc.if_else(pa.array(zoned), pc.binary_join_element_wise(iso, suf, ""), s)
    return pd.arrays.ArrowStringArray(out.cast(pa.large_string()).cast(pa.string()))


@dataclass(frozen=True)
class _Dirt:
    """The generator's knobs (see :func:`generate_signup_data`)."""

    sends_mean: float = 4.0
    topics_per_recipient: float = 1.8
    duplicate_rate: float = 0.05
    dirty_email_rate: float = 0.15
    zoned_rate: float = 0.3
    organic_owner_rate: float = 0.01
    unsubscribe_rate: float = 0.004
    complaint_rate: float = 0.001
    start: str = "2025-01-01"


def _topic_truth(rng: np.random.Generator, n_topics: int) -> pd.DataFrame:
    """Per-topic Beta means and concentrations, away from the seed's ``kappa = 2``."""
    return pd.DataFrame(
        {
            "topic": np.array(TOPIC_NAMES[:n_topics], dtype=object),
            "mu_click": rng.uniform(0.03, 0.15, n_topics),
            "kappa_click": rng.uniform(8.0, 40.0, n_topics),
            "mu_sc": rng.uniform(0.05, 0.30, n_topics),
            "kappa_sc": rng.uniform(4.0, 20.0, n_topics),
        }
    )


_N_CAMP = 4  # campaigns per topic


def _campaigns(n_topics: int) -> pd.DataFrame:
    """4 campaigns per topic with varying ways of carrying the topic (no randomness)."""
    topics = np.array(TOPIC_NAMES[:n_topics], dtype=object)
    ct = np.repeat(np.arange(n_topics), _N_CAMP)
    cj = np.tile(np.arange(_N_CAMP), n_topics)
    cids = np.array([f"CMP{t:02d}{j}" for t, j in zip(ct, cj, strict=True)], dtype=object)
    tn = topics[ct]
    seps = np.where(ct % 2 == 0, " - ", ": ")
    subject = np.select(
        [cj == 0, cj == 1, cj == 2, cj == 3],
        [
            tn + " offers inside",
            "[" + tn + "] A better rate for you",
            tn + " — Exclusive offer",
            tn + seps + "Pre-approved for you",
        ],
    )
    name = np.array([f"{t} wave {j}" for t, j in zip(tn, cj, strict=True)], dtype=object)
    # one in two topics: campaign 0 has a topic-less subject and the topic in its name
    nameonly = (cj == 0) & (ct % 2 == 1)
    subject = np.where(nameonly, "Don't miss out!", subject).astype(object)
    name = np.where(nameonly, tn + ": spring push", name).astype(object)
    return pd.DataFrame(
        {
            "campaign_id": cids,
            "name": name,
            "subject": subject,
            "topic": np.where((cj == 0) & ~nameonly, tn, None),
        }
    )


@dataclass
class _Block:
    events: pd.DataFrame
    signups: pd.DataFrame
    truth: pd.DataFrame
    n_sends: int


def _recipients(
    rng: np.random.Generator,
    first_id: int,
    n_recipients: int,
    topic_truth: pd.DataFrame,
    first_msg: int,
    dirt: _Dirt,
    *,
    keep_table_valid: bool,
) -> _Block:
    """Events, signups and truth of recipients ``first_id .. first_id + n_recipients - 1``;
    message ids start at ``first_msg``. ``keep_table_valid`` adds one organic owner when no
    signup was drawn (the single-shot generator has always done so)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_topics = len(topic_truth)
    topics = topic_truth["topic"].to_numpy(dtype=object)
    cids = _campaigns(n_topics)["campaign_id"].to_numpy(dtype=object)
    n_camp = _N_CAMP
    t0_ns = pd.Timestamp(dirt.start, tz="UTC").value

    # ---- recipients and their topics
    rid = first_id + np.arange(n_recipients)
    domain = rng.choice(len(DOMAINS), size=n_recipients, p=DOMAIN_WEIGHTS)
    k = np.minimum(1 + rng.poisson(dirt.topics_per_recipient - 1, n_recipients), n_topics)
    chosen = np.argsort(rng.random((n_recipients, n_topics)), axis=1) < k[:, None]
    p_rec, p_topic = np.nonzero(chosen)
    n_pairs = len(p_rec)
    tt = topic_truth
    mc, kc = tt["mu_click"].to_numpy()[p_topic], tt["kappa_click"].to_numpy()[p_topic]
    ms, ks = tt["mu_sc"].to_numpy()[p_topic], tt["kappa_sc"].to_numpy()[p_topic]
    p_click = rng.beta(mc * kc, (1 - mc) * kc)
    p_sc = rng.beta(ms * ks, (1 - ms) * ks)
    n_sends = 1 + rng.poisson(dirt.sends_mean - 1, n_pairs)

    # ---- sends
    s_pair = np.repeat(np.arange(n_pairs), n_sends)
    starts = np.cumsum(n_sends) - n_sends
    gaps = ((1.0 + rng.exponential(6.0, len(s_pair))) * _NS_DAY).astype(np.int64)
    start_off = (rng.uniform(0, 30, n_pairs) * _NS_DAY).astype(np.int64)
    cum = np.cumsum(gaps)
    cum = cum - np.repeat(cum[starts] - gaps[starts], n_sends)
    send_ts = t0_ns + start_off[s_pair] + cum
    n_s = len(s_pair)
    s_topic = p_topic[s_pair]
    s_camp = s_topic * n_camp + rng.integers(0, n_camp, n_s)
    clicked = rng.random(n_s) < p_click[s_pair]
    click_ts = send_ts + (rng.uniform(1, 720, n_s) * _NS_MIN).astype(np.int64)
    opened = clicked | (rng.random(n_s) < 0.2)
    open_ts = send_ts + ((click_ts - send_ts) * rng.uniform(0.1, 0.9, n_s)).astype(np.int64)
    signed = clicked & (rng.random(n_s) < p_sc[s_pair])
    signup_ts = click_ts + (rng.uniform(1, 120, n_s) * _NS_MIN).astype(np.int64)
    channel = rng.choice(3, size=n_s, p=(0.4, 0.3, 0.3))  # 0 events, 1 table, 2 both
    unsub = rng.random(n_s) < dirt.unsubscribe_rate
    complaint = rng.random(n_s) < dirt.complaint_rate
    later_ts = send_ts + (rng.uniform(1, 1440, n_s) * _NS_MIN).astype(np.int64)

    # ---- events (codes index EVENT_TYPES: send, open, click, signup, unsubscribe, complaint)
    parts = [
        (np.ones(n_s, bool), 0, send_ts),
        (opened, 1, open_ts),
        (clicked, 2, click_ts),
        (signed & (channel != 1), 3, signup_ts),
        (unsub, 4, later_ts),
        (complaint, 5, later_ts),
    ]
    ev_send = np.concatenate([np.flatnonzero(m) for m, _, _ in parts])
    ev_type = np.concatenate([np.full(m.sum(), c, np.int8) for m, c, _ in parts])
    ev_ts = np.concatenate([ts[m] for m, _, ts in parts])
    dup = np.flatnonzero(rng.random(len(ev_send)) < dirt.duplicate_rate)
    ev_send = np.concatenate([ev_send, ev_send[dup]])
    ev_type = np.concatenate([ev_type, ev_type[dup]])
    ev_ts = np.concatenate([ev_ts, ev_ts[dup] + rng.integers(1, 120, len(dup)) * 10**9])
    order = np.argsort(ev_ts, kind="stable")
    ev_send, ev_type, ev_ts = ev_send[order], ev_type[order], ev_ts[order]
    n_ev = len(ev_send)

    # e-mail variants per recipient: clean, Capitalised, UPPER with spaces
    base = pc.binary_join_element_wise(
        "user",
        pc.utf8_lpad(pc.cast(pa.array(rid), pa.string()), 7, "0"),
        "@",
        pa.array(np.array(DOMAINS, dtype=object)[domain]),
        "",
    )
    variants = pa.concat_arrays(
        [
            base,
            pc.utf8_capitalize(base),
            pc.binary_join_element_wise("  ", pc.utf8_upper(base), " ", ""),
        ]
    )
    ev_rec = p_rec[s_pair[ev_send]]
    dirty = rng.random(n_ev) < dirt.dirty_email_rate
    variant = np.where(dirty, rng.integers(1, 3, n_ev), 0)
    events = pd.DataFrame(
        {
            "msg_id": pd.arrays.ArrowStringArray(
                pc.binary_join_element_wise(
                    "m",
                    pc.utf8_lpad(pc.cast(pa.array(first_msg + ev_send), pa.string()), 9, "0"),
                    "",
                )
            ),
            # plain strings, as real exports have them (a categorical with millions of
            # categories would repeat its whole dictionary in every Parquet row group)
            "email": pd.arrays.ArrowStringArray(
                variants.take(pa.array(variant * n_recipients + ev_rec))
            ),
            "event_type": pd.Categorical.from_codes(ev_type, list(EVENT_TYPES)),
            "event_ts": _ts_strings(
                ev_ts, rng.random(n_ev) < dirt.zoned_rate, rng.integers(0, len(OFFSETS), n_ev)
            ),
            "campaign_id": pd.Categorical.from_codes(s_camp[ev_send], cids),
        }
    )

    # ---- signups table: logged signups (channel table/both) plus organic owners
    tab = np.flatnonzero(signed & (channel != 0))
    organic = np.flatnonzero(rng.random(n_pairs) < dirt.organic_owner_rate)
    org_ts = t0_ns - (rng.uniform(1, 300, len(organic)) * _NS_DAY).astype(np.int64)
    su_rec = np.concatenate([p_rec[s_pair[tab]], p_rec[organic]])
    su_camp = np.concatenate(
        [s_camp[tab], p_topic[organic] * n_camp + rng.integers(0, n_camp, len(organic))]
    )
    su_ts = np.concatenate([signup_ts[tab], org_ts])
    n_su = len(su_rec)
    su_variant = np.where(rng.random(n_su) < dirt.dirty_email_rate, rng.integers(1, 3, n_su), 0)
    signups = pd.DataFrame(
        {
            "email": np.asarray(
                variants.take(pa.array(su_variant * n_recipients + su_rec)).to_pylist(),
                dtype=object,
            ),
            "campaign_id": cids[su_camp],
            "signup_ts": _ts_strings(
                su_ts, rng.random(n_su) < dirt.zoned_rate, rng.integers(0, len(OFFSETS), n_su)
            ),
        }
    )
    if n_su == 0 and keep_table_valid:  # one organic owner (an empty table is valid too)
        signups = pd.DataFrame(
            {
                "email": [base[int(p_rec[0])].as_py()],
                "campaign_id": [cids[p_topic[0] * n_camp]],
                "signup_ts": [pd.Timestamp(t0_ns - _NS_DAY, tz="UTC").isoformat()],
            }
        )
        organic = np.array([0])

    is_organic = np.zeros(n_pairs, bool)
    is_organic[organic] = True
    truth = pd.DataFrame(
        {
            "email": np.asarray(base.take(pa.array(p_rec)).to_pylist(), dtype=object),
            "topic": topics[p_topic],
            "sends": n_sends,
            "p_click": p_click,
            "p_sc": p_sc,
            "p_signup": p_click * p_sc,
            "organic_owner": is_organic,
        }
    )
    return _Block(events, signups, truth, n_s)


def _check_sizes(n_recipients: int, n_topics: int) -> None:
    if not 1 <= n_topics <= len(TOPIC_NAMES):
        raise ValueError(f"n_topics must be in 1..{len(TOPIC_NAMES)}, got {n_topics}")
    if n_recipients < 1:
        raise ValueError("n_recipients must be >= 1")


def generate_signup_data(
    n_recipients: int = 5000,
    n_topics: int = 5,
    *,
    seed: int = 0,
    sends_mean: float = 4.0,
    topics_per_recipient: float = 1.8,
    duplicate_rate: float = 0.05,
    dirty_email_rate: float = 0.15,
    zoned_rate: float = 0.3,
    organic_owner_rate: float = 0.01,
    unsubscribe_rate: float = 0.004,
    complaint_rate: float = 0.001,
    start: str = "2025-01-01",
) -> SyntheticSignupData:
    """Generate events, campaigns and signups for ``n_recipients`` over ``n_topics`` topics.

    Each recipient is mailed in ``1 + Poisson(topics_per_recipient - 1)`` topics, each with
    ``1 + Poisson(sends_mean - 1)`` sends spaced ``1 + Exp(6)`` days apart. A send is opened
    (always when clicked), clicked with ``p_click`` and each click signs up with ``p_sc``; a
    signup is logged in the events only (40%), the table only (30%) or both (30%).
    About 10 events per recipient result, all held in memory (about 350 bytes per event at
    the peak); :func:`write_signup_files` writes any size in blocks with constant memory.
    """
    _check_sizes(n_recipients, n_topics)
    dirt = _Dirt(
        sends_mean=sends_mean,
        topics_per_recipient=topics_per_recipient,
        duplicate_rate=duplicate_rate,
        dirty_email_rate=dirty_email_rate,
        zoned_rate=zoned_rate,
        organic_owner_rate=organic_owner_rate,
        unsubscribe_rate=unsubscribe_rate,
        complaint_rate=complaint_rate,
        start=start,
    )
    rng = np.random.default_rng(seed)
    topic_truth = _topic_truth(rng, n_topics)
    block = _recipients(rng, 0, n_recipients, topic_truth, 0, dirt, keep_table_valid=True)
    return SyntheticSignupData(
        block.events, _campaigns(n_topics), block.signups, block.truth, topic_truth
    )


def write_signup_data(
    data: SyntheticSignupData, out_dir: str | Path, *, fmt: str = "csv"
) -> dict[str, Path]:
    """Write ``events``, ``campaigns``, ``signups`` (and ``truth``, ``topic_truth``) atomically
    as CSV or Parquet; return the paths."""
    from bayes.io import write_table

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("events", "campaigns", "signups", "truth", "topic_truth"):
        paths[name] = write_table(getattr(data, name), out / f"{name}.{fmt}")
    return paths


@dataclass
class SignupFiles:
    """What :func:`write_signup_files` wrote: the paths and the row counts."""

    paths: dict[str, Path]
    rows: dict[str, int]

    @property
    def n_events(self) -> int:
        return self.rows["events"]


def write_signup_files(
    out_dir: str | Path,
    n_recipients: int,
    n_topics: int = 5,
    *,
    seed: int = 0,
    fmt: str = "parquet",
    block_recipients: int = 100_000,
    progress: bool | None = None,
    **dirt,
) -> SignupFiles:
    """Generate and write ``events``, ``campaigns``, ``signups``, ``truth`` and ``topic_truth``
    block by block: memory stays that of one block of ``block_recipients`` recipients (about
    1M events, 0.5 GB) whatever ``n_recipients`` is, so 100M events (10M recipients) are
    written on a laptop. Each block is one Parquet row group (or CSV rows under one header);
    the five files are replaced together at the end (:class:`bayes.engines.writers.ChunkedTables`).

    The topic truth and block 0 come from ``numpy.random.default_rng(seed)`` exactly as in
    :func:`generate_signup_data`, so with ``n_recipients <= block_recipients`` the files hold the
    same data as ``write_signup_data(generate_signup_data(n_recipients, n_topics, seed=seed))``;
    block ``b >= 1`` draws from ``default_rng([seed, b])``. Same arguments, same files.
    ``dirt`` takes the keyword arguments of :func:`generate_signup_data`.
    """
    from bayes.engines.writers import ChunkedTables
    from bayes.progress import progress as bar

    _check_sizes(n_recipients, n_topics)
    if block_recipients < 1:
        raise ValueError("block_recipients must be >= 1")
    settings = _Dirt(**dirt)
    rng = np.random.default_rng(seed)
    topic_truth = _topic_truth(rng, n_topics)
    n_blocks = -(-n_recipients // block_recipients)
    first_msg = 0
    with ChunkedTables(out_dir, fmt) as out:
        for b in bar(range(n_blocks), total=n_blocks, desc="generate", enabled=progress):
            first = b * block_recipients
            size = min(block_recipients, n_recipients - first)
            block = _recipients(
                rng if b == 0 else np.random.default_rng([seed, b]),
                first,
                size,
                topic_truth,
                first_msg,
                settings,
                keep_table_valid=n_blocks == 1,
            )
            first_msg += block.n_sends
            for name in ("events", "signups", "truth"):
                out.append(name, getattr(block, name))
            del block
        out.append("campaigns", _campaigns(n_topics))
        out.append("topic_truth", topic_truth)
    return SignupFiles(dict(out.paths), dict(out.rows))
