"""Load and validate the three Customer 360 inputs (events, campaigns, signups).

The events stream can hold tens of millions of rows, so it is read with PyArrow and turned
into integer-coded categoricals without creating a Python string per row; timestamps are parsed
by a cascade of fixed ISO formats in Arrow (naive values are UTC, zoned ones are converted),
with pandas' general parser only for the rows no fixed format matches. Every problem raises
:class:`bayes.io.InputError` naming the file, the column and the rows (CSV line numbers).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.io import Column, InputError, read_table, row_numbers, validate_frame
from bayes.signup.counting import EVENT_TYPES, WHITESPACE, campaign_topics, parse_utc_ns

__all__ = [
    "CAMPAIGN_COLUMNS",
    "EVENT_COLUMNS",
    "SIGNUP_COLUMNS",
    "SignupInputs",
    "load_inputs",
    "parse_timestamps",
    "read_campaigns",
    "read_events",
    "read_signups",
    "validate_events",
]

EVENT_COLUMNS: tuple[str, ...] = ("msg_id", "email", "event_type", "event_ts", "campaign_id")
CAMPAIGN_COLUMNS = (
    Column("campaign_id", "str"),
    Column("name", "str", nullable=True),
    Column("subject", "str", nullable=True),
    Column("topic", "str", required=False, nullable=True),
)
SIGNUP_COLUMNS = (
    Column("email", "str"),
    Column("campaign_id", "str"),
    Column("signup_ts", "datetime"),
)


def parse_timestamps(values, *, source: str = "<table>", column: str = "event_ts") -> pd.Series:
    """Timestamps to UTC (seed §7): naive values are UTC, zoned values are converted
    (:func:`bayes.signup.counting.parse_utc_ns`); missing or unparseable rows raise :class:`InputError`."""
    ns, missing, bad = parse_utc_ns(values)
    if bad.any():
        raise InputError(
            "cannot parse as a timestamp",
            source=source,
            column=column,
            rows=row_numbers(bad, limit=20),
        )
    if missing.any():
        raise InputError(
            "missing values (NaN/empty) are not allowed",
            source=source,
            column=column,
            rows=row_numbers(missing, limit=20),
        )
    # int64 -> datetime64[ns] view -> UTC: no per-element conversion
    return pd.Series(pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"), name=column)


def _flat_string(arr):
    """One contiguous Arrow array of ``string`` (32-bit offsets) when it fits — Arrow's hash
    kernels run about twice as fast on ``string`` as on ``large_string`` (which Parquet files
    written from pandas' Arrow strings hold); ``large_string`` is kept beyond 2 GB of text."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        if pa.types.is_large_string(arr.type) and arr.nbytes < 2**31 - 2**20:
            arr = arr.cast(pa.string())
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    elif pa.types.is_large_string(arr.type) and arr.nbytes < 2**31 - 2**20:
        arr = arr.cast(pa.string())
    return arr


def _categorical(arr, *, source: str, column: str, strip_blank: bool = True) -> pd.Categorical:
    """An Arrow column as a pandas Categorical (dictionary-encoded, no per-row Python objects);
    nulls and blank strings raise :class:`InputError`. A dictionary column (Parquet written
    from a categorical) keeps its dictionary: only the unique values are checked."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        if pa.types.is_dictionary(arr.type) and arr.num_chunks > 1:
            first = arr.chunk(0).dictionary
            if all(ch.dictionary.equals(first) for ch in arr.chunks[1:]):
                # one shared dictionary (Parquet written from a categorical): concatenate codes
                indices = pa.concat_arrays([ch.indices for ch in arr.chunks])
                arr = pa.DictionaryArray.from_arrays(indices, first)
            else:
                table = pa.Table.from_arrays([arr], names=["c"]).unify_dictionaries()
                arr = table.column(0).combine_chunks()
        else:
            arr = _flat_string(arr)
    if not pa.types.is_dictionary(arr.type):
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
        arr = pc.dictionary_encode(arr)
    values = arr.dictionary
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    codes = arr.indices.to_numpy(zero_copy_only=False)
    bad_value = np.zeros(len(values), bool)
    if strip_blank and len(values):
        blank = pc.equal(pc.utf8_length(pc.utf8_trim(values, characters=WHITESPACE)), 0)
        bad_value = np.asarray(blank.fill_null(True).to_numpy(zero_copy_only=False))
    null = np.asarray(arr.indices.is_null().to_numpy(zero_copy_only=False))
    bad = null.copy()
    if bad_value.any():
        bad |= bad_value[np.where(null, 0, codes).astype(np.int64)] & ~null
    if bad.any():
        raise InputError(
            "missing or blank values are not allowed",
            source=source,
            column=column,
            rows=row_numbers(bad, limit=20),
        )
    cats = pd.Index(values.to_pandas(types_mapper=None).to_numpy(dtype=object), dtype=object)
    if cats.has_duplicates:  # a unified dictionary can repeat values; merge them
        merged, uniq = pd.factorize(cats)
        return pd.Categorical.from_codes(merged[codes.astype(np.int64)], categories=uniq)
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=cats)


def _codes(arr, *, source: str, column: str) -> np.ndarray:
    """Integer identity codes of a column (for ``msg_id``: only equality matters, so no Python
    string is made per value); nulls raise :class:`InputError`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray) and pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    arr = _flat_string(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    null = np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
    if null.any():
        raise InputError(
            "missing values are not allowed",
            source=source,
            column=column,
            rows=row_numbers(null, limit=20),
        )
    return pc.dictionary_encode(arr).indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _emails(arr, *, source: str, column: str = "email") -> pd.Categorical:
    """E-mails as a Categorical of **normalised** addresses (seed §2: ``lower().strip()``).

    Arrow's C++ ``dictionary_encode`` factorises the rows; only the dictionary's unique values
    are normalised (``utf8_lower``, ``utf8_trim`` of :data:`~bayes.signup.counting.WHITESPACE`)
    and re-factorised, which merges spellings of one address; the row codes are mapped through
    that small table (no Python string per row). Categories are in order of first appearance
    (counting sorts them). Missing or blank values raise :class:`InputError` naming the rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray) and pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    arr = _flat_string(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    raw = pc.dictionary_encode(arr)
    norm = pc.dictionary_encode(pc.utf8_trim(pc.utf8_lower(raw.dictionary), characters=WHITESPACE))
    merged = norm.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    blank = np.asarray(pc.equal(pc.utf8_length(norm.dictionary), 0).to_numpy(zero_copy_only=False))
    null = raw.indices.null_count > 0
    codes = raw.indices.fill_null(0).to_numpy(zero_copy_only=False)
    codes = merged[codes] if len(merged) else codes.astype(np.int32)
    if null or blank.any():
        bad = blank[codes] if blank.any() else np.zeros(len(codes), bool)
        if null:
            bad |= np.asarray(raw.indices.is_null().to_numpy(zero_copy_only=False))
        raise InputError(
            "missing or blank values are not allowed",
            source=source,
            column=column,
            rows=row_numbers(bad, limit=20),
        )
    cats = pd.Index(norm.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Categorical.from_codes(codes, categories=cats, validate=False)


def _read_arrow(path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            names = pq.read_schema(path).names
            cols = [c for c in EVENT_COLUMNS if c in names]
            return pq.read_table(path, columns=cols), names
        if suffix in (".csv", ".txt", ".gz"):
            header = pd.read_csv(path, nrows=0).columns.tolist()
            cols = [c for c in EVENT_COLUMNS if c in header]
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    include_columns=cols,
                    column_types={c: pa.string() for c in cols},
                    strings_can_be_null=True,
                ),
            )
            return table, header
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", source=path) from exc
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise InputError(f"cannot read the file ({exc})", source=path) from exc
    raise InputError(f"unsupported file type {suffix!r}; use .csv or .parquet", source=path)


def validate_events(table, *, source: str = "<events>", columns=None) -> pd.DataFrame:
    """Validate an events table (Arrow table or pandas frame) and return a pandas frame of
    categoricals (``email, event_type, campaign_id``), integer ``msg_id`` codes (only the
    identity of a message matters) and UTC ``event_ts``.

    ``event_type`` values are lower-cased and trimmed before the check against
    :data:`bayes.signup.counting.EVENT_TYPES`.
    """
    import pyarrow as pa

    if isinstance(table, pd.DataFrame):
        columns = list(table.columns)
        table = pa.Table.from_pandas(table, preserve_index=False)
    columns = list(table.column_names) if columns is None else list(columns)
    if table.num_rows == 0:
        raise InputError("the table is empty (no data rows)", source=source)
    missing = [c for c in EVENT_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"missing required column(s) {missing}; found {columns}", source=source)
    out = {}
    # the three heavy columns go through Arrow C++ kernels that release the GIL: run them on
    # threads (results are taken in column order, so the first failing column is reported)
    with ThreadPoolExecutor(max_workers=max(1, min(3, os.cpu_count() or 1))) as pool:
        jobs = {
            "msg_id": pool.submit(_codes, table.column("msg_id"), source=source, column="msg_id"),
            "email": pool.submit(_emails, table.column("email"), source=source),
            "event_ts": pool.submit(parse_timestamps, table.column("event_ts"), source=source),
        }
        out["msg_id"] = jobs["msg_id"].result()
        out["email"] = jobs["email"].result()
        ts = jobs["event_ts"].result()
    out["campaign_id"] = _categorical(
        table.column("campaign_id"), source=source, column="campaign_id"
    )
    et = _categorical(table.column("event_type"), source=source, column="event_type")
    norm = pd.Index(et.categories.str.strip().str.lower())
    bad_cat = ~norm.isin(EVENT_TYPES)
    if bad_cat.any():
        raise InputError(
            f"unknown value(s) {sorted(set(et.categories[bad_cat]))[:5]}; "
            f"expected one of {list(EVENT_TYPES)}",
            source=source,
            column="event_type",
            rows=row_numbers(bad_cat[et.codes], limit=20),
        )
    type_codes = pd.Index(EVENT_TYPES).get_indexer(norm)[et.codes]
    out["event_type"] = pd.Categorical.from_codes(type_codes.astype(np.int8), list(EVENT_TYPES))
    out["event_ts"] = ts.array
    return pd.DataFrame({c: out[c] for c in EVENT_COLUMNS})


def read_events(path: str | Path, *, engine=None) -> pd.DataFrame:
    """Read and validate the events file (CSV or Parquet); see :func:`validate_events`.

    With a SQL ``engine`` (``"duckdb"``, ``"spark"`` or a :class:`bayes.engines.EngineSpec`)
    the engine reads the rows — from anything it reaches: globs, folders of Parquet files,
    data-lake URIs — and they are validated here as from a file.
    """
    if engine is not None and getattr(engine, "name", engine) != "pandas":
        from bayes.engines import resolve_engine
        from bayes.engines.signup import read_event_columns

        table, header, label = read_event_columns(path, resolve_engine(engine))
        return validate_events(table, source=label, columns=header)
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=path)
    if path.stat().st_size == 0:
        raise InputError("the file is empty", source=path)
    table, header = _read_arrow(path)
    return validate_events(table, source=str(path), columns=header)


def read_campaigns(path_or_frame, *, source: str | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Read/validate the campaigns table; return it and the ``campaign_id -> topic`` map
    (seed §2: the ``topic`` column, else parsed from ``subject``/``name``)."""
    if isinstance(path_or_frame, pd.DataFrame):
        source = source or "<campaigns>"
        df = validate_frame(path_or_frame, CAMPAIGN_COLUMNS, source=source)
    else:
        source = str(path_or_frame)
        df = read_table(path_or_frame, CAMPAIGN_COLUMNS)
    dup = df["campaign_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            "campaign_id values must be unique",
            source=source,
            column="campaign_id",
            rows=row_numbers(dup, limit=20),
        )
    topics = campaign_topics(df)
    none = topics.isna().to_numpy()
    if none.any():
        raise InputError(
            "no topic: the 'topic' column is empty and neither subject nor name has a "
            "'[Topic] …' prefix or a 'Topic — …', 'Topic - …', 'Topic: …' form "
            f"(campaigns {list(df['campaign_id'][none][:5])})",
            source=source,
            column="subject",
            rows=row_numbers(none, limit=20),
        )
    return df, topics


def read_signups(path_or_frame, *, source: str | None = None) -> pd.DataFrame:
    """Read/validate the signups table (``email, campaign_id, signup_ts``). An empty table is
    a normal state (no signups yet) and is accepted; e-mails blank after normalisation are
    refused like in the events."""
    if isinstance(path_or_frame, pd.DataFrame):
        source = source or "<signups>"
        df = validate_frame(path_or_frame, SIGNUP_COLUMNS, source=source, allow_empty=True)
    else:
        source = str(path_or_frame)
        df = read_table(path_or_frame, SIGNUP_COLUMNS, allow_empty=True)
    if len(df):
        norm = df["email"].astype(str).str.lower().str.strip(WHITESPACE)
        blank = (norm == "").to_numpy()
        if blank.any():
            raise InputError(
                "missing or blank values are not allowed",
                source=source,
                column="email",
                rows=row_numbers(blank, df.index, limit=20),
            )
    return df


@dataclass
class SignupInputs:
    """Validated inputs: events (categoricals + UTC ``event_ts``), campaigns, the
    ``campaign_id -> topic`` map and the signups table (or None)."""

    events: pd.DataFrame
    campaigns: pd.DataFrame
    topic_of_campaign: pd.Series
    signups: pd.DataFrame | None
    sources: dict


def _check_campaign_refs(ids: pd.Series, known: pd.Index, *, source: str) -> None:
    codes, uniq = pd.factorize(ids)
    unknown = ~pd.Index(np.asarray(uniq, dtype=object)).isin(known)
    if unknown.any():
        raise InputError(
            f"campaign_id(s) {list(np.asarray(uniq, dtype=object)[unknown][:5])} "
            "are not in the campaigns table",
            source=source,
            column="campaign_id",
            rows=row_numbers(unknown[codes], limit=20),
        )


def load_inputs(events, campaigns, signups=None, *, engine=None) -> SignupInputs:
    """Load and cross-validate events, campaigns and (optionally) signups into memory.

    Each argument is a path (CSV/Parquet) or a pandas DataFrame. Campaign ids referenced by
    the events or the signups must exist in the campaigns table. The events file is read by
    ``engine`` when given, else by the active engine of :func:`bayes.engines.use_engine` (so
    ``--engine`` reaches it), else by PyArrow (see :func:`read_events`); to count without
    loading the events into memory use :func:`bayes.engines.count_signups`.
    """
    from bayes.engines import active_engine

    engine = engine if engine is not None else active_engine()
    src = {}
    if isinstance(events, pd.DataFrame):
        src["events"] = "<events>"
        ev = validate_events(events, source="<events>")
    else:
        src["events"] = str(events)
        ev = read_events(events, engine=engine)
    src["campaigns"] = "<campaigns>" if isinstance(campaigns, pd.DataFrame) else str(campaigns)
    camp, topic_of = read_campaigns(campaigns)
    known = pd.Index(camp["campaign_id"].astype(str))
    ev["campaign_id"] = ev["campaign_id"].cat.rename_categories(
        ev["campaign_id"].cat.categories.astype(str)
    )
    _check_campaign_refs(ev["campaign_id"], known, source=src["events"])
    su = None
    if signups is not None:
        src["signups"] = "<signups>" if isinstance(signups, pd.DataFrame) else str(signups)
        su = read_signups(signups)
        _check_campaign_refs(su["campaign_id"].astype(str), known, source=src["signups"])
        su = su.assign(campaign_id=su["campaign_id"].astype(str))
    topic_of.index = topic_of.index.astype(str)
    return SignupInputs(ev, camp, topic_of, su, src)
