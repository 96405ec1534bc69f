"""Seed 003: counting rules, topic priors, EB smoothing, worked examples, business rules, I/O."""

import numpy as np
import pandas as pd
import pytest

from bayes.io import InputError
from bayes.signup.audience import (
    AudienceRules,
    apply_rules,
    expected_signups,
    rule_domains,
    rule_recency,
    rule_top_n,
    score,
    write_audience,
)
from bayes.signup.counting import campaign_topics, count_pairs, topic_from_text
from bayes.signup.data import load_inputs, parse_timestamps
from bayes.signup.generate import generate_signup_data, write_signup_data
from models.signup import HierarchicalSignupModel, eb_rate, eb_scores, posterior_rate_mean

# ----------------------------------------------------------------------------- §8 examples

P0 = pd.DataFrame({"topic": ["T"], "p0_click": [0.020], "p0_sc": [0.050]})
# (S, C, Y, quoted p_click, quoted p_sc, quoted p_signup)
EXAMPLES = {
    "A": (4, 1, 0, 0.173, 0.033, 0.0057),
    "B": (3, 0, 0, 0.008, 0.050, 0.0004),
    "C": (8, 3, 1, 0.304, 0.220, 0.0669),
}


def _pairs(rows):
    return pd.DataFrame(
        {
            "email": pd.Categorical([f"e{i}" for i in range(len(rows))]),
            "topic": pd.Categorical(["T"] * len(rows)),
            "sends": [r[0] for r in rows],
            "clicks": [r[1] for r in rows],
            "signed_up": [r[2] for r in rows],
        }
    )


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_examples_section_8(name):
    s, c, y, q_click, q_sc, q_signup = EXAMPLES[name]
    out = eb_scores(_pairs([(s, c, y)]), P0).iloc[0]
    # exact values from the §4 formulas
    exact_click = (c + 2 * 0.02) / (s + 2)
    exact_sc = (y + 2 * 0.05) / (c + 2)
    assert out["p_click"] == pytest.approx(exact_click, abs=1e-15)
    assert out["p_signup_given_click"] == pytest.approx(exact_sc, abs=1e-15)
    assert out["p_signup"] == pytest.approx(exact_click * exact_sc, abs=1e-15)
    # the seed's quoted numbers, at their printed precision (3 decimals for the factors)
    assert round(out["p_click"], 3) == pytest.approx(q_click)
    assert round(out["p_signup_given_click"], 3) == pytest.approx(q_sc)
    # and the quoted p_signup to 1e-4 (A quotes 0.173 x 0.033 = 0.0057; exact is 0.005778)
    assert abs(out["p_signup"] - q_signup) < 1e-4


def test_worked_example_exact_values():
    p = eb_scores(_pairs([(4, 1, 0), (3, 0, 0), (8, 3, 1)]), P0)["p_signup"].to_numpy()
    np.testing.assert_allclose(p, [1.04 / 6 * 0.1 / 3, 0.008 * 0.05, 0.304 * 0.22], atol=1e-15)


def test_eb_rate_is_the_seed_formula_bit_for_bit(rng):
    """``eb_rate`` computes in place: the same bits as ``(k + alpha * p0) / (n + alpha)``
    written out, broadcasting a scalar prior, and a scalar for scalars."""
    k = rng.integers(0, 9, 1000)
    n = k + rng.integers(0, 9, 1000)
    p0 = rng.random(1000)
    want = (k.astype(float) + 2.0 * p0) / (n.astype(float) + 2.0)
    np.testing.assert_array_equal(eb_rate(k, n, p0, 2.0), want)
    np.testing.assert_array_equal(eb_rate(k, n, 0.02, 2.0), (k + 2.0 * 0.02) / (n + 2.0))
    one = eb_rate(1, 4, 0.02, 2.0)
    assert np.ndim(one) == 0 and one == (1 + 2.0 * 0.02) / (4 + 2.0)


def test_eb_scores_in_blocks_are_the_whole_columns_formula(rng):
    """``eb_scores`` runs ``eb_rate`` block by block on threads: over several blocks and a
    partial last one, with categorical or plain topics and a topic without a prior (NaN),
    the bits are those of the formula on whole columns."""
    from models.signup import EB_BLOCK

    n = 2 * EB_BLOCK + 123
    s = rng.integers(0, 30, n)
    c = rng.binomial(s, 0.2)
    y = np.minimum(rng.binomial(c, 0.3), 1)
    topics = np.array(["A", "B", "C", "D"])  # (D has no prior)
    t = rng.integers(0, 4, n)
    priors = pd.DataFrame(
        {"topic": topics[:3], "p0_click": [0.02, 0.1, 1e-4], "p0_sc": [0.05, 0.9, 0.3]}
    )
    p0c = np.append(priors["p0_click"].to_numpy(), np.nan)[t]
    p0s = np.append(priors["p0_sc"].to_numpy(), np.nan)[t]
    want_c, want_s = eb_rate(c, s, p0c, 2.0), eb_rate(y, c, p0s, 3.0)
    pairs = _pairs(list(zip(s, c, y, strict=True)))
    for topic in (pd.Categorical(topics[t], categories=topics), topics[t].astype(object)):
        pairs["topic"] = topic
        got = eb_scores(pairs, priors, alpha_c=2.0, alpha_sc=3.0)
        np.testing.assert_array_equal(got["p_click"], want_c)
        np.testing.assert_array_equal(got["p_signup_given_click"], want_s)
        np.testing.assert_array_equal(got["p_signup"], want_c * want_s)
        assert "p_click" not in pairs.columns


def test_eb_is_hierarchical_special_case_kappa_2(rng):
    """Seed §4 = posterior mean with kappa = 2, mu = p0: equal to 1e-12 on many pairs."""
    n = 5000
    s = rng.integers(0, 30, n)
    c = rng.binomial(s, 0.2)
    y = np.minimum(rng.binomial(c, 0.3), 1)
    topics = np.array(["A", "B", "C"])
    pairs = _pairs(list(zip(s, c, y, strict=True)))
    pairs["topic"] = pd.Categorical(topics[rng.integers(0, 3, n)], categories=topics)
    priors = pd.DataFrame(
        {"topic": topics, "p0_click": [0.02, 0.1, 0.0001], "p0_sc": [0.05, 0.9, 0.3]}
    )
    eb = eb_scores(pairs, priors)
    hier = HierarchicalSignupModel.from_point(
        topics, priors["p0_click"], 2.0, priors["p0_sc"], 2.0, signup_likelihood="binomial"
    ).pair_table(pairs)
    for col in ("p_click", "p_signup_given_click", "p_signup"):
        np.testing.assert_allclose(hier[col], eb[col], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        eb_rate(c, s, 0.02, 2.0), posterior_rate_mean(c, s, 0.02, 2.0), atol=1e-15
    )


# ----------------------------------------------------------------------------- §2 counting


def _toy():
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["c1", "c2", "c3", "c4"],
            "name": ["n1", "n2", "n3", "Savings: spring"],
            "subject": ["s1", "[Mortgage] Rates down", "Credit Card — Cashback", "Don't miss"],
            "topic": ["Mortgage", None, None, "  "],
        }
    )
    ev = [
        ("m1", "a@x.com", "send", "2025-01-01 10:00:00", "c1"),
        ("m1", " A@X.com ", "send", "2025-01-01T12:00:00+02:00", "c1"),
        ("m1", "a@x.com", "open", "2025-01-01T11:00:00Z", "c1"),
        ("m1", "A@x.com", "click", "2025-01-01 11:05:00", "c1"),
        ("m1", "a@x.com", "click", "2025-01-01 11:06:00", "c1"),
        ("m2", "a@x.com", "send", "2025-01-05 20:00:00", "c2"),
        ("m2", "a@x.com", "open", "2025-01-06T03:00:00+05:00", "c2"),
        ("m3", "b@y.com", "send", "2025-01-02 09:00:00", "c3"),
        ("m3", "b@y.com", "click", "2025-01-02 09:30:00", "c3"),
        ("m3", "b@y.com", "signup", "2025-01-02 09:40:00", "c3"),
        ("m4", "b@y.com", "send", "2025-01-03 09:00:00", "c4"),
        ("m4", "B@y.com", "unsubscribe", "2025-01-03 10:00:00", "c4"),
        ("m5", "c@x.com", "send", "2025-01-04 09:00:00", "c3"),
    ]
    events = pd.DataFrame(ev, columns=["msg_id", "email", "event_type", "event_ts", "campaign_id"])
    signups = pd.DataFrame(
        {
            "email": ["a@x.com", " B@Y.com", "d@z.com"],
            "campaign_id": ["c2", "c3", "c1"],
            "signup_ts": ["2025-01-07", "2025-01-02 09:41:00", "2024-12-01"],
        }
    )
    return events, campaigns, signups


def test_topic_parsing_rules():
    got = topic_from_text(
        pd.Series(
            [
                "[Mortgage] Rates are down",
                "Credit Card — New cashback",
                "Credit Card—Cashback",
                "Savings - Boost",
                "Insurance: Cover",
                "Pre-approved for you",
                "Auto Loan - Pre-approved: act now",
                "Don't miss out!",
                None,
            ]
        )
    )
    expected = [
        "Mortgage",
        "Credit Card",
        "Credit Card",
        "Savings",
        "Insurance",
        None,
        "Auto Loan",
        None,
        None,
    ]
    assert [None if pd.isna(v) else v for v in got] == expected


def test_counting_rules_on_hand_built_data():
    events, campaigns, signups = _toy()
    inp = load_inputs(events, campaigns, signups)
    res = count_pairs(inp.events, inp.topic_of_campaign, inp.signups)
    p = res.pairs.assign(email=lambda d: d.email.astype(str), topic=lambda d: d.topic.astype(str))
    p = p.set_index(["email", "topic"])
    assert set(p.index) == {
        ("a@x.com", "Mortgage"),
        ("b@y.com", "Credit Card"),
        ("b@y.com", "Savings"),
        ("c@x.com", "Credit Card"),
        ("d@z.com", "Mortgage"),
    }
    row = p.loc[("a@x.com", "Mortgage")]
    assert (row.sends, row.clicks, row.signed_up) == (2, 1, 1)  # m1 send twice, click twice
    assert row.signup_table and not row.signup_event
    assert row.last_open_ts == pd.Timestamp("2025-01-05 22:00:00", tz="UTC")
    row = p.loc[("b@y.com", "Credit Card")]
    assert (row.sends, row.clicks, row.signed_up) == (1, 1, 1)
    assert row.signup_table and row.signup_event
    row = p.loc[("b@y.com", "Savings")]
    assert (row.sends, row.clicks, row.signed_up, row.opted_out) == (1, 0, 0, True)
    assert pd.isna(row.last_open_ts)
    row = p.loc[("d@z.com", "Mortgage")]
    assert (row.sends, row.clicks, row.signed_up) == (0, 0, 1)
    pr = res.topics.set_index("topic")
    # Mortgage: 1 click / 2 sends; 2 signups (a, d) / 1 click = 2 -> clamped to 0.9
    assert pr.loc["Mortgage", "p0_click"] == 0.5
    assert pr.loc["Mortgage", "p0_sc"] == 0.9
    assert pr.loc["Credit Card", "p0_click"] == 0.5
    assert pr.loc["Savings", "p0_click"] == 1e-4  # no clicks: clamped at the floor
    assert pr.loc["Savings", "p0_sc"] == 1e-4
    assert res.as_of == pd.Timestamp("2025-01-05 22:00:00", tz="UTC")
    assert res.n_events == 13 and res.n_unique_events == 11


def test_parse_timestamps_mixed_to_utc():
    got = parse_timestamps(
        [
            "2025-03-01 10:00:00",
            "2025-03-01T12:00:00+02:00",
            "2025-03-01T10:00:00Z",
            "2025-03-01T05:00:00-05:00",
            "2025-03-01",
            "2025-03-01T10:00:00.5+00:00",
        ]
    )
    expected = pd.to_datetime(
        ["2025-03-01 10:00:00"] * 4 + ["2025-03-01", "2025-03-01 10:00:00.5"], format="ISO8601"
    )
    np.testing.assert_array_equal(got.dt.tz_convert(None).to_numpy(), expected.to_numpy())
    with pytest.raises(InputError, match="rows 3"):
        parse_timestamps(["2025-01-01", "not a time"], source="ev.csv")


# ----------------------------------------------------------------------------- validation


def test_load_errors_name_file_column_rows(tmp_path):
    events, campaigns, signups = _toy()
    bad = events.copy()
    bad.loc[3, "event_type"] = "clicked"
    with pytest.raises(InputError, match=r"event_type.*rows 5.*clicked"):
        load_inputs(bad, campaigns, signups)
    with pytest.raises(InputError, match="missing required column"):
        load_inputs(events.drop(columns="msg_id"), campaigns, signups)
    bad = events.copy()
    bad.loc[0, "campaign_id"] = "zzz"
    with pytest.raises(InputError, match=r"campaign_id.*rows 2.*zzz"):
        load_inputs(bad, campaigns, signups)
    bad = campaigns.copy()
    bad.loc[0, "topic"] = None
    with pytest.raises(InputError, match="no topic"):
        load_inputs(events, bad, signups)
    bad = events.copy()
    bad.loc[1, "email"] = "   "
    with pytest.raises(InputError, match=r"email.*rows 3"):
        load_inputs(bad, campaigns, signups)
    bad = events.copy()
    bad.loc[2, "event_ts"] = "yesterday"
    path = tmp_path / "events.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"events.csv.*event_ts.*rows 4"):
        load_inputs(path, campaigns, signups)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_inputs(tmp_path / "empty.csv", campaigns, signups)


def test_generator_counts_match_truth_and_formats_agree(tmp_path):
    data = generate_signup_data(1500, 4, seed=7)
    ev = data.events
    assert ev.duplicated(["msg_id", "event_type"]).any()  # repeated events per msg_id
    assert ev["email"].astype(str).str.contains(r"^\s|[A-Z]").any()  # dirty e-mails
    ts = ev["event_ts"].astype(str)
    assert ts.str.contains(r"[+-]\d\d:\d\d$|Z$").any() and (ts.str.len() == 19).any()
    assert data.campaigns["topic"].isna().any()
    res = count_pairs(ev, data.campaigns, data.signups)
    got = res.pairs.assign(email=res.pairs.email.astype(str), topic=res.pairs.topic.astype(str))
    merged = data.truth.merge(got, on=["email", "topic"], suffixes=("_true", ""))
    assert len(merged) == len(data.truth) == len(got)
    np.testing.assert_array_equal(merged["sends_true"], merged["sends"])
    assert merged.loc[merged.organic_owner, "signed_up"].eq(1).all()
    # signups only in the table, only in the events, and in both
    assert (got.signup_table & ~got.signup_event).any()
    assert (~got.signup_table & got.signup_event).any()
    assert (got.signup_table & got.signup_event).any()
    # CSV and Parquet give identical counts
    tables = []
    for fmt in ("csv", "parquet"):
        paths = write_signup_data(data, tmp_path / fmt, fmt=fmt)
        inp = load_inputs(paths["events"], paths["campaigns"], paths["signups"])
        tables.append(count_pairs(inp.events, inp.topic_of_campaign, inp.signups))
    for t in tables:
        pd.testing.assert_frame_equal(t.pairs, res.pairs, check_categorical=False)
        pd.testing.assert_frame_equal(t.topics, res.topics)


def test_generator_is_seeded():
    a = generate_signup_data(300, 3, seed=5)
    b = generate_signup_data(300, 3, seed=5)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.signups, b.signups)
    assert not a.events.equals(generate_signup_data(300, 3, seed=6).events)


# ----------------------------------------------------------------------------- §6 rules


def _scored():
    return pd.DataFrame(
        {
            "email": pd.Categorical(["a@x.com", "b@y.com", "c@X.com", "d@x.com", "e@z.com"]),
            "topic": pd.Categorical(["M", "M", "M", "C", "C"]),
            "sends": [3, 0, 2, 5, 1],
            "clicks": [1, 0, 0, 2, 0],
            "signed_up": [0, 0, 0, 1, 0],
            "opted_out": [False, False, True, False, False],
            "last_open_ts": pd.to_datetime(
                ["2025-03-01", None, "2025-01-01", "2025-02-20", "2025-02-27"], utc=True
            ),
            "p_click": [0.3, 0.1, 0.2, 0.4, 0.1],
            "p_signup_given_click": [0.1] * 5,
            "p_signup": [0.03, 0.01, 0.02, 0.04, 0.01],
        }
    )


def test_each_business_rule():
    df = _scored()
    aud, funnel = apply_rules(df, AudienceRules())
    # owner d, opted-out c and S=0 b dropped
    assert sorted(aud.email.astype(str)) == ["a@x.com", "e@z.com"]
    assert (aud["signed_up"] == 0).all()
    assert funnel["kept"].tolist() == [5, 4, 3, 2, 2, 2, 2, 2]
    aud, _ = apply_rules(df, AudienceRules(goal="all", min_sends=2))
    assert sorted(aud.email.astype(str)) == ["a@x.com", "d@x.com"]
    as_of = pd.Timestamp("2025-03-02", tz="UTC")
    np.testing.assert_array_equal(rule_recency(df, 3, as_of), [True, False, False, False, True])
    np.testing.assert_array_equal(
        rule_domains(df, ["X.com", "@z.com"]), [True, False, True, True, True]
    )
    np.testing.assert_array_equal(rule_top_n(df, 1), [True, False, False, True, False])
    aud, _ = apply_rules(df, AudienceRules(goal="all", min_prob=0.03))
    assert sorted(aud.email.astype(str)) == ["a@x.com", "d@x.com"]
    aud, _ = apply_rules(df, AudienceRules(goal="all", topic="C", top_n=1))
    assert aud.email.astype(str).tolist() == ["d@x.com"]
    with pytest.raises(InputError, match="unknown topic"):
        apply_rules(df, AudienceRules(topic="Nope"))
    with pytest.raises(InputError):
        AudienceRules(goal="old")


def test_top_n_ties_are_reproducible():
    df = _scored().assign(p_signup=0.5, opted_out=False, signed_up=0, sends=1)
    keep = rule_top_n(df, 1)
    assert df.email[keep].astype(str).tolist() == ["a@x.com", "d@x.com"]


def test_audience_rows_are_gathered_as_pandas_would():
    """The audience's column-by-column gather equals ``iloc`` + ``reset_index`` on every
    dtype a scored table holds (and an object column)."""
    from bayes.signup.audience import _take_rows

    n = 50
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "email": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "sends": rng.integers(0, 9, n),
            "opted_out": rng.random(n) < 0.5,
            "last_open_ts": pd.to_datetime(rng.integers(0, 10**9, n), unit="s", utc=True),
            "p_signup": rng.random(n),
            "note": rng.choice(["x", None], n),
        },
        index=np.arange(n) * 2,
    )
    rows = rng.permutation(n)[:30]
    got = _take_rows(df, rows)
    pd.testing.assert_frame_equal(got, df.iloc[rows].reset_index(drop=True))
    assert not np.shares_memory(got["sends"].to_numpy(), df["sends"].to_numpy())


def test_audience_order_is_lexsort_by_topic_then_p():
    """The threaded per-topic sort of the kept rows is ``rows[np.lexsort((-p, topic))]``: ties
    keep row order, NaN last within a topic, ``-0.0`` ties ``0.0``, a missing topic (-1)
    first; ranks past 16 bits too."""
    from bayes.signup.audience import _by_topic_then_p

    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 20_000, 80_000):
        topic = rng.integers(-1, 6, n).astype(np.int8)
        p = rng.choice([0.1, 0.25, np.nan, -0.0, 0.0, 0.3], n)
        if n == 80_000:  # more distinct values in a topic than a 16-bit rank holds
            p = np.where(rng.random(n) < 0.1, np.nan, rng.random(n).round(5))
        rows = np.sort(rng.choice(3 * n, n, replace=False))  # (the kept rows of a frame)
        want = rows[np.lexsort((-p, topic))]
        np.testing.assert_array_equal(_by_topic_then_p(rows, topic, p), want)


def test_expected_signups_is_sum_of_members():
    df = _scored()
    aud, _ = apply_rules(df, AudienceRules(goal="all", min_sends=0))
    ex = expected_signups(aud).set_index("topic")
    # kept: a, b (M; c opted out) and d, e (C)
    assert ex.loc["(all)", "expected_signups"] == pytest.approx(0.03 + 0.01 + 0.04 + 0.01)
    assert ex.loc["M", "expected_signups"] == pytest.approx(0.04)
    assert ex.loc["M", "members"] == 2


def test_score_end_to_end_and_writer(tmp_path):
    events, campaigns, signups = _toy()
    res = score(events, campaigns, signups, rules=AudienceRules(goal="all"))
    assert res.as_of == pd.Timestamp("2025-01-05 22:00:00", tz="UTC")
    path = write_audience(res.audience, tmp_path / "a.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == [
        "email",
        "topic",
        "sends",
        "clicks",
        "signed_up",
        "p_click",
        "p_signup_given_click",
        "p_signup",
    ]
    assert len(back) == 3  # d has no sends, b/Savings opted out
    np.testing.assert_allclose(back["p_signup"], res.audience["p_signup"], rtol=1e-15)
    assert res.summary()["expected_signups"] == pytest.approx(back["p_signup"].sum())


@pytest.mark.parametrize(
    ("rows", "direct"), [(1, False), (7, True), (1000, False), (1 << 20, True)]
)
def test_csv_writer_is_arrows_bytes(tmp_path, rows, direct):
    """The audience CSV, formatted block by block on threads (floats once per distinct bit
    pattern, categories once, the few-valued columns of a line coded together), is
    byte for byte ``pyarrow.csv.write_csv`` of the decoded table: quotes, commas, newlines
    and empty strings in categories, nulls everywhere, ``-0.0``, NaN, infinities, float32,
    booleans, a categorical with more categories than a block's rows, a column with many
    distinct floats last, and a type the fast path does not cover (dates: ``write_csv``);
    written through the page cache or around it (``direct``: a large audience's way)."""
    import datetime
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from bayes.signup.audience import _write_csv_parallel

    rng = np.random.default_rng(1)
    n = 3000
    few = [0.1, 1 / 3, -0.0, 0.0, np.nan, np.inf, -np.inf, 1e-300, 1.5e300, 123456789.125]
    odd = pa.array(["a@x.io", 'q"uote@x', "comma,@x", "new\nline", "plain", ""], pa.large_string())
    many = pa.array([f"user{i}@x.io" for i in range(5000)])

    def cat(k, book):
        codes = rng.integers(0, len(book), n).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=rng.random(n) < k), book)

    columns = {
        "email": cat(0.01, odd),
        "wide": cat(0, many),
        "topic": cat(0, pa.array(["M", "C"])),
        "i": pa.array(rng.integers(-(10**12), 10**12, n)),
        "sends": pa.array(rng.integers(0, 5, n), mask=rng.random(n) < 0.01),
        "few": pa.array(rng.choice(few, n), mask=rng.random(n) < 0.02),
        "f32": pa.array(rng.choice([0.1, 0.5, -0.0], n).astype(np.float32)),
        "b": pa.array(rng.random(n) < 0.5),
        "s": pa.array(rng.choice(["x", 'y"z', None], n)),
        "many": pa.array(rng.normal(size=n)),
    }
    for name, table in {
        "mixed": pa.table(columns),
        "coded last": pa.table({k: columns[k] for k in ("wide", "topic", "sends", "few", "b")}),
        "dates": pa.table({"d": pa.array([datetime.date(2025, 1, 1)] * n), **columns}),
    }.items():
        decoded = pa.table(
            [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table],
            names=table.column_names,
        )
        for t, d in ((table, decoded), (table.slice(0, 0), decoded.slice(0, 0))):
            want = io.BytesIO()
            pacsv.write_csv(d, want)
            _write_csv_parallel(t, tmp_path / "a.csv", rows=rows, direct=direct)
            assert (tmp_path / "a.csv").read_bytes() == want.getvalue(), name


def test_parquet_timestamp_column_and_large_strings(tmp_path):
    """A Parquet events file whose event_ts is a real timestamp column (zoned or naive = UTC)
    and whose strings are large_string loads to the same counts as the string version."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    events, campaigns, signups = _toy()
    ref = count_pairs(events, campaigns, signups)
    ts = parse_timestamps(events["event_ts"])
    for tz in ("UTC", "Europe/Paris", None):
        col = ts.dt.tz_convert(tz) if tz else ts.dt.tz_convert("UTC").dt.tz_localize(None)
        table = pa.table(
            {
                "msg_id": pa.array(events["msg_id"], pa.large_string()),
                "email": pa.array(events["email"], pa.large_string()),
                "event_type": events["event_type"],
                "event_ts": pa.array(col),
                "campaign_id": events["campaign_id"],
            }
        )
        assert pa.types.is_timestamp(table.schema.field("event_ts").type)
        path = tmp_path / f"ev_{str(tz).replace('/', '_')}.parquet"
        pq.write_table(table, path)
        inp = load_inputs(path, campaigns, signups)
        # e-mails are normalised at load time (lower/strip on the dictionary only)
        assert set(inp.events["email"].cat.categories) == {"a@x.com", "b@y.com", "c@x.com"}
        got = count_pairs(inp.events, inp.topic_of_campaign, inp.signups)
        pd.testing.assert_frame_equal(got.pairs, ref.pairs, check_categorical=False)
        assert got.as_of == ref.as_of


def test_encoding_rejects_campaigns_without_a_topic():
    from bayes.signup.counting import encode_events, encode_signups

    events, campaigns, signups = _toy()
    topic_of = campaign_topics(campaigns)
    with pytest.raises(ValueError, match=r"^campaign_id\(s\) without a topic: \['c9'\]"):
        encode_events(events.assign(campaign_id="c9"), topic_of)
    codes = encode_events(events, topic_of)
    with pytest.raises(ValueError, match=r"signups reference .* in the events: \['c9'\]"):
        encode_signups(signups.assign(campaign_id="c9"), topic_of, codes)
    # a topic the events never use is unknown to their code book
    only_c1 = encode_events(events[events.campaign_id == "c1"], topic_of[["c1"]])
    with pytest.raises(ValueError, match=r"\['c3'\]"):
        encode_signups(signups.iloc[[1]], topic_of, only_c1)


# ----------------------------------------------------------------------------- memory at scale


def _random_scored(rng, n=4000, shuffle=False):
    """Scored pairs with many ties in ``p_signup`` (few distinct counts), e-mails sorted
    unless ``shuffle``."""
    emails = pd.Index([f"u{i:05d}@x.com" for i in range(n // 2)])
    topics = pd.Index(["A", "B", "C"], dtype=object)
    sends = rng.integers(0, 4, n)
    df = pd.DataFrame(
        {
            "email": pd.Categorical.from_codes(np.sort(rng.integers(0, len(emails), n)), emails),
            "topic": pd.Categorical.from_codes(rng.integers(0, 3, n), topics),
            "sends": sends,
            "clicks": rng.binomial(sends, 0.5),
            "signed_up": rng.integers(0, 2, n),
            "opted_out": rng.random(n) < 0.1,
        }
    )
    df["p_signup"] = (df["clicks"] + 1) / (df["sends"] + 4)
    return df.sample(frac=1, random_state=1).reset_index(drop=True) if shuffle else df


@pytest.mark.parametrize("shuffle", [False, True])
def test_audience_order_and_expected_signups_match_the_reference_forms(rng, shuffle):
    """apply_rules sorts by (topic, p_signup desc, e-mail code) with the e-mail key dropped
    when the rows are already in e-mail order; expected_signups cuts a topic-sorted audience
    into slices: both equal the plain three-key lexsort and the groupby sums, bit for bit."""
    df = _random_scored(rng, shuffle=shuffle)
    aud, _ = apply_rules(df, AudienceRules(goal="all", min_sends=1))
    kept = df[(df["sends"] >= 1) & ~df["opted_out"]]
    order = np.lexsort(
        (kept["email"].cat.codes, -kept["p_signup"].to_numpy(), kept["topic"].cat.codes)
    )
    want = kept.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(aud, want)
    for frame in (aud, aud.sample(frac=1, random_state=2)):  # sorted: slices; else: groupby
        got = expected_signups(frame).set_index("topic")
        ref = frame.groupby("topic", observed=True)["p_signup"].agg(["size", "sum"])
        ref.index = ref.index.astype(str)
        assert got.index.tolist() == [*ref.index, "(all)"]
        assert got["members"].tolist()[:-1] == ref["size"].tolist()
        assert got["expected_signups"].tolist()[:-1] == ref["sum"].tolist()  # exactly


def test_pair_table_emails_are_arrow_strings_without_python_copies(tmp_path):
    """The e-mail categories are Arrow-backed strings (string[pyarrow]) on the pandas path as
    on the engines, and building the categorical did not turn them into a hash table of
    Python strings (pandas' uniqueness check, skipped once Arrow saw them increasing)."""
    from bayes.engines import count_signups
    from bayes.signup.counting import sorted_categorical, string_index

    data = generate_signup_data(n_recipients=300, n_topics=3, seed=5)
    paths = write_signup_data(data, tmp_path)
    for engine in ("pandas", "duckdb"):
        cats = (
            count_signups(paths["events"], paths["campaigns"], paths["signups"], engine=engine)
            .pairs["email"]
            .cat.categories
        )
        assert isinstance(cats.dtype, pd.StringDtype) and cats.dtype.storage == "pyarrow"
        assert list(cats) == sorted(cats) and cats.is_unique
    book = string_index(pa_strings(["a@x", "b@x", "c@x"]))
    cat = sorted_categorical(np.array([2, 0, 0]), book)
    assert cat.tolist() == ["c@x", "a@x", "a@x"] and "_engine" not in book._cache
    with pytest.raises(ValueError, match="unique"):  # not increasing: pandas checks, refuses
        sorted_categorical(np.array([0]), string_index(pa_strings(["b@x", "a@x", "b@x"])))


def pa_strings(values):
    import pyarrow as pa

    return pa.array(values, pa.large_string())
