"""Create, update, upsert and delete records, atomically per request.

Every cell of every record in a request is validated before anything changes; then
select options created by ``typecast`` are added, records written, inverse links
updated and everything persisted in one transaction. The result says what changed, for
the response and for webhooks.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator import errors
from emulator.cells import CellWriter, WritePlan
from emulator.fieldtypes import new_choice
from emulator.files import describe_own_files
from emulator.ids import format_time, new_id
from emulator.links import LinkSync
from emulator.schema import Base, Field, Record, Table
from emulator.store import Store

MAX_BATCH = 10


@dataclass
class ChangeSet:
    """What one write request changed in a base (for webhook payloads).

    Attributes:
        created: Table ID -> records created.
        changed: Table ID -> record ID -> (previous cells, current cells) of changed fields.
        destroyed: Table ID -> deleted record IDs.
    """

    created: dict[str, list[Record]] = field(default_factory=dict)
    changed: dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]] = field(
        default_factory=dict
    )
    destroyed: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Pending:
    record: Record | None  # None: a record to create
    cells: dict[str, Any]


Notify = Callable[[Base, ChangeSet], None]


class RecordWriter:
    """Applies one write request to one table.

    Args:
        store: Where changes are persisted (its lock must be held by the caller).
        base: The table's base.
        table: The table written to.
        typecast: Convert strings best-effort and create missing select options.
        now: The moment of the write.
    """

    def __init__(
        self, store: Store, base: Base, table: Table, *, typecast: bool, now: datetime
    ) -> None:
        self.store = store
        self.base = base
        self.table = table
        self.now = now
        self.plan = WritePlan()
        self.cells = CellWriter(base, table, typecast=typecast, plan=self.plan)
        self.changes = ChangeSet()
        #: Attachments written by URL that point elsewhere (set by :meth:`apply`).
        self.remote_attachments: list[dict[str, Any]] = []

    def coerce_fields(self, fields: Any, current: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a ``fields`` object; return field ID -> value to store (None clears)."""
        if not isinstance(fields, dict):
            raise errors.invalid_request('"fields" must be an object')
        out: dict[str, Any] = {}
        for key, value in fields.items():
            fld = self.table.field(key)
            if fld is None:
                raise errors.unknown_field(key)
            out[fld.id] = self.cells.coerce(fld, value, current.get(fld.id))
        return out

    def prepare_create(self, fields: Any) -> _Pending:
        """Validate the fields of a record to create."""
        return _Pending(None, self.coerce_fields(fields, {}))

    def prepare_update(self, record: Record, fields: Any, *, replace: bool) -> _Pending:
        """Validate an update; PUT (``replace``) clears every writable field not sent."""
        coerced = self.coerce_fields(fields, record.cells)
        merged = {} if replace else dict(record.cells)
        merged.update(coerced)
        return _Pending(record, {k: v for k, v in merged.items() if v is not None})

    def prepare_cells(self, record: Record, cells: dict[str, Any]) -> _Pending:
        """An update to already validated cells (field ID -> stored value)."""
        return _Pending(record, {k: v for k, v in cells.items() if v is not None})

    def merge_key(self, fields: Any, merge_on: list[Field]) -> tuple[Any, ...]:
        """The coerced values of the merge fields of an upsert input record."""
        if not isinstance(fields, dict):
            raise errors.invalid_request('"fields" must be an object')
        by_id = {(self.table.field(k) or _missing(k)).id: v for k, v in fields.items()}
        key = []
        for fld in merge_on:
            if fld.id not in by_id:
                raise errors.invalid_request(
                    f'Every record must include the fieldsToMergeOn field "{fld.name}"'
                )
            key.append(self.cells.coerce(fld, by_id[fld.id]))
        return tuple(key)

    def find_matches(self, merge_on: list[Field], key: tuple[Any, ...]) -> list[Record]:
        """Existing records whose merge fields equal ``key``."""
        return [
            r
            for r in self.table.records.values()
            if all(r.cells.get(f.id) == v for f, v in zip(merge_on, key, strict=True))
        ]

    def apply(self, pending: list[_Pending]) -> list[Record]:
        """Commit validated creates/updates; returns the records in input order."""
        self._apply_plan()
        self.remote_attachments = describe_own_files(self.store, self.plan.new_attachments)
        links = LinkSync(self.base)
        written: list[Record] = []
        for item in pending:
            if item.record is None:
                record = self._new_record(self.table, item.cells)
                self.changes.created.setdefault(self.table.id, []).append(record)
                links.sync(self.table, record, {}, record.cells)
            else:
                record = item.record
                old = record.cells
                diff = _diff(old, item.cells)
                if diff[0] or diff[1]:
                    record.cells = item.cells
                    record.modified = self.now
                    self._note_change(self.table.id, record.id, diff)
                    links.sync(self.table, record, old, record.cells)
            written.append(record)
        self._persist(links, {self.table.id: written})
        return written

    def delete(self, record_ids: list[str]) -> None:
        """Delete records (all must exist) and unlink them everywhere."""
        links = LinkSync(self.base)
        links.forget(self.table, record_ids)
        self.store.delete_records(self.base, self.table, record_ids)
        self.changes.destroyed[self.table.id] = list(record_ids)
        self._persist(links, {})

    def _new_record(self, table: Table, cells: dict[str, Any], rec_id: str = "") -> Record:
        record = Record(
            id=rec_id or new_id("rec"),
            created=self.now,
            created_time=format_time(self.now),
            modified=self.now,
            cells={k: v for k, v in cells.items() if v is not None},
            auto_number=table.next_auto_number,
        )
        table.next_auto_number += 1
        table.records[record.id] = record
        return record

    def _apply_plan(self) -> None:
        schema_changed = False
        for field_id, names in self.plan.new_choices.items():
            fld = self.table.field_by_id(field_id)
            choices = fld.options.setdefault("choices", []) if fld.options is not None else []
            for name in names:
                choices.append(new_choice(name, len(choices)))
                schema_changed = True
        if schema_changed:
            self.store.save_base(self.base)
        for table_id, texts in self.plan.new_links.items():
            linked = self.base.table_by_id(table_id)
            for rec_id, text in texts.items():
                record = self._new_record(linked, {linked.primary_field_id: text}, rec_id)
                self.changes.created.setdefault(linked.id, []).append(record)

    def _note_change(
        self, table_id: str, rec_id: str, diff: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        entry = self.changes.changed.setdefault(table_id, {})
        if rec_id in entry:
            entry[rec_id][0].update({k: v for k, v in diff[0].items() if k not in entry[rec_id][0]})
            entry[rec_id][1].update(diff[1])
        else:
            entry[rec_id] = diff

    def _persist(self, links: LinkSync, written: dict[str, list[Record]]) -> None:
        changes: dict[str, list[Record]] = {k: list(v) for k, v in written.items()}
        for table_id, created in self.changes.created.items():
            bucket = changes.setdefault(table_id, [])
            bucket.extend(r for r in created if r not in bucket)
        created_ids = {r.id for rs in self.changes.created.values() for r in rs}
        for table_id, touched in links.touched.items():
            bucket = changes.setdefault(table_id, [])
            for rec_id, record in touched.items():
                record.modified = self.now
                if record not in bucket:
                    bucket.append(record)
                if rec_id in created_ids:
                    continue
                before = links.previous[(table_id, rec_id)]
                after = {k: record.cells.get(k) for k in before}
                self._note_change(table_id, rec_id, (before, after))
        self.store.put_records(self.base, changes)


def _missing(name: str) -> Field:
    raise errors.unknown_field(name)


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}
