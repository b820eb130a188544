"""One sync run: read what changed on both sides, pair records, merge each, write.

Order of writes (so a run killed at any point finishes on the next one, with no duplicate
and no lost change): SQL-bound writes first, then their snapshots; then Airtable-bound
writes ten records a request, each batch's snapshots and audit rows committed right after
Airtable answers. An Airtable create is marked `pending` on its snapshot before it is
sent; the next run adopts the created record instead of creating it again (by the record
ID the SQL row was given, or by its values among records created since). Cursors move
only when the run ends, so a killed run's changes are read again; the merge sees what
already landed as agreed.

The Airtable-bound writes and the adopting of pending creates are in `airtable_writes`;
the read-ahead of Airtable pages is in `prefetch`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from services.sync.airtable_side import AirtableRow
from services.sync.airtable_writes import AirtableWrites
from services.sync.convert import ConversionError
from services.sync.merge import NO_WRITE, Outcome, RecordState, Resolution, merge_record
from services.sync.pairing import Pair, Pairs, Planned, Snap, airtable_values, side_states
from services.sync.prefetch import prefetched
from services.sync.run_sides import RunSides

SQL_CHUNK = 500


class SyncRun:
    """A run of one job over its two sides; `run()` fills `summary`."""

    def __init__(
        self,
        sides: RunSides,
        *,
        airtable_cursor: datetime | None,
        sql_cursor: str,
        full_scan: bool,
    ) -> None:
        self.sides = sides
        self.airtable_cursor = airtable_cursor
        self.sql_cursor = sql_cursor
        self.full_scan = full_scan
        self.mappings = sides.spec.mappings
        self.by_column = {m.sql_column: m for m in sides.spec.mappings}
        self.airtable_writes = AirtableWrites(sides, skip=self._skip)

    def run(self) -> tuple[datetime, str]:
        """Sync; returns the next cursors (Airtable, SQL).

        Airtable pages are fetched on a second thread while the records already read are
        merged and written to SQL, so the SQL work hides behind Airtable's pace.
        """
        started = datetime.now(UTC)
        clock = time.monotonic()
        snaps = self.sides.store.load(self.sides.job_id)
        self.airtable_writes.adopt_pending(snaps)
        pairs = Pairs(snaps)
        next_sql_cursor = self._read_sql(pairs, snaps)
        index = self._match_index(pairs)
        plans: list[Planned] = []
        planned: set[int] = set()
        seen: set[str] = set()
        for chunk in prefetched(self.sides.airtable.changed_pages(self.airtable_cursor)):
            batch = []
            for record_id, row in chunk.items():
                seen.add(record_id)
                if self.sides.airtable.lists_everything and self._as_last_seen(pairs, row):
                    continue
                self.sides.summary.read_airtable += 1
                pair = pairs.for_airtable(record_id)
                pair.a_row = row
                self._match_one(pairs, pair, index)
                batch.append(pair)
            ready = self._plan(batch)
            planned.update(id(p) for p in batch)  # skipped ones too: reported once
            self._write_sql(ready)
            plans += ready
        if self.airtable_cursor is None or self.full_scan:
            present = seen if self.airtable_cursor is None else self.sides.airtable.all_ids()
            for snap in snaps:
                if snap.airtable_id and snap.airtable_id not in present:
                    pairs.for_snap(snap).a_gone = True
        self._match_new(pairs)
        rest = self._plan([p for p in pairs if id(p) not in planned])
        self._write_sql(rest)
        plans += rest
        self.airtable_writes.write(plans)
        self.sides.summary.conflicts = self.sides.store.record_conflicts(
            self.sides.job_id, self.sides.owner_id, [(p.pair, p.outcome, p.state) for p in plans]
        )
        self.sides.summary.requests = self.sides.airtable.requests.total
        self.sides.summary.duration_ms = int((time.monotonic() - clock) * 1000)
        return self.sides.airtable.next_cursor(started), next_sql_cursor

    # -- reading -----------------------------------------------------------------------

    def _read_sql(self, pairs: Pairs, snaps: list[Snap]) -> str:
        sql_changes = self.sides.sql.changes_since(self.sql_cursor)
        self.sides.summary.read_sql += len(sql_changes.rows)
        for key, srow in sql_changes.rows.items():
            pairs.for_sql(key).s_row = srow
        gone = set(sql_changes.deleted)
        if self.sides.spec.change_detection == "updated_at":
            keys = set(sql_changes.rows) if not self.sql_cursor else self.sides.sql.all_keys()
            gone |= {s.sql_key for s in snaps if s.sql_key and s.sql_key not in keys}
        for key in gone:
            if key in pairs.by_sql:
                pairs.for_snap(pairs.by_sql[key]).s_gone = True
        for snap_id, resolutions in self.sides.store.resolutions(self.sides.job_id).items():
            found = next((s for s in snaps if s.id == snap_id), None)
            if found is not None:
                pairs.for_snap(found).resolution = resolutions
        return sql_changes.cursor

    def _as_last_seen(self, pairs: Pairs, row: AirtableRow) -> bool:
        """A listed record whose values are what the job last saw in Airtable: no news."""
        snap = pairs.by_airtable.get(row.id)
        if snap is None or snap.airtable is None or snap.pending_since is not None:
            return False
        try:
            return airtable_values(row, self.mappings) == snap.airtable
        except ConversionError:
            return False

    def _match_index(self, pairs: Pairs) -> dict[Any, Pair]:
        """New SQL rows by their match key (the record ID they name, or the key value)."""
        column = self.sides.spec.match_sql_column
        index: dict[Any, Pair] = {}
        for pair in pairs.unmatched_sql():
            if pair.s_row is None:
                continue
            raw = pair.s_row.values.get(column)
            if self.sides.spec.match_kind == "record_id":
                key: Any = str(raw) if raw else None
            else:
                try:
                    key = self.by_column[column].converter.from_sql(raw)
                except ConversionError:
                    key = None
            if key is not None:
                index[_hashable(key)] = pair
        return index

    def _match_one(self, pairs: Pairs, pair: Pair, index: dict[Any, Pair]) -> None:
        """Pair a record read for the first time with a new SQL row of the same key."""
        if pair.snap is not None or pair.sql_key is not None or pair.a_row is None:
            return
        if self.sides.spec.match_kind == "record_id":
            key: Any = pair.airtable_id
        else:
            mapping = self.by_column[self.sides.spec.match_sql_column]
            try:
                key = mapping.converter.from_airtable(pair.a_row.fields.get(mapping.airtable_field))
            except ConversionError:
                return
        partner = index.pop(_hashable(key), None) if key is not None else None
        if partner is not None and partner.snap is None and partner.airtable_id is None:
            pairs.join(pair, partner)

    def _match_new(self, pairs: Pairs) -> None:
        """A new SQL row naming a record this run did not read: fetch that record."""
        column = self.sides.spec.match_sql_column
        if self.sides.spec.match_kind != "record_id":
            return
        wanted = {
            str(p.s_row.values[column]): p
            for p in pairs.unmatched_sql()
            if p.s_row and p.s_row.values.get(column)
        }
        if wanted:
            for record_id, row in self.sides.airtable.fetch(wanted).items():
                a_pair = pairs.for_airtable(record_id)
                a_pair.a_row = row
                pairs.join(a_pair, wanted[record_id])

    # -- merging -----------------------------------------------------------------------

    def _plan(self, pairs: Iterable[Pair]) -> list[Planned]:
        plans: list[Planned] = []
        spec = self.sides.spec
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
        self.sides.summary.errors += 1
        where = pair.airtable_id or f"SQL row {pair.sql_key}"
        self.sides.summary.log.append(f"skipped {where}: {reason}")

    # -- writing SQL -------------------------------------------------------------------

    def _write_sql(self, plans: list[Planned]) -> None:
        columns = self.sides.sql.columns()
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
                    if self.sides.spec.match_kind == "record_id":
                        values[self.sides.spec.match_sql_column] = plan.pair.airtable_id
                    inserts.append(values)
                    inserted.append(plan)
                elif write.action == "update":
                    updates[str(plan.pair.sql_key)] = values
                else:
                    deletes.append(str(plan.pair.sql_key))
            keys = self.sides.sql.write(inserts=inserts, updates=updates, deletes=deletes)
            for plan, key in zip(inserted, keys, strict=True):
                plan.pair.sql_key = key
            self.sides.summary.written_sql += len(inserts) + len(updates) + len(deletes)
        settled = [p for p in plans if p.outcome.to_airtable.action == "none"]
        self.sides.store.save_outcomes(
            self.sides.job_id, [(p.pair, p.outcome, p.state) for p in settled]
        )

    def _sql_values(self, values: dict[str, Any] | Any, columns: dict[str, str]) -> dict:
        return {
            name: self.by_column[name].converter.to_sql(value, column_type=columns[name])
            for name, value in dict(values).items()
        }


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _resolution(chosen: dict[str, Any]) -> Resolution | None:
    if not chosen:
        return None
    values = {f: r["value"] for f, r in chosen.items() if f and "value" in r}
    side = next((r["side"] for f, r in chosen.items() if not f and "side" in r), None)
    return Resolution(values=values, record_side=side)


def _nothing(outcome: Outcome) -> Outcome:
    """A record skipped for a value that cannot be written: its snapshot stays as it was."""
    return Outcome(NO_WRITE, NO_WRITE, None, (), "skipped")
