"""Write steps through the change log: planned once, applied once per run and step.

A write step is two DBOS steps. `plan` reads the records and returns the exact change
(checkpointed by DBOS, so a re-executed apply writes the same plan). `apply` writes it
as a change set whose ID is derived from the run and step: if the worker died part-way,
the re-executed apply finds the change set and its audit rows and writes only what they
do not already list, so no record is written twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.airtable.change_sets import ApplyResult, ChangeSetRecords
from services.airtable.changes import change_event
from services.airtable.filters import Condition as FilterCondition
from services.airtable.gateway import BATCH_SIZE, AirtableGateway
from services.airtable.in_flight import InFlightBatch
from services.airtable.orm import ChangeStatus
from services.airtable.planning import ProposalPlanner
from services.airtable.proposals import PlannedChange, Proposal, ProposalStore
from services.airtable.writing import BatchWriter, Target
from services.errors import AppError, InvalidInputError
from services.events.types import CHANGE_APPLIED
from services.workflows.definition import (
    CreateRecords,
    DeleteRecords,
    UpdateRecords,
    UpsertRecords,
)

WriteStep = CreateRecords | UpdateRecords | UpsertRecords | DeleteRecords
# (owner_id, event type, data): where `change.applied` goes (the owner's event stream).
PublishChange = Callable[[int, str, Mapping[str, Any]], None]

logger = logging.getLogger(__name__)
_ORDER = {"update": 0, "create": 1, "delete": 2}  # BatchWriter's order


def change_set_id(run_id: str, step_id: str) -> str:
    """The change set of one run's step: the same on every re-execution (≤ 40 chars)."""
    digest = hashlib.sha256(f"{run_id}\x00{step_id}".encode()).hexdigest()[:32]
    return f"wf_{digest}"


class RecordWrites:
    """Plans and applies the record changes of write steps for a run's owner."""

    def __init__(
        self,
        gateway: AirtableGateway,
        planner: ProposalPlanner,
        store: ProposalStore,
        sets: ChangeSetRecords,
        writer: BatchWriter,
        in_flight: InFlightBatch,
        publish: PublishChange | None = None,
    ) -> None:
        self._gateway = gateway
        self._planner = planner
        self._store = store
        self._sets = sets
        self._writer = writer
        self._in_flight = in_flight
        self._publish = publish

    def plan(
        self, owner_id: int, base_id: str, step: WriteStep, rendered: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The proposal as JSON-safe data, or None when nothing would change.

        `rendered` holds the step's fields with templates rendered (records, where, set).
        """
        try:
            proposal = self._propose(owner_id, base_id, step, rendered)
        except InvalidInputError as exc:
            if str(exc).startswith("Nothing would change"):
                return None
            raise
        self._store.discard(proposal.id)  # it is applied here, not confirmed in a card
        data = dataclasses.asdict(proposal)
        data["created_at"] = proposal.created_at.isoformat()
        data["expires_at"] = proposal.expires_at.isoformat()
        return data

    def apply(self, run_id: str, step_id: str, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Write the plan once; a second call (after a crash) finishes what is missing.

        Raises:
            AppError: Airtable failed; what was written is audited under the change set.
        """
        proposal = Proposal.from_json(json.dumps(plan))
        proposal = dataclasses.replace(proposal, id=change_set_id(run_id, step_id))
        changes = sorted(proposal.changes, key=lambda c: _ORDER[c.action])
        target = Target(proposal.id, proposal.user_id, proposal.base_id, proposal.table_id)
        if not self._sets.claim(proposal):
            existing = self._sets.result(proposal.id)
            if existing.status == ChangeStatus.APPLIED.value:
                return _summary(proposal, existing.created_ids, existing.done)
            changes = self._resume(target, changes[existing.done :])
        try:
            self._writer.run(target, changes)
        except AppError as exc:
            self._sets.finish(proposal.id, ChangeStatus.FAILED, error=str(exc))
            raise
        self._sets.finish(proposal.id, ChangeStatus.APPLIED)
        result = self._sets.result(proposal.id)
        self._announce(proposal, result, run_id, step_id)
        return _summary(proposal, result.created_ids, result.done)

    def _announce(self, proposal: Proposal, result: ApplyResult, run_id: str, step_id: str) -> None:
        """`change.applied` to the run's owner, as a confirmed chat change publishes it."""
        if self._publish is None:
            return
        data = change_event(result, proposal) | {"run_id": run_id, "step_id": step_id}
        try:
            self._publish(proposal.user_id, CHANGE_APPLIED, data)
        except Exception:  # an event must never fail the step: the write is done
            logger.warning("run %s step %s: change event not published", run_id, step_id)

    def _resume(self, target: Target, remaining: list[PlannedChange]) -> list[PlannedChange]:
        """What is left to write of a change set a dead worker began."""
        if not remaining:
            return remaining
        first = [c for c in remaining[:BATCH_SIZE] if c.action == remaining[0].action]
        began = self._sets.owned(target.change_set_id, target.user_id).created_at
        audited = {r.record_id for r in self._sets.rows(target.change_set_id)}
        if self._in_flight.settle(target, first, audited, began):
            return remaining[len(first) :]
        return remaining

    def _propose(
        self, owner_id: int, base_id: str, step: WriteStep, rendered: Mapping[str, Any]
    ) -> Proposal:
        planner, table = self._planner, step.table
        where = [FilterCondition.model_validate(c) for c in rendered.get("where") or []]
        records = rendered.get("records")
        if isinstance(step, CreateRecords):
            return planner.create(owner_id, base_id, table, _field_maps(records, "records"))
        if isinstance(step, UpsertRecords):
            rows = _field_maps(records, "records")
            return planner.upsert(owner_id, base_id, table, rows, step.merge_on)
        if isinstance(step, UpdateRecords):
            values = dict(rendered.get("set") or {})
            if where:
                return planner.update(
                    owner_id, base_id, table, filters=where, match=step.match, values=values
                )
            updates = {
                rid: values or fields for rid, fields in _by_id(records, with_fields=not values)
            }
            return planner.update(owner_id, base_id, table, updates=updates)
        if where:
            return planner.delete(owner_id, base_id, table, filters=where, match=step.match)
        ids = [rid for rid, _ in _by_id(records, with_fields=False)]
        return planner.delete(owner_id, base_id, table, record_ids=ids)


def _summary(proposal: Proposal, created: Sequence[str], done: int) -> dict[str, Any]:
    counts = proposal.counts()
    return {
        "change_set_id": proposal.id,
        "table": proposal.table_name,
        "count": done,
        "created": counts["create"],
        "updated": counts["update"],
        "deleted": counts["delete"],
        "created_ids": list(created),
        "record_ids": [c.record_id for c in proposal.changes if c.record_id] + list(created),
    }


def _field_maps(records: Any, what: str) -> list[Mapping[str, Any]]:
    if isinstance(records, Mapping):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise InvalidInputError(f"{what} must be a list of {{field: value}} records.")
    return [{k: v for k, v in r.items() if k != "id"} for r in records]


def _by_id(records: Any, *, with_fields: bool) -> list[tuple[str, dict[str, Any]]]:
    """(record ID, fields) from records found by an earlier step, or plain IDs."""
    if isinstance(records, Mapping | str):
        records = [records]
    if not isinstance(records, list):
        raise InvalidInputError("records must be a list of records (with id) or record IDs.")
    found: list[tuple[str, dict[str, Any]]] = []
    for item in records:
        if isinstance(item, str):
            found.append((item, {}))
        elif isinstance(item, Mapping) and isinstance(item.get("id"), str):
            fields = item.get("fields") if isinstance(item.get("fields"), Mapping) else {}
            found.append((item["id"], dict(fields or {}) if with_fields else {}))
        else:
            raise InvalidInputError("Each record needs an id.")
    return found
