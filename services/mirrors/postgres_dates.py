"""SQLite's date functions in PostgreSQL terms, so one query works on both.

Models used to SQLite write `strftime('%Y-%m', x)`, `date('now', '-30 days')` and
`julianday(x)`; `habits.py` rewrites each call into these PostgreSQL expressions (TO_CHAR,
CURRENT_TIMESTAMP plus an INTERVAL, the epoch in days), which answer as SQLite does. A
pattern or modifier with no PostgreSQL equivalent is a `ValueError` saying which.
"""

from __future__ import annotations

import re

from sqlglot import exp

from services.mirrors.sqlite_dates import unit_name

_STRFTIME = {
    "%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI", "%S": "SS",
    "%j": "DDD", "%y": "YY", "%F": "YYYY-MM-DD", "%T": "HH24:MI:SS", "%I": "HH12",
    "%p": "AM", "%A": "FMDay", "%a": "Dy", "%B": "FMMonth", "%b": "Mon", "%u": "ID",
    "%e": "FMDD",
}  # fmt: skip


def strftime_as_to_char(pattern: exp.Expression, value: exp.Expression) -> exp.Expression:
    """SQLite's strftime(pattern, x) as PostgreSQL's TO_CHAR, piece by piece."""
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise ValueError("strftime needs its pattern as text")
    moment = value
    if isinstance(value, exp.Literal) and value.name.lower() == "now":
        moment = exp.CurrentTimestamp()
    elif isinstance(value, exp.Literal):
        moment = exp.cast(value.copy(), exp.DataType.build("timestamp"))
    pieces: list[exp.Expression] = []
    for chunk in re.split(r"(%.)", pattern.name):
        if not chunk:
            continue
        if chunk == "%%" or not chunk.startswith("%"):
            pieces.append(exp.Literal.string(chunk.replace("%%", "%")))
        elif chunk == "%w":  # 0 = Sunday, as EXTRACT(DOW)
            dow = exp.Extract(this=exp.var("DOW"), expression=moment.copy())
            pieces.append(exp.cast(exp.cast(dow, "int"), "text"))
        elif chunk == "%s":
            epoch = exp.Extract(this=exp.var("EPOCH"), expression=moment.copy())
            pieces.append(exp.cast(exp.cast(epoch, "bigint"), "text"))
        elif chunk in _STRFTIME:
            text = exp.Literal.string(_STRFTIME[chunk])
            pieces.append(exp.Anonymous(this="TO_CHAR", expressions=[moment.copy(), text]))
        else:
            raise ValueError(f"strftime's {chunk} has no PostgreSQL equivalent")
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = exp.DPipe(this=joined, expression=piece)
    return joined


_MODIFIER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s+(\w+?)s?\s*$", re.IGNORECASE)


def date_with_modifiers(name: str, args: list[exp.Expression]) -> exp.Expression:
    """SQLite's date('now', '-30 days', 'start of month') as PostgreSQL dates."""
    first, modifiers = args[0], args[1:]
    target = exp.DataType.build("date" if name == "date" else "timestamp")
    if isinstance(first, exp.Literal) and first.name.lower() == "now":
        moment: exp.Expression = exp.CurrentTimestamp()
    else:
        moment = exp.cast(first.copy(), exp.DataType.build("timestamp"))
    for modifier in modifiers:
        text = modifier.name if isinstance(modifier, exp.Literal) else ""
        found = _MODIFIER.match(text)
        start = re.match(r"^\s*start of (month|year|day)\s*$", text, re.IGNORECASE)
        if found:
            amount = f"{found.group(1)} {unit_name(found.group(2))}"
            moment = exp.Add(this=moment, expression=exp.Interval(this=exp.Literal.string(amount)))
        elif start:
            unit = exp.var(start.group(1).upper())
            moment = exp.TimestampTrunc(this=moment, unit=unit)
        else:
            raise ValueError(f"date modifier {modifier.sql()} has no PostgreSQL equivalent")
    return exp.cast(moment, target)


def julian_day(value: exp.Expression, kind: str | None) -> exp.Expression:
    """julianday(x) as PostgreSQL days: the epoch in days plus the epoch's Julian day."""
    if isinstance(value, exp.Literal) and value.name.lower() == "now":
        moment: exp.Expression = exp.CurrentTimestamp()
    elif isinstance(value, exp.Literal) or kind == "date":
        moment = exp.cast(value.copy(), exp.DataType.build("timestamp"))
    else:
        moment = value.copy()
    epoch = exp.Extract(this=exp.var("EPOCH"), expression=moment)
    days = exp.Div(this=epoch, expression=exp.Literal.number("86400.0"))
    return exp.Paren(this=exp.Add(this=days, expression=exp.Literal.number("2440587.5")))
