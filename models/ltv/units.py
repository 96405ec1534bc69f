"""Time units of the LTV domain, explicit from the data to the prediction.

BG/NBD rates and durations (``recency``, ``T``, the scale ``alpha``) are in one time unit, chosen
when the RFM summary is built and carried in the posterior's ``time_unit`` attr. LTV horizons
are in months, whatever the unit; a month is 365.25 / 12 days.

>>> canonical_unit("W"), canonical_unit("days")
('week', 'day')
>>> round(units_per_month("week"), 4)
4.3482
"""

from __future__ import annotations

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_UNIT",
    "TIME_UNITS",
    "WEEKS_PER_MONTH",
    "canonical_unit",
    "days_per_unit",
    "unit_code",
    "units_per_month",
]

#: Days in an average month.
DAYS_PER_MONTH = 365.25 / 12
#: Weeks in an average month (365.25 / 12 / 7).
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7
#: Length of each time unit in days.
DAYS_PER_UNIT: dict[str, float] = {"day": 1.0, "week": 7.0, "month": DAYS_PER_MONTH}
#: The units, in order.
TIME_UNITS: tuple[str, ...] = tuple(DAYS_PER_UNIT)

_ALIASES = {
    "d": "day",
    "day": "day",
    "days": "day",
    "w": "week",
    "week": "week",
    "weeks": "week",
    "m": "month",
    "month": "month",
    "months": "month",
}


def canonical_unit(unit: str) -> str:
    """``"D"``/``"day"`` -> ``"day"``, ``"W"`` -> ``"week"``, ``"M"`` -> ``"month"``.

    Raises ``ValueError`` for anything else (hours, years...): the priors and the checks are
    stated for these three.
    """
    key = str(unit).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"unknown time unit {unit!r}; use D (day), W (week) or M (month)")
    return _ALIASES[key]


def unit_code(unit: str) -> str:
    """``"week"`` -> ``"W"`` (the CLI spelling)."""
    return canonical_unit(unit)[0].upper()


def days_per_unit(unit: str) -> float:
    return DAYS_PER_UNIT[canonical_unit(unit)]


def units_per_month(unit: str) -> float:
    """How many ``unit`` make a month (30.44 days, 4.348 weeks, 1 month)."""
    return DAYS_PER_MONTH / days_per_unit(unit)
