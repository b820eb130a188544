"""Two-way record links: keeping inverse link fields in step with writes and deletes."""

from collections.abc import Iterable
from typing import Any

from emulator.schema import Base, Record, Table


class LinkSync:
    """Mirrors link changes into the linked tables' inverse fields.

    Every record it touches is collected in ``touched`` (table ID -> record ID -> record)
    along with the previous inverse values in ``previous``, so the caller can persist
    them and report them to webhooks.
    """

    def __init__(self, base: Base) -> None:
        self.base = base
        self.touched: dict[str, dict[str, Record]] = {}
        self.previous: dict[tuple[str, str], dict[str, Any]] = {}

    def _touch(self, table: Table, record: Record, field_id: str) -> None:
        self.touched.setdefault(table.id, {})[record.id] = record
        before = self.previous.setdefault((table.id, record.id), {})
        if field_id not in before:
            current = record.cells.get(field_id)
            before[field_id] = list(current) if current else None

    def _add(self, table: Table, record: Record, field_id: str, linked_id: str) -> None:
        current = record.cells.get(field_id) or []
        if linked_id not in current:
            self._touch(table, record, field_id)
            record.cells[field_id] = [*current, linked_id]

    def _remove(self, table: Table, record: Record, field_id: str, linked_ids: set[str]) -> None:
        current = record.cells.get(field_id) or []
        if any(i in linked_ids for i in current):
            self._touch(table, record, field_id)
            kept = [i for i in current if i not in linked_ids]
            if kept:
                record.cells[field_id] = kept
            else:
                record.cells.pop(field_id, None)

    def sync(self, table: Table, record: Record, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Update inverse fields after ``record`` went from ``old`` to ``new`` cells."""
        for fld in table.fields:
            inverse = fld.option("inverseLinkFieldId")
            if fld.type != "multipleRecordLinks" or not inverse:
                continue
            before = set(old.get(fld.id) or ())
            after = set(new.get(fld.id) or ())
            if before == after:
                continue
            linked = self.base.table_by_id(fld.option("linkedTableId"))
            for rec_id in after - before:
                if (target := linked.records.get(rec_id)) is not None:
                    self._add(linked, target, inverse, record.id)
            for rec_id in before - after:
                if (target := linked.records.get(rec_id)) is not None:
                    self._remove(linked, target, inverse, {record.id})

    def forget(self, table: Table, record_ids: Iterable[str]) -> None:
        """Remove deleted records from every link field that points at ``table``."""
        gone = set(record_ids)
        for other in self.base.tables:
            for fld in other.fields:
                if fld.type != "multipleRecordLinks" or fld.option("linkedTableId") != table.id:
                    continue
                for record in other.records.values():
                    if record.id not in gone and record.cells.get(fld.id):
                        self._remove(other, record, fld.id, gone)
