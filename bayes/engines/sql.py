"""One SQL text for DuckDB and Spark: the few functions spelled differently, per dialect.

Every aggregation of :mod:`bayes.engines` is written once as SQL that both engines parse
(``WITH``, ``GROUP BY``, ``count(*) FILTER (WHERE …)``, ``bool_or``, ``min_by``,
``FULL OUTER JOIN``, ``TRY_CAST``, ``CAST(… AS STRING)``, ``DECIMAL``). Where the two spell a
function differently the SQL holds a call to a :class:`Dialect` method instead:

=========================  ===================================  ================================
meaning                    DuckDB                               Spark SQL
=========================  ===================================  ================================
timestamp -> UTC µs        ``epoch_us(TRY_CAST(x AS             ``unix_micros(TRY_CAST(x AS
(naive = UTC)              TIMESTAMPTZ))`` (session UTC)        TIMESTAMP))`` (session UTC)
strip ``str.isspace``      ``trim(x, chars)``                   ``trim(BOTH chars FROM x)``
=========================  ===================================  ================================

Why SQL and not Ibis: the definitions are a handful of ``GROUP BY`` queries that read best as
SQL, both engines run SQL natively (no translation layer between the text reviewed here and
the plan executed), and it adds no dependency; the dialect differences are the two functions
above, tested by running every query on both engines against the pandas reference.

Speed: a function over every event row costs as much as a hash aggregation, so the per-row
expressions take a fast path for the common case (an e-mail with no surrounding whitespace
skips the 29-character trim; an event type already spelled ``send`` skips normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass

from bayes.signup.counting import WHITESPACE

__all__ = ["DIALECTS", "Dialect", "literal"]


def literal(text: str) -> str:
    """A SQL string literal (single quotes doubled). Both dialects accept any other character
    inside quotes; the strings quoted here hold no backslash."""
    if "\\" in text:
        raise ValueError("backslashes are not portable in SQL literals")
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Dialect:
    """The spelling of the few functions DuckDB and Spark SQL write differently."""

    name: str

    def utc_micros(self, expr: str) -> str:
        """Microseconds since the epoch, UTC; NULL where ``expr`` does not parse. Strings in
        ISO 8601 with a ``Z``/``±HH:MM`` offset are converted; naive ones are UTC (the session
        time zone is UTC); timestamp columns are taken as they are."""
        if self.name == "duckdb":
            return f"epoch_us(TRY_CAST({expr} AS TIMESTAMPTZ))"
        return f"unix_micros(TRY_CAST({expr} AS TIMESTAMP))"

    def trim_space(self, expr: str) -> str:
        """``expr`` without the leading and trailing characters Python's ``str.strip()``
        removes (:data:`bayes.signup.counting.WHITESPACE`). Spaces go first (cheap); the
        full set is trimmed only where the first or last character is still one of it."""
        ws = literal(WHITESPACE)
        y = f"trim({expr})"
        full = f"trim({y}, {ws})" if self.name == "duckdb" else f"trim(BOTH {ws} FROM {y})"
        return (
            f"CASE WHEN instr({ws}, left({y}, 1)) > 0 OR instr({ws}, right({y}, 1)) > 0 "
            f"THEN {full} ELSE {y} END"
        )

    def normalized(self, expr: str) -> str:
        """Seed 003 §2 e-mail (and event type) normalisation: ``lower().strip()``."""
        return f"lower({self.trim_space(f'CAST({expr} AS STRING)')})"

    def blank(self, expr: str) -> str:
        """``expr`` is NULL or only :data:`~bayes.signup.counting.WHITESPACE` (checked in full
        only when it starts with such a character)."""
        x = f"CAST({expr} AS STRING)"
        return (
            f"CASE WHEN {expr} IS NULL THEN true "
            f"WHEN instr({literal(WHITESPACE)}, left({x}, 1)) = 0 AND {x} <> '' THEN false "
            f"ELSE {self.trim_space(x)} = '' END"
        )

    def code(self, expr: str, values) -> str:
        """The position of ``normalized(expr)`` in ``values`` (NULL if absent); values already
        spelled as listed skip the normalisation."""

        def case(x):
            whens = " ".join(f"WHEN {literal(v)} THEN {i}" for i, v in enumerate(values))
            return f"CASE {x} {whens} END"

        x = f"CAST({expr} AS STRING)"
        listed = ", ".join(literal(v) for v in values)
        return f"CASE WHEN {x} IN ({listed}) THEN {case(x)} ELSE {case(self.normalized(expr))} END"


DIALECTS: dict[str, Dialect] = {name: Dialect(name) for name in ("duckdb", "spark")}
