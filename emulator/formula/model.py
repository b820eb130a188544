"""What the server hands the formula engine: the table's fields and one record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FieldInfo:
    """A field a formula may reference.

    Attributes:
        id: the field ID (``fld...``).
        name: the field name, as ``{Name}`` spells it.
        type: the Airtable field type, e.g. ``number`` or ``multipleSelects``.
        result_type: for formula, rollup and lookup fields, ``options.result.type``.
    """

    id: str
    name: str
    type: str
    result_type: str | None = None


@dataclass(slots=True)
class RecordContext:
    """One record as a formula sees it.

    Attributes:
        record_id: the record ID, for ``RECORD_ID()``.
        created_time: aware UTC creation time, for ``CREATED_TIME()``.
        last_modified_time: aware UTC time of the last change.
        values: field ID to cell value in API JSON form; missing or None is empty.
        now: the time ``NOW()`` and ``TODAY()`` report; None means the current time.
    """

    record_id: str
    created_time: datetime
    last_modified_time: datetime
    values: Mapping[str, Any]
    now: datetime | None = None
