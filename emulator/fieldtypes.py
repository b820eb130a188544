"""Field types: which exist, which are writable, and their default options.

Airtable always returns a full ``options`` object for types that have one (pyairtable's
typed schema models expect it), so definitions sent by clients are completed here.
"""

from typing import Any

from emulator import errors
from emulator.ids import new_id
from emulator.schema import COMPUTED_TYPES

TEXT_TYPES = frozenset(
    {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber"}
)
NUMBER_TYPES = frozenset({"number", "currency", "percent", "duration", "rating"})
WRITABLE_TYPES = (
    TEXT_TYPES
    | NUMBER_TYPES
    | frozenset(
        {
            "checkbox",
            "singleSelect",
            "multipleSelects",
            "date",
            "dateTime",
            "multipleRecordLinks",
            "multipleAttachments",
            "singleCollaborator",
            "multipleCollaborators",
            "barcode",
        }
    )
)
SUPPORTED_TYPES = WRITABLE_TYPES | COMPUTED_TYPES
#: Types Airtable allows as a table's primary field.
PRIMARY_TYPES = TEXT_TYPES | frozenset(
    {"number", "currency", "percent", "duration", "date", "dateTime", "formula", "autoNumber",
     "barcode"}
)  # fmt: skip

DATE_FORMATS = {
    "local": "l",
    "friendly": "LL",
    "us": "M/D/YYYY",
    "european": "D/M/YYYY",
    "iso": "YYYY-MM-DD",
}
TIME_FORMATS = {"12hour": "h:mma", "24hour": "HH:mm"}
CHOICE_COLORS = (
    "blueLight2", "cyanLight2", "tealLight2", "greenLight2", "yellowLight2",
    "orangeLight2", "redLight2", "pinkLight2", "purpleLight2", "grayLight2",
)  # fmt: skip


def _named_format(value: Any, table: dict[str, str], default: str) -> dict[str, str]:
    name = default
    if isinstance(value, dict):
        if value.get("name") in table:
            name = value["name"]
        else:
            by_format = {fmt: key for key, fmt in table.items()}
            name = by_format.get(str(value.get("format")), default)
    elif isinstance(value, str) and value in table:
        name = value
    return {"format": table[name], "name": name}


def date_options(options: dict[str, Any]) -> dict[str, Any]:
    """Complete the options of a ``date`` field."""
    return {"dateFormat": _named_format(options.get("dateFormat"), DATE_FORMATS, "iso")}


def datetime_options(options: dict[str, Any]) -> dict[str, Any]:
    """Complete the options of a ``dateTime`` field (or a time-valued result)."""
    return {
        "timeZone": str(options.get("timeZone") or "utc"),
        "dateFormat": _named_format(options.get("dateFormat"), DATE_FORMATS, "iso"),
        "timeFormat": _named_format(options.get("timeFormat"), TIME_FORMATS, "24hour"),
    }


def new_choice(name: str, index: int) -> dict[str, str]:
    """Build a select option with a fresh ID and a colour picked by position."""
    return {"id": new_id("sel"), "name": name, "color": CHOICE_COLORS[index % len(CHOICE_COLORS)]}


def choices_options(options: dict[str, Any], field_name: str) -> dict[str, Any]:
    """Complete select options, giving every choice an ID and a colour."""
    raw = options.get("choices", [])
    if not isinstance(raw, list):
        raise errors.invalid_schema(f'Field "{field_name}": options.choices must be a list')
    choices: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip() or name in seen:
            raise errors.invalid_schema(f'Field "{field_name}": invalid or duplicate choice')
        seen.add(name)
        choice = new_choice(name, index)
        if isinstance(item, dict):
            choice["id"] = str(item.get("id") or choice["id"])
            choice["color"] = str(item.get("color") or choice["color"])
        choices.append(choice)
    return {"choices": choices}


def plain_options(field_type: str, options: dict[str, Any] | None, field_name: str) -> Any:
    """Return the completed options of a non-computed, non-link field type.

    Args:
        field_type: One of :data:`WRITABLE_TYPES`, ``autoNumber``, ``createdTime`` or
            ``lastModifiedTime``.
        options: Options sent by the client (may be ``None``).
        field_name: For error messages.

    Returns:
        The options dict, or ``None`` for types without options.

    Raises:
        ApiError: when options are malformed.
    """
    opts = options or {}
    if not isinstance(opts, dict):
        raise errors.invalid_schema(f'Field "{field_name}": options must be an object')
    if field_type in ("number", "percent", "currency"):
        precision = opts.get("precision", 2 if field_type == "currency" else 0)
        if not isinstance(precision, int) or not 0 <= precision <= 8:
            raise errors.invalid_schema(f'Field "{field_name}": precision must be 0..8')
        if field_type == "currency":
            return {"precision": precision, "symbol": str(opts.get("symbol", "$"))}
        return {"precision": precision}
    if field_type == "checkbox":
        return {"color": opts.get("color", "greenBright"), "icon": opts.get("icon", "check")}
    if field_type == "rating":
        maximum = opts.get("max", 5)
        if not isinstance(maximum, int) or not 1 <= maximum <= 10:
            raise errors.invalid_schema(f'Field "{field_name}": max must be 1..10')
        return {
            "color": opts.get("color", "yellowBright"),
            "icon": opts.get("icon", "star"),
            "max": maximum,
        }
    if field_type == "date":
        return date_options(opts)
    if field_type == "dateTime":
        return datetime_options(opts)
    if field_type == "duration":
        return {"durationFormat": str(opts.get("durationFormat", "h:mm"))}
    if field_type in ("singleSelect", "multipleSelects"):
        return choices_options(opts, field_name)
    if field_type == "multipleAttachments":
        return {"isReversed": bool(opts.get("isReversed", False))}
    if field_type == "createdTime":
        return {"result": {"type": "dateTime", "options": datetime_options({})}}
    if field_type == "lastModifiedTime":
        return {
            "isValid": True,
            "referencedFieldIds": [],
            "result": {"type": "dateTime", "options": datetime_options({})},
        }
    return None
