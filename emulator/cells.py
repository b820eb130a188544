"""Validation and typecasting of cell values on write.

Each writable field type accepts the JSON shape listed in AIRTABLE_API.md. With
``typecast`` strings are converted best-effort, unknown select options are created and
link text is matched against (or creates) records of the linked table. Those side
effects are collected in a :class:`WritePlan` and applied only if the whole request is
valid.
"""

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from emulator import errors
from emulator.fieldtypes import TEXT_TYPES
from emulator.ids import format_time, has_prefix, new_id, parse_time
from emulator.schema import Base, Field, Table, is_empty

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TYPECAST_DATE_FORMATS = (
    "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y",
    "%d %b %Y", "%B %d %Y", "%b %d %Y",
)  # fmt: skip
_TRUE_WORDS = frozenset({"true", "yes", "y", "checked", "check", "x", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "n", "unchecked", "0", "off", ""})


@dataclass
class WritePlan:
    """Side effects of a typecast write, applied after every cell validated.

    Attributes:
        new_choices: Field ID -> select option names to create.
        new_links: Linked table ID -> {new record ID: primary field text}.
        new_attachments: Attachments written by URL (their size and type get read).
    """

    new_choices: dict[str, list[str]] = field(default_factory=dict)
    new_links: dict[str, dict[str, str]] = field(default_factory=dict)
    new_attachments: list[dict[str, Any]] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_from_text(text: str, *, percent: bool) -> float | int | None:
    cleaned = re.sub(r"[\s,$€£¥]", "", text)
    is_percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if percent and is_percent:
        number /= 100
    return int(number) if number.is_integer() and "." not in cleaned else number


def _duration_from_text(text: str) -> float | None:
    parts = text.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 1:
        return numbers[0]
    total = 0.0
    for number in numbers:
        total = total * 60 + number
    return total * (60 if len(numbers) == 2 else 1)


def parse_date(text: str, *, typecast: bool) -> str | None:
    """Return ``YYYY-MM-DD`` for an ISO date/time (or, with typecast, common formats)."""
    text = text.strip()
    if _DATE_RE.match(text):
        try:
            return datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%d")
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d")
    except ValueError:
        pass
    if typecast:
        for fmt in _TYPECAST_DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
            except ValueError:
                continue
    return None


def parse_datetime(text: str, *, typecast: bool) -> str | None:
    """Return an Airtable UTC timestamp for an ISO date/time (or a typecast date)."""
    try:
        return format_time(parse_time(text.strip()))
    except ValueError:
        day = parse_date(text, typecast=typecast)
        return f"{day}T00:00:00.000Z" if day else None


class CellWriter:
    """Turns API cell values into stored values for one table and one request."""

    def __init__(self, base: Base, table: Table, *, typecast: bool, plan: WritePlan) -> None:
        self.base = base
        self.table = table
        self.typecast = typecast
        self.plan = plan

    def coerce(self, fld: Field, value: Any, current: Any = None) -> Any:
        """Validate ``value`` for ``fld`` and return what to store (``None`` clears).

        Args:
            fld: The target field.
            value: The JSON value sent by the client.
            current: The stored value before this write (attachments keep their IDs).

        Raises:
            ApiError: 422 ``INVALID_VALUE_FOR_COLUMN``, ``INVALID_MULTIPLE_CHOICE_OPTIONS``
                or the computed-field error.
        """
        if fld.computed:
            raise errors.computed_field(fld.name)
        if value is None:
            return None
        handler = _HANDLERS.get(fld.type)
        if handler is None:
            raise errors.invalid_value(fld.name)
        result = handler(self, fld, value, current)
        return None if is_empty(result) else result

    def _bad(self, fld: Field) -> errors.ApiError:
        return errors.invalid_value(fld.name)

    def _text(self, fld: Field, value: Any, current: Any) -> str:
        if isinstance(value, str):
            return value
        if self.typecast and (_is_number(value) or isinstance(value, bool)):
            return str(value).lower() if isinstance(value, bool) else f"{value:g}"
        if self.typecast and isinstance(value, list):
            return ", ".join(str(v) for v in value)
        raise self._bad(fld)

    def _number(self, fld: Field, value: Any, current: Any) -> float | int:
        if _is_number(value):
            if value != value or value in (float("inf"), float("-inf")):
                raise self._bad(fld)
            return value
        if self.typecast and isinstance(value, str):
            if fld.type == "duration":
                parsed: float | int | None = _duration_from_text(value)
            else:
                parsed = _number_from_text(value, percent=fld.type == "percent")
            if parsed is not None:
                return parsed
        if self.typecast and isinstance(value, bool):
            return int(value)
        raise self._bad(fld)

    def _rating(self, fld: Field, value: Any, current: Any) -> int:
        number = self._number(fld, value, current)
        maximum = int(fld.option("max", 5))
        if number != int(number) or not 1 <= number <= maximum:
            raise self._bad(fld)
        return int(number)

    def _checkbox(self, fld: Field, value: Any, current: Any) -> bool:
        if isinstance(value, bool):
            return value
        if self.typecast:
            if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
                return value.strip().lower() in _TRUE_WORDS
            if _is_number(value):
                return value != 0
        raise self._bad(fld)

    def _choice(self, fld: Field, name: Any) -> str:
        if not isinstance(name, str):
            if self.typecast and (_is_number(name) or isinstance(name, bool)):
                name = str(name)
            else:
                raise self._bad(fld)
        choices = {c["name"] for c in fld.option("choices", [])}
        if name in choices or name == "":
            return name
        pending = self.plan.new_choices.setdefault(fld.id, [])
        if not self.typecast:
            raise errors.invalid_select_option(name)
        if name not in pending:
            pending.append(name)
        return name

    def _single_select(self, fld: Field, value: Any, current: Any) -> str:
        return self._choice(fld, value)

    def _multiple_selects(self, fld: Field, value: Any, current: Any) -> list[str]:
        if isinstance(value, str) and self.typecast:
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise self._bad(fld)
        names: list[str] = []
        for item in value:
            name = self._choice(fld, item)
            if name and name not in names:
                names.append(name)
        return names

    def _date(self, fld: Field, value: Any, current: Any) -> str:
        parsed = parse_date(value, typecast=self.typecast) if isinstance(value, str) else None
        if parsed is None:
            raise self._bad(fld)
        return parsed

    def _datetime(self, fld: Field, value: Any, current: Any) -> str:
        parsed = parse_datetime(value, typecast=self.typecast) if isinstance(value, str) else None
        if parsed is None:
            raise self._bad(fld)
        return parsed

    def _links(self, fld: Field, value: Any, current: Any) -> list[str]:
        linked = self.base.table_by_id(fld.option("linkedTableId"))
        if isinstance(value, str) and self.typecast:
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise self._bad(fld)
        ids: list[str] = []
        for item in value:
            rec_id = self._link_target(fld, linked, item)
            if rec_id not in ids:
                ids.append(rec_id)
        return ids

    def _link_target(self, fld: Field, linked: Table, item: Any) -> str:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            item = item["id"]
        if not isinstance(item, str):
            raise self._bad(fld)
        if item in linked.records:
            return item
        pending = self.plan.new_links.setdefault(linked.id, {})
        if item in pending:
            return item
        if not self.typecast or has_prefix(item, "rec"):
            raise errors.invalid_value(fld.name, f"record {item} does not exist in {linked.name}")
        primary = linked.primary_field_id
        for record in linked.records.values():
            cell = record.cells.get(primary)
            if cell is not None and str(cell) == item:
                return record.id
        for rec_id, text in pending.items():
            if text == item:
                return rec_id
        rec_id = new_id("rec")
        pending[rec_id] = item
        return rec_id

    def _attachments(self, fld: Field, value: Any, current: Any) -> list[dict[str, Any]]:
        if isinstance(value, str) and self.typecast:
            value = [{"url": part.strip()} for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise self._bad(fld)
        existing = {a["id"]: a for a in current or [] if isinstance(a, dict)}
        result = []
        for item in value:
            if not isinstance(item, dict):
                raise self._bad(fld)
            if item.get("id") in existing and "url" not in item:
                result.append(existing[item["id"]])
                continue
            url = item.get("url")
            parsed = urlparse(url) if isinstance(url, str) else None
            if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise self._bad(fld)
            filename = item.get("filename") or parsed.path.rsplit("/", 1)[-1] or "file"
            mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            attachment = {
                "id": new_id("att"),
                "url": url,
                "filename": str(filename),
                "size": int(item.get("size") or 0),
                "type": str(item.get("type") or mime),
            }
            if item.get("id") in existing:
                attachment["id"] = item["id"]
            self.plan.new_attachments.append(attachment)
            result.append(attachment)
        return result

    def _collaborator(self, fld: Field, item: Any) -> dict[str, str]:
        if isinstance(item, str) and self.typecast:
            item = {"email": item} if "@" in item else {"id": item}
        if not isinstance(item, dict) or not (item.get("id") or item.get("email")):
            raise self._bad(fld)
        return {k: str(item[k]) for k in ("id", "email", "name") if item.get(k)}

    def _single_collaborator(self, fld: Field, value: Any, current: Any) -> dict[str, str]:
        return self._collaborator(fld, value)

    def _multiple_collaborators(self, fld: Field, value: Any, current: Any) -> list[dict[str, str]]:
        if not isinstance(value, list):
            raise self._bad(fld)
        return [self._collaborator(fld, item) for item in value]

    def _barcode(self, fld: Field, value: Any, current: Any) -> dict[str, str]:
        if isinstance(value, str) and self.typecast:
            value = {"text": value}
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise self._bad(fld)
        return {k: str(value[k]) for k in ("text", "type") if value.get(k)}


_HANDLERS: dict[str, Callable[[CellWriter, Field, Any, Any], Any]] = {
    **dict.fromkeys(TEXT_TYPES, CellWriter._text),
    **dict.fromkeys(("number", "currency", "percent", "duration"), CellWriter._number),
    "rating": CellWriter._rating,
    "checkbox": CellWriter._checkbox,
    "singleSelect": CellWriter._single_select,
    "multipleSelects": CellWriter._multiple_selects,
    "date": CellWriter._date,
    "dateTime": CellWriter._datetime,
    "multipleRecordLinks": CellWriter._links,
    "multipleAttachments": CellWriter._attachments,
    "singleCollaborator": CellWriter._single_collaborator,
    "multipleCollaborators": CellWriter._multiple_collaborators,
    "barcode": CellWriter._barcode,
}
