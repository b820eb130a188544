"""The runtime values a formula computes with, and Airtable's coercions between them.

Values are plain Python objects so evaluation stays fast: ``None`` is blank, ``bool``
is a logical (1/0), ``int``/``float`` are numbers, ``str`` is text, an aware
``datetime`` is a date (``DateOnly`` for a date without a time), a ``list`` is a
multi-value cell and ``ErrorValue`` is ``#ERROR!``. Cell objects (attachments,
collaborators, barcodes) stay ``dict`` and read as the text Airtable shows for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# A number spelled the way JavaScript's Number() accepts it (no "inf", "nan" or "1_0").
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
# Past this magnitude JavaScript prints numbers with an exponent.
_PLAIN_LIMIT = 1e21


@dataclass(frozen=True, slots=True)
class ErrorValue:
    """An error result such as ``#ERROR!``; it is falsy and spreads through functions."""

    code: str = "#ERROR!"

    def __bool__(self) -> bool:
        return False


ERROR = ErrorValue()


class DateOnly(datetime):
    """A calendar date with no time of day: midnight UTC that prints as ``YYYY-MM-DD``."""

    __slots__ = ()


def date_only(year: int, month: int, day: int) -> DateOnly:
    """Build the ``DateOnly`` for a calendar day."""
    return DateOnly(year, month, day, tzinfo=UTC)


def is_error(value: Any) -> bool:
    """Whether ``ISERROR`` reports the value: an error or a number that is NaN."""
    return value.__class__ is ErrorValue or (value.__class__ is float and value != value)


def is_truthy(value: Any) -> bool:
    """Apply Airtable's rule for keeping a record.

    Args:
        value: a result of ``Formula.evaluate``.

    Returns:
        False for 0, false, "", NaN, an empty list, blank or an error; True otherwise.
    """
    if value is True:
        return True
    if value is None or value is False:
        return False
    cls = value.__class__
    if cls is str:
        return value != ""
    if cls is float:
        return value != 0 and value == value
    if cls is int:
        return value != 0
    if cls is list:
        return any(is_truthy(item) for item in value)
    return cls is not ErrorValue


def flatten(values: Iterable[Any]) -> Iterator[Any]:
    """Yield the items of the values, opening nested lists (multi-value cells)."""
    for value in values:
        if value.__class__ is list:
            yield from flatten(value)
        else:
            yield value


def cell_text(value: dict[str, Any]) -> str:
    """Text Airtable shows for a cell object (attachment, collaborator, barcode, ...)."""
    if "filename" in value and "url" in value:
        return f"{value['filename']} ({value['url']})"
    for key in ("name", "text", "label", "value", "email", "id"):
        item = value.get(key)
        if isinstance(item, str):
            return item
    return ""


def iso_text(value: datetime) -> str:
    """Print a date as the API does: ``YYYY-MM-DD`` for a ``DateOnly``, else full ISO."""
    if value.__class__ is DateOnly:
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return iso_datetime_text(value)


def iso_datetime_text(value: datetime) -> str:
    """Print a moment as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    utc = value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def number_text(value: float) -> str:
    """Print a number as JavaScript does (Airtable formulas run on JavaScript numbers)."""
    if value.__class__ is bool:
        return "1" if value else "0"
    if value.__class__ is int and abs(value) < _PLAIN_LIMIT:
        return str(value)
    number = _as_float(value)
    if number != number:
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number.is_integer() and abs(number) < _PLAIN_LIMIT:
        return str(int(number))
    return _js_float_text(number)


def _js_float_text(number: float) -> str:
    # repr() gives the shortest round-trip digits, as JavaScript does; only the
    # choice between positional and exponent notation differs.
    sign, digits_tuple, exponent = Decimal(repr(number)).as_tuple()
    digits = "".join(map(str, digits_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    point = len(digits_tuple) + exponent  # position of the decimal point in digits
    prefix = "-" if sign else ""
    if 0 < point <= 21:
        if point >= len(digits):
            return prefix + digits + "0" * (point - len(digits))
        return prefix + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return prefix + "0." + "0" * -point + digits
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    power = point - 1
    return f"{prefix}{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def to_text(value: Any) -> str:
    """Coerce a value to text, as ``&`` and the text functions do."""
    cls = value.__class__
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is int or cls is float or cls is bool:
        return number_text(value)
    if cls is list:
        return ", ".join(to_text(item) for item in flatten(value) if item is not None)
    if isinstance(value, datetime):
        return iso_text(value)
    if cls is dict:
        return cell_text(value)
    if cls is ErrorValue:
        return value.code
    return str(value)


def parse_number(text: str) -> float | None:
    """Read text as a number when all of it is one (surrounding spaces allowed)."""
    if _NUMERIC_TEXT.fullmatch(text) is None:
        return None
    stripped = text.strip()
    if "." in stripped or "e" in stripped or "E" in stripped or len(stripped) > 15:
        return float(stripped)
    return int(stripped)


def to_number(value: Any) -> Any:
    """Coerce a value to a number for arithmetic; returns ``ERROR`` when impossible.

    Blank is 0, true is 1, text must spell a number (else NaN), and a multi-value
    cell counts when it holds exactly one item.
    """
    cls = value.__class__
    if cls is int or cls is float:
        return value
    if value is None:
        return 0
    if cls is bool:
        return 1 if value else 0
    if cls is str:
        number = parse_number(value) if value.strip() else 0
        return math.nan if number is None else number
    if cls is list:
        items = [item for item in flatten(value) if item is not None]
        if not items:
            return 0
        return to_number(items[0]) if len(items) == 1 else to_number(to_text(items))
    if cls is ErrorValue:
        return value
    return ERROR
