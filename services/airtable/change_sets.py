"""The SQL side of change sets: claiming, status transitions, results and history."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.orm import ChangeSet, ChangeStatus, RecordChange
from services.airtable.proposals import Proposal
from services.errors import InvalidInputError, NotAllowedError, NotFoundError

REVERTIBLE = (ChangeStatus.APPLIED.value, ChangeStatus.FAILED.value)


@dataclass(frozen=True)
class ApplyResult:
    """How an apply or undo ended. `already_done` means this call wrote nothing."""

    change_set_id: str
    status: str
    total: int
    done: int
    already_done: bool = False
    created_ids: list[str] = field(default_factory=list)

    def to_artifact(self) -> dict[str, Any]:
        """What the UI shows after Confirm or Undo."""
        return {"kind": "change_result", **asdict(self)}


@dataclass(frozen=True)
class EditedRecord:
    """A record a change wrote that someone changed or deleted since."""

    record_id: str
    label: str
    fields: list[str] = field(default_factory=list)  # field names whose values differ now
    deleted: bool = False

    def describe(self) -> str:
        return (
            f"{self.label} (deleted)"
            if self.deleted
            else f"{self.label} ({', '.join(self.fields)})"
        )


class UndoConflictError(InvalidInputError):
    """Undoing would overwrite later edits; `edited` says which records and fields."""

    def __init__(self, edited: list[EditedRecord]) -> None:
        shown = "; ".join(r.describe() for r in edited[:5])
        more = f"; and {len(edited) - 5} more" if len(edited) > 5 else ""
        n = len(edited)
        super().__init__(
            f"{n} record{'s were' if n != 1 else ' was'} edited after this change, and undoing "
            f"would overwrite those edits: {shown}{more}. Undo anyway to revert them too."
        )
        self.edited = edited


class ChangeSetRecords:
    """Change set rows: every transition is one short transaction, safe across processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._db = sessions

    def claim(self, proposal: Proposal) -> bool:
        """Insert the change set for a proposal; False when another apply got there first."""
        try:
            with self._db.begin() as session:
                session.add(
                    ChangeSet(
                        id=proposal.id,
                        kind="apply",
                        action=proposal.action,
                        user_id=proposal.user_id,
                        base_id=proposal.base_id,
                        table_id=proposal.table_id,
                        table_name=proposal.table_name,
                        status=ChangeStatus.APPLYING.value,
                        total=len(proposal.changes),
                        done=0,
                        conversation_id=proposal.conversation_id,
                    )
                )
        except IntegrityError:
            return False
        return True

    def claim_undo(self, original: ChangeSet, undo_id: str, total: int) -> bool:
        """Move `original` to undoing and add its undo; False when it is already being undone."""
        with self._db.begin() as session:
            claimed = session.execute(
                update(ChangeSet)
                .where(ChangeSet.id == original.id, ChangeSet.status.in_(REVERTIBLE))
                .values(status=ChangeStatus.UNDOING.value)
            )
            if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
                return False
            session.add(
                ChangeSet(
                    id=undo_id,
                    kind="undo",
                    action="undo",
                    user_id=original.user_id,
                    base_id=original.base_id,
                    table_id=original.table_id,
                    table_name=original.table_name,
                    status=ChangeStatus.APPLYING.value,
                    total=total,
                    done=0,
                    reverts_id=original.id,
                    conversation_id=original.conversation_id,
                )
            )
        return True

    def finish(self, change_set_id: str, status: ChangeStatus, *, error: str | None = None) -> None:
        with self._db.begin() as session:
            session.execute(
                update(ChangeSet)
                .where(ChangeSet.id == change_set_id)
                .values(status=status.value, error=error, finished_at=datetime.now(UTC))
            )

    def set_status(self, change_set_id: str, status: str, *, reverted_by: str | None) -> None:
        with self._db.begin() as session:
            session.execute(
                update(ChangeSet)
                .where(ChangeSet.id == change_set_id)
                .values(status=status, reverted_by=reverted_by)
            )

    def owned(self, change_set_id: str, user_id: int) -> ChangeSet:
        """The change set, if it is this user's.

        Raises:
            NotFoundError: there is none with this ID.
            NotAllowedError: it is someone else's.
        """
        with self._db() as session:
            row = session.get(ChangeSet, change_set_id)
        if row is None:
            raise NotFoundError("There is no applied change with this ID.")
        if row.user_id != user_id:
            raise NotAllowedError("This change belongs to someone else.")
        return row

    def find(self, change_set_id: str, user_id: int) -> ApplyResult | None:
        """The result of a change set that exists (someone already applied it), else None."""
        try:
            self.owned(change_set_id, user_id)
        except NotFoundError:
            return None
        return self.result(change_set_id, already=True)

    def rows(self, change_set_id: str) -> list[RecordChange]:
        """Its audit rows, in the order they were written."""
        with self._db() as session:
            query = (
                select(RecordChange)
                .where(RecordChange.change_set_id == change_set_id)
                .order_by(RecordChange.id)
            )
            return list(session.scalars(query))

    def result(
        self, change_set_id: str, *, already: bool = False, created: list[str] | None = None
    ) -> ApplyResult:
        with self._db() as session:
            row = session.get(ChangeSet, change_set_id)
            if row is None:
                raise NotFoundError("There is no applied change with this ID.")
            if created is None:
                created = list(
                    session.scalars(
                        select(RecordChange.record_id)
                        .where(
                            RecordChange.change_set_id == change_set_id,
                            RecordChange.action == "create",
                        )
                        .order_by(RecordChange.id)
                    )
                )
            return ApplyResult(row.id, row.status, row.total, row.done, already, created)

    def history(self, user_id: int, *, limit: int = 20) -> list[ChangeSet]:
        """The user's latest change sets, newest first (for an undo list in the UI)."""
        with self._db() as session:
            query = (
                select(ChangeSet)
                .where(ChangeSet.user_id == user_id)
                .order_by(ChangeSet.created_at.desc())
                .limit(limit)
            )
            return list(session.scalars(query))
