"""How Airtable cells become typed SQL columns.

Each field gets one column named by its field ID (queries use field names; `guard.py`
rewrites them), of one kind: number, boolean, date, datetime, links (linked record IDs,
comma-separated) or text (selects, text, lists joined with ", ").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa

from services.airtable.cells import plain_text
from services.airtable.schema import NUMBER_TYPES, FieldSchema, TableSchema

Kind = Literal["number", "boolean", "date", "datetime", "links", "text"]
ID_COLUMN = "id"
CREATED_COLUMN = "_created"
_DATETIME_TYPES = frozenset({"dateTime", "createdTime", "lastModifiedTime"})


def kind_of(fld: FieldSchema) -> Kind:
    """The column kind of a field (a formula's or rollup's by its result type)."""
    if fld.type == "multipleRecordLinks":
        return "links"
    value_type = fld.value_type
    if fld.type == "multipleLookupValues":
        result = (fld.options.get("result") or {}).get("type")
        return "number" if result in NUMBER_TYPES else "text"
    if value_type in NUMBER_TYPES or fld.type == "count":
        return "number"
    if value_type == "checkbox":
        return "boolean"
    if value_type == "date":
        return "date"
    if value_type in _DATETIME_TYPES:
        return "datetime"
    return "text"


def columns_of(table: TableSchema) -> dict[str, Kind]:
    """Field ID -> column kind for every field of the table."""
    return {f.id: kind_of(f) for f in table.fields}


def sql_type(kind: str, dialect: str) -> sa.types.TypeEngine[Any]:
    """The column type: dates stay ISO text on SQLite (they sort and compare as text)."""
    if kind == "number":
        return sa.Float()
    if kind == "boolean":
        return sa.Boolean()
    if dialect == "postgresql" and kind == "date":
        return sa.Date()
    if dialect == "postgresql" and kind == "datetime":
        return sa.DateTime(timezone=True)
    return sa.Text()


def cell_value(kind: str, value: Any, dialect: str) -> Any:
    """An Airtable cell as the column stores it (None for empty or unreadable)."""
    if value is None or value == [] or value == "":
        return False if kind == "boolean" else None
    if isinstance(value, dict) and ("error" in value or "specialValue" in value):
        return None
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        return bool(value)
    if kind == "links":
        items = value if isinstance(value, list) else [value]
        return ",".join(str(i.get("id") if isinstance(i, dict) else i) for i in items)
    if kind in ("date", "datetime"):
        text = str(value[0] if isinstance(value, list) and value else value)
        return _moment(kind, text) if dialect == "postgresql" else text
    return plain_text(value)


def row_of(
    record: dict[str, Any], columns: dict[str, str], dialect: str, *, partial: bool = False
) -> dict[str, Any]:
    """A record (fields keyed by field ID) as a row; `partial` keeps only the cells given."""
    cells = record.get("fields") or {}
    row: dict[str, Any] = {ID_COLUMN: record["id"]}
    if record.get("createdTime"):
        row[CREATED_COLUMN] = cell_value("datetime", record["createdTime"], dialect)
    for field_id, kind in columns.items():
        if partial and field_id not in cells:
            continue
        row[field_id] = cell_value(kind, cells.get(field_id), dialect)
    return row


def _number(value: Any) -> float | None:
    if isinstance(value, list):
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        # A lookup of one linked record's number is that number; of several, no one number.
        return float(numbers[0]) if len(numbers) == 1 else None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _moment(kind: str, text: str) -> date | datetime | None:
    try:
        if kind == "date":
            return date.fromisoformat(text[:10])
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
