"""Converting between cell JSON and formula values, by field type.

Reading: most cells are used as they are (text, numbers, lists, cell objects read as
their display text on demand); dates are parsed, and computed fields may hold error
markers. Writing: ``to_cell_value`` turns a result into what a formula field
returns in the API.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .dateparse import parse_cell_date
from .model import FieldInfo
from .values import (
    DateOnly,
    ErrorValue,
    flatten,
    is_truthy,
    iso_datetime_text,
    iso_text,
    to_text,
)

Reader = Callable[[Any], Any]

_DATE_TYPES = frozenset({"date", "dateTime", "createdTime", "lastModifiedTime"})
_COMPUTED_TYPES = frozenset({"formula", "rollup", "multipleLookupValues", "lookup"})
TEXT_RESULT_TYPES = frozenset(
    {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber", "singleSelect"}
)
_SPECIAL_NUMBERS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# Numbers JavaScript holds exactly; larger integral results stay floats in JSON.
_EXACT_LIMIT = 2**53


def _read_date(value: Any) -> Any:
    if value.__class__ is str:
        parsed = parse_cell_date(value)
        return value if parsed is None else parsed
    if value.__class__ is list:
        return [_read_date(item) for item in value]
    return _read_marker(value)


def _read_marker(value: Any) -> Any:
    # Computed cells report failures as {"error": "#ERROR!"} or {"specialValue": "NaN"}.
    if value.__class__ is dict:
        if "error" in value:
            return ErrorValue(str(value["error"]))
        if value.get("specialValue") in _SPECIAL_NUMBERS:
            return _SPECIAL_NUMBERS[value["specialValue"]]
    if value.__class__ is list:
        return [_read_marker(item) for item in value]
    return value


def reader_for(field: FieldInfo) -> Reader | None:
    """How to turn this field's cell JSON into a formula value.

    Returns:
        A conversion function, or None when the cell JSON is used as it is.
    """
    kind = field.result_type if field.type in _COMPUTED_TYPES else field.type
    if kind in _DATE_TYPES:
        return _read_date
    if field.type in _COMPUTED_TYPES:
        return _read_marker
    return None


def _number_cell(value: float) -> Any:
    if value.__class__ is bool:
        return 1 if value else 0
    if value != value:
        return {"specialValue": "NaN"}
    if math.isinf(value):
        return {"specialValue": "Infinity" if value > 0 else "-Infinity"}
    if value.__class__ is float and value.is_integer() and abs(value) < _EXACT_LIMIT:
        return int(value)
    return value


def to_cell_value(value: Any, result_type: str | None) -> Any:
    """Convert an evaluation result into the JSON a formula field returns in the API.

    Args:
        value: a result of ``Formula.evaluate``.
        result_type: the field's ``options.result.type`` if known (``number``, ``date``,
            ``singleLineText``, ``checkbox``, ...).

    Returns:
        JSON-ready data: integral numbers as ``int``, dates as
        ``YYYY-MM-DDTHH:MM:SS.000Z`` (``YYYY-MM-DD`` for date results), errors as
        ``{"error": "#ERROR!"}``, NaN and infinities as ``{"specialValue": ...}``,
        and None for blank.
    """
    if value.__class__ is ErrorValue:
        return {"error": value.code}
    if value is None:
        return None
    if result_type in TEXT_RESULT_TYPES:
        return to_text(value) or None
    if result_type == "checkbox":
        return True if is_truthy(value) else None
    if isinstance(value, bool | int | float):
        return _number_cell(value)
    if isinstance(value, datetime):
        if result_type == "date" or (result_type is None and value.__class__ is DateOnly):
            return iso_text(value)[:10]
        return iso_datetime_text(value)
    if value.__class__ is list:
        items = [to_cell_value(item, result_type) for item in flatten(value) if item is not None]
        return items or None
    if value.__class__ is str:
        return value or None
    return value
