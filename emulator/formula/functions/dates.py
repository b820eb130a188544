"""Date functions: TODAY NOW IS_BEFORE IS_AFTER IS_SAME DATETIME_DIFF DATEADD DATETIME_PARSE
DATETIME_FORMAT DATESTR TIMESTR YEAR MONTH DAY HOUR MINUTE SECOND WEEKDAY WEEKNUM
SET_TIMEZONE SET_LOCALE TONOW FROMNOW WORKDAY WORKDAY_DIFF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .. import datemath
from ..dateformat import format_datetime
from ..dateparse import parse_date_text, parse_with_format
from ..model import RecordContext
from ..values import date_only, iso_datetime_text, to_text
from .coerce import as_date, as_int, as_number, items_of, plain_datetime
from .spec import FunctionSpec

# WORKDAY refuses to walk further than this many days (about 270 years).
_MAX_WORKDAY_SPAN = 100_000


def now_of(ctx: RecordContext) -> datetime:
    """The record's notion of now (fixed in tests), else the current UTC time."""
    return ctx.now or datetime.now(UTC)


def today(ctx: RecordContext) -> datetime:
    """TODAY(): the current UTC date, without a time of day."""
    now = now_of(ctx).astimezone(UTC)
    return date_only(now.year, now.month, now.day)


def is_same(first: Any, second: Any, unit: Any = None) -> bool:
    """IS_SAME(d1, d2[, unit]): whether the dates fall in the same unit (or instant)."""
    a, b = as_date(first), as_date(second)
    if unit is None:
        return a == b
    return datemath.start_of(a, to_text(unit)) == datemath.start_of(b, to_text(unit))


def datetime_diff(first: Any, second: Any, unit: Any = "seconds") -> int:
    """DATETIME_DIFF(d1, d2[, unit]): d1 - d2 in whole units, truncated toward zero."""
    return datemath.diff(as_date(first), as_date(second), to_text(unit))


def dateadd(value: Any, count: Any, unit: Any) -> datetime:
    """DATEADD(date, n, unit): the date moved by n units."""
    return datemath.add(plain_datetime(as_date(value)), as_number(count), to_text(unit))


def datetime_parse(value: Any, fmt: Any = None, locale: Any = None) -> datetime:
    """DATETIME_PARSE(text[, format[, locale]]): read a date; ISO 8601 when no format."""
    if isinstance(value, datetime):
        return plain_datetime(value)
    text, pattern = to_text(value), to_text(fmt)
    parsed = parse_with_format(text, pattern) if pattern else parse_date_text(text)
    if parsed is None:
        raise ValueError("not a date")
    return plain_datetime(parsed)


def datetime_format(value: Any, fmt: Any = None) -> str:
    """DATETIME_FORMAT(date[, format]): print with moment.js tokens; ISO 8601 by default."""
    moment = as_date(value)
    if fmt is None:
        return iso_datetime_text(moment)
    return format_datetime(moment, to_text(fmt))


def _start_is_monday(start: Any) -> bool:
    return to_text(start).strip().lower() == "monday"


def weekday(value: Any, start: Any = None) -> int:
    """WEEKDAY(date[, start]): 0-6 from Sunday, or from Monday when start is "Monday"."""
    moment = as_date(value)
    return moment.weekday() if _start_is_monday(start) else (moment.weekday() + 1) % 7


def weeknum(value: Any, start: Any = None) -> int:
    """WEEKNUM(date[, start]): week of the year; week 1 holds January 1st."""
    moment = as_date(value)
    jan1 = moment.replace(month=1, day=1)
    offset = jan1.weekday() if _start_is_monday(start) else (jan1.weekday() + 1) % 7
    return (moment.timetuple().tm_yday - 1 + offset) // 7 + 1


def set_timezone(value: Any, zone: Any) -> datetime:
    """SET_TIMEZONE(date, tz): the same moment seen in a time zone, for DATETIME_FORMAT."""
    return plain_datetime(as_date(value)).astimezone(ZoneInfo(to_text(zone).strip()))


def days_from_now(ctx: RecordContext, value: Any) -> int:
    """TONOW(date) / FROMNOW(date): whole days between now and the date."""
    return abs(datemath.diff(now_of(ctx), as_date(value), "days"))


def _holidays(value: Any) -> set[Any]:
    days = set()
    for item in items_of(value):
        for part in to_text(item).split(","):
            if part.strip():
                days.add(as_date(part.strip()).date())
    return days


def _is_workday(day: Any, holidays: set[Any]) -> bool:
    return day.weekday() < 5 and day not in holidays


def workday(start: Any, count: Any, holidays: Any = None) -> datetime:
    """WORKDAY(start, n[, holidays]): the date n working days after start."""
    day, steps, skip = as_date(start).date(), as_int(count), _holidays(holidays)
    if abs(steps) > _MAX_WORKDAY_SPAN:
        raise ValueError("too far")
    step = timedelta(days=1 if steps >= 0 else -1)
    for _ in range(abs(steps)):
        day += step
        while not _is_workday(day, skip):
            day += step
    return date_only(day.year, day.month, day.day)


def workday_diff(start: Any, end: Any, holidays: Any = None) -> int:
    """WORKDAY_DIFF(start, end[, holidays]): working days from start to end, both counted."""
    first, last, skip = as_date(start).date(), as_date(end).date(), _holidays(holidays)
    sign = 1 if last >= first else -1
    first, last = min(first, last), max(first, last)
    if (last - first).days > _MAX_WORKDAY_SPAN:
        raise ValueError("too far")
    days = ((first + timedelta(days=offset)) for offset in range((last - first).days + 1))
    return sign * sum(1 for day in days if _is_workday(day, skip))


def _part(name: str) -> FunctionSpec:
    return FunctionSpec(lambda value: getattr(as_date(value), name), 1, 1)


FUNCTIONS: dict[str, FunctionSpec] = {
    "TODAY": FunctionSpec(today, 0, 0, "record"),
    "NOW": FunctionSpec(now_of, 0, 0, "record"),
    "IS_BEFORE": FunctionSpec(lambda a, b: as_date(a) < as_date(b), 2, 2),
    "IS_AFTER": FunctionSpec(lambda a, b: as_date(a) > as_date(b), 2, 2),
    "IS_SAME": FunctionSpec(is_same, 2, 3),
    "DATETIME_DIFF": FunctionSpec(datetime_diff, 2, 3),
    "DATEADD": FunctionSpec(dateadd, 3, 3),
    "DATETIME_PARSE": FunctionSpec(datetime_parse, 1, 3),
    "DATETIME_FORMAT": FunctionSpec(datetime_format, 1, 2),
    "DATESTR": FunctionSpec(lambda value: format_datetime(as_date(value), "YYYY-MM-DD"), 1, 1),
    "TIMESTR": FunctionSpec(lambda value: format_datetime(as_date(value), "HH:mm:ss"), 1, 1),
    "YEAR": _part("year"),
    "MONTH": _part("month"),
    "DAY": _part("day"),
    "HOUR": _part("hour"),
    "MINUTE": _part("minute"),
    "SECOND": _part("second"),
    "WEEKDAY": FunctionSpec(weekday, 1, 2),
    "WEEKNUM": FunctionSpec(weeknum, 1, 2),
    "SET_TIMEZONE": FunctionSpec(set_timezone, 2, 2),
    "SET_LOCALE": FunctionSpec(lambda value, locale: as_date(value), 2, 2),
    "TONOW": FunctionSpec(days_from_now, 1, 1, "record"),
    "FROMNOW": FunctionSpec(days_from_now, 1, 1, "record"),
    "WORKDAY": FunctionSpec(workday, 2, 3),
    "WORKDAY_DIFF": FunctionSpec(workday_diff, 2, 3),
}
