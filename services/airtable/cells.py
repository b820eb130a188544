"""Cell values: checking what a write would store, and reading values as plain text."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from services.airtable.schema import NUMBER_TYPES, FieldSchema
from services.errors import InvalidInputError

RECORD_ID = re.compile(r"^rec[A-Za-z0-9]{14}$")
_TRUE = {"true", "yes", "checked", "1", "x"}
_FALSE = {"false", "no", "unchecked", "0", ""}


def check_record_id(value: str) -> str:
    """The record ID, stripped, or `InvalidInputError` when it is not one."""
    text = str(value).strip()
    if not RECORD_ID.match(text):
        raise InvalidInputError(f'"{value}" is not a record ID (rec followed by 14 characters).')
    return text


def writable_value(fld: FieldSchema, value: Any) -> Any:
    """The cell JSON to send for `value`, or `InvalidInputError` saying what fits.

    Link fields come back as a list of strings: record IDs, or primary field texts that
    the caller resolves to IDs.
    """
    if fld.computed:
        raise InvalidInputError(f"{fld.name} is computed by Airtable and cannot be set.")
    if value is None or value == [] or (value == "" and fld.type != "checkbox"):
        return None
    kind = fld.type
    if kind == "checkbox":
        return _checkbox(fld, value)
    if kind in NUMBER_TYPES:
        return _number(fld, value)
    if kind == "singleSelect":
        return fld.choice(str(value)) if fld.choices else str(value)
    if kind == "multipleSelects":
        items = _as_list(value)
        return [fld.choice(str(v)) if fld.choices else str(v) for v in items]
    if kind == "date":
        return _date(fld, value)
    if kind == "dateTime":
        return _datetime(fld, value)
    if kind == "multipleRecordLinks":
        return [str(v).strip() for v in _as_list(value)]
    if kind == "singleCollaborator":
        return _collaborator(value)
    if kind == "multipleCollaborators":
        return [_collaborator(v) for v in _as_list(value)]
    if kind == "multipleAttachments":
        return [_attachment(fld, v) for v in _as_list(value)]
    if isinstance(value, dict | list):
        raise InvalidInputError(f"{fld.name} takes text, not a list or object.")
    return str(value)


def restorable_value(fld: FieldSchema, value: Any) -> Any:
    """What to send to put a value read from Airtable back (re-creating a record)."""
    if fld.type == "multipleAttachments" and isinstance(value, list):
        return [{"url": a["url"], "filename": a.get("filename")} for a in value if "url" in a]
    if fld.type == "singleCollaborator" and isinstance(value, dict):
        return {"id": value["id"]} if "id" in value else value
    if fld.type == "multipleCollaborators" and isinstance(value, list):
        return [{"id": c["id"]} if "id" in c else c for c in value]
    return value


def same_value(before: Any, after: Any) -> bool:
    """Whether two cell values are the same; every kind of empty is the same as another.

    Attachments compare by ID: their URLs are signed and change between reads.
    """
    if _empty(before) and _empty(after):
        return True
    return bool(_comparable(before) == _comparable(after))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _comparable(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(v, dict) and "url" in v for v in value):
        return [v.get("id") or v.get("url") for v in value]
    return value


def plain_text(value: Any) -> str:
    """A cell value as short plain text: lists joined, objects by name, no `.0` on integers."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(t for t in (plain_text(item) for item in value) if t)
    if isinstance(value, dict):
        if "error" in value:
            return "#ERROR"
        for key in ("name", "filename", "email", "text", "id"):
            if key in value:
                return str(value[key])
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(round(value, 4))
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _checkbox(fld: FieldSchema, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InvalidInputError(f"{fld.name} is a checkbox: use true or false.")


def _number(fld: FieldSchema, value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidInputError(f"{fld.name} takes a number.")
    if isinstance(value, int | float):
        return value
    text = str(value).strip().replace(",", "").lstrip("$€£")
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        raise InvalidInputError(f'{fld.name} takes a number, not "{value}".') from None
    number = number / 100 if text.endswith("%") and fld.type == "percent" else number
    return int(number) if number.is_integer() else number


def _date(fld: FieldSchema, value: Any) -> str:
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise InvalidInputError(f'{fld.name} takes a date as YYYY-MM-DD, not "{value}".') from None


def _datetime(fld: FieldSchema, value: Any) -> str:
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f'{fld.name} takes a time as YYYY-MM-DDTHH:MM:SSZ, not "{value}".'
        ) from None
    return text if moment.tzinfo else moment.isoformat() + "Z"


def _collaborator(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items() if k in ("id", "email")}
    text = str(value).strip()
    return {"id": text} if text.startswith("usr") else {"email": text}


def _attachment(fld: FieldSchema, value: Any) -> dict[str, str]:
    if isinstance(value, dict) and "url" in value:
        return {k: str(v) for k, v in value.items() if k in ("url", "filename")}
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return {"url": value}
    raise InvalidInputError(f"{fld.name} takes attachments as URLs.")
