"""Seed 003 §2 counting on DuckDB or Spark: validation and the pair table in one SQL definition.

:func:`count_signups` is ``load_inputs`` + ``count_pairs`` of :mod:`bayes.signup` run by an
engine, straight from the files: the events are never loaded into Python, only the pair table
(one row per ``(email, topic)``) comes back. The rules are those of the pandas reference
(:mod:`bayes.signup.counting`), written as SQL:

1. e-mails and event types ``lower()``-ed and stripped of :data:`~bayes.signup.counting.WHITESPACE`;
   timestamps to UTC microseconds (naive = UTC, zoned converted);
2. ``campaign_id -> topic`` from the campaigns table (its ``topic`` column, else parsed from
   subject/name by :func:`~bayes.signup.counting.campaign_topics` — the campaigns table is small,
   so it is read once into Python and the map is joined in as a table);
3. one event per ``(email, topic, event_type, msg_id)``, at its earliest copy (one row per
   message ``(email, topic, msg_id)`` holding the set of its event types);
4. per ``(email, topic)``: sends, clicks, a signup event, an unsubscribe/complaint, the last
   open; full outer join with the distinct ``(email, topic)`` of the signups table;
5. rows sorted by e-mail, then topic (campaigns-table order).

No scan is spent on validation: the counting query also flags the rows the validation
refuses, and only when one is flagged do the checks run, with the pandas loader's messages:
the file, the column and the rows (CSV line numbers, or row + 2 in Parquet, as
:func:`bayes.io.row_numbers`) — on Spark, which has no row order, the number of rows and
example values instead.

Two ways the DuckDB run stays fast and exact at 100M events: e-mails are first trimmed of
spaces only, and the query runs again with the full trim only when an address still starts
or ends with another whitespace character (checked on the pairs, not the events); and when
the messages would not fit the memory limit, the events are counted topic by topic, one scan
of the events per partition, each partition exact since a pair lies in one topic
(:func:`_partitions`; docs/engines.md has the measurements).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes.engines import EngineSpec, arrow_pages_kept, no_huge_page_stalls, resolve_engine
from bayes.engines.backends import Source, connect, source_of
from bayes.engines.checks import Check, Table, require_columns, validate
from bayes.engines.sql import DIALECTS, Dialect
from bayes.io import InputError
from bayes.progress import Stages
from bayes.signup.counting import EVENT_TYPES, SignupCounts, sorted_categorical, string_index
from models.signup import PRIOR_CLAMP, topic_priors

__all__ = ["count_signups", "read_event_columns"]

_EVENTS, _SIGNUPS, _TOPICS, _CAMPAIGNS = (
    "bayes_events",
    "bayes_signups",
    "bayes_topics",
    "bayes_campaigns",
)
_EVENT_COLUMNS = ("msg_id", "email", "event_type", "event_ts", "campaign_id")
_SIGNUP_COLUMNS = ("email", "campaign_id", "signup_ts")


# ----------------------------------------------------------------------------- SQL


def _events_select(d: Dialect, table: str, extra: str = "", *, ts_text: bool = True) -> str:
    """The events as the checks see them: problem flags, the event type's code
    (:data:`~bayes.signup.counting.EVENT_TYPES` order; NULL if unknown), UTC µs, topic.
    ``ts_text``: ``event_ts`` is a string column (else a typed timestamp)."""
    return f"""
    SELECT
      src.msg_id IS NULL AS msg_id_missing,
      {d.blank("src.email")} AS email_blank,
      {d.code("src.event_type", EVENT_TYPES)} AS et,
      CAST(src.event_type AS STRING) AS event_type_raw,
      {d.blank("src.event_type")} AS type_blank,
      src.event_ts IS NULL AS ts_missing,
      {d.utc_micros("src.event_ts", text=ts_text)} AS ts,
      CAST(src.campaign_id AS STRING) AS campaign_id,
      {d.blank("src.campaign_id")} AS campaign_blank,
      t.topic_idx{extra}
    FROM {table} src LEFT JOIN {_TOPICS} t ON CAST(src.campaign_id AS STRING) = t.campaign_id"""


def _signups_select(d: Dialect, table: str, extra: str = "", *, ts_text: bool = True) -> str:
    """The signups table with normalised columns, joined to the topic of its campaign."""
    return f"""
    SELECT
      src.email IS NULL AS email_missing,
      {d.normalized("src.email")} AS email,
      CAST(src.campaign_id AS STRING) AS campaign_id,
      src.signup_ts IS NULL AS ts_missing,
      {d.utc_micros("src.signup_ts", text=ts_text)} AS ts,
      t.topic_idx{extra}
    FROM {table} src LEFT JOIN {_TOPICS} t ON CAST(src.campaign_id AS STRING) = t.campaign_id"""


#: the checks of :func:`bayes.signup.data.validate_events` and ``load_inputs``, in their order
_EVENT_CHECKS = (
    Check("msg_id", "msg_id", "msg_id_missing", "missing values are not allowed"),
    Check("email", "email", "email_blank", "missing or blank values are not allowed"),
    Check("ts_bad", "event_ts", "NOT ts_missing AND ts IS NULL", "cannot parse as a timestamp"),
    Check("ts_missing", "event_ts", "ts_missing", "missing values (NaN/empty) are not allowed"),
    Check("campaign", "campaign_id", "campaign_blank", "missing or blank values are not allowed"),
    Check("type_blank", "event_type", "type_blank", "missing or blank values are not allowed"),
    Check(
        "type_unknown",
        "event_type",
        "et IS NULL AND NOT type_blank",
        "unknown value(s) {values}; expected one of " + str(list(EVENT_TYPES)),
        values="event_type_raw",
        sort_values=True,
    ),
    Check(
        "campaign_unknown",
        "campaign_id",
        "topic_idx IS NULL",
        "campaign_id(s) {values} are not in the campaigns table",
        values="campaign_id",
    ),
)
#: the checks of :func:`bayes.signup.data.read_signups` and ``load_inputs``
_SIGNUP_CHECKS = (
    Check("email", "email", "email_missing", "missing values (NaN/empty) are not allowed"),
    Check(
        "campaign",
        "campaign_id",
        "campaign_id IS NULL",
        "missing values (NaN/empty) are not allowed",
    ),
    Check("ts_missing", "signup_ts", "ts_missing", "missing values (NaN/empty) are not allowed"),
    Check("ts_bad", "signup_ts", "NOT ts_missing AND ts IS NULL", "cannot parse as a timestamp"),
    Check("email_blank", "email", "email = ''", "missing or blank values are not allowed"),
    Check(
        "campaign_unknown",
        "campaign_id",
        "topic_idx IS NULL",
        "campaign_id(s) {values} are not in the campaigns table",
        values="campaign_id",
    ),
)


#: each event type as one bit (its position in EVENT_TYPES): a message's types are one integer;
#: one more bit marks a message holding a row the validation refuses
_BIT = {t: 1 << i for i, t in enumerate(EVENT_TYPES)}
_BAD = 1 << len(EVENT_TYPES)


@dataclass(frozen=True)
class _Plan:
    """How the pair table is computed: the e-mail normalisation (``fast``: spaces only, see
    :meth:`~bayes.engines.sql.Dialect.space_trimmed`) and the topic partition ``part`` of
    ``parts`` (``topic_idx % parts = part``; one partition: every topic)."""

    fast: bool = True
    part: int = 0
    parts: int = 1

    def where(self, column: str) -> str:
        """The filter of this partition on ``column`` (events of unknown campaigns, a NULL
        topic, go with the first partition, where they are flagged)."""
        if self.parts == 1:
            return ""
        null = f" OR {column} IS NULL" if self.part == 0 else ""
        return f"WHERE ({column} % {self.parts} = {self.part}{null})"


def _pairs_sql(
    d: Dialect, plan: _Plan = _Plan(), *, ts_text: bool = True, signups_ts_text: bool = True
) -> str:
    """The pair table (see the module docstring, steps 3-5) **and** the validation of the
    events, in one scan of the events (of the partition's topics: ``plan``).

    Per row only what cannot be avoided: the e-mail normalised, the campaign's topic (a join
    with the small topics table), the event type's code, the UTC time (every row: the as-of
    time is the latest one, and an unparseable time is an error). Then two hash aggregations
    on narrow keys: one row per message ``(email, topic, msg_id)`` — ``msg_id`` in its own
    type, its event types as the bits of one small integer (:data:`_BIT`), so that a send, its
    open and its click are one group, not three — then one row per ``(email, topic)``.

    The checks ride along: a message holding a row the validation would refuse (missing
    ``msg_id``, unknown or blank event type or campaign, missing or unparseable time) gets the
    bit :data:`_BAD`, and ``bad`` is true for a pair holding one (or a blank e-mail); the
    caller runs the full checks only then, to name the rows. ``max_us`` (per pair, the latest
    event) gives the as-of time. With ``plan.fast`` the e-mails are trimmed of spaces only and
    ``edge_space`` flags a pair whose e-mail still needs the full trim (the caller recounts).
    The message rows are kept narrow (at 100M events there are ~70M of them, the memory that
    decides whether DuckDB spills), and so are the pair rows (counts as ``INT``: 17M pairs at
    100M events); ``plan.parts`` splits the work by topic."""
    email = d.space_trimmed("src.email") if plan.fast else d.normalized("src.email")
    bad = f"CASE WHEN et IS NULL OR ts IS NULL OR msg_id IS NULL THEN {_BAD} ELSE {d.bit('et')} END"
    edge = d.edge_space("e.email") if plan.fast else "false"
    return f"""
    WITH coded AS (
      SELECT {email} AS email, t.topic_idx,
        {d.code("src.event_type", EVENT_TYPES)} AS et, src.msg_id,
        {d.utc_micros("src.event_ts", text=ts_text)} AS ts
      FROM {_EVENTS} src LEFT JOIN {_TOPICS} t ON CAST(src.campaign_id AS STRING) = t.campaign_id
      {plan.where("t.topic_idx")}
    ),
    messages AS (
      SELECT email, topic_idx,
        bit_or({bad}) AS types,
        min(ts) FILTER (WHERE et = 1) AS open_us,
        max(ts) AS max_us
      FROM coded GROUP BY email, topic_idx, msg_id
    ),
    from_events AS (
      SELECT email, topic_idx,
        CAST(count(*) FILTER (WHERE types & {_BIT["send"]} <> 0) AS INT) AS sends,
        CAST(count(*) FILTER (WHERE types & {_BIT["click"]} <> 0) AS INT) AS clicks,
        bit_or(types) AS types,
        max(open_us) AS last_open_us,
        CAST(sum(bit_count(types)) AS INT) AS n_unique,
        max(max_us) AS max_us,
        bit_or(types) & {_BAD} <> 0 OR email IS NULL OR email = '' OR topic_idx IS NULL AS bad
      FROM messages GROUP BY email, topic_idx
    ),
    from_table AS (
      SELECT DISTINCT email, topic_idx
      FROM ({_signups_select(d, _SIGNUPS, ts_text=signups_ts_text)}) s {plan.where("s.topic_idx")}
    )
    SELECT
      coalesce(e.email, s.email) AS email,
      coalesce(e.topic_idx, s.topic_idx) AS topic_idx,
      coalesce(e.sends, 0) AS sends,
      coalesce(e.clicks, 0) AS clicks,
      coalesce(e.types & {_BIT["signup"]} <> 0, false) AS signup_event,
      s.email IS NOT NULL AS signup_table,
      coalesce(e.types & {_BIT["unsubscribe"] | _BIT["complaint"]} <> 0, false) AS opted_out,
      e.last_open_us AS last_open_us,
      coalesce(e.n_unique, 0) AS n_unique,
      e.max_us AS max_us,
      coalesce(e.bad, false) AS bad,
      coalesce({edge}, false) AS edge_space
    FROM from_events e FULL OUTER JOIN from_table s
      ON e.email = s.email AND e.topic_idx = s.topic_idx"""


# ----------------------------------------------------------------------------- inputs


@dataclass
class _Campaigns:
    frame: pd.DataFrame
    topic_of: pd.Series
    topics: pd.Index
    label: str


def _read_campaigns(db, campaigns) -> _Campaigns:
    """The campaigns table, read by the engine (every column a string), validated and mapped
    to topics in Python by :func:`bayes.signup.data.read_campaigns`."""
    from bayes.signup.data import read_campaigns

    src = source_of(campaigns, what="campaigns")
    if src.kind == "frame":
        frame = src.location if isinstance(src.location, pd.DataFrame) else src.location.to_pandas()
    else:
        db.view(_CAMPAIGNS, src)
        frame = db.arrow(f"SELECT * FROM {_CAMPAIGNS}").to_pandas()
    df, topic_of = read_campaigns(frame, source=src.label)
    topic_of.index = topic_of.index.astype(str)
    topics = pd.Index(pd.unique(topic_of.dropna().to_numpy()), dtype=object)
    return _Campaigns(df, topic_of, topics, src.label)


def _register_topics(db, camp: _Campaigns) -> None:
    table = pd.DataFrame(
        {
            "campaign_id": camp.topic_of.index.to_numpy(dtype=object),
            "topic_idx": camp.topics.get_indexer(camp.topic_of.to_numpy()).astype(np.int32),
        }
    )
    db.view(_TOPICS, Source("frame", table, "<campaign topics>"))


_NO_SIGNUPS = pd.DataFrame({c: pd.Series([], dtype=object) for c in _SIGNUP_COLUMNS})


def _register(db, events, signups) -> tuple[Table, Table]:
    """Register the events and signups as views (columns checked); their SELECTs know whether
    the time columns are strings or typed timestamps."""
    ev = source_of(events, what="events")
    require_columns(db.view(_EVENTS, ev), _EVENT_COLUMNS, ev.label)
    su = source_of(_NO_SIGNUPS if signups is None else signups, what="signups")
    require_columns(db.view(_SIGNUPS, su), _SIGNUP_COLUMNS, su.label)
    events_select = functools.partial(_events_select, ts_text=_ts_text(db, _EVENTS, "event_ts"))
    signups_select = functools.partial(_signups_select, ts_text=_ts_text(db, _SIGNUPS, "signup_ts"))
    return Table(ev, _EVENTS, events_select), Table(su, _SIGNUPS, signups_select)


def _ts_text(db, view: str, column: str) -> bool:
    return column in db.text_columns[view]


# ----------------------------------------------------------------------------- results


class _PairColumns:
    """The engine's pair table (sorted by e-mail, topic), collected batch by batch into the
    pandas reference's columns: the e-mails become sorted categories as they stream by (a new
    code wherever the e-mail changes), so the 17M e-mail strings of 100M events never sit in
    memory as one Arrow column beside their pandas copy; the codes and counts stay 32-bit
    integers until the frame (they are collected while DuckDB still holds its memory). Also
    sums ``n_unique``, takes the max of ``max_us`` and notes ``bad`` and ``edge_space``."""

    _INTS = ("topic_idx", "sends", "clicks")
    _BOOLS = ("signup_event", "signup_table", "opted_out")

    def __init__(self):
        self.parts: dict[str, list] = {c: [] for c in (*self._INTS, *self._BOOLS, "last", "code")}
        self.emails: list = []
        self.previous = None
        self.n_codes = 0
        self.n_unique = 0
        self.max_us = None
        self.bad = False
        self.edge_space = False

    def add(self, batch) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        n = batch.num_rows
        if n == 0:
            return
        if "bad" in batch.schema.names:  # (else given by :meth:`add_totals`)
            self.add_totals(
                bad=pc.any(batch.column("bad")).as_py(),
                edge_space=pc.any(batch.column("edge_space")).as_py(),
                n_unique=pc.sum(batch.column("n_unique")).as_py(),
                max_us=pc.max(batch.column("max_us")).as_py(),
            )
        email = batch.column("email")
        if pa.types.is_large_string(email.type):
            email = email.cast(pa.string())
        new = np.empty(n, bool)
        new[0] = self.previous is None or email[0].as_py() != self.previous
        if n > 1:
            change = pc.not_equal(email.slice(1), email.slice(0, n - 1))
            new[1:] = np.asarray(change.to_numpy(zero_copy_only=False), bool)
        code = np.cumsum(new, dtype=np.int32 if self.n_codes + n < 2**31 else np.int64)
        code += self.n_codes - 1
        self.parts["code"].append(code)
        self.n_codes += int(new.sum())
        self.emails.append(email.filter(pa.array(new)).cast(pa.large_string()))
        self.previous = email[n - 1].as_py()
        for c in self._INTS:  # INT (a NULL topic is a bad input, refused before the frame)
            self.parts[c].append(_copied(batch.column(c), -1))
        for c in self._BOOLS:
            self.parts[c].append(_copied(batch.column(c), False))
        last = batch.column("last_open_us")
        if last.type != pa.int64():
            last = last.cast(pa.int64())
        ns = _values(last) * 1000  # (a new array; NaT where NULL)
        if last.null_count:
            ns[~np.asarray(last.is_valid().to_numpy(zero_copy_only=False), bool)] = _NAT
        self.parts["last"].append(ns)

    def add_totals(self, *, bad, edge_space, n_unique, max_us) -> None:
        """Fold in the table-wide figures of some pairs (None: no pairs)."""
        self.bad |= bool(bad)
        self.edge_space |= bool(edge_space)
        self.n_unique += int(n_unique or 0)
        if max_us is not None:
            self.max_us = max_us if self.max_us is None else max(self.max_us, max_us)

    def frame(self, topics: pd.Index) -> pd.DataFrame:
        """The reference's frame: categorical e-mail (sorted Arrow-backed categories) and
        topic, int64 counts, UTC ``last_open_ts``. The batches' columns are joined on two
        threads, the e-mails' text beside the numbers (Arrow's and numpy's copies leave the
        GIL: 1.1 → 0.7 s at 100M events, most of it the first touch of new pages)."""
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow as pa

        def cat(name, dtype):  # (widened as they are joined: one pass, no 32-bit copy)
            parts = self.parts.pop(name)
            return np.concatenate(parts, dtype=dtype) if parts else np.zeros(0, dtype)

        def categories():  # Arrow-backed: no Python string per e-mail
            emails = self.emails
            del self.emails
            return string_index(
                pa.concat_arrays(emails) if emails else pa.array([], pa.large_string())
            )

        code = np.result_type(np.int32, *self.parts["code"])  # (int64 past 2**31 e-mails)
        dtypes = {"code": code, "topic_idx": np.int32, "sends": np.int64, "clicks": np.int64}
        dtypes.update({c: bool for c in self._BOOLS}, last=np.int64)
        with ThreadPoolExecutor(max_workers=2) as pool:
            cats = pool.submit(categories)
            col = dict(zip(dtypes, pool.map(cat, dtypes, dtypes.values()), strict=True))
            cats = cats.result()
        sig_ev, sig_tab = col["signup_event"], col["signup_table"]
        return pd.DataFrame(  # (copy=False: the columns are not stacked into 2-D blocks)
            {
                "email": sorted_categorical(col["code"], cats),
                "topic": pd.Categorical.from_codes(col["topic_idx"], categories=topics),
                "sends": col["sends"],
                "clicks": col["clicks"],
                "signed_up": (sig_ev | sig_tab).astype(np.int64),
                "signup_event": sig_ev,
                "signup_table": sig_tab,
                "opted_out": col["opted_out"],
                "last_open_ts": pd.DatetimeIndex(col["last"].view("datetime64[ns]")).tz_localize(
                    "UTC"
                ),
            },
            copy=False,
        )


#: pandas' missing time (``NaT``) as nanoseconds
_NAT = np.iinfo(np.int64).min


def _values(column) -> np.ndarray:
    """A view of a fixed-width Arrow column's values (those under a NULL are undefined)."""
    dtype = np.dtype(column.type.to_pandas_dtype())
    data = column.buffers()[1]
    if data is None:  # (a producer may leave out the values of a column of NULLs)
        return np.zeros(len(column), dtype)
    return np.frombuffer(data, dtype, len(column), column.offset * dtype.itemsize)


def _copied(column, fill) -> np.ndarray:
    """A batch's column as a numpy array of its own (a view would keep the whole batch alive),
    NULLs as ``fill``; Arrow's ``fill_null`` only where there is a NULL (it copies the column
    even when there is none: ~0.7 s of the 17.3M pairs' stream at 100M events)."""
    import pyarrow as pa

    if column.null_count:
        column = column.fill_null(fill)
    values = column.to_numpy(zero_copy_only=False)
    return values if pa.types.is_boolean(column.type) else values.copy()  # (bits: unpacked anew)


#: the DuckDB memory the message table takes per event (~0.69 messages of ~90 bytes each in
#: the generated logs): beyond 3/4 of the memory limit the events are counted topic by topic
_MESSAGE_BYTES_PER_EVENT = 62
_MESSAGE_SHARE = 0.75
_PAIRS = "bayes_pairs"


def _partitions(db, n_rows: int, n_topics: int) -> int:
    """How many topic partitions DuckDB counts the events in (Spark: one, it shuffles).

    The message table (~0.7 rows per event) is the memory that decides whether DuckDB spills.
    Each partition reads every row group again (~8 s of CPU per 100M events), so there are
    as few as keep a partition's messages within 3/4 of the memory limit, at most one per
    topic. Measured at 100M events and a 3 GB limit, query wall time by partitions: one
    (spilling) 73 s, two 64 s, **three 58 s** (this rule's choice), four 60 s, five 65 s."""
    if db.name != "duckdb":
        return 1
    need = n_rows * _MESSAGE_BYTES_PER_EVENT / (_MESSAGE_SHARE * db.memory_limit_bytes())
    return int(max(1, min(n_topics, np.ceil(need))))


def _by_email_topic(n_columns: int) -> str:
    """The pair table's order, e-mail then topic (its first two columns), spelled with every
    column by position: a pair ``(email, topic)`` is one row, so the columns after the first
    two never decide, but DuckDB sorts key columns faster than it carries other columns along
    (17.3M pairs at 100M events: 4.6 → 3.8 s sorted and streamed)."""
    return "\n    ORDER BY " + ", ".join(str(i) for i in range(1, n_columns + 1))


#: the counting query's columns (:func:`_pairs_sql`), in its order
_PAIR_COLUMNS = (
    *("email", "topic_idx", "sends", "clicks", "signup_event", "signup_table", "opted_out"),
    *("last_open_us", "n_unique", "max_us", "bad", "edge_space"),
)
#: the pair columns the frame is made of; the rest of a pair row is only summed up
_FRAME_COLUMNS = ("email", *_PairColumns._INTS, *_PairColumns._BOOLS, "last_open_us")


def _collect(db, d: Dialect, plan: _Plan, **flags) -> _PairColumns:
    """Run the counting query (partition by partition into a temporary table when
    ``plan.parts > 1``, then sorted once) and collect the pair table. From the temporary
    table only the frame's columns are sorted and streamed; the table-wide figures (unique
    events, latest time, the flags) come from one small query over it (17.3M pairs at 100M
    events: ~0.5 s less to sort and convert)."""
    collected = _PairColumns()
    batches = iter(())
    try:
        if plan.parts == 1:
            sql = _pairs_sql(d, plan, **flags) + _by_email_topic(len(_PAIR_COLUMNS))
        else:
            for k in range(plan.parts):
                body = _pairs_sql(d, _Plan(plan.fast, k, plan.parts), **flags)
                db.execute(
                    f"CREATE TEMP TABLE {_PAIRS} AS {body}"
                    if k == 0
                    else f"INSERT INTO {_PAIRS} {body}"
                )
            totals = db.arrow(
                "SELECT bool_or(bad) AS bad, bool_or(edge_space) AS edge_space, "
                f"sum(n_unique) AS n_unique, max(max_us) AS max_us FROM {_PAIRS}"
            ).to_pylist()[0]
            collected.add_totals(**totals)
            sql = f"SELECT {', '.join(_FRAME_COLUMNS)} FROM {_PAIRS}"
            sql += _by_email_topic(len(_FRAME_COLUMNS))
        batches = db.batches(sql)
        for batch in batches:
            collected.add(batch)
    finally:
        getattr(batches, "close", lambda: None)()  # (DuckDB's fetching thread stopped first)
        if plan.parts > 1:
            db.execute(f"DROP TABLE IF EXISTS {_PAIRS}")
    return collected


def count_signups(
    events,
    campaigns,
    signups=None,
    *,
    engine: str | EngineSpec | None = None,
    clamp: tuple[float, float] = PRIOR_CLAMP,
) -> SignupCounts:
    """Seed 003 §9 steps 1-3 on an engine: validate, count per ``(email, topic)``, topic priors.

    ``events``, ``campaigns``, ``signups`` are paths (CSV/Parquet files, globs, folders, remote
    URIs) or DataFrames; ``signups`` may be None or empty (no signups yet). The engine is
    ``engine`` or the active one (:func:`bayes.engines.use_engine`), else DuckDB (pandas when
    every input is a DataFrame). Returns the same :class:`~bayes.signup.counting.SignupCounts`
    as :func:`~bayes.signup.counting.count_pairs` on every engine, with ``sources``, ``timings``
    (``load``: the campaigns read and the inputs registered; ``count``: the rest), ``engine``
    and ``stages`` (:class:`~bayes.progress.Stages`: wall, CPU and span of ``load``;
    ``query``, the scan that validates and counts, the pair table streamed out;
    ``query_full_trim`` when it runs, see below; ``checks``; and ``frame``, the pandas frame
    and the priors).

    The events are read once: the counting query flags any row the checks would refuse, and
    only then are the checks run (:data:`_EVENT_CHECKS`, the pandas loader's messages naming
    the file, column and rows). E-mails are first trimmed of spaces only; when one still
    starts or ends with another character ``str.strip()`` removes (a tab, a no-break space),
    the query runs again with the full trim (``query_full_trim``). On DuckDB, events whose messages
    would not fit 3/4 of the memory limit are counted topic by topic (:func:`_partitions`),
    the partitions' queries reusing one set of memory blocks (:meth:`DuckDB.reuse_blocks`),
    then sorted once.
    """
    in_memory = all(x is None or isinstance(x, pd.DataFrame) for x in (events, campaigns, signups))
    spec = resolve_engine(engine, in_memory=in_memory)
    if spec.name == "pandas":
        return _count_pandas(events, campaigns, signups, clamp)
    with arrow_pages_kept():  # (Arrow's freed pages reused by its next buffers)
        return _count_sql(spec, events, campaigns, signups, clamp)


def _count_sql(spec: EngineSpec, events, campaigns, signups, clamp) -> SignupCounts:
    """:func:`count_signups` on DuckDB or Spark."""
    d = DIALECTS[spec.name]
    stages = Stages()
    with connect(spec) as db:
        with stages("load"):
            ev, su = _register(db, events, signups)  # (columns checked in the pandas
            camp = _read_campaigns(db, campaigns)  # loader's order: events first)
            _register_topics(db, camp)
            n_rows = db.arrow(f"SELECT count(*) AS n FROM {_EVENTS}").column("n")[0].as_py()
            if n_rows == 0:
                raise InputError("the table is empty (no data rows)", source=ev.source.label)
        flags = {
            "ts_text": _ts_text(db, _EVENTS, "event_ts"),
            "signups_ts_text": _ts_text(db, _SIGNUPS, "signup_ts"),
        }
        parts = _partitions(db, n_rows, len(camp.topics))
        if parts > 1:  # one query per partition: the same blocks, reused rather than re-faulted
            db.reuse_blocks()
        with stages("query"):
            collected = _collect(db, d, _Plan(True, 0, parts), **flags)
        full_trim = collected.edge_space and not collected.bad
        if full_trim:  # an e-mail needs the full trim
            with stages("query_full_trim"):
                collected = _collect(db, d, _Plan(False, 0, parts), **flags)
        with stages("checks"):
            if collected.bad:  # name the file, column and rows, as the pandas loader does
                validate(db, d, ev, _EVENT_CHECKS)
                raise AssertionError("the counting query flagged rows that no check names")
            validate(db, d, su, _SIGNUP_CHECKS)
    with stages("frame"), no_huge_page_stalls():
        pairs = collected.frame(camp.topics)
        as_of_us, n_unique = collected.max_us, collected.n_unique
        del collected
        topics = topic_priors(pairs, clamp=clamp)
    sources = {"events": ev.source.label, "campaigns": camp.label}
    if signups is not None:
        sources["signups"] = su.source.label
    wall = stages.wall
    return SignupCounts(
        pairs=pairs,
        topics=topics,
        as_of=pd.Timestamp(int(as_of_us) * 1000, tz="UTC"),
        n_events=int(n_rows),
        n_unique_events=n_unique,
        sources=sources,
        timings={"load": wall["load"], "count": sum(t for k, t in wall.items() if k != "load")},
        engine=spec.label,
        stages=stages,
        plan={"topic_partitions": parts, "email_trim": "full" if full_trim else "spaces"},
    )


def _count_pandas(events, campaigns, signups, clamp) -> SignupCounts:
    from bayes.signup.counting import count_pairs
    from bayes.signup.data import load_inputs

    stages = Stages()
    with stages("load"):
        inp = load_inputs(events, campaigns, signups, engine="pandas")
    with stages("count"):
        counts = count_pairs(inp.events, inp.topic_of_campaign, inp.signups, clamp=clamp)
    counts.sources = inp.sources
    counts.timings = dict(stages.wall)
    counts.engine = "pandas"
    counts.stages = stages
    return counts


def read_event_columns(events, spec: EngineSpec):
    """The raw event columns of ``events`` read by a SQL engine, as ``(arrow table, columns,
    label)`` for :func:`bayes.signup.data.validate_events` (the pandas loader then checks and
    encodes them). Used by ``load_inputs(..., engine=...)``: the engine reads what it can reach
    (globs, folders, data-lake paths); the rows come back to this process."""
    src = source_of(events, what="events")
    with connect(spec) as db:
        columns = db.view(_EVENTS, src)
        if not columns or src.kind == "frame":
            return None, columns, src.label
        wanted = ", ".join(c for c in _EVENT_COLUMNS if c in columns)
        table = db.arrow(f"SELECT {wanted} FROM {_EVENTS}")
    return table, columns, src.label
