"""Printing dates with moment.js format tokens, as Airtable's DATETIME_FORMAT does."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

# Longest tokens first: the regex takes the first alternative that matches.
FORMAT_TOKEN = re.compile(
    r"\[[^\]]*\]|LTS|LT|LLLL|LLL|LL|L|llll|lll|ll|l|YYYYYY|YYYY|YY|Y|Qo|Q|MMMM|MMM|MM|Mo|M"
    r"|DDDD|DDDo|DDD|DD|Do|D|dddd|ddd|dd|do|d|E|e|GGGG|gggg|WW|Wo|W|ww|wo|w"
    r"|HH|H|hh|h|kk|k|mm|m|ss|s|S{1,9}|A|a|ZZ|Z|X|x|.",
    re.DOTALL,
)
LONG_FORMATS = {
    "LT": "h:mm A",
    "LTS": "h:mm:ss A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}


def ordinal(number: int) -> str:
    """English ordinal: 1st, 2nd, 3rd, 11th, 22nd."""
    if 11 <= number % 100 <= 13:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def _sunday_weekday(value: datetime) -> int:
    return (value.weekday() + 1) % 7


def locale_week(value: datetime) -> tuple[int, int]:
    """US week numbering (weeks start Sunday; week 1 holds Jan 1) as (week-year, week)."""
    week_start = value.date() - timedelta(days=_sunday_weekday(value))
    week_year = (week_start + timedelta(days=6)).year
    jan1 = datetime(week_year, 1, 1).date()
    first_start = jan1 - timedelta(days=(jan1.weekday() + 1) % 7)
    return week_year, (week_start - first_start).days // 7 + 1


def _offset(value: datetime, separator: str) -> str:
    minutes = int((value.utcoffset() or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{separator}{abs(minutes) % 60:02d}"


def _hour12(value: datetime) -> int:
    return value.hour % 12 or 12


_FORMATTERS: dict[str, Callable[[datetime], str]] = {
    "YYYYYY": lambda d: f"+{d.year:06d}",
    "YYYY": lambda d: f"{d.year:04d}",
    "YY": lambda d: f"{d.year % 100:02d}",
    "Y": lambda d: str(d.year),
    "Q": lambda d: str((d.month - 1) // 3 + 1),
    "Qo": lambda d: ordinal((d.month - 1) // 3 + 1),
    "MMMM": lambda d: MONTHS[d.month - 1],
    "MMM": lambda d: MONTHS[d.month - 1][:3],
    "MM": lambda d: f"{d.month:02d}",
    "Mo": lambda d: ordinal(d.month),
    "M": lambda d: str(d.month),
    "DDDD": lambda d: f"{d.timetuple().tm_yday:03d}",
    "DDDo": lambda d: ordinal(d.timetuple().tm_yday),
    "DDD": lambda d: str(d.timetuple().tm_yday),
    "DD": lambda d: f"{d.day:02d}",
    "Do": lambda d: ordinal(d.day),
    "D": lambda d: str(d.day),
    "dddd": lambda d: WEEKDAYS[_sunday_weekday(d)],
    "ddd": lambda d: WEEKDAYS[_sunday_weekday(d)][:3],
    "dd": lambda d: WEEKDAYS[_sunday_weekday(d)][:2],
    "do": lambda d: ordinal(_sunday_weekday(d)),
    "d": lambda d: str(_sunday_weekday(d)),
    "e": lambda d: str(_sunday_weekday(d)),
    "E": lambda d: str(d.isoweekday()),
    "GGGG": lambda d: f"{d.isocalendar()[0]:04d}",
    "gggg": lambda d: f"{locale_week(d)[0]:04d}",
    "WW": lambda d: f"{d.isocalendar()[1]:02d}",
    "Wo": lambda d: ordinal(d.isocalendar()[1]),
    "W": lambda d: str(d.isocalendar()[1]),
    "ww": lambda d: f"{locale_week(d)[1]:02d}",
    "wo": lambda d: ordinal(locale_week(d)[1]),
    "w": lambda d: str(locale_week(d)[1]),
    "HH": lambda d: f"{d.hour:02d}",
    "H": lambda d: str(d.hour),
    "hh": lambda d: f"{_hour12(d):02d}",
    "h": lambda d: str(_hour12(d)),
    "kk": lambda d: f"{d.hour or 24:02d}",
    "k": lambda d: str(d.hour or 24),
    "mm": lambda d: f"{d.minute:02d}",
    "m": lambda d: str(d.minute),
    "ss": lambda d: f"{d.second:02d}",
    "s": lambda d: str(d.second),
    "A": lambda d: "PM" if d.hour >= 12 else "AM",
    "a": lambda d: "pm" if d.hour >= 12 else "am",
    "ZZ": lambda d: _offset(d, ""),
    "Z": lambda d: _offset(d, ":"),
    "X": lambda d: str(int(d.timestamp())),
    "x": lambda d: str(int(d.timestamp() * 1000)),
}


def format_datetime(value: datetime, fmt: str) -> str:
    """Print a date with a moment.js format string, in the date's own time zone."""
    parts: list[str] = []
    for match in FORMAT_TOKEN.finditer(fmt):
        token = match.group()
        if token in LONG_FORMATS:
            parts.append(format_datetime(value, LONG_FORMATS[token]))
        elif token in _FORMATTERS:
            parts.append(_FORMATTERS[token](value))
        elif token.startswith("S"):
            parts.append(f"{value.microsecond:06d}{'0' * 3}"[: len(token)])
        elif token.startswith("["):
            parts.append(token[1:-1])
        else:
            parts.append(token)
    return "".join(parts)
