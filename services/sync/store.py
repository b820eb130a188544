"""Snapshots, conflicts and the audit of Airtable writes, in the app's database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.orm import ChangeSet, ChangeStatus
from services.airtable.orm import RecordChange as AuditRow
from services.sync.merge import Outcome, RecordState
from services.sync.orm import SyncConflict, SyncSnapshot
from services.sync.pairing import Pair, Snap

logger = logging.getLogger(__name__)

Item = tuple[Pair, Outcome, RecordState]
Audit = tuple[int, str, str, str, list[dict[str, Any]]]  # owner, base, table, action, cells
Publish = Callable[[int, dict[str, Any]], None]


class SnapshotStore:
    """Per-job snapshot rows and held conflicts; `publish` tells the owner of a new one."""

    def __init__(
        self, sessions: sessionmaker[Session], *, change_set_id: str, publish: Publish
    ) -> None:
        self._db = sessions
        self._change_set_id = change_set_id
        self._publish = publish

    def load(self, job_id: str) -> list[Snap]:
        with self._db() as session:
            rows = session.scalars(select(SyncSnapshot).where(SyncSnapshot.job_id == job_id))
            return [_snap(r) for r in rows]

    def save_snaps(self, job_id: str, snaps: Sequence[Snap]) -> None:
        with self._db.begin() as session:
            for snap in snaps:
                row = session.get(SyncSnapshot, snap.id)
                if row is not None:
                    _fill(row, snap)

    def mark_pending(self, job_id: str, items: Sequence[tuple[Pair, RecordState]]) -> None:
        """Before an Airtable create: the SQL row's snapshot says a create is under way."""
        now = datetime.now(UTC)
        with self._db.begin() as session:
            known = self._rows(session, [p.snap.id for p, _ in items if p.snap and p.snap.id])
            touched: list[tuple[Pair, SyncSnapshot]] = []
            for pair, state in items:
                row = known.get(pair.snap.id) if pair.snap and pair.snap.id else None
                if row is None:
                    row = SyncSnapshot(job_id=job_id, base={}, flag="")
                    session.add(row)
                row.sql_key, row.pending_since = pair.sql_key, now
                row.sql = None if state.sql is None else dict(state.sql)
                touched.append((pair, row))
            session.flush()
            for pair, row in touched:
                pair.snap = _snap(row)

    def save_outcomes(self, job_id: str, items: Sequence[Item], audit: Audit | None = None) -> None:
        """Snapshots after the writes of `items` landed (and their audit rows)."""
        now = datetime.now(UTC)
        with self._db.begin() as session:
            known = self._rows(session, [p.snap.id for p, _, _ in items if p.snap and p.snap.id])
            touched: list[tuple[Pair, SyncSnapshot]] = []
            for pair, outcome, state in items:
                if outcome.flag == "skipped":
                    continue
                row = known.get(pair.snap.id) if pair.snap and pair.snap.id else None
                if outcome.snapshot is None:
                    if row is not None:
                        session.delete(row)
                    pair.snap = None
                    continue
                if row is None:
                    row = SyncSnapshot(job_id=job_id)
                    session.add(row)
                _apply(row, pair, outcome, state, now)
                touched.append((pair, row))
            session.flush()
            for pair, row in touched:
                pair.snap = _snap(row)
            if audit is not None:
                self._audit(session, items, audit)

    @staticmethod
    def _rows(session: Session, ids: list[int]) -> dict[int, SyncSnapshot]:
        found: dict[int, SyncSnapshot] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(
                (r.id, r)
                for r in session.scalars(select(SyncSnapshot).where(SyncSnapshot.id.in_(chunk)))
            )
        return found

    def _audit(self, session: Session, items: Sequence[Item], audit: Audit) -> None:
        owner, base_id, table_id, action, cells = audit
        if session.get(ChangeSet, self._change_set_id) is None:
            session.add(
                ChangeSet(
                    id=self._change_set_id,
                    kind="apply",
                    action="sync",
                    user_id=owner,
                    base_id=base_id,
                    table_id=table_id,
                    table_name=table_id,
                    status=ChangeStatus.APPLIED.value,
                    # The sync job is the actor: its ID stands where a conversation would.
                    conversation_id=self._change_set_id.split(":")[0],
                )
            )
            session.flush()
        session.add_all(
            AuditRow(
                change_set_id=self._change_set_id,
                user_id=owner,
                base_id=base_id,
                table_id=table_id,
                record_id=str(pair.airtable_id),
                action=action,
                before={},
                after=after,
            )
            for (pair, _, _), after in zip(items, cells, strict=True)
        )

    # -- conflicts ---------------------------------------------------------------------

    def resolutions(self, job_id: str) -> dict[int, dict[str, Any]]:
        """Resolved conflicts not yet synced: snapshot id -> field -> resolution."""
        with self._db() as session:
            rows = session.scalars(
                select(SyncConflict).where(
                    SyncConflict.job_id == job_id, SyncConflict.status == "resolved"
                )
            )
            found: dict[int, dict[str, Any]] = {}
            for row in rows:
                found.setdefault(row.snapshot_id, {})[row.field] = row.resolution or {}
            return found

    def record_conflicts(self, job_id: str, owner_id: int, items: Sequence[Item]) -> int:
        """Keep held conflicts and flags in step with this run; returns how many are held."""
        new: list[dict[str, Any]] = []
        held = 0
        now = datetime.now(UTC)
        with self._db.begin() as session:
            standing: dict[int, dict[str, SyncConflict]] = {}
            for row in session.scalars(
                select(SyncConflict).where(
                    SyncConflict.job_id == job_id,
                    SyncConflict.status.in_(("open", "resolved")),
                )
            ):
                standing.setdefault(row.snapshot_id, {})[row.field] = row
            for pair, outcome, state in items:
                if pair.snap is None or pair.snap.id is None or outcome.flag == "skipped":
                    continue
                snap_id = pair.snap.id
                existing = standing.get(snap_id, {})
                wanted = {c.field: (c.base, c.airtable, c.sql) for c in outcome.conflicts}
                if outcome.flag:
                    wanted[""] = (None, _present(state.airtable), _present(state.sql))
                if not wanted and not existing:
                    continue
                for name, row in existing.items():
                    if row.status == "resolved":
                        row.status, row.resolved_at = "applied", now
                    elif name not in wanted:
                        row.status = "cleared"
                for name, (base, a, s) in wanted.items():
                    held += 1
                    found = existing.get(name)
                    if found is None or found.status != "open":
                        found = SyncConflict(job_id=job_id, snapshot_id=snap_id, field=name)
                        session.add(found)
                        new.append({"job_id": job_id, "field": name, "record_id": pair.airtable_id})
                    found.base, found.airtable, found.sql = base, a, s
                    found.airtable_changed_at = state.airtable_modified
                    found.sql_changed_at = state.sql_modified
        for data in new:
            self._publish(owner_id, data)
        return held

    def clear(self, job_id: str) -> None:
        with self._db.begin() as session:
            session.execute(delete(SyncSnapshot).where(SyncSnapshot.job_id == job_id))


def _present(values: Any) -> Any:
    return None if values is None else "present"


def _snap(row: SyncSnapshot) -> Snap:
    return Snap(
        id=row.id,
        airtable_id=row.airtable_id,
        sql_key=row.sql_key,
        base=dict(row.base or {}),
        airtable=None if row.airtable is None else dict(row.airtable),
        sql=None if row.sql is None else dict(row.sql),
        airtable_modified=row.airtable_modified,
        sql_modified=row.sql_modified,
        flag=row.flag or "",
        pending_since=row.pending_since,
    )


def _fill(row: SyncSnapshot, snap: Snap) -> None:
    row.airtable_id, row.sql_key, row.base = snap.airtable_id, snap.sql_key, snap.base
    row.airtable, row.sql, row.pending_since = snap.airtable, snap.sql, snap.pending_since


def _apply(
    row: SyncSnapshot, pair: Pair, outcome: Outcome, state: RecordState, now: datetime
) -> None:
    """The snapshot after the writes: the agreed values and each side as it now holds."""
    a, s = _after(state.airtable, outcome.to_airtable), _after(state.sql, outcome.to_sql)
    row.airtable_id = pair.airtable_id if a is not None else None
    row.sql_key = pair.sql_key if s is not None else None
    row.base = dict(outcome.snapshot or {})
    row.airtable, row.sql = a, s
    written_a = outcome.to_airtable.action != "none"
    written_s = outcome.to_sql.action != "none"
    row.airtable_modified = now if written_a else state.airtable_modified
    row.sql_modified = now if written_s else state.sql_modified
    row.flag = outcome.flag or ""
    row.pending_since = None


def _after(values: dict[str, Any] | Any, write: Any) -> dict[str, Any] | None:
    if write.action == "delete":
        return None
    if write.action == "create":
        return dict(write.values)
    if values is None:
        return None
    return {**dict(values), **dict(write.values)}
