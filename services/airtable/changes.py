"""Applying, undoing and cancelling proposed changes; the UI calls these, no model is involved.

`apply` writes a proposal once: a change set row whose primary key is the proposal's ID is
inserted before anything is written, so a second apply (another click, another replica,
another thread) finds it and writes nothing. `undo` reverts an applied change set from
its audit rows and is itself a change set, audited the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.airtable.cells import plain_text, restorable_value, same_value
from services.airtable.change_sets import (
    REVERTIBLE,
    ApplyResult,
    ChangeSetRecords,
    EditedRecord,
    UndoConflictError,
)
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups
from services.airtable.orm import ChangeSet, ChangeStatus, RecordChange
from services.airtable.proposals import PlannedChange, Proposal, ProposalStore, new_id
from services.airtable.schema import TableSchema
from services.airtable.writing import BatchWriter, Progress, Target
from services.errors import AirtableError, AppError, InvalidInputError, NotFoundError
from services.events.bus import EventBus
from services.events.types import CHANGE_APPLIED, CHANGE_UNDONE

logger = logging.getLogger(__name__)

_STALE = "changed since this was proposed, so nothing was written; ask for the change again."
# How a change set's status reads on its card.
_STATES = {ChangeStatus.UNDONE.value: "undone", ChangeStatus.STALE.value: "stale"}


def change_event(
    result: ApplyResult, source: Proposal | ChangeSet, *, undoes: str | None = None
) -> dict[str, Any]:
    """The `data` of a `change.applied` or `change.undone` event."""
    data: dict[str, Any] = {
        "change_set_id": result.change_set_id,
        "status": result.status,
        "base_id": source.base_id,
        "table_id": source.table_id,
        "table_name": source.table_name,
        "conversation_id": source.conversation_id,
        "total": result.total,
        "done": result.done,
    }
    return data | ({"undoes": undoes} if undoes else {})


class ChangeLog:
    """Apply, undo, cancel and list change sets for their owner."""

    def __init__(
        self,
        gateway: AirtableGateway,
        lookups: RecordLookups,
        store: ProposalStore,
        sessions: sessionmaker[Session],
        events: EventBus | None = None,
    ) -> None:
        self._gateway = gateway
        self._events = events
        self._lookups = lookups
        self._store = store
        self._sets = ChangeSetRecords(sessions)
        self._writer = BatchWriter(gateway, sessions)

    def apply(
        self, proposal_id: str, user_id: int, *, progress: Progress | None = None
    ) -> ApplyResult:
        """Write a confirmed proposal in batches of ten; applying it again writes nothing.

        Raises:
            NotFoundError: the proposal expired, was cancelled or never existed.
            NotAllowedError: it is someone else's, or its base is no longer reachable.
            InvalidInputError: records changed since it was proposed (nothing written).
            AirtableError: Airtable failed part-way; the written part is audited.
        """
        existing = self._already_applied(proposal_id, user_id)
        if existing is not None:
            return existing
        proposal = self._store.load(proposal_id, user_id)
        self._gateway.require_base(user_id, proposal.base_id, fresh=True)
        # Claim first: of several concurrent applies exactly one goes on, and the others
        # are told it was already applied rather than racing the first one's writes.
        if not self._sets.claim(proposal):
            return self._already_applied(proposal_id, user_id) or ApplyResult(
                proposal_id, ChangeStatus.APPLYING.value, len(proposal.changes), 0, True
            )
        try:
            self._check_unchanged(proposal)
        except InvalidInputError:
            self._sets.finish(proposal_id, ChangeStatus.STALE, error=_STALE)
            raise
        target = Target(proposal.id, user_id, proposal.base_id, proposal.table_id)
        created = self._run(target, proposal.changes, progress)
        self._store.discard(proposal_id)
        logger.info("proposal %s applied by user %s", proposal_id, user_id)
        result = self._sets.result(proposal_id, created=created)
        self._publish(CHANGE_APPLIED, result, user_id, proposal)
        return result

    def undo(
        self,
        change_set_id: str,
        user_id: int,
        *,
        progress: Progress | None = None,
        force: bool = False,
    ) -> ApplyResult:
        """Revert an applied change set from its audit rows; the undo is audited too.

        Updated fields get their before values back, created records are deleted, deleted
        records are created again (under new IDs, recorded as `source_record_id`).

        Args:
            change_set_id: The applied proposal's ID (or an undo's, to redo).
            user_id: Who asks; only the change set's owner may undo it.
            progress: Called with (done, total) after each batch.
            force: Undo even where records were edited after the change.

        Raises:
            InvalidInputError: records changed since (unless `force`), or nothing to undo.
        """
        original = self._sets.owned(change_set_id, user_id)
        if original.status == ChangeStatus.UNDONE.value and original.reverted_by:
            return self._sets.result(original.reverted_by, already=True)
        if original.status == ChangeStatus.STALE.value:
            raise InvalidInputError("This change was never applied, so there is nothing to undo.")
        if original.status not in REVERTIBLE:
            raise InvalidInputError("This change is still being written; try again shortly.")
        self._gateway.require_base(user_id, original.base_id, fresh=True)
        rows = self._sets.rows(change_set_id)
        table = self._table(user_id, original)
        if not force:
            edited = self._edited_since(user_id, original, table, rows)
            if edited:
                raise UndoConflictError(edited)
        inverse = self._inverse(table, rows)
        undo_id = new_id("undo")
        if not self._sets.claim_undo(original, undo_id, len(inverse)):
            return self._sets.result(
                self._sets.owned(change_set_id, user_id).reverted_by or undo_id, already=True
            )
        target = Target(undo_id, user_id, original.base_id, original.table_id)
        try:
            created = self._run(target, inverse, progress)
        except AppError:
            self._sets.set_status(change_set_id, original.status, reverted_by=None)
            raise
        self._sets.set_status(change_set_id, ChangeStatus.UNDONE.value, reverted_by=undo_id)
        logger.info("change set %s undone by %s as %s", change_set_id, user_id, undo_id)
        result = self._sets.result(undo_id, created=created)
        self._publish(CHANGE_UNDONE, result, user_id, original, undoes=change_set_id)
        return result

    def undo_unedited(
        self, change_set_id: str, user_id: int
    ) -> tuple[ApplyResult | None, list[EditedRecord]]:
        """Undo what nobody changed since; leave records edited after the change as they are.

        What a workflow's compensation does: it never overwrites a later edit. Returns the
        undo's result (None when every record was edited since) and the records kept.
        """
        original = self._sets.owned(change_set_id, user_id)
        if original.status == ChangeStatus.UNDONE.value and original.reverted_by:
            return self._sets.result(original.reverted_by, already=True), []
        rows = self._sets.rows(change_set_id)
        table = self._table(user_id, original)
        edited = self._edited_since(user_id, original, table, rows)
        kept = {r.record_id for r in edited}
        inverse = self._inverse(table, [r for r in rows if r.record_id not in kept])
        undo_id = new_id("undo")
        if not self._sets.claim_undo(original, undo_id, len(inverse)):
            raise InvalidInputError("This change is still being written or undone.")
        target = Target(undo_id, user_id, original.base_id, original.table_id)
        try:
            self._run(target, inverse, None)
        except AppError:
            self._sets.set_status(change_set_id, original.status, reverted_by=None)
            raise
        self._sets.set_status(change_set_id, ChangeStatus.UNDONE.value, reverted_by=undo_id)
        logger.info(
            "change set %s undone as %s, %d records kept", change_set_id, undo_id, len(kept)
        )
        result = self._sets.result(undo_id)
        self._publish(CHANGE_UNDONE, result, user_id, original, undoes=change_set_id)
        return result, edited

    def cancel(self, proposal_id: str, user_id: int) -> None:
        """Discard a proposal the person declined (an applied one is undone instead)."""
        if self._sets.find(proposal_id, user_id) is not None:
            raise InvalidInputError("This change was already applied; undo it instead.")
        self._store.load(proposal_id, user_id)
        self._store.discard(proposal_id)

    def state(self, proposal_id: str, user_id: int) -> str:
        """Where a proposal stands for the UI: pending, applied, undone or closed."""
        applied = self._sets.find(proposal_id, user_id)
        if applied is not None:
            return _STATES.get(applied.status, "applied")
        try:
            self._store.load(proposal_id, user_id)
        except AppError:
            return "closed"  # cancelled, expired, or not this user's
        return "pending"

    def history(self, user_id: int, *, limit: int = 20) -> list[ChangeSet]:
        """The user's latest change sets, newest first (for an undo list in the UI)."""
        return self._sets.history(user_id, limit=limit)

    # -- steps -------------------------------------------------------------------------

    def _publish(
        self,
        kind: str,
        result: ApplyResult,
        user_id: int,
        source: Proposal | ChangeSet,
        *,
        undoes: str | None = None,
    ) -> None:
        """Tell the user's live stream (never fails the change: see `EventBus.publish`)."""
        if self._events is None:
            return
        self._events.publish(kind, change_event(result, source, undoes=undoes), user_id=user_id)

    def _already_applied(self, proposal_id: str, user_id: int) -> ApplyResult | None:
        """The earlier apply's result, if there was one; a refused one is refused again."""
        existing = self._sets.find(proposal_id, user_id)
        if existing is not None and existing.status == ChangeStatus.STALE.value:
            raise InvalidInputError(f"Records {_STALE}")
        return existing

    def _run(
        self, target: Target, changes: list[PlannedChange], progress: Progress | None
    ) -> list[str]:
        try:
            created = self._writer.run(target, changes, progress)
        except AppError as exc:
            self._sets.finish(target.change_set_id, ChangeStatus.FAILED, error=str(exc))
            done = self._sets.result(target.change_set_id).done
            raise AirtableError(
                f"{done} of {len(changes)} changes were written before this failed: {exc} "
                "Undo reverts the written part."
            ) from exc
        self._sets.finish(target.change_set_id, ChangeStatus.APPLIED)
        return created

    def _check_unchanged(self, proposal: Proposal) -> None:
        touched = [c for c in proposal.changes if c.action != "create"]
        if not touched:
            return
        fields = sorted({f for c in touched for f in c.before})
        current = self._lookups.by_id(
            proposal.user_id,
            proposal.base_id,
            proposal.table_id,
            [str(c.record_id) for c in touched],
            fields,
        )
        stale = [
            c
            for c in touched
            if c.record_id not in current
            or not all(
                same_value(current[c.record_id]["fields"].get(f), v) for f, v in c.before.items()
            )
        ]
        if stale:
            self._store.discard(proposal.id)
            raise InvalidInputError(f"{len(stale)} record(s) {_STALE}")

    def _table(self, user_id: int, original: ChangeSet) -> TableSchema:
        table = self._gateway.schema(user_id, original.base_id).table_by_id(original.table_id)
        if table is None:
            raise NotFoundError(f"The table {original.table_name} no longer exists.")
        return table

    def _edited_since(
        self, user_id: int, original: ChangeSet, table: TableSchema, rows: list[RecordChange]
    ) -> list[EditedRecord]:
        """Records this change wrote that someone has changed (or deleted) since.

        An updated record must still hold the values written; a created one (also one an
        undo re-created) must hold exactly what it was created with, every other writable
        field still empty, since deleting it would lose anything added later.
        """
        check = [r for r in rows if r.action in ("update", "create")]
        if not check:
            return []
        writable = [f.id for f in table.fields if not f.computed]
        wanted = {f for r in check for f in r.after} | {table.primary_field_id}
        if any(r.action == "create" for r in check):
            wanted.update(writable)
        current = self._lookups.by_id(
            user_id, original.base_id, table.id, [r.record_id for r in check], sorted(wanted)
        )
        names = {f.id: f.name for f in table.fields}
        edited = []
        for row in check:
            record = current.get(row.record_id)
            if record is None:
                edited.append(EditedRecord(row.record_id, row.record_id, deleted=True))
                continue
            cells = record["fields"]
            expected = dict(row.after)
            if row.action == "create":
                expected.update({f: None for f in writable if f not in row.after})
            changed = [
                names.get(f, f) for f, v in expected.items() if not same_value(cells.get(f), v)
            ]
            if changed:
                label = plain_text(cells.get(table.primary_field_id)) or row.record_id
                edited.append(EditedRecord(row.record_id, label, fields=sorted(changed)))
        return edited

    def _inverse(self, table: TableSchema, rows: list[RecordChange]) -> list[PlannedChange]:
        writable = {f.id: f for f in table.fields if not f.computed}
        inverse = []
        for row in rows:
            if row.action == "update":
                inverse.append(PlannedChange("update", row.record_id, "", row.after, row.before))
            elif row.action == "create":
                inverse.append(PlannedChange("delete", row.record_id, "", row.after, {}))
            else:
                values = {
                    fid: restorable_value(writable[fid], v)
                    for fid, v in row.before.items()
                    if fid in writable and v is not None
                }
                inverse.append(PlannedChange("create", row.record_id, "", {}, values))
        return inverse
