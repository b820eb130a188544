"""``cellFormat=string``: cell values as the text Airtable shows in its grid.

Dates and times follow the field's date/time format in the requested ``timeZone``;
numbers follow the field's precision, currency symbol or percent sign. Linked records
read as their primary field text, which the caller supplies through ``link_names``.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.ids import parse_time
from emulator.schema import Field, is_empty

LinkNames = Callable[[Field, Sequence[str]], list[str]]
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def load_zone(name: str) -> tzinfo | None:
    """Return the time zone called ``name`` (``utc`` included), or ``None`` if unknown."""
    if name.lower() in ("utc", "gmt", "etc/utc"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _date_text(moment: datetime, date_format: str) -> str:
    if date_format == "iso":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if date_format == "european":
        return f"{moment.day}/{moment.month}/{moment.year}"
    if date_format == "friendly":
        return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"
    return f"{moment.month}/{moment.day}/{moment.year}"


def _time_text(moment: datetime, time_format: str) -> str:
    if time_format == "12hour":
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d}{'am' if moment.hour < 12 else 'pm'}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _number_text(value: float, options: dict[str, Any], field_type: str) -> str:
    precision = int(options.get("precision", 0 if field_type != "currency" else 2))
    if field_type == "percent":
        return f"{value * 100:.{precision}f}%"
    if field_type == "currency":
        sign = "-" if value < 0 else ""
        return f"{sign}{options.get('symbol', '$')}{abs(value):,.{precision}f}"
    return f"{value:.{precision}f}"


def _duration_text(seconds: float) -> str:
    minutes = round(seconds) // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


def _result_field(fld: Field) -> Field:
    result = fld.option("result") or {}
    return Field(
        id=fld.id,
        name=fld.name,
        type=result.get("type", "singleLineText"),
        options=result.get("options") or {},
    )


def format_cell(fld: Field, value: Any, *, zone: tzinfo, link_names: LinkNames) -> str | None:
    """Return the string form of one cell, or ``None`` when it is empty.

    Args:
        fld: The field the value belongs to.
        value: The cell's JSON value (as the json cell format returns it).
        zone: Time zone for dates and times.
        link_names: Maps a link field and record IDs to the records' primary text.
    """
    if is_empty(value):
        return None
    if isinstance(value, dict) and "error" in value:
        return "#ERROR!"
    kind = fld.type
    options = fld.options or {}
    if kind in ("formula", "rollup"):
        return format_cell(_result_field(fld), value, zone=zone, link_names=link_names)
    if kind == "multipleLookupValues":
        inner = _result_field(fld)
        items = value if isinstance(value, list) else [value]
        if inner.type == "multipleRecordLinks":  # a lookup of links holds record IDs
            items = [[item] for item in items]
        texts = [format_cell(inner, item, zone=zone, link_names=link_names) for item in items]
        return ", ".join(t for t in texts if t) or None
    if kind == "checkbox":
        return "checked"
    if kind in ("number", "currency", "percent") and isinstance(value, int | float):
        return _number_text(value, options, kind)
    if kind == "duration" and isinstance(value, int | float):
        return _duration_text(value)
    if kind == "date" and isinstance(value, str):
        moment = parse_time(value[:10] + "T00:00:00Z")
        return _date_text(moment, options.get("dateFormat", {}).get("name", "iso"))
    if kind in ("dateTime", "createdTime", "lastModifiedTime") and isinstance(value, str):
        moment = parse_time(value).astimezone(zone)
        result = options.get("result", {}).get("options", options)
        day = _date_text(moment, result.get("dateFormat", {}).get("name", "iso"))
        return f"{day} {_time_text(moment, result.get('timeFormat', {}).get('name', '24hour'))}"
    if kind == "multipleRecordLinks" and isinstance(value, list):
        return ", ".join(link_names(fld, value)) or None
    if isinstance(value, list):
        texts = [_object_text(item) for item in value]
        return ", ".join(t for t in texts if t) or None
    return _object_text(value)


def _object_text(value: Any) -> str:
    if isinstance(value, dict):
        if "filename" in value and "url" in value:
            return f"{value['filename']} ({value['url']})"
        for key in ("name", "text", "email", "id", "label"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return ""
    if isinstance(value, bool):
        return "checked" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
