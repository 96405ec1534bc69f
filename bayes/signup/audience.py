"""Seed 003 §6: the seven business rules, composable, and the end-to-end ``score`` pipeline.

Each rule is a function ``frame -> boolean mask`` over scored ``(email, topic)`` rows, applied in
the seed's order by :func:`apply_rules`, which also records how many rows every rule keeps.
An audience is built per topic (a campaign has one topic), so the top-N cut applies within each
topic. Expected signups (§6) are the sum of member probabilities; for the hierarchical model
also a credible interval from the per-draw sums.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.io import InputError, row_numbers
from bayes.progress import Stages
from models.signup import DEFAULT_ALPHA, HierarchicalSignupModel, eb_scores
from priors.spec import interval_names

__all__ = [
    "AudienceResult",
    "AudienceRules",
    "OUTPUT_COLUMNS",
    "apply_rules",
    "expected_signups",
    "rule_domains",
    "rule_goal",
    "rule_min_probability",
    "rule_min_sends",
    "rule_opt_out",
    "rule_recency",
    "rule_top_n",
    "score",
    "refuse_impossible_counts",
    "score_pairs",
    "write_audience",
]

OUTPUT_COLUMNS: tuple[str, ...] = (
    "email",
    "topic",
    "sends",
    "clicks",
    "signed_up",
    "p_click",
    "p_signup_given_click",
    "p_signup",
)


@dataclass(frozen=True)
class AudienceRules:
    """Settings of the seven rules of seed §6, with the seed's defaults.

    ``goal="new"`` (new acquisition, rule 1) excludes owners; ``"all"`` keeps them.
    ``min_sends`` is ``S_min`` (default 1). ``recency_days`` (rule 4), ``domains`` (rule 5),
    ``min_prob`` (rule 6, ``tau``) and ``top_n`` (rule 7, per topic) are off when ``None``.
    ``as_of`` anchors recency (default: the latest ``event_ts`` in the data). ``topic``
    restricts the audience to one topic.
    """

    goal: str = "new"
    min_sends: int = 1
    recency_days: float | None = None
    as_of: pd.Timestamp | None = None
    domains: tuple[str, ...] | None = None
    min_prob: float | None = None
    top_n: int | None = None
    topic: str | None = None

    def __post_init__(self):
        if self.goal not in ("new", "all"):
            raise InputError(f"goal must be 'new' or 'all', got {self.goal!r}")
        if self.min_sends < 0:
            raise InputError(f"min_sends must be >= 0, got {self.min_sends}")
        if self.recency_days is not None and self.recency_days < 0:
            raise InputError(f"recency_days must be >= 0, got {self.recency_days}")
        if self.min_prob is not None and not 0 <= self.min_prob <= 1:
            raise InputError(f"min_prob must lie in [0, 1], got {self.min_prob}")
        if self.top_n is not None and self.top_n < 1:
            raise InputError(f"top_n must be >= 1, got {self.top_n}")


# ----------------------------------------------------------------------------- the rules


def rule_goal(df: pd.DataFrame, goal: str = "new") -> np.ndarray:
    """Rule 1: under new acquisition exclude owners — recipients with a signup in the topic,
    detected exactly like ``Y`` (events or mapped signups table, any time)."""
    if goal == "all":
        return np.ones(len(df), bool)
    return df["signed_up"].to_numpy() == 0


def rule_opt_out(df: pd.DataFrame) -> np.ndarray:
    """Rule 2: exclude recipients with an unsubscribe or complaint in the topic."""
    return ~df["opted_out"].to_numpy(bool)


def rule_min_sends(df: pd.DataFrame, min_sends: int = 1) -> np.ndarray:
    """Rule 3: minimum exposure ``S >= S_min`` (also drops ``S = 0``, seed §7)."""
    return df["sends"].to_numpy() >= min_sends


def rule_recency(df: pd.DataFrame, days: float | None, as_of: pd.Timestamp | None) -> np.ndarray:
    """Rule 4 (optional): keep recipients whose last open in the topic is within ``days`` of
    ``as_of``; recipients who never opened in the topic are dropped."""
    if days is None:
        return np.ones(len(df), bool)
    if as_of is None:
        raise InputError("recency needs an as-of time (no event timestamps in the data)")
    last = df["last_open_ts"]
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=float(days))
    return (last.notna() & (last >= cutoff)).to_numpy()


def rule_domains(df: pd.DataFrame, domains) -> np.ndarray:
    """Rule 5 (optional): keep only the listed e-mail domains (case-insensitive, ``@`` optional).
    The domain (after the last ``@``) is computed on the unique e-mails only, in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from bayes.signup.counting import arrow_strings

    if not domains:
        return np.ones(len(df), bool)
    wanted = {d.strip().lower().lstrip("@") for d in domains if d.strip()}
    emails = df["email"]
    cat = emails if isinstance(emails.dtype, pd.CategoricalDtype) else emails.astype("category")
    domain = pc.utf8_lower(
        pc.replace_substring_regex(arrow_strings(cat.cat.categories), "(?s)^.*@", "")
    )
    keep = pc.is_in(domain, value_set=pa.array(sorted(wanted), domain.type))
    keep = np.append(np.asarray(keep.to_numpy(zero_copy_only=False), bool), False)
    return keep[cat.cat.codes.to_numpy()]  # code -1 (a missing e-mail) is the appended False


def rule_min_probability(df: pd.DataFrame, tau: float | None) -> np.ndarray:
    """Rule 6 (optional): keep ``p_signup >= tau``."""
    if tau is None:
        return np.ones(len(df), bool)
    return df["p_signup"].to_numpy() >= tau


def rule_top_n(df: pd.DataFrame, n: int | None) -> np.ndarray:
    """Rule 7: the top ``n`` recipients by ``p_signup`` within each topic (ties broken by the
    e-mail's code so the cut is reproducible)."""
    if n is None:
        return np.ones(len(df), bool)
    order = _audience_order(df)
    topic_sorted = df["topic"].cat.codes.to_numpy()[order]
    rank = pd.Series(topic_sorted).groupby(topic_sorted).cumcount().to_numpy()
    keep = np.zeros(len(df), bool)
    keep[order[rank < n]] = True
    return keep


def _audience_order(df: pd.DataFrame) -> np.ndarray:
    """Row order: topic, then ``p_signup`` descending, then the e-mail's code (its order of
    first appearance in the data; alphabetical for sorted categoricals) to break ties
    reproducibly."""
    return np.lexsort(
        (
            df["email"].cat.codes.to_numpy(),
            -df["p_signup"].to_numpy(),
            df["topic"].cat.codes.to_numpy(),
        )
    )


def apply_rules(scored: pd.DataFrame, rules: AudienceRules, *, as_of=None):
    """Apply the seven rules (plus the optional topic restriction) in the seed's order.

    Returns ``(audience, funnel)``: the kept rows sorted by topic and ``p_signup`` descending,
    and a table of how many rows remain after each rule.
    """
    as_of = rules.as_of if rules.as_of is not None else as_of
    steps = []
    df = scored
    if rules.topic is not None:
        topics = set(map(str, df["topic"].cat.categories))
        if rules.topic not in topics:
            raise InputError(f"unknown topic {rules.topic!r}; the data has {sorted(topics)}")
        df = df[(df["topic"] == rules.topic).to_numpy()]
    steps.append(("all (email, topic) pairs", len(df)))

    def off(label, value):
        return f"{label} (off)" if value is None else f"{label} {value}"

    # rules 1-6 look at one row at a time: their masks are combined on the whole frame and
    # the rows copied once (at 17M pairs a copy per rule costs more than the rules);
    # rule 7 ranks within the rows kept so far
    keep = np.ones(len(df), bool)
    for name, fn in (
        (f"1 goal={rules.goal}", lambda d: rule_goal(d, rules.goal)),
        ("2 no unsubscribe/complaint in topic", rule_opt_out),
        (f"3 sends >= {rules.min_sends}", lambda d: rule_min_sends(d, rules.min_sends)),
        (
            off("4 last open within days:", rules.recency_days),
            lambda d: rule_recency(d, rules.recency_days, as_of),
        ),
        (
            off("5 domains:", ",".join(rules.domains) if rules.domains else None),
            lambda d: rule_domains(d, rules.domains),
        ),
        (off("6 p_signup >=", rules.min_prob), lambda d: rule_min_probability(d, rules.min_prob)),
    ):
        keep &= fn(df)
        steps.append((name, int(keep.sum())))
    rows = np.flatnonzero(keep)
    if rules.top_n is not None:
        df = df.iloc[rows]
        rows = np.flatnonzero(rule_top_n(df, rules.top_n))
    steps.append((off("7 top-N per topic:", rules.top_n), len(rows)))
    # the audience order computed on the kept rows' keys (a stable sort: rows already in
    # e-mail order, as a pair table is, need no e-mail key), then one copy of the frame,
    # renumbered in place (``reset_index`` would copy it again: ~1 GB at 100M events)
    email = df["email"].cat.codes.to_numpy()[rows]
    p, topic = df["p_signup"].to_numpy()[rows], df["topic"].cat.codes.to_numpy()[rows]
    if len(email) > 1 and (np.diff(email) < 0).any():
        rows = rows[np.lexsort((email, -p, topic))]
    else:
        rows = _by_topic_then_p(rows, topic, p)
    del email, p, topic
    return _take_rows(df, rows), pd.DataFrame(steps, columns=["rule", "kept"])


def _by_topic_then_p(rows: np.ndarray, topic: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``rows[np.lexsort((-p, topic))]`` (ties in row order), sorted as a stable radix sort
    of the small topic codes, then each topic's rows by ``-p`` — the topics on threads, as
    numpy's sorts and gathers leave the GIL (0.6 against 1.5 s for 15.75M rows on 2 cores).

    Within a topic the EB probabilities take few distinct values (one per ``(S, C, Y)``:
    ~80 among 800k rows at 100M events), so they are ranked once and the rows sorted by
    their 16-bit rank, a radix sort, where a stable sort of the floats is a merge sort
    (0.87 → 0.43 s of CPU for the 20 topics); equal values (``0.0`` and ``-0.0`` too) share
    a rank, NaN ranks last, as in the float sort."""
    from concurrent.futures import ThreadPoolExecutor

    order = np.argsort(topic, kind="stable")
    bounds = np.flatnonzero(np.diff(topic[order])) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(order)]
    out = np.empty_like(rows)

    def by_p(k: int) -> None:
        segment = order[starts[k] : ends[k]]
        codes, values = pd.factorize(p[segment])  # (NaN: code -1)
        _, rank = np.unique(-values, return_inverse=True)  # (equal values: one rank)
        key = np.append(rank, len(values))[codes]  # (NaN, code -1: the last rank)
        if len(values) < 2**15 - 1:
            key = key.astype(np.int16)
        out[starts[k] : ends[k]] = rows[segment[np.argsort(key, kind="stable")]]

    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        list(pool.map(by_p, np.argsort(starts - ends)))  # (largest topics first)
    return out


def _threads() -> int:
    """Threads for the audience's sorts and CSV blocks: the cores, at most four."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def _take_rows(df: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``df.iloc[rows]`` renumbered from 0, gathered column by column on a few threads:
    pandas' take of a frame gathers its 2-D blocks (three int64 and three bool columns of a
    scored table) at about half the speed of one column at a time (5.0 against 2.3 s for
    15.75M of 17.3M rows), numpy's take leaves the GIL (two threads: 2.3 → 1.25 s, with
    ordinary pages — under huge pages the new arrays' faults serialised), and
    ``reset_index`` would copy the result once more. Same values, dtypes and column order;
    the columns stay separate blocks."""
    from concurrent.futures import ThreadPoolExecutor

    def take(name):
        values = df[name].array
        if isinstance(values, pd.arrays.NumpyExtensionArray):
            return np.take(values.to_numpy(), rows)
        return values.take(rows)  # categorical, zoned datetime…: their own take

    names = list(df.columns)
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        columns = dict(zip(names, pool.map(take, names), strict=True))
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), copy=False)


def expected_signups(audience: pd.DataFrame, model=None, *, prob: float = 0.9, seed: int = 0):
    """Seed §6: ``E[signups] = sum_i p_signup_i`` per topic and in total.

    With a fitted :class:`HierarchicalSignupModel` also the ``prob`` credible interval of the
    sum (``lower_90``, ``upper_90``), from per-draw sums over members (see
    ``expected_signups_draws``).
    """
    lo_name, hi_name = interval_names(prob)
    rows = []
    groups = list(_topic_groups(audience))
    groups.append(("(all)", audience))
    for topic, g in groups:
        row = {"topic": topic, "members": len(g), "expected_signups": float(g["p_signup"].sum())}
        if model is not None:
            draws = model.expected_signups_draws(g, seed=seed)
            lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2]) if len(g) else (0, 0)
            row.update({lo_name: float(lo), hi_name: float(hi)})
        rows.append(row)
    return pd.DataFrame(rows)


def _topic_groups(audience: pd.DataFrame):
    """``(topic, rows)`` per observed topic, in category order, as ``groupby("topic",
    observed=True)`` gives them. An audience sorted by topic (as :func:`apply_rules` returns
    it) is cut into slices — views, where the groupby would copy the whole frame to sort it
    (15.75M rows at 100M events: ~1 GB) — the same rows in the same order."""
    topic = audience["topic"]
    codes = topic.cat.codes.to_numpy() if isinstance(topic.dtype, pd.CategoricalDtype) else None
    if codes is None or (codes < 0).any() or (len(codes) and (np.diff(codes) < 0).any()):
        yield from ((str(t), g) for t, g in audience.groupby("topic", observed=True))
        return
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(codes)], strict=True):
        if end > start:
            yield str(topic.cat.categories[codes[start]]), audience.iloc[start:end]


# ----------------------------------------------------------------------------- pipeline


@dataclass
class AudienceResult:
    """Everything ``bayes signup score`` produces."""

    audience: pd.DataFrame
    funnel: pd.DataFrame
    expected: pd.DataFrame
    priors: pd.DataFrame
    scored: pd.DataFrame
    method: str
    rules: AudienceRules
    as_of: pd.Timestamp | None
    timings: dict = field(default_factory=dict)
    model: HierarchicalSignupModel | None = None
    info: dict = field(default_factory=dict)
    #: wall, CPU and span of each stage (:class:`bayes.progress.Stages`): the engine's
    #: ``load``, ``query``, ``frame`` (pandas: none), then ``score`` and ``rules``
    stages: Stages | None = None

    def summary(self) -> dict:
        """Machine-readable summary (``--json``, ``summary.json``): the same inputs and seed
        give the same summary (timings are in :attr:`timings`, not here)."""
        total = self.expected[self.expected["topic"] == "(all)"].iloc[0].to_dict()
        rules = asdict(self.rules)
        rules["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        out = {
            "method": self.method,
            "rules": rules,
            "audience_size": int(len(self.audience)),
            "expected_signups": total["expected_signups"],
            "by_topic": self.expected.to_dict(orient="records"),
            "funnel": self.funnel.to_dict(orient="records"),
            "topic_priors": self.priors.to_dict(orient="records"),
            **self.info,
        }
        for k in [c for c in total if c.startswith(("lower_", "upper_"))]:
            out[f"expected_signups_{k}"] = total[k]
        if self.model is not None:
            out["model"] = {
                "priors": self.model.priors_.to_dict(),
                "sampler": self.model.sampler_.to_dict(),
                "signup_likelihood": self.model.signup_likelihood,
                **getattr(self.model, "info_", {}),
            }
            diag = self.model.diagnostics_.to_dict()
            out["diagnostics"] = diag
            out["ok"] = diag["ok"]
            out["problems"] = diag["problems"]
        return out


def score_pairs(
    pairs: pd.DataFrame,
    priors: pd.DataFrame,
    *,
    method: str = "eb",
    alpha_c: float = DEFAULT_ALPHA,
    alpha_sc: float = DEFAULT_ALPHA,
    model: HierarchicalSignupModel | None = None,
    prob: float = 0.9,
    source: str | None = None,
) -> tuple[pd.DataFrame, HierarchicalSignupModel | None]:
    """Score every pair by the seed's EB (§4-§5) or the hierarchical model (fitted here on all
    pairs unless a fitted ``model`` is given; ``source`` is recorded as its data source)."""
    if method == "eb":
        return eb_scores(pairs, priors, alpha_c=alpha_c, alpha_sc=alpha_sc), None
    if method == "hierarchical":
        model = model if model is not None else HierarchicalSignupModel()
        if not hasattr(model, "idata_"):
            model.fit(pairs, source=source)
        return model.pair_table(pairs, prob=prob), model
    raise InputError(f"method must be 'eb' or 'hierarchical', got {method!r}")


def score(
    events,
    campaigns,
    signups=None,
    *,
    rules: AudienceRules | None = None,
    method: str = "eb",
    alpha_c: float = DEFAULT_ALPHA,
    alpha_sc: float = DEFAULT_ALPHA,
    model: HierarchicalSignupModel | None = None,
    prob: float = 0.9,
    source: str | None = None,
) -> AudienceResult:
    """Seed §9 end to end: load and validate, count, topic priors, score, business rules,
    expected signups. Inputs are paths (CSV/Parquet) or DataFrames; the counting runs on the
    active aggregation engine (:func:`bayes.engines.count_signups`). Impossible counts are
    refused (:func:`refuse_impossible_counts`). ``source`` is the data source a hierarchical
    fit records (default: the events path as given)."""
    from bayes.engines import arrow_pages_kept, count_signups, no_huge_page_stalls
    from bayes.signup.data import load_inputs

    rules = rules or AudienceRules()
    counts = count_signups(events, campaigns, signups)
    refuse_impossible_counts(counts.pairs, lambda: load_inputs(events, campaigns, signups))
    pairs, priors = counts.pairs, counts.topics
    timings = dict(counts.timings)
    stages = counts.stages if counts.stages is not None else Stages()
    with no_huge_page_stalls(), arrow_pages_kept():
        with stages("score"):
            scored, model = score_pairs(
                pairs,
                priors,
                method=method,
                alpha_c=alpha_c,
                alpha_sc=alpha_sc,
                model=model,
                prob=prob,
                source=source or counts.sources.get("events"),
            )
        with stages("rules"):
            audience, funnel = apply_rules(scored, rules, as_of=counts.as_of)
            expected = expected_signups(audience, model, prob=prob)
    timings["score"], timings["rules"] = stages.wall["score"], stages.wall["rules"]
    info = {
        "n_events": counts.n_events,
        "n_unique_events": counts.n_unique_events,
        "n_pairs": int(len(pairs)),
        "sources": counts.sources,
        "engine": counts.engine,
        "counted": counts.plan_text(),
    }
    return AudienceResult(
        audience=audience,
        funnel=funnel,
        expected=expected,
        priors=priors,
        scored=scored,
        method=method,
        rules=rules,
        as_of=rules.as_of or counts.as_of,
        timings=timings,
        model=model,
        info=info,
        stages=stages,
    )


def write_audience(audience: pd.DataFrame, path: str | Path) -> Path:
    """Write the audience (the :data:`OUTPUT_COLUMNS` plus any interval columns) atomically;
    CSV goes through PyArrow's writer, which is fast on millions of rows."""
    import pyarrow as pa

    from bayes.engines import arrow_pages_kept
    from bayes.io import atomic_path, write_table
    from bayes.signup.counting import arrow_strings

    cols = list(OUTPUT_COLUMNS) + [c for c in audience.columns if c.startswith("p_signup_")]
    cols = [c for c in cols if c in audience.columns and c != "p_signup_given_click"]
    cols.insert(cols.index("p_signup"), "p_signup_given_click")
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return write_table(audience[cols].astype({"email": str, "topic": str}), path)

    def column(c):  # no copy of the frame; categoricals stay codes until their block is written
        s = audience[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = arrow_strings(s.cat.categories)
            codes = pa.array(s.cat.codes.to_numpy().astype(np.int32, copy=False))
            return pa.DictionaryArray.from_arrays(codes, cats)
        return pa.array(s.to_numpy())

    with arrow_pages_kept():  # (the blocks' buffers reuse the pages of the blocks before)
        table = pa.table({c: column(c) for c in cols})
        with atomic_path(path) as tmp:
            _write_csv_parallel(table, tmp)
    return path


def _write_csv_parallel(table, path, *, rows: int = 1 << 19, direct: bool | None = None) -> None:
    """PyArrow's CSV of ``table``, encoded block by block on a few threads and written in
    order: the same bytes as one ``write_csv`` call of the decoded table, with the memory of
    a few blocks.

    Formatting floats is the cost of a CSV (~0.3 µs a value), and a scored audience holds
    few distinct probabilities (one per topic and counts under the seed's EB): a block's
    floats are formatted once per distinct value and gathered, as are the quoted strings of
    a categorical column (once per category). The cells are Arrow's own (its cast to text,
    its quoting), joined into lines; a column of another type sends its block through
    ``write_csv`` itself (:func:`_csv_lines` returns None). A file of a million rows or
    more (``direct=None``) is written around the page cache (:class:`bayes.io.DirectFile`)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.csv as pacsv

    def encode(start: int):
        part = table.slice(start, rows)
        header = start == 0
        lines = _csv_lines(part, books)
        if lines is not None:
            if not header:
                return lines
            sink = pa.BufferOutputStream()
            pacsv.write_csv(pa.table({n: [] for n in part.column_names}), sink)
            return sink.getvalue().to_pybytes() + lines.to_pybytes()
        part = pa.table(  # dictionary columns decoded block by block (in Arrow, not Python)
            [
                c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
                for c in part.columns
            ],
            names=part.column_names,
        )
        sink = pa.BufferOutputStream()
        pacsv.write_csv(part, sink, write_options=pacsv.WriteOptions(include_header=header))
        return sink.getvalue()

    from bayes.io import DirectFile

    workers = _threads()
    starts = range(0, max(table.num_rows, 1), rows)
    direct = table.num_rows >= 1 << 20 if direct is None else direct
    sink = DirectFile(path) if direct else open(path, "wb")
    with ThreadPoolExecutor(max_workers=workers) as pool, sink as out:
        books = {}  # a categorical column's cells, once per category (in slices, in parallel)
        for i, c in enumerate(table.columns):
            if pa.types.is_dictionary(c.type) and c.num_chunks == 1:
                values = c.chunk(0).dictionary
                step = max(1, -(-len(values) // workers))
                cuts = [values.slice(k, step) for k in range(0, max(len(values), 1), step)]
                done = list(pool.map(_csv_cells, cuts))
                books[i] = None if any(x is None for x in done) else pa.concat_arrays(done)
        pending: deque = deque()
        for start in starts:
            pending.append(pool.submit(encode, start))
            if len(pending) > workers:
                out.write(pending.popleft().result())
        while pending:
            out.write(pending.popleft().result())


def _csv_cells(values):
    """The CSV cells of an Arrow array as ``pyarrow.csv.write_csv`` writes them: strings
    quoted (inner quotes doubled), numbers and booleans through Arrow's cast to text, nulls
    empty; None for a type this does not cover."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        q, nothing = pa.scalar('"', t), pa.scalar("", t)
        quoted = pc.binary_join_element_wise(q, pc.replace_substring(values, '"', '""'), q, nothing)
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        quoted = pc.cast(values, pa.string())
    else:
        return None
    return quoted.fill_null("")


def _csv_lines(part, books: dict):
    """The CSV lines (no header) of the table ``part`` as one buffer, or None when a column's
    type is not covered by :func:`_csv_cells`.

    A column with few distinct values in the block (at most a quarter of its rows: a topic,
    a count, an EB probability) is coded: its cells are formatted once per distinct value,
    found on the value's bit pattern (``-0.0`` and ``0.0``, or two NaNs, are never
    confused). Consecutive coded columns are coded together (their combined code), so that
    a line is one gather of its distinct tail (``"topic",sends,…,p_signup\\n``) joined to the
    cells of the columns with many values (the e-mail)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = part.num_rows
    if part.num_columns == 0:
        return None
    if n == 0:
        return pa.py_buffer(b"")
    large = pa.large_string()
    comma, newline, nothing = (pa.scalar(x, large) for x in (",", "\n", ""))
    segments: list = []  # per-row cells, or [(codes, cells of each code), …] of a run
    for i, column in enumerate(part.columns):
        column = column.combine_chunks()
        coded = None
        if pa.types.is_dictionary(column.type):
            book = books.get(i)
            if book is None:
                return None
            coded = (column.indices, book)
        elif pa.types.is_floating(column.type):  # distinct bit patterns
            bits = pa.int64() if column.type.bit_width == 64 else pa.int32()
            found = pc.dictionary_encode(column.view(bits))
            coded = (found.indices, _csv_cells(found.dictionary.view(column.type)))
        elif pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
            found = pc.dictionary_encode(column)
            coded = (found.indices, _csv_cells(found.dictionary))
        if coded is not None and 4 * len(coded[1]) <= n:
            indices, book = coded
            book = pa.concat_arrays([book.cast(large), pa.array([""], large)])  # + the null
            codes = indices.fill_null(len(book) - 1).to_numpy(zero_copy_only=False)
            if segments and isinstance(segments[-1], list):
                segments[-1].append((codes.astype(np.int64), book))
            else:
                segments.append([(codes.astype(np.int64), book)])
            continue
        cells = coded[1].take(coded[0]).fill_null("") if coded is not None else _csv_cells(column)
        if cells is None:
            return None
        segments.append(cells.cast(large))
    lines = []
    for k, segment in enumerate(segments):
        if not isinstance(segment, list):
            lines.append(segment)
            continue
        run: list = []  # the combined code of a run fits 62 bits
        for codes, book in segment:
            if run and math.prod(len(b) for _, b in run) * len(book) >= 2**62:
                lines.append(_joint_cells(run, comma, None))
                run = []
            run.append((codes, book))
        lines.append(_joint_cells(run, comma, newline if k == len(segments) - 1 else None))
    line = lines[0] if len(lines) == 1 else pc.binary_join_element_wise(*lines, comma)
    if not isinstance(segments[-1], list):
        line = pc.binary_join_element_wise(line, newline, nothing)
    _, offsets, data = line.buffers()
    first, end = np.frombuffer(offsets, np.int64)[[line.offset, line.offset + len(line)]]
    return data.slice(int(first), int(end - first))


def _joint_cells(run, comma, newline):
    """The cells of consecutive coded columns ``run`` (``[(codes, cells of each code)]``)
    joined by commas: formatted once per distinct combination present, then gathered
    (``newline``: appended to each, for the last columns of a line)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    key = np.zeros(len(run[0][0]), np.int64)
    for codes, book in run:
        key = key * len(book) + codes
    found = pc.dictionary_encode(pa.array(key))
    distinct = found.dictionary.to_numpy()
    parts = []
    for _, book in reversed(run):
        parts.append(book.take(distinct % len(book)))
        distinct = distinct // len(book)
    parts.reverse()
    text = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, comma)
    if newline is not None:
        text = pc.binary_join_element_wise(text, newline, pa.scalar("", newline.type))
    return text.take(found.indices)


def refuse_impossible_counts(pairs: pd.DataFrame, inputs) -> None:
    """Refuse impossible counts before any scoring (README: impossible counts are refused).

    A pair with more unique clicks than unique sends (click events whose message has no send
    event) would be scored ``p_click > 1``: :class:`InputError` names the events file, the
    ``event_type`` column and the rows of those click events, and the first pairs.
    ``inputs`` is the validated :class:`~bayes.signup.data.SignupInputs` or a function giving
    them: called only when a pair is impossible (counts from a SQL engine are checked
    without reading the events into pandas; the rows are found on the failure path).
    """
    bad = pairs["clicks"].to_numpy() > pairs["sends"].to_numpy()
    if not bad.any():
        return
    if callable(inputs):
        inputs = inputs()
    b = pairs[bad]
    ev = inputs.events
    emails = set(map(str, b["email"].astype(str)))
    cand = (
        ev["email"].astype(str).isin(emails).to_numpy() & (ev["event_type"] == "click").to_numpy()
    )
    topic = inputs.topic_of_campaign.reindex(ev["campaign_id"][cand].astype(str)).to_numpy()
    key = pd.MultiIndex.from_arrays([ev["email"][cand].astype(str).to_numpy(), topic])
    bad_keys = pd.MultiIndex.from_arrays([b["email"].astype(str), b["topic"].astype(str)])
    mask = np.zeros(len(ev), bool)
    mask[np.flatnonzero(cand)[key.isin(bad_keys)]] = True
    examples = "; ".join(
        f"{r.email} / {r.topic}: {r.clicks} clicks, {r.sends} sends" for r in b.head(3).itertuples()
    )
    raise InputError(
        f"{int(bad.sum())} (email, topic) pair(s) have more unique clicks than unique sends "
        f"(click events whose msg_id has no send event), which would give p_click > 1 ({examples})",
        source=inputs.sources.get("events"),
        column="event_type",
        rows=row_numbers(mask, limit=20),
    )
