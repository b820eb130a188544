"""The Airtable-bound writes of a sync run, and the creates a killed run left pending.

Writes go out ten records a request, each batch's snapshots and audit rows committed
right after Airtable answers. Link names are looked up first (batched); a name that
matches no record, or several, leaves that field out of the record's write. Creates are
marked `pending` on their snapshots before any is sent; the next run adopts a created
record instead of creating it again (by the record ID the SQL row was given, or by its
values among records created since).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from services.sync.convert import ConversionError
from services.sync.merge import NO_WRITE, Outcome, RecordState, SideWrite
from services.sync.pairing import Pair, Planned, Snap, airtable_values
from services.sync.run_sides import RunSides

logger = logging.getLogger(__name__)


class AirtableWrites:
    """What one run (`SyncRun`) sends to Airtable, with the snapshots that record it."""

    def __init__(self, sides: RunSides, skip: Callable[[Pair, str], None]) -> None:
        self.sides = sides
        self._skip = skip  # the run's: counts the record as an error and logs why
        self.mappings = sides.spec.mappings
        self.by_column = {m.sql_column: m for m in sides.spec.mappings}

    def adopt_pending(self, snaps: list[Snap]) -> None:
        """Finish Airtable creates a killed run sent without recording the answer."""
        pending = [s for s in snaps if s.pending_since is not None]
        if not pending:
            return
        known = {s.airtable_id for s in snaps if s.airtable_id}
        since = min(s.pending_since for s in pending if s.pending_since is not None)
        created = {
            rid: airtable_values(row, self.mappings)
            for rid, row in self.sides.airtable.created_since(since).items()
            if rid not in known
        }
        rows = self.sides.sql.fetch([s.sql_key for s in pending if s.sql_key])
        id_writes: dict[str, dict[str, Any]] = {}
        for snap in pending:
            row = rows.get(snap.sql_key or "")
            named = row.values.get(self.sides.spec.match_sql_column) if row is not None else None
            if self.sides.spec.match_kind != "record_id" or not named:
                named = next((rid for rid, v in created.items() if v == snap.sql), None)
            if named and named in created:
                created.pop(named)
                snap.airtable_id, snap.airtable, snap.base = named, snap.sql, dict(snap.sql or {})
                if self.sides.spec.match_kind == "record_id" and row is not None and snap.sql_key:
                    # Killed before the SQL row was given its record ID: give it now.
                    id_writes[snap.sql_key] = {self.sides.spec.match_sql_column: named}
            snap.pending_since = None
        if id_writes:
            self.sides.sql.write(updates=id_writes)
        self.sides.store.save_snaps(self.sides.job_id, pending)
        logger.info("sync job %s: %d pending creates reconciled", self.sides.job_id, len(pending))

    def write(self, plans: list[Planned]) -> None:
        """Send the plans' Airtable-bound writes: creates (marked pending first), updates,
        deletes, ten records a request."""
        self._link_names([p for p in plans if p.outcome.to_airtable.action in ("create", "update")])
        by_action: dict[str, list[Planned]] = {"create": [], "update": [], "delete": []}
        for plan in plans:
            if plan.outcome.to_airtable.action != "none":
                by_action[plan.outcome.to_airtable.action].append(plan)
        creates = by_action["create"]
        if creates:
            # Marked before any is sent: the next attempt of a killed run looks for these.
            self.sides.store.mark_pending(self.sides.job_id, [(p.pair, p.state) for p in creates])
        for action, todo in by_action.items():
            for start in range(0, len(todo), 10):
                batch = todo[start : start + 10]
                self._batch(action, batch)
                self.sides.summary.written_airtable += len(batch)

    def _link_names(self, plans: list[Planned]) -> None:
        """Look up the record IDs of the link names this run sends (batched); a field
        whose names match no record, or several, is left out of that record's write with
        the reason logged; it is tried again the next time the record is read."""
        links = self.sides.airtable.links
        columns = [m for m in self.mappings if m.kind == "link_names"]
        if links is None or not columns or not plans:
            return
        wanted: dict[str, set[str]] = {m.airtable_field: set() for m in columns}
        for plan in plans:
            values = plan.outcome.to_airtable.values
            for m in columns:
                wanted[m.airtable_field].update(values.get(m.sql_column) or [])
        links.resolve(wanted)
        settled = []
        for plan in plans:
            for m in columns:
                values = plan.outcome.to_airtable.values
                if m.sql_column not in values:
                    continue
                try:
                    links.ids(m.airtable_field, values[m.sql_column])
                except ConversionError as exc:
                    self._skip(plan.pair, f"SQL column {m.sql_column}: {exc}")
                    plan.outcome = _without(plan.outcome, plan.state, m.sql_column)
            if plan.outcome.to_airtable.action == "none":
                settled.append(plan)
        if settled:
            self.sides.store.save_outcomes(
                self.sides.job_id, [(p.pair, p.outcome, p.state) for p in settled]
            )

    def _batch(self, action: str, batch: list[Planned]) -> None:
        cells = [self._cells(p.outcome.to_airtable.values) for p in batch]
        if action == "create":
            ids = self.sides.airtable.create(cells)
            for plan, record_id in zip(batch, ids, strict=True):
                plan.pair.airtable_id = record_id
            if self.sides.spec.match_kind == "record_id":
                self.sides.sql.write(
                    updates={
                        str(p.pair.sql_key): {self.sides.spec.match_sql_column: p.pair.airtable_id}
                        for p in batch
                    }
                )
        elif action == "update":
            self.sides.airtable.update(
                [{"id": p.pair.airtable_id, "fields": c} for p, c in zip(batch, cells, strict=True)]
            )
        else:
            self.sides.airtable.delete([str(p.pair.airtable_id) for p in batch])
        self.sides.store.save_outcomes(
            self.sides.job_id,
            [(p.pair, p.outcome, p.state) for p in batch],
            audit=(
                self.sides.owner_id,
                self.sides.spec.base_id,
                self.sides.spec.table_id,
                action,
                cells,
            ),
        )

    def _cells(self, values: Any) -> dict[str, Any]:
        cells = {}
        for name, value in dict(values).items():
            mapping = self.by_column[name]
            if mapping.kind == "link_names" and self.sides.airtable.links is not None:
                cells[mapping.airtable_field] = self.sides.airtable.links.ids(
                    mapping.airtable_field, value
                )
            else:
                cells[mapping.airtable_field] = mapping.converter.to_airtable(value)
        return cells


def _without(outcome: Outcome, state: RecordState, column: str) -> Outcome:
    """The outcome with one field left out of the Airtable write: the snapshot keeps what
    Airtable holds there, so the next run sees the SQL value as a change again."""
    write = outcome.to_airtable
    values = {k: v for k, v in write.values.items() if k != column}
    kept = SideWrite(write.action, values) if values or write.action == "create" else NO_WRITE
    snapshot = dict(outcome.snapshot or {})
    snapshot[column] = (state.airtable or {}).get(column)
    return replace(outcome, to_airtable=kept, snapshot=snapshot)
