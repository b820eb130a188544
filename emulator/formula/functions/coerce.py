"""Argument coercions shared by the function tables; they raise when a value does not fit,
and the compiled call turns that into ``#ERROR!``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..dateparse import parse_date_text
from ..values import DateOnly, ErrorValue, flatten, to_number


def as_number(value: Any) -> float:
    """The value as a number (blank is 0).

    Raises:
        ValueError: the value is not a number.
    """
    number = to_number(value)
    if number.__class__ is ErrorValue:
        raise ValueError("not a number")
    return number


def as_int(value: Any) -> int:
    """The value as a whole number, truncated toward zero.

    Raises:
        ValueError: not a finite number. OverflowError: infinite.
    """
    return int(as_number(value))


def as_date(value: Any) -> datetime:
    """The value as a date: a date, or text that reads as one.

    Raises:
        ValueError: blank or not a date.
    """
    if isinstance(value, datetime):
        return value
    if value.__class__ is str:
        parsed = parse_date_text(value)
        if parsed is not None:
            return parsed
    if value.__class__ is list:
        items = [item for item in flatten(value) if item is not None]
        if len(items) == 1:
            return as_date(items[0])
    raise ValueError("not a date")


def plain_datetime(value: datetime) -> datetime:
    """Drop the date-only marker, for results that carry a time of day."""
    if value.__class__ is DateOnly:
        return datetime(value.year, value.month, value.day, tzinfo=value.tzinfo)
    return value


def items_of(value: Any) -> list[Any]:
    """The items of a multi-value argument; a single value is a list of one."""
    if value is None:
        return []
    return list(flatten([value]))
