"""Relative date values in filters (`today`, `-14d`, `this_month`, `next_14_days`...).

A value is resolved against "today" in the person's time zone into a span of whole days
`[first, last]` (a single day has first == last); every value resolved is remembered so
the tool output can echo the concrete dates it used.

Forms (case-insensitive):

* days: `today`, `yesterday`, `tomorrow`, `start_of_week` / `end_of_week` (weeks start on
  Monday), `start_of_month` / `end_of_month`, `start_of_quarter` / `end_of_quarter`,
  `start_of_year` / `end_of_year`;
* offsets from today: `-14d`, `+2w`, `+3m`, `-1y` (months and years keep the day of the
  month where it exists, else the month's last day);
* periods: `this_week`, `last_week`, `next_week`, and the same for `month`, `quarter` and
  `year`;
* windows: `next_N_days` / `next_N_weeks` / `next_N_months` (today up to today + N),
  `last_N_days` / `last_N_weeks` / `last_N_months` (today - N up to today);
* a plain date `YYYY-MM-DD` (a timestamp counts by its first ten characters), or a whole
  month `YYYY-MM`, quarter `YYYY-Q1`, ISO week `YYYY-W07` or year `YYYY`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.errors import InvalidInputError

RELATIVE_HELP = (
    "YYYY-MM, YYYY-Q1, YYYY, today, yesterday, tomorrow, start_of_week, start_of_month, "
    "this_week, this_month, last_month, this_quarter, last_quarter, this_year, -14d, +2w, "
    "+3m, next_14_days, last_30_days, last_3_months"
)
_OFFSET = re.compile(r"^([+-])(\d{1,4})([dwmy])$")
_WINDOW = re.compile(r"^(next|last)_(\d{1,4})_(days|weeks|months)$")
_PERIOD = re.compile(r"^(this|last|next)_(week|month|quarter|year)$")
_WHOLE = re.compile(r"^(\d{4})(?:-(\d{2})|-q([1-4])|-w(\d{2}))?$")


def today_in(time_zone: str | None, now: datetime | None = None) -> date:
    """Today's date where the person is (UTC when the time zone is unknown or invalid)."""
    return (now or datetime.now(UTC)).astimezone(_zone(time_zone) or UTC).date()


def resolver_for(time_zone: str | None, now: datetime | None = None) -> DateResolver:
    """A resolver for today in `time_zone` (UTC when it is unknown or invalid)."""
    zone = _zone(time_zone)
    return DateResolver(today_in(time_zone, now), str(time_zone) if zone else "UTC")


def _zone(time_zone: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(time_zone) if time_zone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class DateResolver:
    """Turns filter date values into spans of days, and remembers the relative ones."""

    today: date
    time_zone: str = "UTC"
    used: dict[str, tuple[date, date]] = field(default_factory=dict)

    def span(self, value: str | None, where: str) -> tuple[date, date]:
        """`[first, last]` day of `value`.

        Raises:
            InvalidInputError: `value` is neither a date nor a relative date this knows.
        """
        text = (value or "").strip()
        found = _whole(text.lower())
        if found is not None:
            return found
        try:
            day = date.fromisoformat(text[:10])
            return day, day
        except ValueError:
            pass
        found = self._relative(text.lower())
        if found is None:
            raise InvalidInputError(
                f'"{value}" is not a date for {where}; use YYYY-MM-DD or one of: {RELATIVE_HELP}.'
            )
        self.used[text.lower()] = found
        return found

    def echo(self) -> str:
        """`next_14_days = 2026-12-07..2026-12-21` for each relative value used, or ''."""
        if not self.used:
            return ""
        parts = [
            f"{name} = {a.isoformat()}" if a == b else f"{name} = {a.isoformat()}..{b.isoformat()}"
            for name, (a, b) in self.used.items()
        ]
        return f"Dates used (today is {self.today.isoformat()}, {self.time_zone}): " + "; ".join(
            parts
        )

    def _relative(self, text: str) -> tuple[date, date] | None:
        today = self.today
        monday = today - timedelta(days=today.weekday())
        days = {
            "today": today,
            "yesterday": today - timedelta(days=1),
            "tomorrow": today + timedelta(days=1),
            "start_of_week": monday,
            "end_of_week": monday + timedelta(days=6),
            "start_of_month": today.replace(day=1),
            "end_of_month": _month_end(today),
            "start_of_quarter": _period(today, "quarter", 0)[0],
            "end_of_quarter": _period(today, "quarter", 0)[1],
            "start_of_year": date(today.year, 1, 1),
            "end_of_year": date(today.year, 12, 31),
        }
        if text in days:
            return days[text], days[text]
        if match := _OFFSET.match(text):
            sign, amount, unit = match.groups()
            day = _shift(today, int(amount) * (-1 if sign == "-" else 1), unit)
            return day, day
        if match := _WINDOW.match(text):
            way, amount, unit = match.groups()
            step = int(amount) * (1 if way == "next" else -1)
            other = _shift(today, step, unit[0])
            return (today, other) if way == "next" else (other, today)
        if match := _PERIOD.match(text):
            which, unit = match.groups()
            step = {"this": 0, "last": -1, "next": 1}[which]
            return _period(today, unit, step)
        return None


def _shift(day: date, amount: int, unit: str) -> date:
    if unit == "d":
        return day + timedelta(days=amount)
    if unit == "w":
        return day + timedelta(weeks=amount)
    months = amount * (12 if unit == "y" else 1)
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _whole(text: str) -> tuple[date, date] | None:
    """`YYYY-MM`, `YYYY-Qn`, `YYYY-Wnn` (ISO week) or `YYYY` as its first and last day,
    or None."""
    match = _WHOLE.match(text)
    if match is None:
        return None
    year, month, quarter, week = match.groups()
    if week is not None:
        try:
            monday = date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            return None
        return monday, monday + timedelta(days=6)
    if month is not None:
        if not 1 <= int(month) <= 12:
            return None
        start = date(int(year), int(month), 1)
        return start, _month_end(start)
    if quarter is not None:
        start = date(int(year), 3 * int(quarter) - 2, 1)
        return start, _month_end(_shift(start, 2, "m"))
    return date(int(year), 1, 1), date(int(year), 12, 31)


def _period(today: date, unit: str, step: int) -> tuple[date, date]:
    if unit == "week":
        start = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
        return start, start + timedelta(days=6)
    if unit in ("month", "quarter"):
        months = 3 if unit == "quarter" else 1
        first = today.replace(day=1, month=(today.month - 1) // months * months + 1)
        start = _shift(first, step * months, "m")
        return start, _month_end(_shift(start, months - 1, "m"))
    year = today.year + step
    return date(year, 1, 1), date(year, 12, 31)
