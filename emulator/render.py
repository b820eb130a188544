"""Records as the API returns them: ``{"id", "createdTime", "fields", "commentCount"?}``.

Empty cells ("", [], false, null) are left out of ``fields``; keys are field names, or
field IDs with ``returnFieldsByFieldId``.
"""

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from emulator.cellstring import format_cell
from emulator.computed import Evaluator
from emulator.schema import Field, Record, Table, is_empty


@dataclass(frozen=True)
class RenderOptions:
    """How to render records.

    Attributes:
        by_id: Key ``fields`` by field ID instead of name.
        fields: Only these fields (``None`` = all).
        zone: Time zone for ``cellFormat=string``; ``None`` means the json format.
        comment_counts: Record ID -> comment count, when ``commentCount`` was asked for.
    """

    by_id: bool = False
    fields: tuple[Field, ...] | None = None
    zone: tzinfo | None = None
    comment_counts: dict[str, int] | None = None


def render_record(
    evaluator: Evaluator, table: Table, record: Record, options: RenderOptions
) -> dict[str, Any]:
    """Return one record in API form.

    Args:
        evaluator: Computes the record's computed fields.
        table: The record's table.
        record: The record.
        options: Field selection, key style and cell format.
    """
    out: dict[str, Any] = {}
    zone = options.zone
    by_id = options.by_id
    for fld in options.fields if options.fields is not None else table.fields:
        value = record.cells.get(fld.id) if not fld.computed else None
        if fld.computed:
            value = evaluator.value(table, record, fld)
        if is_empty(value):
            continue
        if zone is not None:
            value = format_cell(fld, value, zone=zone, link_names=evaluator.link_names)
            if value is None:
                continue
        out[fld.id if by_id else fld.name] = value
    data: dict[str, Any] = {"id": record.id, "createdTime": record.created_time, "fields": out}
    if options.comment_counts is not None:
        data["commentCount"] = options.comment_counts.get(record.id, 0)
    return data
