"""Seed 003 §2 counting rules: event logs -> per-(email, topic) sends, clicks and signups.

:func:`normalize_emails`, :func:`topic_from_text`, :func:`campaign_topics`, :func:`to_utc`,
:func:`encode_events`, :func:`encode_signups`, :func:`aggregate_pairs` and their composition
:func:`count_pairs` (which also gives the §3 topic priors of :func:`models.signup.topic_priors`).
Vectorised over events with Arrow/NumPy; this is the pandas engine and the reference the other
engines (:mod:`bayes.engines`, DuckDB and Spark running one SQL definition) are checked against.

The rules, exactly as every engine applies them:

* **e-mails** are ``lower()``-ed, then stripped of the characters Python's ``str.strip()`` removes
  (:data:`WHITESPACE`);
* **one event per message**: an ``(email, topic)`` counts each ``(msg_id, event_type)`` once;
  repeated copies of an event are one event whose time is the earliest copy's;
* **order**: e-mails are coded in sorted (code point) order, so the pair table is sorted by
  e-mail, then by topic in the campaigns table's order, and ties in an audience are broken
  alphabetically — the same on every engine, whatever the order of the rows in the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.signup import PRIOR_CLAMP, topic_priors

__all__ = [
    "EVENT_TYPES",
    "WHITESPACE",
    "EventCodes",
    "arrow_strings",
    "SignupCounts",
    "aggregate_pairs",
    "campaign_topics",
    "count_pairs",
    "encode_events",
    "encode_signups",
    "normalize_emails",
    "parse_utc_ns",
    "sorted_categorical",
    "string_index",
    "to_utc",
    "topic_from_text",
]

#: the event types of the events stream (seed §2), in code order
EVENT_TYPES: tuple[str, ...] = ("send", "open", "click", "signup", "unsubscribe", "complaint")
_SEND, _OPEN, _CLICK, _SIGNUP, _UNSUB, _COMPLAINT = range(6)

#: what ``str.strip()`` removes (the 29 code points with ``str.isspace()``); every engine trims
#: exactly these from e-mails and event types
WHITESPACE: str = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def string_index(values) -> pd.Index:
    """An Index of Arrow-backed strings (``string[pyarrow]``) holding the Arrow string array
    ``values``: ~the bytes of the text plus 8 per value, where an object Index costs a Python
    ``str`` per value (~50 bytes plus the text and the pointer). The e-mail categories of the
    pair table are such an Index on every engine (17M pairs at 100M events hold 9.6M
    e-mails)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), pa.large_string(), from_pandas=True)
    return pd.Index(pd.arrays.ArrowStringArray(values))


def sorted_categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """``pd.Categorical.from_codes(codes, categories)`` for a strictly increasing code book
    (the sorted, distinct e-mails of a pair table), checked in Arrow. pandas' own check of
    the categories' uniqueness builds a hash table of them, which for a :func:`string_index`
    means a Python string per value — 9.6M e-mails at 100M events, ~1 GB: the very memory
    the Arrow-backed book saves. The Index is told the answer (``is_unique``, which pandas
    caches) when Arrow has shown the values strictly increasing."""
    import pyarrow.compute as pc

    if isinstance(categories.dtype, pd.StringDtype) and categories.dtype.storage == "pyarrow":
        arr = arrow_strings(categories)
        n = len(arr)
        increasing = n < 2 or pc.all(pc.less(arr.slice(0, n - 1), arr.slice(1))).as_py()
        if increasing and arr.null_count == 0:
            categories._cache["is_unique"] = True  # (pandas < 3: a cache_readonly property)
    return pd.Categorical.from_codes(codes, categories=categories)


def arrow_strings(index: pd.Index):
    """The strings of ``index`` as one Arrow array (no copy for a :func:`string_index`)."""
    import pyarrow as pa

    if isinstance(index.dtype, pd.StringDtype) and index.dtype.storage == "pyarrow":
        arr = pa.array(index.array)
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return pa.array(index.astype(str).to_numpy(dtype=object), pa.string())


def _sorted_book(book, codes: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Re-code ``codes`` (indices into the Arrow string array ``book``, -1 = missing) so that
    the code book is in sorted order; returns ``(codes, sorted book as a`` :func:`string_index`
    ``)``."""
    import pyarrow.compute as pc

    order = pc.sort_indices(book).to_numpy(zero_copy_only=False).astype(np.int64)
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    out = np.where(codes < 0, -1, rank[np.maximum(codes, 0)]) if len(order) else codes
    return out.astype(np.int64), string_index(book.take(order))


def normalize_emails(values) -> tuple[np.ndarray, pd.Index]:
    """Seed §2/§9 step 1: ``email.lower().strip()``, computed on the unique values only.

    Returns ``(codes, emails)``: ``emails[codes]`` is the normalised e-mail of every input row,
    ``emails`` sorted (Arrow-backed strings, :func:`string_index`). Factorises first (on a categorical: its integer codes), normalises the
    uniques with Arrow's C++ string kernels (``utf8_lower``, ``utf8_trim`` of
    :data:`WHITESPACE`), then merges the uniques that collapse to the same address.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = values.array if isinstance(values, pd.Series) else values
        raw_codes, first = pd.factorize(np.asarray(cat.codes), use_na_sentinel=True)
        # code -1 (missing) is factorised as a value: map it back to the sentinel
        missing = first < 0
        raw_codes = np.where(missing[raw_codes], -1, raw_codes) if missing.any() else raw_codes
        uniques = cat.categories.take(np.where(missing, 0, first))
    else:
        raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    arr = pa.array(np.asarray(uniques, dtype=object), type=pa.string(), from_pandas=True)
    enc = pc.dictionary_encode(pc.utf8_trim(pc.utf8_lower(arr), characters=WHITESPACE))
    merged = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = merged[raw_codes] if len(merged) else np.zeros(len(raw_codes), np.int64)
    codes = np.where(raw_codes < 0, -1, codes)
    return _sorted_book(enc.dictionary, codes)


_BRACKET = re.compile(r"^\s*\[([^\]]+)\]")
# the earliest of: an em/en dash (spaces optional), a spaced hyphen " - ", or a colon
_SEPARATOR = re.compile(r"^(.*?)(?:\s*[—–]\s*|\s+-\s+|\s*:)")


def topic_from_text(text: pd.Series) -> pd.Series:
    """Seed §2: parse a topic from a subject or name.

    ``"[Mortgage] Rates are down"`` -> ``"Mortgage"``; otherwise the text before the first
    ``—`` (or ``–``), spaced ``" - "`` or ``":"``: ``"Credit Card — Cashback"`` -> ``"Credit Card"``.
    A bare hyphen inside a word (``"Pre-approved"``) is not a separator. Returns NaN where no
    rule applies (or the parsed text is blank).
    """
    s = pd.Series(text, dtype=object).astype("string")
    bracket = s.str.extract(_BRACKET, expand=False)
    before = s.str.extract(_SEPARATOR, expand=False)
    out = bracket.fillna(before).str.strip()
    out = out.where(out.str.len() > 0)
    return out.astype(object).where(out.notna(), np.nan)


def campaign_topics(campaigns: pd.DataFrame) -> pd.Series:
    """Map ``campaign_id -> topic`` (seed §2): the ``topic`` column when present and non-blank,
    else parsed from ``subject``, else from ``name``. NaN where nothing applies."""
    n = len(campaigns)
    topic = pd.Series([np.nan] * n, index=campaigns.index, dtype=object)
    if "topic" in campaigns.columns:
        t = campaigns["topic"].astype("string").str.strip()
        topic = t.where(t.str.len() > 0).astype(object)
    for col in ("subject", "name"):
        if col in campaigns.columns:
            missing = topic.isna()
            if missing.any():
                topic = topic.where(~missing, topic_from_text(campaigns[col].where(missing)))
    topic = topic.where(topic.notna(), np.nan)
    return pd.Series(topic.to_numpy(), index=pd.Index(campaigns["campaign_id"]), name="topic")


_TS_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
)


def _format_order(arr, todo: np.ndarray, n_sample: int = 2000) -> list[str]:
    """:data:`_TS_FORMATS` ordered by how many of ``n_sample`` evenly spaced rows each parses.

    Arrow's ``strptime`` must consume the whole string, so the formats are mutually exclusive
    and the order changes only the speed (the most common format first: most rows leave the
    cascade after one pass), never a result."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(todo) <= n_sample:
        return list(_TS_FORMATS)
    sample = arr.take(pa.array(todo[np.linspace(0, len(todo) - 1, n_sample).astype(np.int64)]))
    hits = [
        -pc.sum(pc.is_valid(pc.strptime(sample, format=f, unit="ns", error_is_null=True))).as_py()
        for f in _TS_FORMATS
    ]
    return [_TS_FORMATS[i] for i in np.argsort(hits, kind="stable")]


def parse_utc_ns(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed §7: timestamps to UTC nanoseconds; naive values are UTC, zoned ones converted.

    ``values`` is an Arrow array or anything pandas holds. Fixed ISO formats are tried in Arrow
    on the rows still unparsed (fast on tens of millions of rows); the rest go to pandas'
    per-element ``format="mixed"`` parser. (pandas' ``format="ISO8601"`` is avoided: on a column
    mixing naive and zoned strings it gives naive values the offset of an earlier zoned one —
    pandas 2.3.) Returns ``(ns, missing, unparseable)``: int64 nanoseconds and two masks.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        arr = values.combine_chunks()
    elif isinstance(values, pa.Array):
        arr = values
    else:
        s = pd.Series(values)
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            # naive = UTC; DatetimeIndex.asi8 is UTC epoch nanoseconds (no per-element objects)
            ns = pd.DatetimeIndex(s).as_unit("ns").asi8
            return ns.copy(), s.isna().to_numpy(), np.zeros(len(s), bool)
        arr = pa.array(s.astype(object).where(s.notna(), None).to_numpy(), from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    n = len(arr)
    missing = np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
    if pa.types.is_timestamp(arr.type):
        ns = arr.cast(pa.timestamp("ns", tz=arr.type.tz)).cast(pa.int64())
        return ns.fill_null(0).to_numpy(), missing, np.zeros(n, bool)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    out = np.zeros(n, dtype=np.int64)
    todo = np.flatnonzero(~missing)
    for fmt in _format_order(arr, todo):
        if len(todo) == 0:
            break
        sub = arr.take(pa.array(todo)) if len(todo) < n else arr
        parsed = pc.strptime(sub, format=fmt, unit="ns", error_is_null=True)
        ok = np.asarray(parsed.is_valid().to_numpy(zero_copy_only=False))
        if ok.any():
            out[todo[ok]] = parsed.cast(pa.int64()).fill_null(0).to_numpy()[ok]
        todo = todo[~ok]
    bad = np.zeros(n, bool)
    if len(todo):
        rest = pd.Series(arr.take(pa.array(todo)).to_pylist(), dtype=object)
        parsed = pd.to_datetime(rest, errors="coerce", utc=True, format="mixed")
        good = parsed.notna().to_numpy()
        out[todo[good]] = parsed[good].to_numpy(dtype="datetime64[ns]").view(np.int64)
        bad[todo[~good]] = True
    return out, missing, bad


def to_utc(ts) -> pd.Series:
    """Seed §7: coerce timestamps to UTC (naive = UTC); see :func:`parse_utc_ns`.

    Raises ``ValueError`` on values that cannot be parsed (missing values become NaT).
    """
    index = ts.index if isinstance(ts, pd.Series) else None
    ns, missing, bad = parse_utc_ns(ts)
    if bad.any():
        raise ValueError(
            f"cannot parse {int(bad.sum())} timestamp(s) (rows {np.flatnonzero(bad)[:5]})"
        )
    out = pd.to_datetime(np.where(missing, np.iinfo(np.int64).min, ns), utc=True)
    return pd.Series(out, index=index)


@dataclass
class EventCodes:
    """The events stream after §2: one row per ``(email, topic, msg_id, event_type)``,
    integer-coded.

    Arrays run over the deduplicated events; ``emails`` (sorted) and ``topics`` are the code
    books. ``ts_ns`` are UTC nanoseconds of each event's earliest copy (``None`` when the
    stream has no timestamps).
    """

    email: np.ndarray
    topic: np.ndarray
    etype: np.ndarray
    msg: np.ndarray
    ts_ns: np.ndarray | None
    emails: pd.Index
    topics: pd.Index
    n_raw: int
    as_of: pd.Timestamp | None = None

    @property
    def n_unique(self) -> int:
        return len(self.email)


def _codes_in(values, book: pd.Index, what: str) -> np.ndarray:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    idx = book.get_indexer(pd.Index(np.asarray(uniques, dtype=object)))
    if (idx < 0).any():
        bad = [uniques[i] for i in np.flatnonzero(idx < 0)[:5]]
        raise ValueError(f"unknown {what} {bad}")
    return np.where(codes < 0, -1, idx[codes]).astype(np.int64)


def _topic_codes_of_campaigns(
    campaign_ids, topic_of_campaign: pd.Series, topics: pd.Index, message: str
) -> np.ndarray:
    """Topic code (position in ``topics``) of every row's campaign, computed on the unique ids;
    a campaign without a topic in ``topics`` raises ``ValueError(f"{message}: [ids]")``."""
    camp = topic_of_campaign.dropna()
    camp_topic = pd.Series(topics.get_indexer(camp.to_numpy()), camp.index)
    codes, uniques = pd.factorize(campaign_ids)
    per_camp = camp_topic.reindex(pd.Index(np.asarray(uniques, dtype=object)))
    if per_camp.isna().any() or (per_camp < 0).any():
        bad = list(per_camp.index[per_camp.isna() | (per_camp < 0)][:5])
        raise ValueError(f"{message}: {bad}")
    return per_camp.to_numpy(np.int64)[codes]


def _first_copies(event_key, email, topic, ts) -> np.ndarray:
    """Positions of the rows kept: one per ``(event_key, email, topic)``, its earliest copy
    (by ``ts``; ``ts`` None keeps the first row). Only the rows whose ``event_key`` repeats
    (a few percent) are sorted; the others are kept as they are."""
    repeated = pd.Series(event_key).duplicated(keep=False).to_numpy()
    if not repeated.any():
        return np.arange(len(event_key))
    idx = np.flatnonzero(repeated)
    t = np.zeros(len(idx), np.int64) if ts is None else ts[idx]
    order = idx[np.lexsort((idx, t, topic[idx], email[idx], event_key[idx]))]
    k, e, tp = event_key[order], email[order], topic[order]
    first = np.r_[True, (k[1:] != k[:-1]) | (e[1:] != e[:-1]) | (tp[1:] != tp[:-1])]
    return np.sort(np.concatenate([np.flatnonzero(~repeated), order[first]]))


def encode_events(
    events: pd.DataFrame, topic_of_campaign: pd.Series, *, topics: pd.Index | None = None
) -> EventCodes:
    """Seed §2 / §9 steps 1 and 3: normalise e-mails, map ``campaign -> topic``, timestamps to
    UTC, and keep one row per ``(email, topic, msg_id, event_type)`` ("all event counts are
    unique per message"), at the time of its earliest copy.

    ``events`` needs ``msg_id, email, event_type, campaign_id`` and optionally ``event_ts``
    (columns may be categoricals, which makes this fast on large data).
    """
    n_raw = len(events)
    email_codes, emails = normalize_emails(events["email"])
    etype = _codes_in(events["event_type"], pd.Index(EVENT_TYPES), "event_type").astype(np.int8)
    if topics is None:
        topics = pd.Index(pd.unique(topic_of_campaign.dropna().to_numpy()), dtype=object)
    topic = _topic_codes_of_campaigns(
        events["campaign_id"], topic_of_campaign, topics, "campaign_id(s) without a topic"
    )
    msg = events["msg_id"].to_numpy()
    if not (
        np.issubdtype(msg.dtype, np.integer) and len(msg) and 0 <= msg.min() and msg.max() < 2**59
    ):  # integer ids (the loader's codes) are used as they are; anything else is factorised
        msg, _ = pd.factorize(events["msg_id"])
    msg = msg.astype(np.int64)
    ts_ns = None
    as_of = None
    ts_all = None
    if "event_ts" in events.columns:
        ts_all, missing, bad = parse_utc_ns(events["event_ts"])
        if bad.any():
            raise ValueError(f"cannot parse event_ts (rows {np.flatnonzero(bad)[:5]})")
        ts_all = np.where(missing, np.iinfo(np.int64).min, ts_all)  # NaT
        as_of = pd.Timestamp(int(ts_all.max()), tz="UTC") if n_raw else None
    keep = _first_copies(msg * len(EVENT_TYPES) + etype, email_codes, topic, ts_all)
    if ts_all is not None:
        ts_ns = ts_all[keep]
    return EventCodes(
        email=email_codes[keep],
        topic=topic[keep],
        etype=etype[keep],
        msg=msg[keep],
        ts_ns=ts_ns,
        emails=emails,
        topics=topics,
        n_raw=n_raw,
        as_of=as_of,
    )


def encode_signups(signups: pd.DataFrame | None, topic_of_campaign: pd.Series, codes: EventCodes):
    """Map the signups table to ``(email code, topic code, ts_ns)`` in the events' code books.

    E-mails absent from the events extend ``codes.emails`` (they are owners without sends); the
    code book stays sorted, so ``codes.email`` is re-coded then.
    Returns ``(email, topic, ts_ns)`` arrays (``ts_ns`` None without ``signup_ts``).
    """
    if signups is None or len(signups) == 0:
        z = np.zeros(0, np.int64)
        return z, z, None
    raw, uniq = normalize_emails(signups["email"])
    idx = codes.emails.get_indexer(uniq)
    new = idx < 0
    if new.any():  # extend the code book, keep it sorted: re-code the events' e-mails
        import pyarrow as pa

        idx[new] = len(codes.emails) + np.arange(new.sum())
        book = pa.concat_arrays(
            [
                arrow_strings(codes.emails).cast(pa.string()),
                arrow_strings(uniq[new]).cast(pa.string()),
            ]
        )
        recoded, codes.emails = _sorted_book(book, np.concatenate([codes.email, idx]))
        codes.email, idx = recoded[: len(codes.email)], recoded[len(codes.email) :]
    email = idx[raw]
    topic = _topic_codes_of_campaigns(
        signups["campaign_id"],
        topic_of_campaign,
        codes.topics,
        "signups reference campaign_id(s) without a topic in the events",
    )
    ts_ns = None
    if "signup_ts" in signups.columns:
        ts_ns = to_utc(signups["signup_ts"]).to_numpy(dtype="datetime64[ns]").view(np.int64)
    return email.astype(np.int64), topic, ts_ns


def aggregate_pairs(
    codes: EventCodes,
    signup_email: np.ndarray,
    signup_topic: np.ndarray,
    *,
    event_mask: np.ndarray | None = None,
    signup_mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """Seed §2 / §9 step 3: per ``(email, topic)`` the unique sends ``S``, clicks ``C`` and the
    signup indicator ``Y`` = union of signup events and signups-table rows, collapsed to 0/1.

    Also: ``signup_event``/``signup_table`` (the two sources), ``opted_out`` (an unsubscribe or
    complaint in the topic, §6 rule 2) and ``last_open_ts`` (§6 rule 4). Owners (§6 rule 1) are
    the rows with ``signed_up == 1``. Rows are sorted by e-mail code then topic.
    ``event_mask``/``signup_mask`` restrict the events/table rows counted (used by the backtest).
    """
    n_t = len(codes.topics)
    em, tp, et = codes.email, codes.topic, codes.etype
    ts = codes.ts_ns
    if event_mask is not None:
        em, tp, et = em[event_mask], tp[event_mask], et[event_mask]
        ts = None if ts is None else ts[event_mask]
    se, st = signup_email, signup_topic
    if signup_mask is not None:
        se, st = se[signup_mask], st[signup_mask]
    key_ev = em * n_t + tp
    key_su = se * n_t + st
    pcodes, puniq = pd.factorize(np.concatenate([key_ev, key_su]))
    order = np.argsort(puniq, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    pcodes = rank[pcodes]
    puniq = puniq[order]
    n_p = len(puniq)
    pe, ps = pcodes[: len(key_ev)], pcodes[len(key_ev) :]

    def count(kind):
        return np.bincount(pe[et == kind], minlength=n_p)

    sends, clicks = count(_SEND), count(_CLICK)
    sig_ev = count(_SIGNUP) > 0
    sig_tab = np.bincount(ps, minlength=n_p) > 0
    opted = (count(_UNSUB) + count(_COMPLAINT)) > 0
    last_open = np.full(n_p, np.iinfo(np.int64).min, dtype=np.int64)
    if ts is not None:
        is_open = et == _OPEN
        np.maximum.at(last_open, pe[is_open], ts[is_open])
    # int64 min is NaT: view as datetime64[ns] (no per-element parsing), then mark as UTC
    last_open_ts = pd.DatetimeIndex(last_open.view("datetime64[ns]")).tz_localize("UTC")
    email_code = puniq // n_t
    topic_code = puniq % n_t
    return pd.DataFrame(
        {
            "email": sorted_categorical(email_code, codes.emails),
            "topic": pd.Categorical.from_codes(topic_code, categories=codes.topics),
            "sends": sends.astype(np.int64),
            "clicks": clicks.astype(np.int64),
            "signed_up": (sig_ev | sig_tab).astype(np.int64),
            "signup_event": sig_ev,
            "signup_table": sig_tab,
            "opted_out": opted,
            "last_open_ts": last_open_ts,
        }
    )


@dataclass
class SignupCounts:
    """Result of :func:`count_pairs` (or of an engine, :func:`bayes.engines.count_signups`): the
    per-(email, topic) table, the topic priors, the as-of time (latest ``event_ts``), raw and
    unique event counts, the input ``sources``, stage ``timings`` (s) and the ``engine``."""

    pairs: pd.DataFrame
    topics: pd.DataFrame
    as_of: pd.Timestamp | None
    n_events: int
    n_unique_events: int
    sources: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    engine: str = "pandas"
    #: the stages (:class:`bayes.progress.Stages`; None from :func:`count_pairs` itself)
    stages: object = None
    #: how a SQL engine ran the count (:func:`bayes.engines.count_signups`):
    #: ``topic_partitions`` (scans of the events, one per group of topics) and ``email_trim``
    #: (``"spaces"``, or ``"full"`` when an address carried a tab, a no-break space…);
    #: empty on pandas
    plan: dict = field(default_factory=dict)

    def plan_text(self) -> str:
        """The engine and its :attr:`plan` in words (the report, the CLI)."""
        if not self.plan:
            return self.engine
        n = self.plan["topic_partitions"]
        trim = {
            "spaces": "e-mails trimmed of spaces (none needed more)",
            "full": "e-mails fully trimmed (an address had a tab or another blank)",
        }[self.plan["email_trim"]]
        return f"{self.engine}: {n} topic partition{'s' if n > 1 else ''}, {trim}"


def count_pairs(
    events: pd.DataFrame,
    campaigns: pd.DataFrame | pd.Series,
    signups: pd.DataFrame | None = None,
    *,
    clamp: tuple[float, float] = PRIOR_CLAMP,
) -> SignupCounts:
    """Seed §9 steps 1-3: counts per ``(email, topic)`` and the topic priors of §3.

    ``campaigns`` is the campaigns table (``campaign_id, name, subject[, topic]``) or an
    already computed ``campaign_id -> topic`` Series.
    """
    topic_of = campaigns if isinstance(campaigns, pd.Series) else campaign_topics(campaigns)
    codes = encode_events(events, topic_of)
    s_email, s_topic, _ = encode_signups(signups, topic_of, codes)
    pairs = aggregate_pairs(codes, s_email, s_topic)
    return SignupCounts(
        pairs=pairs,
        topics=topic_priors(pairs, clamp=clamp),
        as_of=codes.as_of,
        n_events=codes.n_raw,
        n_unique_events=codes.n_unique,
    )
