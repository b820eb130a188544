"""Writing a change set to Airtable in batches of ten, auditing each batch as it lands.

Each batch is written, then its records go to the audit log in one SQL transaction
together with the change set's progress, so the log always says exactly what Airtable
holds, even when a later batch fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.gateway import BATCH_SIZE, AirtableGateway
from services.airtable.orm import ChangeSet, RecordChange
from services.airtable.proposals import PlannedChange

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Target:
    """Where a change set writes and who it writes for."""

    change_set_id: str
    user_id: int
    base_id: str
    table_id: str


class BatchWriter:
    """Runs planned changes: updates, then creates, then deletes, ten records a request."""

    def __init__(self, gateway: AirtableGateway, sessions: sessionmaker[Session]) -> None:
        self._gateway = gateway
        self._db = sessions

    def run(
        self, target: Target, changes: Sequence[PlannedChange], progress: Progress | None = None
    ) -> list[str]:
        """Write every change; returns the IDs of created records, in order.

        Raises:
            AppError: from the gateway; the batches before it are written and audited.
        """
        started, done, total = time.monotonic(), 0, len(changes)
        created: list[str] = []
        for action in ("update", "create", "delete"):
            todo = [c for c in changes if c.action == action]
            for start in range(0, len(todo), BATCH_SIZE):
                batch = todo[start : start + BATCH_SIZE]
                rows = self._write(target, action, batch)
                created += [r.record_id for r in rows if r.action == "create"]
                self._audit(target, rows)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
        logger.info(
            "change set %s written: %d records in %d ms",
            target.change_set_id,
            total,
            (time.monotonic() - started) * 1000,
        )
        return created

    def audit_written(
        self, target: Target, batch: Sequence[PlannedChange], record_ids: Sequence[str]
    ) -> None:
        """Audit a batch that Airtable holds but the log missed (the writer died between
        Airtable's answer and the audit); `record_ids` are the records as written."""
        rows = [
            _row(target, c, rid, source=c.record_id if c.action == "create" else None)
            for c, rid in zip(batch, record_ids, strict=True)
        ]
        self._audit(target, rows)

    def _write(self, target: Target, action: str, batch: list[PlannedChange]) -> list[RecordChange]:
        gateway, user, base, table = (
            self._gateway,
            target.user_id,
            target.base_id,
            target.table_id,
        )
        if action == "update":
            gateway.update(
                user, base, table, [{"id": c.record_id, "fields": c.after} for c in batch]
            )
            return [_row(target, c, str(c.record_id)) for c in batch]
        if action == "create":
            records = gateway.create(user, base, table, [c.after for c in batch])
            # A re-created record (undo of a delete) keeps the ID it replaces for reference.
            return [
                _row(target, c, r["id"], source=c.record_id)
                for c, r in zip(batch, records, strict=True)
            ]
        gateway.delete(user, base, table, [str(c.record_id) for c in batch])
        return [_row(target, c, str(c.record_id)) for c in batch]

    def _audit(self, target: Target, rows: list[RecordChange]) -> None:
        with self._db.begin() as session:
            session.add_all(rows)
            session.execute(
                update(ChangeSet)
                .where(ChangeSet.id == target.change_set_id)
                .values(done=ChangeSet.done + len(rows))
            )


def _row(
    target: Target, change: PlannedChange, record_id: str, *, source: str | None = None
) -> RecordChange:
    return RecordChange(
        change_set_id=target.change_set_id,
        user_id=target.user_id,
        base_id=target.base_id,
        table_id=target.table_id,
        record_id=record_id,
        action=change.action,
        before=change.before,
        after=change.after,
        source_record_id=source,
    )
