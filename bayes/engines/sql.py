"""One SQL text for DuckDB and Spark: the few functions spelled differently, per dialect.

Every aggregation of :mod:`bayes.engines` is written once as SQL that both engines parse
(``WITH``, ``GROUP BY``, ``count(*) FILTER (WHERE …)``, ``bool_or``, ``FULL OUTER JOIN``,
``TRY_CAST``, ``CAST(… AS STRING)``). Where the two spell a function differently the SQL holds a
call to a :class:`Dialect` method instead:

========================  ==================================  =================================
meaning                    DuckDB                              Spark SQL
========================  ==================================  =================================
timestamp -> UTC µs        ``epoch_us(TRY_CAST(x AS            ``unix_micros(TRY_CAST(x AS
(naive = UTC)              TIMESTAMPTZ))`` (session UTC)       TIMESTAMP))`` (session UTC)
strip ``str.isspace``      ``trim(x, chars)``                  ``trim(BOTH chars FROM x)``
whole days since epoch     ``epoch_us(x) // 86400000000``      same with ``div``
========================  ==================================  =================================

Why SQL and not Ibis: the definitions are a handful of ``GROUP BY`` queries that read best as
SQL, both engines run SQL natively (no translation layer between the text reviewed here and
the plan executed), and it adds no dependency; the dialect differences are the three functions
above, tested by running every query on both engines.
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
        removes (:data:`bayes.signup.counting.WHITESPACE`)."""
        if self.name == "duckdb":
            return f"trim({expr}, {literal(WHITESPACE)})"
        return f"trim(BOTH {literal(WHITESPACE)} FROM {expr})"

    def normalized(self, expr: str) -> str:
        """Seed 003 §2 e-mail (and event type) normalisation: ``lower().strip()``."""
        return f"lower({self.trim_space(f'CAST({expr} AS STRING)')})"

    def idiv(self, a: str, b: str) -> str:
        """Integer division rounding towards minus infinity (``a`` and ``b`` integers, b > 0)."""
        if self.name == "duckdb":
            return f"(({a}) // ({b}))"
        return f"CAST(floor(({a}) / ({b})) AS BIGINT)"


DIALECTS: dict[str, Dialect] = {name: Dialect(name) for name in ("duckdb", "spark")}
