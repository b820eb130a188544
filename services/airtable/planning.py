"""Planning writes: turning a create/update/upsert/delete request into an exact proposal.

Planning reads the records involved (their current values are the "before" of the diff),
checks every field and value against the schema, drops changes that would change
nothing, stores the proposal and writes nothing to Airtable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pyairtable.api.types import RecordDict

from services.airtable.cells import (
    RECORD_ID,
    check_record_id,
    plain_text,
    same_value,
    writable_value,
)
from services.airtable.dates import DateResolver
from services.airtable.filters import Condition
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups, value_key
from services.airtable.proposals import (
    PlannedChange,
    Proposal,
    ProposalAction,
    ProposalStore,
    new_id,
)
from services.airtable.queries import Match, RecordQueries
from services.airtable.schema import TableSchema
from services.errors import InvalidInputError

Cells = dict[str, Any]  # field ID -> value


class ProposalPlanner:
    """Builds and stores proposals; `ChangeLog` applies them once the person confirms."""

    def __init__(
        self,
        gateway: AirtableGateway,
        queries: RecordQueries,
        lookups: RecordLookups,
        store: ProposalStore,
        *,
        ttl_seconds: int,
        max_records: int,
    ) -> None:
        self._gateway = gateway
        self._queries = queries
        self._lookups = lookups
        self._store = store
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max = max_records

    def create(
        self,
        user_id: int,
        base_id: str,
        table: str,
        records: Sequence[Mapping[str, Any]],
        *,
        conversation_id: str | None = None,
    ) -> Proposal:
        """Propose new records (fields by name)."""
        schema = self._table(user_id, base_id, table, [n for r in records for n in r])
        cells = self._cells(user_id, base_id, schema, records)
        changes = [_create(schema, c) for c in cells]
        return self._save(user_id, schema, base_id, "create", changes, conversation_id)

    def update(
        self,
        user_id: int,
        base_id: str,
        table: str,
        *,
        updates: Mapping[str, Mapping[str, Any]] | None = None,
        filters: Sequence[Condition] = (),
        match: Match = "all",
        values: Mapping[str, Any] | None = None,
        conversation_id: str | None = None,
        dates: DateResolver | None = None,
    ) -> Proposal:
        """Propose field values for records given by ID (`updates`) or by `filters` + `values`."""
        if bool(updates) == bool(filters):
            raise InvalidInputError("Give either records by ID, or filters with values to set.")
        if filters and not values:
            raise InvalidInputError("Say which field values to set on the matching records.")
        edits = list(updates.values()) if updates else [values or {}]
        names = [n for e in edits for n in e] + [c.field for c in filters]
        schema = self._table(user_id, base_id, table, names)
        new_cells = self._cells(user_id, base_id, schema, edits)
        touched = sorted({fid for c in new_cells for fid in c})
        wanted = list(dict.fromkeys([schema.primary_field_id, *touched]))
        if updates:
            current = self._by_id(user_id, base_id, schema, list(updates), wanted)
            pairs = zip(updates, new_cells, strict=True)
            targets = [(current[check_record_id(i)], c) for i, c in pairs]
        else:
            matched = self._queries.matching(
                user_id, base_id, schema, filters=filters, match=match, field_ids=wanted,
                dates=dates,
            )  # fmt: skip
            targets = [(record, new_cells[0]) for record in matched]
        self._check_size(len(targets))
        changes = []
        for record, cells in targets:
            before = {fid: record["fields"].get(fid) for fid in cells}
            diff = {fid: v for fid, v in cells.items() if not same_value(before[fid], v)}
            if diff:
                changes.append(_update(schema, record, {fid: before[fid] for fid in diff}, diff))
        return self._save(user_id, schema, base_id, "update", changes, conversation_id)

    def upsert(
        self,
        user_id: int,
        base_id: str,
        table: str,
        records: Sequence[Mapping[str, Any]],
        merge_on: Sequence[str],
        *,
        conversation_id: str | None = None,
    ) -> Proposal:
        """Propose updating records whose `merge_on` fields match, creating the others."""
        if not 1 <= len(merge_on) <= 3:
            raise InvalidInputError("merge_on names one to three fields.")
        names = [*merge_on, *(n for r in records for n in r)]
        schema = self._table(user_id, base_id, table, names)
        keys = [schema.field(n) for n in merge_on]
        key_ids = [k.id for k in keys]
        cells = self._cells(user_id, base_id, schema, records)
        if any(c.get(k) is None for c in cells for k in key_ids):
            raise InvalidInputError(f"Every record needs a value for {', '.join(merge_on)}.")
        wanted = list(dict.fromkeys([schema.primary_field_id, *(f for c in cells for f in c)]))
        existing = self._lookups.by_values(user_id, base_id, schema, keys, cells, wanted)
        changes: list[PlannedChange] = []
        seen: set[tuple[str, ...]] = set()
        for c in cells:
            key = value_key(c, key_ids)
            if key in seen:
                raise InvalidInputError(f"Two records share {', '.join(merge_on)} = {key}.")
            seen.add(key)
            found = existing.get(key, [])
            if len(found) > 1:
                raise InvalidInputError(f"Several records match {key}; use update_records by ID.")
            if not found:
                changes.append(_create(schema, c))
                continue
            current = found[0]["fields"]
            # The merge fields identified the record; they are not rewritten (e.g. in case).
            diff = {
                f: v for f, v in c.items() if f not in key_ids and not same_value(current.get(f), v)
            }
            if diff:
                changes.append(_update(schema, found[0], {f: current.get(f) for f in diff}, diff))
        return self._save(user_id, schema, base_id, "upsert", changes, conversation_id)

    def delete(
        self,
        user_id: int,
        base_id: str,
        table: str,
        *,
        record_ids: Sequence[str] = (),
        filters: Sequence[Condition] = (),
        match: Match = "all",
        conversation_id: str | None = None,
        dates: DateResolver | None = None,
    ) -> Proposal:
        """Propose deleting records given by ID or by filters; keeps every value for undo."""
        if bool(record_ids) == bool(filters):
            raise InvalidInputError("Give either record IDs or filters for what to delete.")
        schema = self._table(user_id, base_id, table, [c.field for c in filters])
        keep = [f.id for f in schema.fields if not f.computed]
        if record_ids:
            current = self._by_id(user_id, base_id, schema, record_ids, keep)
            records = [current[check_record_id(i)] for i in dict.fromkeys(record_ids)]
        else:
            records = self._queries.matching(
                user_id, base_id, schema, filters=filters, match=match, field_ids=keep,
                dates=dates,
            )  # fmt: skip
        self._check_size(len(records))
        changes = [
            PlannedChange("delete", r["id"], _label(schema, r["fields"]), dict(r["fields"]), {})
            for r in records
        ]
        return self._save(user_id, schema, base_id, "delete", changes, conversation_id)

    # -- steps -------------------------------------------------------------------------

    def _table(self, user_id: int, base_id: str, table: str, names: Sequence[str]) -> TableSchema:
        return self._gateway.table(user_id, base_id, table, uses=list(dict.fromkeys(names)))

    def _cells(
        self,
        user_id: int,
        base_id: str,
        schema: TableSchema,
        records: Sequence[Mapping[str, Any]],
    ) -> list[Cells]:
        if not records:
            raise InvalidInputError("Give at least one record.")
        self._check_size(len(records))
        cells = [
            {schema.field(name).id: writable_value(schema.field(name), v) for name, v in r.items()}
            for r in records
        ]
        self._link_ids(user_id, base_id, schema, cells)
        return cells

    def _link_ids(
        self, user_id: int, base_id: str, schema: TableSchema, cells: list[Cells]
    ) -> None:
        # Linked records may be named by their primary field; look names up once per field.
        for fld in schema.fields:
            if fld.linked_table_id is None:
                continue
            names = {v for c in cells for v in c.get(fld.id) or [] if not RECORD_ID.match(v)}
            if names:
                ids = self._lookups.ids_by_name(user_id, base_id, fld.linked_table_id, names)
                for c in cells:
                    if c.get(fld.id):
                        c[fld.id] = [ids.get(v.lower(), v) for v in c[fld.id]]

    def _by_id(
        self,
        user_id: int,
        base_id: str,
        schema: TableSchema,
        ids: Sequence[str],
        field_ids: list[str],
    ) -> dict[str, RecordDict]:
        found = self._lookups.by_id(user_id, base_id, schema.id, ids, field_ids)
        missing = [i for i in ids if check_record_id(i) not in found]
        if missing:
            listed = ", ".join(missing[:5])
            raise InvalidInputError(f"No record in {schema.name} has the ID {listed}.")
        return found

    def _check_size(self, count: int) -> None:
        if count > self._max:
            raise InvalidInputError(
                f"That would change {count} records; one proposal changes at most {self._max}. "
                "Narrow the filters."
            )

    def _save(
        self,
        user_id: int,
        schema: TableSchema,
        base_id: str,
        action: ProposalAction,
        changes: list[PlannedChange],
        conversation_id: str | None,
    ) -> Proposal:
        if not changes:
            raise InvalidInputError("Nothing would change: the records already hold these values.")
        now = datetime.now(UTC)
        touched = {fid for c in changes for fid in (*c.before, *c.after)}
        proposal = Proposal(
            id=new_id("prop"),
            user_id=user_id,
            base_id=base_id,
            table_id=schema.id,
            table_name=schema.name,
            action=action,
            changes=changes,
            field_names={f.id: f.name for f in schema.fields if f.id in touched},
            created_at=now,
            expires_at=now + self._ttl,
            conversation_id=conversation_id,
        )
        self._store.save(proposal)
        return proposal


def _create(schema: TableSchema, cells: Cells) -> PlannedChange:
    after = {fid: v for fid, v in cells.items() if v is not None}
    return PlannedChange("create", None, _label(schema, cells, "(new record)"), {}, after)


def _update(schema: TableSchema, record: RecordDict, before: Cells, after: Cells) -> PlannedChange:
    return PlannedChange("update", record["id"], _label(schema, record["fields"]), before, after)


def _label(schema: TableSchema, cells: Mapping[str, Any], default: str = "") -> str:
    return plain_text(cells.get(schema.primary_field_id))[:80] or default
