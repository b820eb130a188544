"""One sync run: read what changed on both sides, pair records, merge each, write.

Order of writes (so a run killed at any point finishes on the next one, with no duplicate
and no lost change): SQL-bound writes first, then their snapshots; then Airtable-bound
writes ten records a request, each batch's snapshots and audit rows committed right after
Airtable answers. An Airtable create is marked `pending` on its snapshot before it is
sent; the next run adopts the created record instead of creating it again (by the record
ID the SQL row was given, or by its values among records created since). Cursors move
only when the run ends, so a killed run's changes are read again; the merge sees what
already landed as agreed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.sync.airtable_side import GatewayTable
from services.sync.convert import ConversionError
from services.sync.merge import NO_WRITE, Outcome, RecordState, Resolution, merge_record
from services.sync.pairing import Pair, Pairs, Snap, airtable_values, side_states
from services.sync.sql_side import SqlTable
from services.sync.store import SnapshotStore
from services.sync.types import JobSpec, RunSummary

logger = logging.getLogger(__name__)

SQL_CHUNK = 500


@dataclass
class Planned:
    pair: Pair
    outcome: Outcome
    state: RecordState


class SyncRun:
    """A run of one job over its two sides; `run()` fills `summary`."""

    def __init__(
        self,
        *,
        job_id: str,
        owner_id: int,
        spec: JobSpec,
        airtable: GatewayTable,
        sql: SqlTable,
        store: SnapshotStore,
        summary: RunSummary,
        airtable_cursor: datetime | None,
        sql_cursor: str,
        full_scan: bool,
    ) -> None:
        self.job_id = job_id
        self.owner_id = owner_id
        self.spec = spec
        self.airtable = airtable
        self.sql = sql
        self.store = store
        self.summary = summary
        self.airtable_cursor = airtable_cursor
        self.sql_cursor = sql_cursor
        self.full_scan = full_scan
        self.mappings = spec.mappings
        self.by_column = {m.sql_column: m for m in spec.mappings}

    def run(self) -> tuple[datetime, str]:
        """Sync; returns the next cursors (Airtable, SQL)."""
        started = datetime.now(UTC)
        clock = time.monotonic()
        snaps = self.store.load(self.job_id)
        self._adopt_pending(snaps)
        pairs = Pairs(snaps)
        next_sql_cursor = self._read(pairs, snaps)
        plans = self._plan(pairs)
        self._write_sql(plans)
        self._write_airtable(plans)
        self.summary.conflicts = self.store.record_conflicts(
            self.job_id, self.owner_id, [(p.pair, p.outcome, p.state) for p in plans]
        )
        self.summary.requests = self.airtable.requests.total
        self.summary.duration_ms = int((time.monotonic() - clock) * 1000)
        return started, next_sql_cursor

    # -- reading -----------------------------------------------------------------------

    def _read(self, pairs: Pairs, snaps: list[Snap]) -> str:
        first = self.airtable_cursor is None
        changed = self.airtable.changed_since(self.airtable_cursor)
        self.summary.read_airtable += len(changed)
        for record_id, row in changed.items():
            pairs.for_airtable(record_id).a_row = row
        if first or self.full_scan:
            present = set(changed) if first else self.airtable.all_ids()
            for snap in snaps:
                if snap.airtable_id and snap.airtable_id not in present:
                    pairs.for_snap(snap).a_gone = True
        sql_changes = self.sql.changes_since(self.sql_cursor)
        self.summary.read_sql += len(sql_changes.rows)
        for key, srow in sql_changes.rows.items():
            pairs.for_sql(key).s_row = srow
        gone = set(sql_changes.deleted)
        if self.spec.change_detection == "updated_at":
            keys = set(sql_changes.rows) if not self.sql_cursor else self.sql.all_keys()
            gone |= {s.sql_key for s in snaps if s.sql_key and s.sql_key not in keys}
        for key in gone:
            if key in pairs.by_sql:
                pairs.for_snap(pairs.by_sql[key]).s_gone = True
        for snap_id, resolutions in self.store.resolutions(self.job_id).items():
            found = next((s for s in snaps if s.id == snap_id), None)
            if found is not None:
                pairs.for_snap(found).resolution = resolutions
        self._match_new(pairs)
        return sql_changes.cursor

    def _match_new(self, pairs: Pairs) -> None:
        """Pair records seen for the first time by the match key."""
        spec = self.spec
        new_a = pairs.unmatched_airtable()
        new_s = pairs.unmatched_sql()
        if spec.match_kind == "record_id":
            by_id = {str(p.s_row.values.get(spec.match_sql_column)): p for p in new_s if p.s_row}
            for a_pair in new_a:
                s_pair = by_id.get(str(a_pair.airtable_id))
                if s_pair is not None:
                    pairs.join(a_pair, s_pair)
            # An SQL row naming a record this run did not read: fetch that record.
            wanted = {
                str(p.s_row.values[spec.match_sql_column]): p
                for p in pairs.unmatched_sql()
                if p.s_row and p.s_row.values.get(spec.match_sql_column)
            }
            if wanted:
                for record_id, row in self.airtable.fetch(wanted).items():
                    a_pair = pairs.for_airtable(record_id)
                    a_pair.a_row = row
                    pairs.join(a_pair, wanted[record_id])
            return
        mapping = self.by_column[spec.match_sql_column]
        keyed_s = {
            mapping.converter.from_sql(p.s_row.values.get(spec.match_sql_column)): p
            for p in new_s
            if p.s_row
        }
        for a_pair in new_a:
            if a_pair.a_row is None:
                continue
            value = mapping.converter.from_airtable(a_pair.a_row.fields.get(mapping.airtable_field))
            if value is not None and value in keyed_s:
                pairs.join(a_pair, keyed_s.pop(value))

    def _adopt_pending(self, snaps: list[Snap]) -> None:
        """Finish Airtable creates a killed run sent without recording the answer."""
        pending = [s for s in snaps if s.pending_since is not None]
        if not pending:
            return
        known = {s.airtable_id for s in snaps if s.airtable_id}
        since = min(s.pending_since for s in pending if s.pending_since is not None)
        created = {
            rid: airtable_values(row, self.mappings)
            for rid, row in self.airtable.created_since(since).items()
            if rid not in known
        }
        rows = self.sql.fetch([s.sql_key for s in pending if s.sql_key])
        for snap in pending:
            row = rows.get(snap.sql_key or "")
            named = row.values.get(self.spec.match_sql_column) if row is not None else None
            if self.spec.match_kind != "record_id" or not named:
                named = next((rid for rid, v in created.items() if v == snap.sql), None)
            if named and named in created:
                created.pop(named)
                snap.airtable_id, snap.airtable, snap.base = named, snap.sql, dict(snap.sql or {})
            snap.pending_since = None
        self.store.save_snaps(self.job_id, pending)
        logger.info("sync job %s: %d pending creates reconciled", self.job_id, len(pending))

    # -- merging -----------------------------------------------------------------------

    def _plan(self, pairs: Pairs) -> list[Planned]:
        plans: list[Planned] = []
        spec = self.spec
        for pair in pairs:
            try:
                a, s, a_time, s_time = side_states(pair, self.mappings)
            except ConversionError as exc:
                self._skip(pair, str(exc))
                continue
            # An empty snapshot is a create that never landed: nothing was agreed yet.
            base = pair.snap.base if pair.snap is not None and pair.snap.base else None
            state = RecordState(base, a, s, a_time, s_time)
            outcome = merge_record(
                state,
                policy=spec.policy,
                delete_rule=spec.delete_rule,
                direction=spec.direction,
                resolution=_resolution(pair.resolution),
            )
            plans.append(Planned(pair, outcome, state))
        return plans

    def _skip(self, pair: Pair, reason: str) -> None:
        self.summary.errors += 1
        where = pair.airtable_id or f"SQL row {pair.sql_key}"
        self.summary.log.append(f"skipped {where}: {reason}")

    # -- writing SQL -------------------------------------------------------------------

    def _write_sql(self, plans: list[Planned]) -> None:
        columns = self.sql.columns()
        todo = [p for p in plans if p.outcome.to_sql.action != "none"]
        for start in range(0, len(todo), SQL_CHUNK):
            chunk = todo[start : start + SQL_CHUNK]
            inserts, updates, deletes, inserted = [], {}, [], []
            for plan in chunk:
                write = plan.outcome.to_sql
                try:
                    values = self._sql_values(write.values, columns)
                except (ConversionError, ValueError) as exc:
                    self._skip(plan.pair, str(exc))
                    plan.outcome = _nothing(plan.outcome)
                    continue
                if write.action == "create":
                    if self.spec.match_kind == "record_id":
                        values[self.spec.match_sql_column] = plan.pair.airtable_id
                    inserts.append(values)
                    inserted.append(plan)
                elif write.action == "update":
                    updates[str(plan.pair.sql_key)] = values
                else:
                    deletes.append(str(plan.pair.sql_key))
            keys = self.sql.write(inserts=inserts, updates=updates, deletes=deletes)
            for plan, key in zip(inserted, keys, strict=True):
                plan.pair.sql_key = key
            self.summary.written_sql += len(inserts) + len(updates) + len(deletes)
        settled = [p for p in plans if p.outcome.to_airtable.action == "none"]
        self.store.save_outcomes(self.job_id, [(p.pair, p.outcome, p.state) for p in settled])

    def _sql_values(self, values: dict[str, Any] | Any, columns: dict[str, str]) -> dict:
        return {
            name: self.by_column[name].converter.to_sql(value, column_type=columns[name])
            for name, value in dict(values).items()
        }

    # -- writing Airtable --------------------------------------------------------------

    def _write_airtable(self, plans: list[Planned]) -> None:
        by_action: dict[str, list[Planned]] = {"create": [], "update": [], "delete": []}
        for plan in plans:
            if plan.outcome.to_airtable.action != "none":
                by_action[plan.outcome.to_airtable.action].append(plan)
        for action, todo in by_action.items():
            for start in range(0, len(todo), 10):
                batch = todo[start : start + 10]
                self._airtable_batch(action, batch)
                self.summary.written_airtable += len(batch)

    def _airtable_batch(self, action: str, batch: list[Planned]) -> None:
        cells = [self._cells(p.outcome.to_airtable.values) for p in batch]
        if action == "create":
            self.store.mark_pending(self.job_id, [(p.pair, p.state) for p in batch])
            ids = self.airtable.create(cells)
            for plan, record_id in zip(batch, ids, strict=True):
                plan.pair.airtable_id = record_id
            if self.spec.match_kind == "record_id":
                self.sql.write(
                    updates={
                        str(p.pair.sql_key): {self.spec.match_sql_column: p.pair.airtable_id}
                        for p in batch
                    }
                )
        elif action == "update":
            self.airtable.update(
                [{"id": p.pair.airtable_id, "fields": c} for p, c in zip(batch, cells, strict=True)]
            )
        else:
            self.airtable.delete([str(p.pair.airtable_id) for p in batch])
        self.store.save_outcomes(
            self.job_id,
            [(p.pair, p.outcome, p.state) for p in batch],
            audit=(self.owner_id, self.spec.base_id, self.spec.table_id, action, cells),
        )

    def _cells(self, values: Any) -> dict[str, Any]:
        return {
            self.by_column[name].airtable_field: self.by_column[name].converter.to_airtable(v)
            for name, v in dict(values).items()
        }


def _resolution(chosen: dict[str, Any]) -> Resolution | None:
    if not chosen:
        return None
    values = {f: r["value"] for f, r in chosen.items() if f and "value" in r}
    side = next((r["side"] for f, r in chosen.items() if not f and "side" in r), None)
    return Resolution(values=values, record_side=side)


def _nothing(outcome: Outcome) -> Outcome:
    """A record skipped for a value that cannot be written: its snapshot stays as it was."""
    return Outcome(NO_WRITE, NO_WRITE, None, (), "skipped")
