"""Type conversion between an Airtable cell, a SQL column value and the one canonical form
the merge compares.

Canonical forms (JSON-able, so snapshots store them as they are):
- text, single select: `str`, empty → None;
- number: `int` when integral, else `float`;
- checkbox: `bool` (Airtable leaves unchecked boxes out: False);
- date: `"YYYY-MM-DD"`;
- datetime: ISO 8601 in UTC to the millisecond, `"2026-01-02T03:04:05.000Z"`; a SQL value
  without a zone is read in the mapping's `timezone`;
- multiple selects, links as record IDs (`links`) and links as the linked records' primary
  names (`link_names`): a sorted list of `str`; SQL holds them as text, comma-separated,
  or as JSON in a JSON column. For `link_names` the Airtable side's IDs become names and
  names become IDs around the conversion (`services/sync/links.py`), so the merge and the
  snapshots see names.

A value that cannot convert raises `ConversionError` with the reason; the run skips that
record and logs the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

Kind = Literal[
    "text", "number", "date", "datetime", "checkbox", "select", "multiselect", "links", "link_names"
]
KINDS: tuple[Kind, ...] = (
    "text",
    "number",
    "date",
    "datetime",
    "checkbox",
    "select",
    "multiselect",
    "links",
    "link_names",
)
LIST_KINDS: frozenset[Kind] = frozenset({"multiselect", "links", "link_names"})

# Airtable field types each kind accepts.
AIRTABLE_TYPES: dict[Kind, frozenset[str]] = {
    "text": frozenset(
        {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber"}
    ),
    "number": frozenset({"number", "currency", "percent", "rating", "duration"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"dateTime"}),
    "checkbox": frozenset({"checkbox"}),
    "select": frozenset({"singleSelect"}),
    "multiselect": frozenset({"multipleSelects"}),
    "links": frozenset({"multipleRecordLinks"}),
    "link_names": frozenset({"multipleRecordLinks"}),
}

_TEXT = frozenset({"string", "text", "unicode", "unicodetext", "varchar", "char"})
# SQL column types (SQLAlchemy's generic class names, lower-case) each kind accepts. Text
# columns may hold numbers and dates as text; a value there that does not read as one is
# skipped at run time with the reason.
SQL_TYPES: dict[Kind, frozenset[str]] = {
    "text": _TEXT,
    "number": _TEXT
    | frozenset({"integer", "biginteger", "smallinteger", "numeric", "float", "double"}),
    "date": _TEXT | frozenset({"date"}),
    "datetime": _TEXT | frozenset({"datetime", "datetime_tz"}),
    "checkbox": frozenset({"boolean", "integer", "smallinteger"}),
    "select": frozenset({"string", "text", "unicode", "unicodetext", "varchar", "char"}),
    "multiselect": frozenset({"string", "text", "unicode", "unicodetext", "varchar", "json"}),
    "links": frozenset({"string", "text", "unicode", "unicodetext", "varchar", "json"}),
    "link_names": frozenset({"string", "text", "unicode", "unicodetext", "varchar", "json"}),
}


class ConversionError(ValueError):
    """A value that has no meaning in the other side's type (the message says why)."""


@dataclass(frozen=True)
class Converter:
    """Conversion for one mapped field."""

    kind: Kind
    timezone: str = "UTC"

    def from_airtable(self, value: Any) -> Any:
        return _READERS[self.kind](value, self._zone)

    def from_sql(self, value: Any) -> Any:
        return _READERS[self.kind](value, self._zone)

    def to_airtable(self, value: Any) -> Any:
        if self.kind == "checkbox":
            return bool(value)
        return value

    def to_sql(self, value: Any, *, column_type: str) -> Any:
        if value is None:
            return False if self.kind == "checkbox" and column_type == "boolean" else None
        if column_type in _TEXT and self.kind in ("number", "date", "datetime"):
            return str(value)
        if self.kind == "date":
            return date.fromisoformat(value)
        if self.kind == "datetime":
            moment = _parse_datetime(value, UTC)
            if column_type == "datetime_tz":
                return moment
            return moment.astimezone(self._zone).replace(tzinfo=None)
        if self.kind in LIST_KINDS:
            return json.dumps(value) if column_type == "json" else ",".join(value)
        if self.kind == "checkbox" and column_type != "boolean":
            return int(bool(value))
        return value

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _text(value: Any, _zone: ZoneInfo) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ConversionError(f"{_short(value)} is not text")
    text = str(value)
    return text or None


def _number(value: Any, _zone: ZoneInfo) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ConversionError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ConversionError(f"{_short(value)} is not a number") from exc
    if not number.is_finite():
        raise ConversionError(f"{_short(value)} is not a finite number")
    as_float = float(number)
    if number == number.to_integral_value() and math.isfinite(as_float):
        return int(number)
    return as_float


def _checkbox(value: Any, _zone: ZoneInfo) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ConversionError(f"{_short(value)} is not a checkbox value")


def _date(value: Any, _zone: ZoneInfo) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError as exc:
        raise ConversionError(f"{_short(value)} is not a date") from exc


def _datetime(value: Any, zone: ZoneInfo) -> str | None:
    if value is None or value == "":
        return None
    moment = _parse_datetime(value, zone).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_datetime(value: Any, zone: ZoneInfo | Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConversionError(f"{_short(value)} is not a date and time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _names(value: Any, _zone: ZoneInfo) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        items: list[Any] = json.loads(stripped) if stripped.startswith("[") else stripped.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ConversionError(f"{_short(value)} is not a list")
    names = sorted({str(i).strip() for i in items if str(i).strip()})
    return names or None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_READERS: dict[Kind, Callable[[Any, ZoneInfo], Any]] = {
    "text": _text,
    "select": _text,
    "number": _number,
    "checkbox": _checkbox,
    "date": _date,
    "datetime": _datetime,
    "multiselect": _names,
    "links": _names,
    "link_names": _names,
}
