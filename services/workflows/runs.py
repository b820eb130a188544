"""Starting, reading, cancelling, approving and retrying runs: the web side of the engine.

This never executes a step. It validates inputs, records the run as `queued` and hands it
to DBOS through a `DBOSClient` (`enqueue`, `send`, `cancel_workflow`, `fork_workflow`);
a worker process (`python manage.py worker`, see `worker.py`) executes it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.airtable.gateway import AirtableGateway
from services.errors import InvalidInputError, NotFoundError
from services.prompts.library import UserLookups
from services.prompts.variables import Variable, validate_inputs
from services.workflows.definition import WorkflowDefinition
from services.workflows.library import WorkflowLibrary
from services.workflows.queue import (
    APP_VERSION,
    APPROVAL_TOPIC,
    QUEUE_NAME,
    WORKFLOW_NAME,
)
from services.workflows.run_store import RunStore
from services.workflows.types import FINISHED, Actor, RunInfo, RunStatus, StepStatus

if TYPE_CHECKING:
    from dbos import DBOSClient

logger = logging.getLogger(__name__)

TRIGGERS = ("manual", "schedule", "record", "webhook", "chat", "api")
ClientFactory = Callable[[], "DBOSClient"]


class WorkflowRuns:
    """Runs for the pages, REST routes and chat tools (`services.workflow_runs`)."""

    def __init__(
        self,
        library: WorkflowLibrary,
        store: RunStore,
        gateway: AirtableGateway,
        client: ClientFactory,
    ) -> None:
        self._library = library
        self._store = store
        self._gateway = gateway
        self._client = client

    def start(
        self,
        user: Actor,
        workflow_id: str,
        inputs: dict[str, Any] | None = None,
        trigger: str = "manual",
        *,
        run_id: str | None = None,
    ) -> RunInfo:
        """Validate inputs and queue a run of the current version, owned by `user`.

        The run belongs to whoever starts it: its LLM steps are charged to them and its
        record steps use their Airtable access, so sharing a workflow never lends the
        owner's connection or budget to others. Schedules start runs as the owner.

        Args:
            user: Who starts it; they must see the workflow (own it, or it is shared).
            trigger: manual (UI), chat, api, schedule, record or webhook.
            run_id: A deterministic ID (schedules: `schedule:{workflow_id}:{tick}`); a run
                with this ID already queued is returned instead of a second one.

        Raises:
            InvalidInputError: inputs fail validation (nothing is started), or the trigger
                is unknown.
            NotFoundError: the workflow is not visible to `user`.
        """
        if trigger not in TRIGGERS:
            raise InvalidInputError(f"Trigger: use one of {', '.join(TRIGGERS)}.")
        workflow = self._library.get(user, workflow_id)
        clean = self.check_inputs(user.id, workflow.definition, inputs or {})
        run_id = run_id or f"run_{secrets.token_hex(8)}"
        created = self._store.create(
            run_id=run_id,
            workflow_id=workflow.id,
            workflow_name=workflow.name,
            version=workflow.version,
            owner_id=user.id,
            trigger=trigger,
            inputs=clean,
            steps=[(s.id, s.type) for s in workflow.definition.steps],
            status=RunStatus.QUEUED.value,
        )
        # Enqueued even when the row existed: a deterministic ID (a schedule's tick) whose
        # first starter died between insert and enqueue still runs, and DBOS runs it once.
        self._enqueue(run_id, workflow.id, workflow.version)
        if created:
            logger.info("run %s of %s queued (%s)", run_id, workflow.id, trigger)
        return self._store.info(run_id)

    def check_inputs(
        self, owner_id: int, definition: WorkflowDefinition, values: dict[str, Any]
    ) -> dict[str, str]:
        """Inputs validated like a saved prompt's variables (as text), or `InvalidInputError`."""
        unknown = sorted(set(values) - {v.name for v in definition.inputs})
        if unknown:
            raise InvalidInputError(f"Unknown inputs: {', '.join(unknown)}.")
        variables = [Variable.from_json(v.model_dump()) for v in definition.inputs]
        if not variables:
            return {}
        checked = validate_inputs(
            variables, values, UserLookups(self._gateway, owner_id), base_id=definition.base or ""
        )
        return checked.values

    def get(self, user: Actor, run_id: str) -> RunInfo:
        """A run its owner (or an admin) may see, with its steps and cost.

        Raises:
            NotFoundError: no such run, or not theirs.
        """
        run = self._store.info(run_id)
        if run.owner_id != user.id and not user.is_admin:
            raise NotFoundError("There is no workflow run with this ID.")
        return run

    def list_for(
        self,
        user: Actor,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[RunInfo]:
        """Newest first: the user's runs (admins: everyone's)."""
        owner = None if user.is_admin else user.id
        limit = max(1, min(limit, 500))
        return self._store.list(owner_id=owner, workflow_id=workflow_id, status=status, limit=limit)

    def cancel(self, user: Actor, run_id: str) -> RunInfo:
        """Cancel a run: a queued one never starts; a running or waiting one stops before its
        next step and compensates what it completed (status `cancelled`, or
        `compensation_incomplete`).

        Raises:
            InvalidInputError: the run has already finished.
        """
        run = self.get(user, run_id)
        if run.status in FINISHED:
            raise InvalidInputError(f"This run has already finished ({run.status}).")
        self._store.set_run(run_id, cancel_requested=True)
        client = self._client()
        if run.status == RunStatus.QUEUED.value:
            # Not dequeued yet: DBOS drops it. If a worker just took it, its first step sees
            # the request and ends the run as cancelled.
            client.cancel_workflow(run_id)
            self._store.set_run(
                run_id, status=RunStatus.CANCELLED.value, finished_at=datetime.now(UTC)
            )
        else:
            client.send(run_id, {"cancel": True}, APPROVAL_TOPIC)  # wakes an approval wait
        logger.info("run %s cancel requested by user %s", run_id, user.id)
        return self._store.info(run_id)

    def approve(self, user: Actor, run_id: str, approved: bool, note: str = "") -> RunInfo:
        """Answer the approval step the run is waiting on (its owner, or an admin).

        Raises:
            InvalidInputError: the run is not waiting for an approval.
        """
        run = self.get(user, run_id)
        if run.status != RunStatus.WAITING_APPROVAL.value or run.waiting_step is None:
            raise InvalidInputError("This run is not waiting for an approval.")
        answer = {"approved": bool(approved), "note": note[:1000], "by": user.id}
        step_id = run.waiting_step.id
        self._client().send(run_id, answer, APPROVAL_TOPIC, idempotency_key=f"{run_id}:{step_id}")
        logger.info("run %s step %s answered by user %s", run_id, step_id, user.id)
        return self._store.info(run_id)

    def retry_from_failed(self, user: Actor, run_id: str) -> RunInfo:
        """A new run (a DBOS fork) that reuses the steps before the failed one and runs
        again from it. Only a `failed` run retries this way: a compensated or cancelled one
        undid its earlier steps, so it is started afresh instead.

        Raises:
            InvalidInputError: the run did not fail, or its failed step is unknown.
        """
        run = self.get(user, run_id)
        if run.status != RunStatus.FAILED.value:
            raise InvalidInputError(
                "Only a failed run retries from its failed step; start a new run instead."
            )
        rows = self._store.step_rows(run_id)
        failed = next((r for r in rows if r.status == StepStatus.FAILED.value), None)
        if failed is None or failed.dbos_function_id is None:
            raise InvalidInputError("This run has no failed step to retry from.")
        new_id = f"run_{secrets.token_hex(8)}"
        source = self._store.row(run_id)
        definition = self._library.definition_of(source.workflow_id, source.version)
        self._store.create(
            run_id=new_id,
            workflow_id=source.workflow_id,
            workflow_name=source.workflow_name,
            version=source.version,
            owner_id=source.owner_id,
            trigger=source.trigger,
            inputs=dict(source.inputs or {}),
            steps=[(s.id, s.type) for s in definition.steps],
            status=RunStatus.QUEUED.value,
            retry_of=run_id,
        )
        self._store.copy_steps(run_id, new_id, failed.position)
        from dbos import SetWorkflowID

        with SetWorkflowID(new_id):
            self._client().fork_workflow(
                run_id,
                failed.dbos_function_id,
                application_version=APP_VERSION,
                queue_name=QUEUE_NAME,
            )
        logger.info("run %s retried from step %s as %s", run_id, failed.step_id, new_id)
        return self._store.info(new_id)

    def _enqueue(self, run_id: str, workflow_id: str, version: int) -> None:
        self._client().enqueue(
            {
                "queue_name": QUEUE_NAME,
                "workflow_name": WORKFLOW_NAME,
                "workflow_id": run_id,
                "app_version": APP_VERSION,
            },
            workflow_id,
            version,
        )
