"""PostgreSQL's date functions for the SQLite mirrors, so one query works on both.

Mirrors keep dates as ISO text (`2026-03-14`, `2026-03-14T09:30:00.000Z`). `dialects.py`
rewrites `EXTRACT(part FROM x)`, `DATE_TRUNC('unit', x)` and `x ± INTERVAL 'n unit'` into
calls of these functions, registered on the read-only connection; each answers as
PostgreSQL does (a part as a number, a truncated date, a shifted date) and keeps the text's
own form (a date stays a date, a date and time keeps its `T` and zone), so comparisons
with stored values still hold.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

_UNITS = {
    "years": "year", "months": "month", "weeks": "week", "days": "day",
    "hours": "hour", "minutes": "minute", "seconds": "second", "mons": "month",
}  # fmt: skip


def unit_name(text: str) -> str:
    """`DAYS`, `day`, `'Month'` as the one unit name (`day`, `month`)."""
    name = text.strip().strip("'").lower()
    return _UNITS.get(name, name)


def read_moment(value: Any) -> date | datetime | None:
    """A stored date or date and time; None for anything else (PostgreSQL would fail)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _write(moment: date | datetime, like: str) -> str:
    """`moment` in the form of the stored text `like`."""
    if not isinstance(moment, datetime):
        return moment.isoformat()
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds") if moment.tzinfo else ""
    if like.endswith("Z") and text:
        return text.replace("+00:00", "Z")
    sep = "T" if "T" in like else " "
    return text or moment.isoformat(sep=sep, timespec="seconds")


def date_part(unit: str, value: Any) -> float | int | None:
    """`EXTRACT(unit FROM value)` / `date_part('unit', value)` as PostgreSQL answers."""
    moment = read_moment(value)
    if moment is None:
        return None
    name = unit_name(unit)
    clock = moment if isinstance(moment, datetime) else None
    parts: dict[str, Any] = {
        "year": moment.year,
        "month": moment.month,
        "day": moment.day,
        "quarter": (moment.month - 1) // 3 + 1,
        "week": moment.isocalendar().week,
        "isoyear": moment.isocalendar().year,
        "dow": moment.isoweekday() % 7,
        "isodow": moment.isoweekday(),
        "doy": moment.timetuple().tm_yday,
        "decade": moment.year // 10,
        "century": (moment.year + 99) // 100,
        "hour": clock.hour if clock else 0,
        "minute": clock.minute if clock else 0,
        "second": clock.second + clock.microsecond / 1e6 if clock else 0,
        "epoch": (
            clock.timestamp()
            if clock and clock.tzinfo
            else calendar.timegm(moment.timetuple()) + (clock.microsecond / 1e6 if clock else 0)
        ),
    }
    return parts.get(name)


def date_trunc(unit: str, value: Any) -> str | None:
    """`DATE_TRUNC('unit', value)`: the start of its year, quarter, month, week, day, hour
    or minute, in the value's own form."""
    moment = read_moment(value)
    if moment is None:
        return None
    name = unit_name(unit)
    day = moment.date() if isinstance(moment, datetime) else moment
    starts = {
        "year": day.replace(month=1, day=1),
        "quarter": day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1),
        "month": day.replace(day=1),
        "week": day - timedelta(days=day.weekday()),
        "day": day,
    }
    if name in starts:
        start: date | datetime = starts[name]
        if isinstance(moment, datetime):
            start = datetime.combine(starts[name], datetime.min.time(), moment.tzinfo)
        return _write(start, value)
    if name not in ("hour", "minute"):
        return None
    if not isinstance(moment, datetime):
        return _write(datetime.combine(day, datetime.min.time()), value + "T")
    if name == "hour":
        return _write(moment.replace(minute=0, second=0, microsecond=0), value)
    if name == "minute":
        return _write(moment.replace(second=0, microsecond=0), value)
    return None


def date_shift(value: Any, amount: Any, unit: str) -> str | None:
    """`value + INTERVAL 'amount unit'` (a negative amount goes back), in the value's own
    form; a month or year step on the 31st ends on the month's last day, as in PostgreSQL."""
    moment = read_moment(value)
    try:
        count = float(amount)
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    name = unit_name(unit)
    if name in ("year", "month"):
        months = round(count * (12 if name == "year" else 1))
        total = moment.year * 12 + moment.month - 1 + months
        year, month = divmod(total, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return _write(moment.replace(year=year, month=month + 1, day=min(moment.day, last)), value)
    seconds = {"week": 604_800, "day": 86_400, "hour": 3_600, "minute": 60, "second": 1}
    if name not in seconds:
        return None
    step = timedelta(seconds=count * seconds[name])
    if not isinstance(moment, datetime) and step % timedelta(days=1) == timedelta(0):
        return _write(moment + step, value)
    if isinstance(moment, datetime):
        return _write(moment + step, value)
    return _write(datetime.combine(moment, datetime.min.time()) + step, value + "T")
