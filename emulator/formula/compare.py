"""Comparison operators with Airtable's coercions (blank, numbers in text, dates in text)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .dateparse import parse_date_text
from .values import ErrorValue, iso_text, parse_number, to_text

Comparator = Callable[[Any, Any], bool]

OPERATORS: dict[str, Comparator] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_NUMBER_CLASSES = (int, float, bool)


def compare(op: Comparator, left: Any, right: Any) -> Any:
    """Compare two values the way Airtable's operators do.

    Args:
        op: one of ``OPERATORS``.
        left: the left operand.
        right: the right operand.

    Returns:
        True or False, or the first operand's error.
    """
    if left.__class__ is ErrorValue:
        return left
    if right.__class__ is ErrorValue:
        return right
    pair = _coerce_pair(_scalar(left), _scalar(right))
    if pair is None:
        # Values of unrelated kinds (a date and a number, a date and blank) are unequal
        # and unordered.
        return op is operator.ne
    return op(pair[0], pair[1])


def _scalar(value: Any) -> Any:
    # Multi-value cells and cell objects compare as the text Airtable shows for them.
    cls = value.__class__
    if cls is list:
        text = to_text(value)
        return text or None
    if cls is dict:
        return to_text(value)
    return value


def _blank_like(other: Any) -> Any:
    # An empty cell equals 0 next to a number and "" next to text.
    if isinstance(other, _NUMBER_CLASSES):
        return 0
    if other.__class__ is str:
        return ""
    return None


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any] | None:
    if left is None:
        if right is None:
            return 0, 0
        left = _blank_like(right)
        return None if left is None else (left, right)
    if right is None:
        right = _blank_like(left)
        return None if right is None else (left, right)
    if isinstance(left, _NUMBER_CLASSES):
        if isinstance(right, _NUMBER_CLASSES):
            return left, right
        if right.__class__ is str:
            number = parse_number(right)
            return (left, number) if number is not None else (to_text(left), right)
        return None
    if isinstance(left, datetime):
        if isinstance(right, datetime):
            return left, right
        if right.__class__ is str:
            moment = parse_date_text(right)
            return (left, moment) if moment is not None else (iso_text(left), right)
        return None
    if left.__class__ is str:
        if right.__class__ is str:
            return left, right
        swapped = _coerce_pair(right, left)
        return None if swapped is None else (swapped[1], swapped[0])
    return None
