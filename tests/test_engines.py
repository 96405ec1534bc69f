"""Aggregation engines: DuckDB against the pandas reference (Spark: tests/test_engines_spark.py).

Parity is exact: the same pair table (values, categories, row order), the same topic priors,
as-of time and event counts, the same audience, the same validation message (file, column,
rows) — on generated data with its dirt plus hand-made rows for every counting rule. The rules
themselves are pinned by hand-computed expectations, not by one engine against another.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bayes.engines import (
    EngineSpec,
    add_engine_flags,
    count_signups,
    resolve_engine,
    retention_matrix,
    rfm_summary,
    use_engine,
)
from bayes.io import InputError
from bayes.signup.counting import WHITESPACE
from bayes.signup.generate import generate_signup_data, write_signup_data, write_signup_files

# --------------------------------------------------------------------------- shared inputs


def dirty_rows() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Hand-made rows exercising every counting rule (used with the generated data)."""
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["H1", "H2", "H3"],
            "name": ["h1", "Gadgets: autumn", "h3"],
            "subject": ["[Mortgage] hello", "Don't miss", "Credit Card — Cashback"],
            "topic": [None, None, "  "],
        }
    )
    ws = WHITESPACE
    ev = [
        # every str.strip() character around one address, mixed case and a Latin-1 capital
        ("h1", ws + "ZOË@Example.org" + ws, "send", "2025-02-01 10:00:00", "H1"),
        ("h1", "zoë@example.org", " SEND ", "2025-02-01T11:00:00+01:00", "H1"),  # same event
        ("h2", "zoë@example.org", "open", "2025-02-02T10:00:00.5Z", "H1"),
        ("h2", "ZOË@example.org", "open", "2025-02-01T23:00:00-05:00", "H1"),  # 04:00 UTC
        ("h2", "zoë@example.org", "open", "2025-02-02 09:59:00", "H1"),
        ("h2", "zoë@example.org", "Click", "2025-02-02 10:01", "H1"),
        # one msg_id logged for two addresses: each pair counts it once
        ("h3", "amy@x.io", "send", "2025-02-03", "H2"),
        ("h3", "bob@x.io", "send", "2025-02-03 00:00:01", "H2"),
        ("h3", "amy@x.io", "unsubscribe", "2025-02-04T08:00:00+05:30", "H2"),
        ("h4", "bob@x.io", "complaint", "2025-02-05 08:00:00", "H3"),
        ("h5", "amy@x.io", "signup", "2025-02-06 08:00:00", "H3"),
    ]
    events = pd.DataFrame(ev, columns=["msg_id", "email", "event_type", "event_ts", "campaign_id"])
    signups = pd.DataFrame(
        {
            "email": ["  AMY@x.io", "nobody@sends.to", "nobody@sends.to ", "zoë@example.org"],
            "campaign_id": ["H3", "H1", "H1", "H2"],
            "signup_ts": ["2025-02-06T09:00:00+09:00", "2024-01-01", "2024-01-02", "2025-03-01"],
        }
    )
    return events, campaigns, signups


def write_inputs(folder: Path, fmt: str, *, recipients: int = 900, block: int = 500) -> dict:
    """Generated data (two blocks) with the hand-made rows appended, as files."""
    files = write_signup_files(
        folder / "gen", recipients, 4, seed=3, fmt="parquet", block_recipients=block
    )
    ev, camp, su = dirty_rows()
    tables = {
        "events": pd.concat([pd.read_parquet(files.paths["events"]).astype(str), ev]),
        "campaigns": pd.concat([pd.read_parquet(files.paths["campaigns"]), camp]),
        "signups": pd.concat([pd.read_parquet(files.paths["signups"]), su]),
    }
    out = {}
    for name, df in tables.items():
        path = folder / f"{name}.{fmt}"
        df = df.reset_index(drop=True)
        df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path, index=False)
        out[name] = path
    return out


def assert_same_counts(a, b) -> None:
    pd.testing.assert_frame_equal(a.pairs, b.pairs)
    pd.testing.assert_frame_equal(a.topics, b.topics)
    assert (a.as_of, a.n_events, a.n_unique_events) == (b.as_of, b.n_events, b.n_unique_events)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    return {fmt: write_inputs(root / fmt, fmt) for fmt in ("csv", "parquet")}


# --------------------------------------------------------------------------- the rules


def test_counting_rules_by_hand():
    """Independent truth: the hand-made rows counted by hand, on both engines."""
    events, campaigns, signups = dirty_rows()
    for engine in ("pandas", "duckdb"):
        res = count_signups(events, campaigns, signups, engine=engine)
        p = res.pairs.assign(email=res.pairs.email.astype(str), topic=res.pairs.topic.astype(str))
        p = p.set_index(["email", "topic"])
        assert list(p.index) == [  # sorted by e-mail, then topic in campaigns order
            ("amy@x.io", "Gadgets"),
            ("amy@x.io", "Credit Card"),
            ("bob@x.io", "Gadgets"),
            ("bob@x.io", "Credit Card"),
            ("nobody@sends.to", "Mortgage"),
            ("zoë@example.org", "Mortgage"),
            ("zoë@example.org", "Gadgets"),
        ]
        zoe = p.loc[("zoë@example.org", "Mortgage")]
        assert (zoe.sends, zoe.clicks, zoe.signed_up) == (1, 1, 0)  # h1 once, whatever spelling
        # h2 open: three copies; the event's time is its earliest copy, 2025-02-02 04:00 UTC
        assert zoe.last_open_ts == pd.Timestamp("2025-02-02 04:00:00", tz="UTC")
        assert p.loc[("zoë@example.org", "Gadgets")].signup_table  # owner without sends
        amy, bob = p.loc[("amy@x.io", "Gadgets")], p.loc[("bob@x.io", "Gadgets")]
        assert (amy.sends, bob.sends) == (1, 1) and amy.opted_out and not bob.opted_out
        cc = p.loc[("amy@x.io", "Credit Card")]
        assert cc.signup_event and cc.signup_table and cc.signed_up == 1 and cc.sends == 0
        assert p.loc[("bob@x.io", "Credit Card")].opted_out
        nobody = p.loc[("nobody@sends.to", "Mortgage")]
        assert nobody.signup_table and not nobody.signup_event and nobody.sends == 0
        assert res.n_events == 11 and res.n_unique_events == 8
        assert res.as_of == pd.Timestamp("2025-02-06 08:00:00", tz="UTC")
        assert list(res.topics["topic"]) == ["Mortgage", "Gadgets", "Credit Card"]


def test_whitespace_is_what_str_strip_removes():
    import sys as _sys

    expected = "".join(c for c in map(chr, range(_sys.maxunicode + 1)) if c.isspace())
    assert WHITESPACE == expected


STRINGS = [
    "",
    " ",
    WHITESPACE,
    "send",
    " SEND ",
    "Send\t",
    "\u3000open",
    "click\u00a0",
    "signup\x1c",
    "unknown",
    "ZOË@Example.org",
    "a b",
    "x" + WHITESPACE + "y",
    "\u2028Amy@X.io\u2029",
    "  Amy@X.io  ",
    " \tAmy@X.io",
    "Amy@X.io\u00a0 ",
    "Amy@X.io ",
    None,
]


def assert_string_rules(db, d) -> None:
    """The dialect's per-row expressions (fast paths included) equal Python's rules."""
    from bayes.engines.backends import Source
    from bayes.signup.counting import EVENT_TYPES

    frame = pd.DataFrame({"i": range(len(STRINGS)), "s": pd.Series(STRINGS, dtype=object)})
    db.view("t_strings", Source("frame", frame, "<strings>"))
    got = db.arrow(
        f"SELECT i, {d.normalized('s')} AS norm, {d.blank('s')} AS blank, "
        f"{d.code('s', EVENT_TYPES)} AS code, {d.space_trimmed('s')} AS fast, "
        f"coalesce({d.edge_space(d.space_trimmed('s'))}, false) AS edge FROM t_strings ORDER BY i"
    ).to_pydict()
    norm = [None if s is None else s.strip().lower() for s in STRINGS]
    assert got["norm"] == norm
    # the fast normalisation (spaces, and whatever else the engine's trim() takes): exact
    # wherever it does not flag an edge, and it flags every address it left untrimmed
    assert got["edge"] == [f is not None and f != n for f, n in zip(got["fast"], norm, strict=True)]
    assert got["fast"][STRINGS.index("  Amy@X.io  ")] == "amy@x.io"
    assert got["edge"][STRINGS.index(" \tAmy@X.io")]
    assert got["blank"] == [s is None or s == "" for s in norm]
    codes = {t: i for i, t in enumerate(EVENT_TYPES)}
    assert got["code"] == [codes.get(s) for s in norm]


TIMES = [
    "2025-01-02 07:09:09",
    "2025-01-02T07:09:09",
    "2025-01-02 07:09:09Z",
    "2025-01-02T07:09:09+05:30",
    "2025-01-02 07:09:09-0800",
    "2025-01-02 07:09:9Z",  # the fixed layout's length, with a zone
    "2025-1-2 7:09:09+05",  # 19 characters, with an offset
    "2025-01-02 07:09",
    "2025-01-02",
    "2025-01-02 07:09:09.25",
    "2025-01-02 24:00:00",
    "2025-13-02 07:09:09",
    "yesterday",
    None,
]


def test_timestamp_fast_path_equals_the_zoned_cast():
    """DuckDB parses ``YYYY-MM-DD HH:MM:SS`` strings without ICU: the same instant (or the same
    NULL) as the zoned cast, for every layout around it."""
    from bayes.engines.backends import DuckDB, Source
    from bayes.engines.sql import DIALECTS

    d = DIALECTS["duckdb"]
    frame = pd.DataFrame({"i": range(len(TIMES)), "s": pd.Series(TIMES, dtype=object)})
    with DuckDB() as db:
        db.view("t_times", Source("frame", frame, "<times>"))
        got = db.arrow(
            f"SELECT {d.utc_micros('s')} AS fast, {d.utc_micros('s', text=False)} AS zoned "
            "FROM t_times ORDER BY i"
        ).to_pydict()
    assert got["fast"] == got["zoned"]
    assert got["fast"][0] == got["fast"][1] == 1735801749 * 10**6  # naive = UTC
    assert got["fast"][3] == (1735801749 - 19800) * 10**6  # +05:30 converted


def test_string_rules_on_duckdb():
    from bayes.engines.backends import DuckDB
    from bayes.engines.sql import DIALECTS

    with DuckDB() as db:
        assert_string_rules(db, DIALECTS["duckdb"])


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_counts_equal_pandas(inputs, fmt):
    p = inputs[fmt]
    ref = count_signups(p["events"], p["campaigns"], p["signups"], engine="pandas")
    got = count_signups(p["events"], p["campaigns"], p["signups"], engine="duckdb")
    assert_same_counts(ref, got)
    assert got.engine == "duckdb" and set(got.timings) == {"load", "count"}
    assert got.sources["events"] == str(p["events"])
    # without the signups table (None) and with an empty one
    empty = Path(tempfile.mkdtemp()) / f"signups.{fmt}"
    frame = pd.DataFrame({"email": [], "campaign_id": [], "signup_ts": []}, dtype=object)
    frame.to_csv(empty, index=False) if fmt == "csv" else frame.to_parquet(empty, index=False)
    for signups in (None, empty):
        a = count_signups(p["events"], p["campaigns"], signups, engine="pandas")
        b = count_signups(p["events"], p["campaigns"], signups, engine="duckdb")
        assert_same_counts(a, b)
        assert not b.pairs["signup_table"].any()


def test_identical_audiences(inputs):
    from bayes.signup.audience import AudienceRules, score

    p = inputs["csv"]
    rules = AudienceRules(goal="new", top_n=25, recency_days=40)
    out = {}
    for engine in ("pandas", "duckdb"):
        with use_engine(engine):
            out[engine] = score(p["events"], p["campaigns"], p["signups"], rules=rules)
    pd.testing.assert_frame_equal(out["pandas"].audience, out["duckdb"].audience)
    pd.testing.assert_frame_equal(out["pandas"].funnel, out["duckdb"].funnel)
    assert out["duckdb"].info["engine"] == "duckdb"
    # ties at the top-N cut exist and are broken alphabetically on both
    aud = out["duckdb"].audience
    assert aud.duplicated(["topic", "p_signup"]).any()


def test_sources_globs_folders_and_frames(inputs, tmp_path):
    p = inputs["parquet"]
    ref = count_signups(p["events"], p["campaigns"], p["signups"], engine="duckdb")
    events = pd.read_parquet(p["events"])
    lake = tmp_path / "lake" / "events"
    for i, part in enumerate(np.array_split(np.arange(len(events)), 3)):
        (lake / f"day={i}").mkdir(parents=True)
        events.iloc[part].to_parquet(lake / f"day={i}" / "part-0.parquet", index=False)
    for source in (lake, str(lake / "*" / "*.parquet"), events):
        got = count_signups(source, p["campaigns"], p["signups"], engine="duckdb")
        assert_same_counts(ref, got)
    with pytest.raises(InputError, match="file not found"):
        count_signups(tmp_path / "nope.parquet", p["campaigns"], engine="duckdb")
    with pytest.raises(InputError, match="no file matches"):
        count_signups(str(tmp_path / "*.parquet"), p["campaigns"], engine="duckdb")
    (tmp_path / "e.json").write_text("{}")
    with pytest.raises(InputError, match="unsupported file type"):
        count_signups(tmp_path / "e.json", p["campaigns"], engine="duckdb")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        count_signups(tmp_path / "empty.csv", p["campaigns"], engine="duckdb")


def test_typed_parquet_timestamps(tmp_path):
    """A Parquet event_ts that is a timestamp column (zoned, or naive = UTC)."""
    import pyarrow as pa

    events, campaigns, signups = dirty_rows()
    ref = count_signups(events, campaigns, signups, engine="pandas")
    ts = pd.Series(pd.to_datetime(events["event_ts"], utc=True, format="mixed"))
    for tz in ("UTC", "Asia/Kolkata", None):
        col = ts.dt.tz_convert(tz) if tz else ts.dt.tz_convert("UTC").dt.tz_localize(None)
        table = pa.Table.from_pandas(events.assign(event_ts=col.dt.as_unit("us")))
        path = tmp_path / f"ev_{str(tz).replace('/', '_')}.parquet"
        pq.write_table(table, path)
        assert_same_counts(ref, count_signups(path, campaigns, signups, engine="duckdb"))


# --------------------------------------------------------------------------- validation


def _bad_inputs():
    events, campaigns, signups = dirty_rows()
    cases = {}

    def ev(cells):
        bad = events.copy()
        for (row, col), value in cells.items():
            bad.loc[row, col] = value
        return bad, campaigns, signups

    cases["unknown event type"] = ev({(3, "event_type"): "clicked", (7, "event_type"): "x"})
    cases["missing column"] = (events.drop(columns="msg_id"), campaigns, signups)
    cases["unknown campaign"] = ev({(0, "campaign_id"): "zzz", (4, "campaign_id"): "yy"})
    cases["blank e-mail"] = ev({(1, "email"): WHITESPACE})
    cases["bad timestamp"] = ev({(2, "event_ts"): "yesterday", (5, "event_ts"): "soon"})
    cases["missing timestamp"] = ev({(2, "event_ts"): None})
    cases["missing msg_id"] = ev({(4, "msg_id"): None})
    cases["blank campaign"] = ev({(6, "campaign_id"): "  "})
    bad = campaigns.copy()
    bad.loc[0, "subject"] = "no topic here"
    cases["campaign without topic"] = (events, bad, signups)
    for name, (row, col, value) in {
        "signup campaign": (1, "campaign_id", "qq"),
        "signup timestamp": (1, "signup_ts", "never"),
        "signup e-mail": (2, "email", "  "),
        "signup missing e-mail": (0, "email", None),
    }.items():
        su = signups.copy()
        su.loc[row, col] = value
        cases[name] = (events, campaigns, su)
    cases["no data rows"] = (events.iloc[:0], campaigns, signups)
    return cases


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_errors_name_the_same_file_column_rows(tmp_path, fmt):
    for name, tables in _bad_inputs().items():
        paths = []
        for kind, df in zip(("events", "campaigns", "signups"), tables, strict=True):
            path = tmp_path / name.replace(" ", "_") / f"{kind}.{fmt}"
            path.parent.mkdir(exist_ok=True)
            df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path, index=False)
            paths.append(path)
        messages = {}
        for engine in ("pandas", "duckdb"):
            with pytest.raises(InputError) as err:
                count_signups(*paths, engine=engine)
            messages[engine] = str(err.value)
        assert messages["pandas"] == messages["duckdb"], name
        assert str(paths[0].parent) in messages["duckdb"]


def test_error_rows_are_line_numbers(tmp_path):
    events, campaigns, signups = dirty_rows()
    big = pd.concat([events] * 300, ignore_index=True)  # 3,300 rows, several DuckDB vectors
    bad = [17, 1999, 3298]
    big.loc[bad, "event_ts"] = "not a time"
    path = tmp_path / "events.csv"
    big.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        count_signups(path, campaigns, signups, engine="duckdb")
    assert err.value.rows == [r + 2 for r in bad]  # header on line 1
    assert err.value.column == "event_ts" and err.value.source == str(path)


# --------------------------------------------------------------------------- engines


def test_engine_resolution():
    assert resolve_engine(None).name == "duckdb"
    assert resolve_engine(None, in_memory=True).name == "pandas"
    with use_engine("spark", spark_master="local[1]"):
        spec = resolve_engine(None, in_memory=True)
        assert (spec.name, spec.spark_master) == ("spark", "local[1]")
        assert resolve_engine("duckdb").name == "duckdb"
    assert resolve_engine(None).name == "duckdb"
    with pytest.raises(ValueError, match="unknown engine"):
        EngineSpec("polars")


def test_add_engine_flags_runs_the_command_on_the_engine():
    import argparse

    seen = []
    parser = argparse.ArgumentParser()
    with pytest.raises(RuntimeError, match="set_defaults"):
        add_engine_flags(parser)
    parser.set_defaults(func=lambda args: seen.append(resolve_engine(None)))
    add_engine_flags(parser)
    for argv, expected in (([], ("duckdb", "local[*]")), (["--engine", "pandas"], ("pandas",))):
        args = parser.parse_args(argv)
        args.func(args)
        assert (seen[-1].name, seen[-1].spark_master)[: len(expected)] == expected
    args = parser.parse_args(["--engine", "spark", "--spark-master", "spark://h:7077"])
    assert args.func.__wrapped__ is not None
    args = parser.parse_args(["--spark-master", "spark://h:7077"])
    with pytest.raises(InputError, match="needs --engine spark"):
        args.func(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["--engine", "polars"])


def test_cli_engines_write_identical_audiences(inputs, tmp_path):
    p = inputs["csv"]
    common = ["--events", str(p["events"]), "--campaigns", str(p["campaigns"])]
    common += ["--signups", str(p["signups"]), "--top-n", "10"]
    out = {}
    for engine in ("pandas", "duckdb"):
        out[engine] = tmp_path / engine  # --out is a folder holding audience.csv
        run = subprocess.run(
            [sys.executable, "-m", "bayes.cli", "signup", "score", *common]
            + ["--engine", engine, "--out", str(out[engine])],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        summary = json.loads((out[engine] / "summary.json").read_text())
        assert summary["counted"].split(":")[0] == engine  # duckdb: with its plan (below)
        assert f"\ncounted on {summary['counted']}\n" in run.stdout
    assert summary["counted"] == (
        "duckdb: 1 topic partition, e-mails fully trimmed (an address had a tab or another blank)"
    )
    audience = {e: (folder / "audience.csv").read_bytes() for e, folder in out.items()}
    assert audience["pandas"] == audience["duckdb"]
    bad = subprocess.run(
        [sys.executable, "-m", "bayes.cli", "signup", "backtest", *common[:6]]
        + ["--spark-master", "spark://h:7077"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "needs --engine spark" in bad.stderr


def test_load_inputs_through_an_engine_equals_pyarrow(inputs):
    from bayes.signup.data import load_inputs

    p = inputs["csv"]
    ref = load_inputs(p["events"], p["campaigns"], p["signups"])
    got = load_inputs(p["events"], p["campaigns"], p["signups"], engine="duckdb")
    pd.testing.assert_frame_equal(ref.events, got.events)
    with use_engine("duckdb"):  # the --engine flag of `signup backtest` reaches it this way
        pd.testing.assert_frame_equal(ref.events, load_inputs(*p.values()).events)


def test_duckdb_leaves_no_temporary_folder(inputs, monkeypatch, tmp_path):
    # a private temp root: other processes' DuckDB runs cannot show up in it
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    before = set(tmp.glob("bayes-duckdb-*"))
    assert before == set()
    p = inputs["parquet"]
    count_signups(p["events"], p["campaigns"], p["signups"], engine="duckdb")
    with pytest.raises(InputError):
        count_signups(p["events"], p["signups"], engine="duckdb")  # signups as campaigns
    monkeypatch.setenv("BAYES_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(InputError, match="cannot configure DuckDB"):
        count_signups(p["events"], p["campaigns"], engine="duckdb")
    assert list(tmp.iterdir()) == []


# --------------------------------------------------------------------------- generators


def test_block_writer_equals_the_in_memory_generator(tmp_path):
    data = generate_signup_data(400, 3, seed=9)
    ref = write_signup_data(data, tmp_path / "ref", fmt="parquet")
    got = write_signup_files(tmp_path / "blocks", 400, 3, seed=9, block_recipients=400)
    for name in ("events", "campaigns", "signups", "truth", "topic_truth"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(ref[name]), pd.read_parquet(got.paths[name]), check_dtype=False
        )


def test_blocks_are_row_groups_with_distinct_ids(tmp_path):
    got = write_signup_files(tmp_path, 1000, 3, seed=2, block_recipients=300, fmt="parquet")
    meta = pq.ParquetFile(got.paths["events"]).metadata
    assert meta.num_row_groups == 4 and meta.num_rows == got.n_events
    events = pd.read_parquet(got.paths["events"])
    truth = pd.read_parquet(got.paths["truth"])
    assert not truth.duplicated(["email", "topic"]).any()
    assert truth["email"].str.extract(r"user(\d+)@")[0].astype(int).max() == 999
    counts = count_signups(got.paths["events"], got.paths["campaigns"], got.paths["signups"])
    merged = truth.merge(counts.pairs.astype({"email": str, "topic": str}), on=["email", "topic"])
    assert len(merged) == len(truth)  # every true pair found, with its true number of sends
    np.testing.assert_array_equal(merged["sends_x"], merged["sends_y"])
    # a msg_id never spans two blocks: its rows share one recipient
    per_msg = events.assign(e=events.email.str.strip().str.lower()).groupby("msg_id")["e"]
    assert per_msg.nunique().max() == 1
    again = write_signup_files(tmp_path / "again", 1000, 3, seed=2, block_recipients=300)
    assert again.paths["events"].read_bytes() == got.paths["events"].read_bytes()


def test_block_writer_replaces_all_files_or_none(tmp_path, monkeypatch):
    import bayes.signup.generate as gen

    first = write_signup_files(tmp_path, 200, 2, seed=1, block_recipients=100, fmt="csv")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real, calls = gen._recipients, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("interrupted")
        return real(*args, **kwargs)

    monkeypatch.setattr(gen, "_recipients", failing)
    with pytest.raises(KeyboardInterrupt):
        write_signup_files(tmp_path, 200, 2, seed=5, block_recipients=100, fmt="csv")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert first.rows["events"] > 0


def test_growth_block_writer(tmp_path):
    from bayes.growth.data import (
        generate_growth_data,
        read_events,
        read_orders,
        read_users,
        write_growth_data,
        write_growth_files,
    )

    ref = write_growth_data(generate_growth_data(800, seed=4), tmp_path / "ref", fmt="parquet")
    got = write_growth_files(tmp_path / "one", 800, seed=4, fmt="parquet", block_users=800)
    for name, read in (("users", read_users), ("events", read_events), ("orders", read_orders)):
        pd.testing.assert_frame_equal(read(ref[name]), read(got[name]), check_dtype=False)
    many = write_growth_files(tmp_path / "many", 900, seed=4, fmt="csv", block_users=300)
    users, orders = read_users(many["users"]), read_orders(many["orders"])
    events = read_events(many["events"])
    assert users["user_id"].tolist() == list(range(1, 901))
    assert orders["order_id"].is_unique and orders["user_id"].isin(users["user_id"]).all()
    assert events["user_id"].isin(users["user_id"]).all()
    assert many["rows"]["orders"] == len(orders)
    only = write_growth_files(tmp_path / "orders", 900, seed=4, block_users=300, tables=("orders",))
    assert set(only) == {"orders", "truth", "rows"}
    pd.testing.assert_frame_equal(
        read_orders(only["orders"]), orders, check_dtype=False
    )  # the sessions are simulated after the orders: skipping them changes nothing


# --------------------------------------------------------------------------- growth


@pytest.fixture(scope="module")
def growth(tmp_path_factory):
    from bayes.growth.data import write_growth_files

    root = tmp_path_factory.mktemp("growth")
    return {
        fmt: write_growth_files(root / fmt, 1500, seed=8, fmt=fmt, block_users=700)
        for fmt in ("csv", "parquet")
    }


def test_rfm_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "a", "a", "c"],
            "date": [
                "2024-01-10 09:00",
                "2024-01-01 10:00",
                "2024-01-01T23:00:00+05:00",  # 18:00 UTC, same day: one period
                "2024-01-08",
                "2024-01-15 12:00",
                "2024-02-01",  # after the observation end: not counted
            ],
            "amount": [5.0, 10.0, 2.5, 4.0, 6.0, 1.0],
        }
    )
    for engine in ("pandas", "duckdb"):
        s, _ = rfm_summary(tx, observation_end="2024-01-29 08:00", engine=engine)
        assert list(s.index) == ["a", "b"]
        a, b = s.loc["a"], s.loc["b"]
        assert (a["frequency"], a["recency"], a["T"]) == (2.0, 14 / 7, 28 / 7)
        assert a["monetary_value"] == pytest.approx(5.0, rel=1e-15)  # (4 + 6) / 2, first day out
        assert tuple(b) == (0.0, 0.0, 19 / 7, 0.0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rfm_equals_lifetimes(growth, fmt):
    path = growth[fmt]["orders"]
    for kw in (
        {},
        {"observation_end": "2024-06-01 13:00"},
        {"calibration_end": "2024-04-01", "holdout_end": "2024-09-01 12:00"},
        {"calibration_end": "2024-05-15"},
    ):
        ref, ref_hold = rfm_summary(path, engine="pandas", **kw)
        got, hold = rfm_summary(path, engine="duckdb", **kw)
        pd.testing.assert_index_equal(ref.index, got.index)
        for col in ("frequency", "recency", "T"):
            np.testing.assert_array_equal(ref[col].to_numpy(), got[col].to_numpy())
        # exact decimal sums vs lifetimes' float sums: a few ulps
        np.testing.assert_allclose(got["monetary_value"], ref["monetary_value"], rtol=4e-16 * 8)
        if ref_hold is not None:
            pd.testing.assert_frame_equal(ref_hold, hold, check_dtype=False, rtol=1e-14)


def test_integer_ids_sort_as_their_text():
    """Integer ids come back in their own type and are put in the order of their text (the
    pandas reference's string index) on the integers: negatives, powers of ten, int64's ends."""
    from bayes.engines.growth import _customer_index

    rng = np.random.default_rng(7)
    ids = np.concatenate(
        [
            rng.integers(-(10**6), 10**6, 2_000),
            rng.integers(0, 2**63 - 1, 500, dtype=np.int64),
            [0, 1, 9, 10, 11, 100, 99, -1, -10, -9, 10**18, 2**63 - 1, -(2**63), -(10**18)],
        ]
    )
    ids = np.unique(ids)
    rng.shuffle(ids)
    order, index = _customer_index(pa.chunked_array([ids[:1000], ids[1000:]]))
    assert index.dtype == "string[pyarrow]" and index.name == "customer_id"
    assert list(index) == sorted(str(i) for i in ids)
    assert [str(i) for i in ids[order]] == list(index)
    text_order, text_index = _customer_index(pa.array([str(i) for i in ids]))
    assert list(text_index) == list(index) and (ids[text_order] == ids[order]).all()
    # ids of at most 18 digits take the one-key sort (with and without negatives)
    for small in (ids[np.abs(ids) < 10**17], ids[(ids >= 0) & (ids < 10**6)]):
        small = np.concatenate([small, [10**17, 10**16, 7 * 10**17]])
        _, index = _customer_index(pa.array(small))
        assert list(index) == sorted(str(i) for i in small)
    # short ids take the packed sort (key, sign and row number in one uint64), with and
    # without negatives, up to 12 digits
    for short in (
        ids[np.abs(ids) < 10**6],
        ids[(ids >= 0) & (ids < 10**6)],
        np.concatenate([ids[np.abs(ids) < 10**6], [10**11, -(10**11)]]),
    ):
        order, index = _customer_index(pa.array(short))
        assert list(index) == sorted(str(i) for i in short)
        assert [str(i) for i in short[order]] == list(index)


def test_rfm_is_the_same_on_every_run(growth):
    path = growth["parquet"]["orders"]
    a, _ = rfm_summary(path, engine="duckdb")
    b, _ = rfm_summary(path, engine=EngineSpec("duckdb", threads=1))
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_rfm_validation(tmp_path):
    tx = pd.DataFrame(
        {"user_id": ["1", "2", "3"], "order_ts": ["2024-01-01", "2024-01-02", "2024-01-03"]}
    )
    for name, (col, value, message) in {
        "negative": ("amount", "-1", r"column 'amount': rows 3: values below the minimum 0"),
        "text": ("amount", "abc", r"rows 3: expected numbers, found non-numeric values such as"),
        "date": ("order_ts", "soon", r"column 'order_ts': rows 3: cannot parse as a timestamp"),
        "id": ("user_id", None, r"column 'user_id': rows 3: missing values"),
        "infinite": ("amount", "inf", r"column 'amount': rows 3: infinite values"),
    }.items():
        bad = tx.assign(amount=["1.5", "2", "3"])
        bad.loc[1, col] = value
        path = tmp_path / f"{name}.csv"
        bad.to_csv(path, index=False)
        with pytest.raises(InputError, match=message):
            rfm_summary(path, engine="duckdb")
    with pytest.raises(InputError, match="no customer id column"):
        rfm_summary(tx.rename(columns={"user_id": "who"}), engine="duckdb")
    with pytest.raises(InputError, match="must be after calibration end"):
        rfm_summary(tx, calibration_end="2024-01-02", holdout_end="2024-01-01", engine="duckdb")


def test_ltv_rfm_equals_prepare_rfm(growth, tmp_path):
    """The engine's LTV inputs equal bayes.ltv.workflow.prepare_rfm on the same log, with
    refunds and free orders: RFM in every time unit, spend_frequency, the policy report and
    its warning, the holdout split (dates, days, counts)."""
    import warnings

    from bayes.engines.growth import ltv_rfm
    from bayes.ltv import data as D
    from bayes.ltv.workflow import prepare_rfm

    tx = pd.read_csv(growth["csv"]["orders"])
    tx.loc[::17, "amount"] = 0.0
    tx.loc[::23, "amount"] = -3.5
    path = tmp_path / "orders.csv"
    tx.to_csv(path, index=False)
    for kw in (
        {},
        {"time_unit": "D"},
        {"holdout_days": 60},
        {"calibration_end": "2024-06-01", "holdout_end": "2024-10-01 12:00", "time_unit": "M"},
        {"observation_end": "2024-08-01 13:00"},
    ):
        kw = {k: pd.Timestamp(v) if k.endswith("_end") else v for k, v in kw.items()}
        with warnings.catch_warnings(record=True) as w_ref:
            warnings.simplefilter("always")
            ref = prepare_rfm(transactions=D.load_transactions(path), **kw)
        with warnings.catch_warnings(record=True) as w_got:
            warnings.simplefilter("always")
            got = ltv_rfm(path, engine="duckdb", **kw)
        # the same ids in the same order; the engine's are Arrow-backed strings
        assert got.summary.index.dtype == "string[pyarrow]"
        pd.testing.assert_index_equal(ref.rfm.index, got.summary.index.astype(object))
        assert list(ref.rfm.columns) == list(got.summary.columns)
        for col in ("frequency", "recency", "T", "spend_frequency"):
            np.testing.assert_array_equal(ref.rfm[col], got.summary[col], err_msg=col)
        np.testing.assert_allclose(
            got.summary["monetary_value"], ref.rfm["monetary_value"], rtol=1e-14
        )
        assert got.summary.attrs["time_unit"] == ref.rfm.attrs["time_unit"]
        assert got.policy == ref.policy and got.policy["customers_only_zero_value"] > 0
        assert [str(w.message) for w in w_got] == [str(w.message) for w in w_ref]
        assert (got.calibration_end, got.holdout_end) == (ref.calibration_end, ref.holdout_end)
        if ref.holdout is not None:
            pd.testing.assert_frame_equal(
                ref.holdout, got.holdout, check_dtype=False, check_index_type=False, rtol=1e-13
            )
    with pytest.raises(InputError, match="on or after the last transaction"):
        ltv_rfm(path, calibration_end="2030-01-01", engine="duckdb")


#: ids a CSV reader might take for numbers: each is its own customer, campaign or message
ODD_IDS = ("007", "7", "00", "0", "1e5", "100000", "-0", "7.0")


def write_odd_id_files(folder: Path) -> dict[str, Path]:
    """CSV files whose ids are :data:`ODD_IDS`: a transaction log (two orders per customer,
    the second one week after the first) and signup inputs (one campaign per id, alternating
    topics; one send, a click on every other and a signup on every third)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(ODD_IDS)
    day = pd.Timestamp("2024-01-01")
    tx = pd.DataFrame(
        {
            "customer_id": [*ODD_IDS, *ODD_IDS],
            "date": [
                str((day + pd.Timedelta(days=i + 7 * k)).date()) for k in (0, 1) for i in range(n)
            ],
            "amount": [float(1 + i + 10 * k) for k in (0, 1) for i in range(n)],
        }
    )
    topics = ["Mortgage", "Credit Card"]
    campaigns = pd.DataFrame(
        {
            "campaign_id": list(ODD_IDS),
            "name": [f"c{i}" for i in range(n)],
            "subject": [f"[{topics[i % 2]}] hello" for i in range(n)],
        }
    )
    email = [f"u{i}@x.io" for i in range(n)]
    rows = [
        (m, e, "send", f"2025-02-0{1 + i % 5} 10:00", m)
        for i, (m, e) in enumerate(zip(ODD_IDS, email, strict=True))
    ]
    rows += [
        (m, e, "click", f"2025-02-0{1 + i % 5} 11:00", m)
        for i, (m, e) in enumerate(zip(ODD_IDS, email, strict=True))
        if i % 2 == 0
    ]
    events = pd.DataFrame(
        rows, columns=["msg_id", "email", "event_type", "event_ts", "campaign_id"]
    )
    signups = pd.DataFrame(
        {
            "email": email[::3],
            "campaign_id": list(ODD_IDS[::3]),
            "signup_ts": ["2025-02-07 12:00"] * len(email[::3]),
        }
    )
    out = {}
    for name, df in (
        ("orders", tx),
        ("campaigns", campaigns),
        ("events", events),
        ("signups", signups),
    ):
        out[name] = folder / f"{name}.csv"
        df.to_csv(out[name], index=False)
    return out


def test_csv_ids_are_text_on_every_engine(tmp_path):
    """Ids read from CSV stay text on the pandas engine as on DuckDB (issue 16): ``007`` and
    ``7``, ``00``, ``0`` and ``-0``, ``1e5`` and ``100000`` are different customers, campaigns
    and messages, not the numbers 7, 0 and 100000 (pandas used to infer a number column)."""
    from bayes.engines.growth import ltv_rfm
    from bayes.ltv import data as D
    from bayes.ltv.workflow import prepare_rfm

    p = write_odd_id_files(tmp_path)
    # RFM: every id is its own customer (one repeat day a week later), in the text's order
    ref, _ = rfm_summary(p["orders"], engine="pandas")
    got, _ = rfm_summary(p["orders"], engine="duckdb")
    assert list(ref.index) == sorted(ODD_IDS)
    pd.testing.assert_frame_equal(ref, got)
    assert (ref["frequency"] == 1).all() and (ref["recency"] == 1).all()
    # the LTV fit's inputs (`bayes ltv fit --transactions`): pandas path = engine path
    tx = D.load_transactions(p["orders"])
    assert list(tx["customer_id"]) == [*ODD_IDS, *ODD_IDS]
    ref = prepare_rfm(transactions=tx).rfm
    got = ltv_rfm(p["orders"], engine="duckdb").summary
    pd.testing.assert_index_equal(ref.index, got.index.astype(object))
    np.testing.assert_array_equal(ref["frequency"], got["frequency"])
    # an RFM file and a segments file keep their ids too (`bayes ltv fit --rfm --segments`)
    rfm_file = tmp_path / "rfm.csv"
    ref.reset_index().assign(segment="a").to_csv(rfm_file, index=False)
    assert list(D.read_rfm(rfm_file).index) == sorted(ODD_IDS)
    assert list(D.load_segments(rfm_file, "segment").index) == sorted(ODD_IDS)
    # signups: one campaign per id, hence both topics and every send, click and signup
    ref = count_signups(p["events"], p["campaigns"], p["signups"], engine="pandas")
    got = count_signups(p["events"], p["campaigns"], p["signups"], engine="duckdb")
    assert_same_counts(ref, got)
    pairs = ref.pairs.set_index("email")
    assert len(pairs) == len(ODD_IDS) and pairs["sends"].sum() == len(ODD_IDS)
    assert list(pairs["topic"]) == [["Mortgage", "Credit Card"][i % 2] for i in range(len(ODD_IDS))]
    assert int(ref.topics["signups"].sum()) == len(ODD_IDS[::3])


def test_cli_ids_are_text_on_every_engine(tmp_path):
    """`bayes signup score` writes the same audience file from CSV ids on pandas and DuckDB."""
    from bayes.cli import main

    p = write_odd_id_files(tmp_path / "data")
    files = {}
    for engine in ("pandas", "duckdb"):
        argv = ["signup", "score", "--events", p["events"], "--campaigns", p["campaigns"]]
        argv += ["--signups", p["signups"], "--top-n", 5, "--engine", engine]
        assert main([str(a) for a in [*argv, "--out", tmp_path / engine]]) == 0
        files[engine] = (tmp_path / engine / "audience.csv").read_bytes()
    assert files["pandas"] == files["duckdb"]
    assert len(pd.read_csv(tmp_path / "duckdb" / "audience.csv")) > 0


@pytest.mark.parametrize("segment", [None, "acq_channel"])
def test_cohorts_equal_the_pandas_matrix(growth, segment):
    for fmt in ("csv", "parquet"):
        u, e = growth[fmt]["users"], growth[fmt]["events"]
        for as_of in (None, "2024-05-01"):
            ref = retention_matrix(u, e, segment=segment, engine="pandas", as_of=as_of)
            got = retention_matrix(u, e, segment=segment, engine="duckdb", as_of=as_of)
            pd.testing.assert_frame_equal(ref, got)
            censored = got.filter(like="week_").isna().to_numpy()
            assert censored.any() == (as_of is not None)  # cells after as_of are left empty


def test_cohort_validation(growth, tmp_path):
    users = pd.read_csv(growth["csv"]["users"])
    events = pd.read_csv(growth["csv"]["events"])
    dup = pd.concat([users, users.iloc[[3]]], ignore_index=True)
    with pytest.raises(InputError, match=rf"user_id.*rows {len(users) + 2}: duplicate user_id"):
        retention_matrix(dup, events, engine="duckdb")
    stray = events.copy()
    row = int(np.flatnonzero(stray["event_type"] == "session_start")[5])
    stray.loc[row, "user_id"] = 10**9
    path = tmp_path / "events.csv"
    stray.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"events.csv: column 'user_id': rows {row + 2}: events"):
        retention_matrix(growth["csv"]["users"], path, engine="duckdb")
    with pytest.raises(InputError, match="unknown segment"):
        retention_matrix(users, events, segment="planet", engine="duckdb")


_DICTIONARY_CASES = [  # (table, column, rows, value): each refused by the pandas loader
    ("users", "country", [3, 8], "XX"),
    ("users", "user_id", [4], -5),
    ("users", "device", [6], None),
    ("users", "acq_channel", [2], "NA"),  # CSV: pandas reads it as missing
    ("users", "user_id", [5], "abc"),
    ("events", "event_type", [10], "click"),
    ("events", "session_id", [5, 9], 1.5),
    ("events", "session_id", [3], "abc"),
    ("events", "amount", [7], -2.0),
    ("events", "amount", [4], float("inf")),
]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", _DICTIONARY_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_growth_data_dictionary_on_the_engine(growth, fmt, tmp_path, case):
    """The growth loaders' data-dictionary checks (bayes.growth.data.USERS_COLUMNS and
    EVENTS_COLUMNS: allowed values, ids and counts, minimums, missing values, CSV cells pandas
    reads as missing) run on the engine path with the pandas loader's error: same message,
    file, column and rows."""
    table, column, rows, value = case
    paths = {"users": growth[fmt]["users"], "events": growth[fmt]["events"]}
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    frame = read(paths[table])
    if isinstance(value, str):
        frame[column] = frame[column].astype(str)
    elif value is None or isinstance(value, float):
        frame[column] = frame[column].astype(object if value is None else float)
    for r in rows:
        frame.loc[r - 2, column] = value
    paths[table] = tmp_path / Path(paths[table]).name
    write = frame.to_csv if fmt == "csv" else frame.to_parquet
    write(paths[table], index=False)
    errors = {}
    for engine in ("pandas", "duckdb"):
        with pytest.raises(InputError) as err:
            retention_matrix(paths["users"], paths["events"], engine=engine)
        errors[engine] = err.value
    ref, got = errors["pandas"], errors["duckdb"]
    assert (got.column, got.rows) == (column, rows)
    assert str(got) == str(ref)
    from bayes.engines.growth import activity_lifetimes

    with pytest.raises(InputError) as err:  # the survival path checks the same dictionary
        activity_lifetimes(paths["users"], paths["events"], engine="duckdb")
    assert str(err.value) == str(ref)


# --------------------------------------------------------------------------- experiments


def test_experiments_run_on_the_engine_layer(tmp_path):
    """The experiments' DuckDB statistics go through bayes.engines: a folder of Parquet parts
    and a glob give the file's per-arm sums, and an error names the CSV line of a bad row
    (the layer's one-thread numbered scan, not an unordered row_number())."""
    from bayes.experiments.data import generate_experiment
    from bayes.experiments.engine import moments, scan

    frame = generate_experiment(3_000, seed=2).frame
    kw = {"arm": "arm", "metrics": ["revenue"], "covariates": ["pre_revenue"]}
    whole = tmp_path / "experiment.parquet"
    frame.to_parquet(whole, index=False)
    parts = tmp_path / "parts"
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        (parts / f"day={i}").mkdir(parents=True)
        frame.iloc[rows].to_parquet(parts / f"day={i}" / "part.parquet", index=False)
    ref = moments(scan(whole, **kw))
    for source in (parts, str(parts / "*" / "*.parquet")):
        got = moments(scan(source, **kw))
        assert (got.n == ref.n).all()
        np.testing.assert_allclose(got.scatter, ref.scatter, rtol=1e-9)
    bad = frame.assign(revenue=frame["revenue"].astype(str))
    bad.loc[[1234, 2900], "revenue"] = "n/a"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        scan(path, **kw)
    assert err.value.rows == [1236, 2902] and err.value.column == "revenue"


# --------------------------------------------------------------------------- CLI


def _cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bayes.cli", *map(str, argv)], capture_output=True, text=True
    )


def test_growth_cli_on_every_engine(growth, tmp_path, capsys):
    """`bayes growth cohorts|survival --engine pandas|duckdb` write the same files and say
    which engine counted; the engine refuses events before a signup as the pandas loader."""
    from bayes.cli import main

    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        return code, capsys.readouterr()

    data = Path(growth["csv"]["users"]).parent
    out = {}
    for engine in ("pandas", "duckdb"):
        out[engine] = tmp_path / engine
        code, cap = run(
            "growth", "cohorts", "--data", data, "--segment", "device", "--max-weeks", 6,
            "--engine", engine, "--out", out[engine], "--json",
        )  # fmt: skip
        assert code == 0, cap.err
        assert json.loads(cap.out)["engine"] == engine
    files = {e: (folder / "retention.csv").read_bytes() for e, folder in out.items()}
    assert files["pandas"] == files["duckdb"]
    for engine in ("pandas", "duckdb"):
        code, cap = run(
            "growth", "survival", "--data", data, "--cohort", "week", "--churn-days", 21,
            "--engine", engine, "--out", out[engine] / "survival", "--json",
        )  # fmt: skip
        assert code == 0, cap.err
        assert json.loads(cap.out)["engine"] == engine
    tables = ("survival.csv", "survival_at.csv", "seasonality_weekday.csv", "seasonality_month.csv")
    for name in tables:
        a, b = ((out[e] / "survival" / name).read_bytes() for e in ("pandas", "duckdb"))
        assert a == b, name
    events = pd.read_csv(growth["csv"]["events"])
    events.loc[7, "event_ts"] = "2000-01-01T00:00:00Z"
    bad = tmp_path / "events.csv"
    events.to_csv(bad, index=False)
    messages = {}
    for engine, verb in (("pandas", "cohorts"), ("duckdb", "cohorts"), ("duckdb", "survival")):
        orders = ["--orders", growth["csv"]["orders"]] if verb == "survival" else []
        code, cap = run(
            "growth", verb, "--users", growth["csv"]["users"], "--events", bad, *orders,
            "--engine", engine,
        )  # fmt: skip
        assert code == 2
        messages[engine, verb] = cap.err
    assert len(set(messages.values())) == 1
    assert "events before the user's signup_ts" in messages["duckdb", "survival"]
    assert "rows 9" in messages["duckdb", "survival"]


@pytest.mark.slow  # two small NUTS fits
def test_ltv_fit_cli_aggregates_the_log_on_the_engine(tmp_path):
    """`bayes ltv fit --transactions ... --engine duckdb` fits the RFM rows the engine built:
    the same customers, frequency, recency and T as the pandas path (spend to ~1e-14, exact
    decimal sums against float ones), the same holdout counts; the GLM comparison is said to
    need --engine pandas."""
    import json

    from bayes.cli import main
    from bayes.growth.data import write_growth_files

    g = write_growth_files(tmp_path / "data", 300, seed=5, fmt="parquet", block_users=150)
    tx = pd.read_parquet(g["orders"])
    tx.loc[::29, "amount"] = -2.0  # refunds: dropped by the monetary policy on both
    tx.to_parquet(g["orders"], index=False)
    draws = ["--draws", "30", "--tune", "60", "--chains", "2", "--predict-draws", "10"]
    out = {}
    for engine in ("pandas", "duckdb"):
        out[engine] = tmp_path / engine
        argv = ["ltv", "fit", "--transactions", g["orders"], "--holdout-days", 60]
        argv += ["--engine", engine, "--seed", 3, "--out", out[engine], *draws]
        with pytest.warns(UserWarning, match="monetary policy"):  # the same on both
            assert main([str(a) for a in argv]) == 0
    a, b = (pd.read_csv(out[e] / "ltv.csv") for e in ("pandas", "duckdb"))
    assert list(a["customer_id"]) == list(b["customer_id"])
    for col in ("frequency", "recency", "T", "spend_frequency", "holdout_actual"):
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    np.testing.assert_allclose(a["monetary_value"], b["monetary_value"], rtol=1e-13)
    sa, sb = (json.loads((out[e] / "summary.json").read_text()) for e in ("pandas", "duckdb"))
    assert sa["monetary_policy"] == sb["monetary_policy"]
    assert sb["monetary_policy"]["negative_rows_dropped"] > 0
    assert sb["holdout"]["survival_glm"].startswith("not run: the log was aggregated")
    assert (sa["source"]["engine"], sb["source"]["engine"]) == ("pandas", "duckdb")


def test_experiment_cli_spark_master_needs_spark(tmp_path, capsys):
    """`bayes experiment analyze --spark-master` without `--engine spark` is refused before
    any work (the engines' rule for every command)."""
    from bayes.cli import main
    from bayes.experiments.data import generate_experiment, write_experiment

    write_experiment(generate_experiment(200, seed=1), tmp_path, "csv")
    argv = ["experiment", "analyze", "--data", tmp_path / "experiment.csv", "--arm", "arm"]
    argv += ["--metric", "revenue", "--spark-master", "local[1]", "--out", tmp_path / "out"]
    assert main([str(a) for a in argv]) == 2
    assert "--spark-master local[1] needs --engine spark" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_fast_trim_and_topic_partitions_equal_pandas(inputs, monkeypatch):
    """The two DuckDB execution paths of the counting query against the pandas reference:
    e-mails trimmed of spaces only (the generated dirt: mixed case and spaces) with no second
    query, the full trim once an address carries a tab or a no-break space (the hand-made
    rows), and the events counted topic by topic (one partition per topic, forced here by
    a message size no memory limit holds)."""
    import bayes.engines.signup as engine_signup

    gen = Path(inputs["parquet"]["events"]).parent / "gen"
    spaced = [gen / f"{n}.parquet" for n in ("events", "campaigns", "signups")]
    hand = [inputs["parquet"][n] for n in ("events", "campaigns", "signups")]
    ref = {"spaced": count_signups(*spaced, engine="pandas")}
    ref["hand"] = count_signups(*hand, engine="pandas")
    runs = {}
    for parts in ("one", "per topic"):
        if parts == "per topic":
            monkeypatch.setattr(engine_signup, "_MESSAGE_BYTES_PER_EVENT", 1e15)
        for name, files in (("spaced", spaced), ("hand", hand)):
            got = count_signups(*files, engine="duckdb")
            assert_same_counts(ref[name], got)
            runs[parts, name] = set(got.stages.wall)
            trim = "full" if name == "hand" else "spaces"
            n = 1 if parts == "one" else len(got.topics)
            assert got.plan == {"topic_partitions": n, "email_trim": trim}
    assert got.plan_text() == (
        f"duckdb: {n} topic partitions, e-mails fully trimmed (an address had a tab or another "
        "blank)"
    )
    assert ref["hand"].plan == {} and ref["hand"].plan_text() == "pandas"
    assert "query_full_trim" not in runs["one", "spaced"]
    assert (
        "query_full_trim" in runs["one", "hand"] and "query_full_trim" in runs["per topic", "hand"]
    )
    with engine_signup.connect(engine_signup.resolve_engine("duckdb")) as db:
        assert engine_signup._partitions(db, 10**6, 4) == 4  # (the forced size)
    # an event of an unknown campaign (no topic) is still seen, in the first partition
    events, campaigns, signups = dirty_rows()
    events.loc[len(events)] = ["h9", "amy@x.io", "send", "2025-02-07", "NOPE"]
    with pytest.raises(InputError, match=r"campaign_id\(s\) \['NOPE'\] are not in the campaigns"):
        count_signups(events, campaigns, signups, engine="duckdb")
    monkeypatch.undo()
    with engine_signup.connect(engine_signup.resolve_engine("duckdb")) as db:
        limit = db.memory_limit_bytes()
        assert engine_signup._partitions(db, 10**6, 4) == 1
        share = engine_signup._MESSAGE_SHARE * limit / engine_signup._MESSAGE_BYTES_PER_EVENT
        held = int(share)  # the events whose messages 3/4 of the limit holds
        assert engine_signup._partitions(db, held, 4) == 1
        assert engine_signup._partitions(db, held + 1000, 4) == 2
        assert engine_signup._partitions(db, 3 * held, 4) == 3
        assert engine_signup._partitions(db, int(limit), 4) == 4  # at most one per topic


def test_pair_columns_name_the_counting_query_in_order(inputs):
    """The pair table's sort spells every column of the counting query by position
    (:func:`bayes.engines.signup._by_email_topic`): its column list is the query's."""
    import bayes.engines.signup as es

    files = [inputs["parquet"][n] for n in ("events", "campaigns", "signups")]
    with es.connect(es.resolve_engine("duckdb")) as db:
        es._register(db, files[0], files[2])
        es._register_topics(db, es._read_campaigns(db, files[1]))
        sql = es._pairs_sql(es.DIALECTS["duckdb"]) + es._by_email_topic(len(es._PAIR_COLUMNS))
        got = db.arrow(sql)
    assert tuple(got.column_names) == es._PAIR_COLUMNS
    assert set(es._FRAME_COLUMNS) <= set(es._PAIR_COLUMNS)
    keys = got.select(["email", "topic_idx"]).to_pandas()
    assert not keys.duplicated().any()  # (so the columns after the first two never decide)
    assert keys.equals(keys.sort_values(["email", "topic_idx"], ignore_index=True))


def test_pair_batches_collected_into_the_frame():
    """The pair columns collected batch by batch (sliced batches, NULL opens, an e-mail that
    spans two batches) give the frame of the whole table: codes, counts, flags, NaT."""
    import bayes.engines.signup as es

    whole = pa.record_batch(
        {
            "email": pa.array(["a@x", "a@x", "b@x", "c@x", "c@x", "d@x"]),
            "topic_idx": pa.array([0, 1, 1, 0, 1, 0], pa.int32()),
            "sends": pa.array([1, 2, 0, 3, 4, 5], pa.int32()),
            "clicks": pa.array([0, 1, 0, 2, 0, 1], pa.int32()),
            "signup_event": pa.array([False, True, False, False, True, False]),
            "signup_table": pa.array([False, False, True, False, False, False]),
            "opted_out": pa.array([True, False, False, False, False, True]),
            "last_open_us": pa.array([None, 5, 7, None, 11, 13], pa.int64()),
        }
    )
    collected = es._PairColumns()
    for start, length in ((0, 2), (2, 2), (4, 2)):  # (offsets 2 and 4: sliced buffers)
        collected.add(whole.slice(start, length))
    frame = collected.frame(pd.Index(["M", "C"], dtype=object))
    assert list(frame["email"].astype(str)) == ["a@x", "a@x", "b@x", "c@x", "c@x", "d@x"]
    assert list(frame["email"].cat.codes) == [0, 0, 1, 2, 2, 3]
    assert list(frame["topic"].astype(str)) == ["M", "C", "C", "M", "C", "M"]
    assert frame["sends"].dtype == np.int64 and list(frame["sends"]) == [1, 2, 0, 3, 4, 5]
    assert list(frame["signed_up"]) == [0, 1, 1, 0, 1, 0]
    assert list(frame["opted_out"]) == [True, False, False, False, False, True]
    want = pd.to_datetime([None, 5000, 7000, None, 11000, 13000], utc=True)
    pd.testing.assert_series_equal(
        frame["last_open_ts"], pd.Series(want, name="last_open_ts"), check_index=False
    )


def test_duckdb_size_settings_in_bytes():
    from bayes.engines.backends import _bytes

    assert _bytes("2.7 GiB") == 2.7 * 1024**3 and _bytes("476.8 MiB") == 476.8 * 1024**2
    assert _bytes("3GB") == 3e9 and _bytes("1000 bytes") == 1000 and _bytes("512KiB") == 524288
    with pytest.raises(ValueError, match="cannot read the size"):
        _bytes("lots")


def test_duckdb_reuses_its_blocks_up_to_the_memory_limit():
    """``reuse_blocks`` backs the buffer blocks with memory taken once, as large as the memory
    limit (to DuckDB's block size; DuckDB shows both settings rounded), also after queries
    have run; the connection still counts; a connection that does not ask keeps none."""
    from bayes.engines.backends import DuckDB, _bytes

    def reused(db):
        return _bytes(
            db.con.execute("SELECT current_setting('block_allocator_memory')").fetchall()[0][0]
        )

    with DuckDB(memory_limit="1GB", threads=1) as db:
        assert reused(db) == 0
        assert db.arrow("SELECT count(*) AS n FROM range(1000)").column("n")[0].as_py() == 1000
        db.reuse_blocks()
        limit = db.memory_limit_bytes()
        assert 0 <= limit - reused(db) < 2**20 and abs(limit - 1e9) < 2**21
        assert db.arrow("SELECT count(*) AS n FROM range(1000000)").column("n")[0].as_py() == 10**6
    with DuckDB() as db:  # no limit given: DuckDB's default (a share of the machine's memory)
        db.reuse_blocks()
        assert 0 <= db.memory_limit_bytes() - reused(db) < 0.11 * 2**30  # (shown to 0.1 GiB)


def test_batches_fetched_ahead_keep_order_errors_and_stop():
    """``DuckDB.batches`` fetches ahead on a thread: the batches come in order, a failure of
    the producer reaches the caller, and a caller that stops early stops the thread."""
    import threading

    from bayes.engines.backends import DuckDB, _ahead

    with DuckDB() as db:
        got = [
            b.column("i").to_pylist()
            for b in db.batches("SELECT range AS i FROM range(5000)", 1000)
        ]
    assert sum(got, []) == list(range(5000))

    def failing():
        yield 1
        raise ValueError("the producer failed")

    it = _ahead(failing())
    assert next(it) == 1
    with pytest.raises(ValueError, match="the producer failed"):
        next(it)

    fetched = []

    def endless():
        k = 0
        while True:
            fetched.append(k)
            yield k
            k += 1

    it = _ahead(endless(), depth=2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert not any(t.name == "bayes-batches" for t in threading.enumerate())
    assert len(fetched) <= 3 + 2 + 2  # what was taken, the queue, one in hand (and no more)


def test_huge_page_advice_off_only_where_it_stalls(tmp_path, monkeypatch):
    """numpy's huge-page advice is turned off inside the block exactly when the kernel would
    compact memory synchronously for it (THP on, ``defrag`` madvise/defer+madvise/always),
    restored afterwards (also after an error), and left alone when the user has set
    ``NUMPY_MADVISE_HUGEPAGE`` or off Linux."""
    import bayes.engines as engines

    switch = engines._numpy_huge_page_switch()
    if switch is None:
        pytest.skip("this numpy has no huge-page switch")

    def advice():  # numpy's current setting, read by setting it back
        value = switch(True)
        switch(value)
        return value

    def kernel(enabled, defrag):
        folder = tmp_path / f"{enabled}-{defrag}"
        folder.mkdir(exist_ok=True)
        (folder / "enabled").write_text(
            " ".join(f"[{v}]" if v == enabled else v for v in ("always", "madvise", "never"))
        )
        choices = ("always", "defer", "defer+madvise", "madvise", "never")
        (folder / "defrag").write_text(
            " ".join(f"[{v}]" if v == defrag else v for v in choices) + "\n"
        )
        monkeypatch.setattr(engines, "_THP", str(folder))

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = switch(True)
    try:
        for enabled, defrag, stalls in [
            ("madvise", "madvise", True),
            ("always", "defer+madvise", True),
            ("madvise", "always", True),
            ("madvise", "defer", False),
            ("always", "never", False),
            ("never", "madvise", False),
        ]:
            kernel(enabled, defrag)
            assert engines.huge_page_advice_stalls() is stalls, (enabled, defrag)
            with engines.no_huge_page_stalls():
                assert advice() is (not stalls)
            assert advice() is True
        kernel("madvise", "madvise")
        with pytest.raises(RuntimeError), engines.no_huge_page_stalls():
            assert advice() is False
            raise RuntimeError("boom")
        assert advice() is True
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")  # the user decides
        with engines.no_huge_page_stalls():
            assert advice() is True
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        monkeypatch.setattr(engines, "_THP", str(tmp_path / "absent"))  # not Linux
        assert engines.huge_page_advice_stalls() is False
        with engines.no_huge_page_stalls():
            assert advice() is True
    finally:
        switch(before)


def test_arrow_pages_kept_uses_jemalloc_inside_and_restores(monkeypatch):
    """Inside ``arrow_pages_kept`` Arrow allocates from its jemalloc pool (freed pages kept
    for the next buffers), outside from the pool it had; an error restores it too, and
    ``ARROW_DEFAULT_MEMORY_POOL`` (the user's choice) leaves the pool alone."""
    from bayes import engines

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("pyarrow built without jemalloc")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        with engines.arrow_pages_kept():
            assert pa.default_memory_pool().backend_name == "jemalloc"
            assert pa.array(np.arange(10)).buffers()[1] is not None
            assert pa.compute.sum(pa.array([1, 2, 3])).as_py() == 6
        assert pa.default_memory_pool().backend_name == "system"
        with pytest.raises(RuntimeError), engines.arrow_pages_kept():
            raise RuntimeError("boom")
        assert pa.default_memory_pool().backend_name == "system"
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
        with engines.arrow_pages_kept():
            assert pa.default_memory_pool().backend_name == "system"
    finally:
        pa.set_memory_pool(before)
