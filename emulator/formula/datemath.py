"""Date arithmetic with moment.js units: DATEADD, DATETIME_DIFF and IS_SAME."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

_ALIASES = {
    "ms": "milliseconds",
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "D": "days",
    "w": "weeks",
    "M": "months",
    "Q": "quarters",
    "y": "years",
}
_UNITS = {
    "millisecond": "milliseconds",
    "second": "seconds",
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "date": "days",
    "week": "weeks",
    "isoweek": "isoweeks",
    "month": "months",
    "quarter": "quarters",
    "year": "years",
}
_MICROSECONDS = {
    "milliseconds": 1_000,
    "seconds": 1_000_000,
    "minutes": 60_000_000,
    "hours": 3_600_000_000,
    "days": 86_400_000_000,
    "weeks": 604_800_000_000,
}
_MONTHS_PER_UNIT = {"months": 1, "quarters": 3, "years": 12}


def normalize_unit(unit: str) -> str | None:
    """Map a moment unit spelling ("M", "day", "Days", "ms") to its plural name."""
    if unit in _ALIASES:
        return _ALIASES[unit]
    name = unit.strip().lower()
    return _UNITS.get(name[:-1] if name.endswith("s") else name)


def _round_half_away(number: float) -> int:
    whole = int(abs(number) + 0.5)
    return -whole if number < 0 else whole


def add_months(value: datetime, months: int) -> datetime:
    """Move by whole months, keeping the day or clamping it to the month's last day."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def add(value: datetime, count: float, unit: str) -> datetime:
    """Add ``count`` units to a date, as moment's ``add`` does.

    Days, weeks and months round fractional counts to whole ones; smaller units
    keep the fraction.

    Raises:
        ValueError: the unit is unknown. OverflowError: the result is out of range.
    """
    name = normalize_unit(unit)
    if name in _MONTHS_PER_UNIT:
        return add_months(value, _round_half_away(count * _MONTHS_PER_UNIT[name]))
    if name in ("days", "weeks"):
        return value + timedelta(days=_round_half_away(count * (7 if name == "weeks" else 1)))
    if name in _MICROSECONDS:
        return value + timedelta(microseconds=count * _MICROSECONDS[name])
    raise ValueError(f"unknown unit {unit!r}")


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _month_diff(first: datetime, second: datetime) -> float:
    # moment's monthDiff, anchored on ``first``: whole months between the two dates
    # plus the elapsed fraction of the month in progress.
    if first.day < second.day:
        return -_month_diff(second, first)
    whole = (second.year - first.year) * 12 + (second.month - first.month)
    anchor = add_months(first, whole)
    gap = _microseconds(second - anchor)
    if gap < 0:
        span = _microseconds(anchor - add_months(first, whole - 1))
    else:
        span = _microseconds(add_months(first, whole + 1) - anchor)
    return -(whole + gap / span)


def diff(first: datetime, second: datetime, unit: str) -> int:
    """``first - second`` in whole units, truncated toward zero (DATETIME_DIFF).

    Raises:
        ValueError: the unit is unknown.
    """
    name = normalize_unit(unit)
    if name in _MONTHS_PER_UNIT:
        return int(_month_diff(first, second) / _MONTHS_PER_UNIT[name])
    if name == "isoweeks":
        name = "weeks"
    if name not in _MICROSECONDS:
        raise ValueError(f"unknown unit {unit!r}")
    total = _microseconds(first - second)
    whole = abs(total) // _MICROSECONDS[name]
    return -whole if total < 0 else whole


def start_of(value: datetime, unit: str) -> datetime:
    """The first instant of the unit (year, month, week, day, ...) holding the value.

    Raises:
        ValueError: the unit is unknown.
    """
    name = normalize_unit(unit)
    if name == "years":
        return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if name == "quarters":
        first_month = (value.month - 1) // 3 * 3 + 1
        return start_of(value, "month").replace(month=first_month)
    if name == "months":
        return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if name in ("weeks", "isoweeks"):
        back = value.weekday() if name == "isoweeks" else (value.weekday() + 1) % 7
        return start_of(value, "day") - timedelta(days=back)
    if name == "days":
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "hours":
        return value.replace(minute=0, second=0, microsecond=0)
    if name == "minutes":
        return value.replace(second=0, microsecond=0)
    if name == "seconds":
        return value.replace(microsecond=0)
    if name == "milliseconds":
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    raise ValueError(f"unknown unit {unit!r}")
