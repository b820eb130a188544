"""PostgreSQL's text functions for the SQLite mirrors, so one query works on both.

`dialects.py` and `habits.py` rewrite `TO_CHAR(date, 'YYYY-MM')`, `SPLIT_PART`, `CONCAT`,
`CONCAT_WS` and every `STRING_AGG`/`GROUP_CONCAT` into calls of these, registered on the
read-only connection; each answers as PostgreSQL does (SQLite 3.40 has none of them, and
its `group_concat` takes neither DISTINCT with a separator nor ORDER BY).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from services.mirrors.sqlite_dates import read_moment

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_PATTERN = re.compile(
    r'"[^"]*"|FM|YYYY|YY|MONTH|Month|month|MON|Mon|mon|MM|DAY|Day|day|DY|Dy|dy|DDD|DD|ID|IW|'
    r"WW|D|Q|HH24|HH12|HH|MI|SS|AM|PM|am|pm"
)


def _case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    return word.lower() if like.islower() else word


def _token(moment: date, token: str, fill: bool) -> str:
    """One TO_CHAR pattern of `moment`; `fill` pads as PostgreSQL does without FM."""
    clock = moment if isinstance(moment, datetime) else datetime(moment.year, 1, 1)
    if token.upper() in ("MONTH", "DAY"):
        name = _MONTHS[moment.month - 1] if token.upper() == "MONTH" else _DAYS[moment.weekday()]
        name = _case(name, token)
        return name.ljust(9) if fill else name
    if token.upper() in ("MON", "DY"):
        name = _MONTHS[moment.month - 1] if token.upper() == "MON" else _DAYS[moment.weekday()]
        return _case(name[:3], token)
    numbers: dict[str, tuple[int, int]] = {
        "YYYY": (moment.year, 4),
        "YY": (moment.year % 100, 2),
        "MM": (moment.month, 2),
        "DD": (moment.day, 2),
        "DDD": (moment.timetuple().tm_yday, 3),
        "D": (moment.isoweekday() % 7 + 1, 1),
        "ID": (moment.isoweekday(), 1),
        "IW": (moment.isocalendar().week, 2),
        "WW": ((moment.timetuple().tm_yday - 1) // 7 + 1, 2),
        "Q": ((moment.month - 1) // 3 + 1, 1),
        "HH24": (clock.hour if isinstance(moment, datetime) else 0, 2),
        "HH12": ((clock.hour % 12 or 12) if isinstance(moment, datetime) else 12, 2),
        "HH": ((clock.hour % 12 or 12) if isinstance(moment, datetime) else 12, 2),
        "MI": (clock.minute if isinstance(moment, datetime) else 0, 2),
        "SS": (clock.second if isinstance(moment, datetime) else 0, 2),
    }
    if token in numbers:
        value, width = numbers[token]
        return str(value).zfill(width) if fill else str(value)
    hour = clock.hour if isinstance(moment, datetime) else 0
    return _case("AM" if hour < 12 else "PM", token)


def to_char(value: Any, pattern: Any) -> str | None:
    """`TO_CHAR(date, 'YYYY-MM')` as PostgreSQL formats a date or date and time (names in
    English, `FM` drops the padding, text in double quotes kept as it is)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number's pattern (999.99) is not a date's: refuse rather than answer NULL.
        raise ValueError("TO_CHAR formats dates here; round a number with ROUND(x, 2)")
    moment = read_moment(value)
    if moment is None or not isinstance(pattern, str):
        return None
    out: list[str] = []
    position, fill = 0, True
    for match in _PATTERN.finditer(pattern):
        out.append(pattern[position : match.start()])
        position = match.end()
        token = match.group()
        if token == "FM":  # noqa: S105 - a pattern, not a secret
            fill = False
            continue
        out.append(token[1:-1] if token.startswith('"') else _token(moment, token, fill))
        fill = True
    out.append(pattern[position:])
    return "".join(out)


def split_part(text: Any, delimiter: Any, index: Any) -> str | None:
    """`SPLIT_PART(text, delimiter, n)`: the nth piece (from the end when n < 0), '' past
    the last."""
    if text is None or delimiter is None or index is None:
        return None
    pieces = str(text).split(str(delimiter)) if delimiter != "" else [str(text)]
    n = int(index)
    if n == 0:
        return None
    picked = n - 1 if n > 0 else len(pieces) + n
    return pieces[picked] if 0 <= picked < len(pieces) else ""


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def concat(*values: Any) -> str:
    """`CONCAT(a, b, ...)`: the values as text, empty ones skipped."""
    return "".join(_text(v) for v in values if v is not None)


def concat_ws(separator: Any, *values: Any) -> str | None:
    if separator is None:
        return None
    return str(separator).join(_text(v) for v in values if v is not None)


class OrderedConcat:
    """`STRING_AGG(value, sep [ORDER BY k1 [DESC], ...])`, DISTINCT too, called as
    `(value, sep, distinct, k1, desc1, k2, desc2, ...)`: the values joined in key order,
    empty keys last (without ORDER BY the key is the value, so both databases agree)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, list[Any]]] = []
        self.separator = ","
        self.distinct = False
        self.descending: list[bool] = []

    def step(self, value: Any, separator: Any, distinct: Any, *keys: Any) -> None:
        if separator is not None:
            self.separator = str(separator)
        self.distinct = bool(distinct)
        self.descending = [bool(d) for d in keys[1::2]]
        if value is not None:
            self.rows.append((_text(value), list(keys[0::2])))

    def finalize(self) -> str | None:
        if not self.rows:
            return None
        ordered = list(self.rows)
        for index in reversed(range(len(self.descending))):  # stable: last key first
            desc = self.descending[index]
            present = [r for r in ordered if r[1][index] is not None]
            present.sort(key=lambda r: (isinstance(r[1][index], str), r[1][index]), reverse=desc)
            ordered = present + [r for r in ordered if r[1][index] is None]
        values = [v for v, _ in ordered]
        if self.distinct:
            values = list(dict.fromkeys(values))
        return self.separator.join(values)
