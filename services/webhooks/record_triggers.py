"""Record triggers: which enabled workflows a change reported by Airtable starts.

A trigger `{record: {table, on, fields, where}}` matches a change of its table when the
change's kind is in `on`, an update touched one of `fields` (any field when none are
listed), and the record's current values meet every `where` condition (asked of Airtable
with the same formula the find steps use). Each (workflow, payload, record) starts at most
one run: the run ID is derived from them, so a payload read again after a crash finds the
runs it already started.

A run gets, among its declared inputs, `record_id`, `table_id` and `change`
(created/updated/deleted) when the workflow declares inputs of those names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.change_feed import RecordChange
from services.airtable.dates import DateResolver, today_in
from services.airtable.filters import Condition as FilterCondition
from services.airtable.gateway import AirtableGateway
from services.airtable.orm import RecordChange as AuditedChange
from services.airtable.schema import TableSchema
from services.airtable.where import Where, compile_where
from services.errors import AppError, InvalidInputError, NotAllowedError
from services.workflows.definition import RecordSpec, RecordTrigger
from services.workflows.library import WorkflowLibrary
from services.workflows.orm import WorkflowRun, WorkflowRunStep
from services.workflows.runs import WorkflowRuns
from services.workflows.types import WorkflowInfo

logger = logging.getLogger(__name__)

TRIGGER_INPUTS = ("record_id", "table_id", "change")
# A change Airtable reports for a record a run of the same workflow wrote this recently
# is that run's own write, not a new event.
OWN_WRITE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class NumberedChange:
    """A change and the payload (by its cursor number) that reported it."""

    payload: int
    change: RecordChange


class _Owner:
    def __init__(self, user_id: int) -> None:
        self.id = user_id
        self.is_admin = False


def run_id_for(workflow_id: str, webhook_id: str, payload: int, record_id: str) -> str:
    return f"record:{workflow_id}:{webhook_id}:{payload}:{record_id}"


class RecordTriggers:
    """Starts the runs of record triggers for changes read from an Airtable webhook."""

    def __init__(
        self,
        library: WorkflowLibrary,
        runs: WorkflowRuns,
        gateway: AirtableGateway,
        sessions: sessionmaker[Session],
    ) -> None:
        self._library = library
        self._runs = runs
        self._gateway = gateway
        self._db = sessions

    def start_for(
        self,
        owner_id: int,
        base_id: str,
        table_id: str,
        webhook_id: str,
        changes: Sequence[NumberedChange],
        *,
        resolve: TableResolver,
    ) -> list[str]:
        """Start every matching run (idempotent); returns their run IDs."""
        started: list[str] = []
        relevant = [c for c in changes if c.change.table_id == table_id]
        if not relevant:
            return started
        for workflow in self._library.record_triggered(owner_id):
            if resolve(workflow) != (base_id, table_id):
                continue
            trigger = workflow.definition.trigger
            assert isinstance(trigger, RecordTrigger)
            try:
                matching = self._matching(workflow, trigger.record, base_id, table_id, relevant)
            except (InvalidInputError, NotAllowedError) as exc:
                # The trigger no longer fits the table (a field renamed away) or its owner
                # lost access: skip it rather than hold every later payload back. Anything
                # else (Airtable busy or down) fails the read, which leaves the cursor.
                logger.warning("record trigger of %s not evaluated: %s", workflow.id, exc)
                continue
            ids = [i.change.record_id for i in matching]
            own = self._own_writes(workflow, base_id, table_id, ids)
            for item in matching:
                if self._is_own(item, own):
                    # The workflow's own write to a record it watches: starting it again
                    # would loop for ever.
                    logger.info("record trigger of %s skips its own write", workflow.id)
                    continue
                started.append(self._start(workflow, webhook_id, item))
        return started

    def _own_writes(
        self, workflow: WorkflowInfo, base_id: str, table_id: str, record_ids: list[str]
    ) -> dict[str, set[str]]:
        """Field IDs that runs of this workflow wrote, in the last 10 minutes, per record."""
        if not record_ids:
            return {}
        since = datetime.now(UTC) - OWN_WRITE_WINDOW
        query = (
            select(AuditedChange.record_id, AuditedChange.after)
            .join(WorkflowRunStep, WorkflowRunStep.change_set_id == AuditedChange.change_set_id)
            .join(WorkflowRun, WorkflowRun.id == WorkflowRunStep.run_id)
            .where(
                WorkflowRun.workflow_id == workflow.id,
                AuditedChange.record_id.in_(record_ids),
                AuditedChange.created_at >= since,
            )
        )
        with self._db() as session:
            rows = list(session.execute(query))
        if not rows:
            return {}
        table = self._gateway.table(workflow.owner_id, base_id, table_id)
        written: dict[str, set[str]] = {}
        for record_id, after in rows:
            for key in after or {}:
                found = table.find_field(str(key))  # audit rows may key by name or ID
                written.setdefault(record_id, set()).add(found.id if found else str(key))
        return written

    @staticmethod
    def _is_own(item: NumberedChange, own: dict[str, set[str]]) -> bool:
        """The change only touched fields a run of the workflow itself just wrote."""
        change = item.change
        written = own.get(change.record_id)
        return (
            bool(written)
            and change.kind == "updated"
            and set(change.changed_fields) <= (written or set())
        )

    def _matching(
        self,
        workflow: WorkflowInfo,
        spec: RecordSpec,
        base_id: str,
        table_id: str,
        changes: Sequence[NumberedChange],
    ) -> list[NumberedChange]:
        table = self._gateway.table(
            workflow.owner_id,
            base_id,
            table_id,
            uses=[*spec.fields, *(c.field for c in spec.where)],
        )
        watched = {table.field(name).id for name in spec.fields}
        found = []
        for item in changes:
            change = item.change
            if change.kind not in spec.on:
                continue
            if change.kind == "updated" and watched and not watched & set(change.changed_fields):
                continue
            found.append(item)
        if not spec.where or not found:
            return found
        alive = [i for i in found if i.change.kind != "deleted"]
        meeting = self._meeting_where(workflow.owner_id, base_id, table, spec, alive)
        return [i for i in found if i.change.kind == "deleted" or i.change.record_id in meeting]

    def _meeting_where(
        self,
        owner_id: int,
        base_id: str,
        table: TableSchema,
        spec: RecordSpec,
        items: Sequence[NumberedChange],
    ) -> set[str]:
        """The records among `items` whose current values meet the trigger's conditions."""
        ids = sorted({i.change.record_id for i in items})
        if not ids:
            return set()
        conditions = [
            FilterCondition.model_validate(c.model_dump(exclude_none=True)) for c in spec.where
        ]
        compiled = compile_where(table, Where(conditions, "all"), DateResolver(today_in(None)))
        met: set[str] = set()
        for chunk in range(0, len(ids), 50):
            part = ids[chunk : chunk + 50]
            records = "OR(" + ", ".join(f"RECORD_ID()='{i}'" for i in part) + ")"
            formula = f"AND({records}, {compiled.formula})" if compiled.formula else records
            for page in self._gateway.pages(
                owner_id, base_id, table.id, formula=formula, fields=[table.primary.id]
            ):
                met.update(r["id"] for r in page)
        return met

    def _start(self, workflow: WorkflowInfo, webhook_id: str, item: NumberedChange) -> str:
        change = item.change
        values = {"record_id": change.record_id, "table_id": change.table_id, "change": change.kind}
        declared = {v.name for v in workflow.definition.inputs}
        inputs = {k: v for k, v in values.items() if k in declared}
        run_id = run_id_for(workflow.id, webhook_id, item.payload, change.record_id)
        try:
            run = self._runs.start(
                _Owner(workflow.owner_id), workflow.id, inputs, "record", run_id=run_id
            )
        except AppError as exc:
            # A workflow whose own inputs can never be met by a trigger: log, do not block
            # the other triggers or the cursor.
            logger.warning("record trigger of %s did not start: %s", workflow.id, exc)
            return run_id
        return run.id


class TableResolver:
    """(base ID, table ID) of a workflow's record trigger, resolved once per read."""

    def __init__(self, resolve: Callable[[WorkflowInfo], tuple[str, str] | None]) -> None:
        self._resolve = resolve
        self._seen: dict[str, tuple[str, str] | None] = {}

    def __call__(self, workflow: WorkflowInfo) -> tuple[str, str] | None:
        if workflow.id not in self._seen:
            self._seen[workflow.id] = self._resolve(workflow)
        return self._seen[workflow.id]
