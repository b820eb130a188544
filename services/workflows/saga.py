"""What happens when a step fails (or a run is cancelled), in one place.

1. The step itself retries transient errors (429/502/503/504, timeouts) with exponential
   backoff and jitter, up to `WORKFLOW_STEP_MAX_ATTEMPTS` attempts (`Engine._attempts`,
   classification in `steps.is_transient`). SQL or Redis being down is not the step's
   fault: the DBOS step is retried for about half an hour (`engine._step`). Anything
   else, or the last attempt, fails the step: its status is `failed` with the error.
2. With `on_failure: stop` the run ends `failed`: what completed stays as it is.
   So does a failure with nothing to undo (only reads, prompts, notifications completed).
3. With `on_failure: compensate` (the default), and on a cancel, the run is
   `compensating`: completed steps are compensated in reverse order, each as its own
   durable DBOS step (`compensate_step`), and so is a write step that failed part-way:
   - a write step's change set is undone from the audit log, except records someone
     changed after the run wrote them: those are left as they are and listed;
   - an `http_request` sends its `compensate` request, if it has one;
   - reads, LLM steps, approvals, notifications and stop_if need nothing.
4. The run ends `compensated` (`cancelled` after a cancel), or `compensation_incomplete`
   when any record was kept or a compensating request failed, with an alert to the owner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.airtable.changes import ChangeLog
from services.errors import AppError, NotFoundError
from services.workflows.definition import WRITE_TYPES, HttpRequest, WorkflowDefinition
from services.workflows.run_store import RunStore
from services.workflows.steps import Publish, StepActions, StepContext, is_transient
from services.workflows.types import RunStatus, StepStatus

logger = logging.getLogger(__name__)

KEPT_LISTED = 20  # records named in a step's compensation note; the rest are counted


class Saga:
    """Compensation of a run's completed steps, and how the run ends."""

    def __init__(
        self,
        store: RunStore,
        changes: ChangeLog,
        actions: StepActions,
        definitions: Callable[[str, int], WorkflowDefinition],
        *,
        max_attempts: int,
        publish: Publish | None = None,
    ) -> None:
        self.store = store
        self._changes = changes
        self._actions = actions
        self._definitions = definitions
        self._max_attempts = max_attempts
        self._publish = publish

    def compensate_step(self, run_id: str, index: int, values: dict[str, Any]) -> str:
        """Compensate one step; returns its compensation status (a DBOS step: durable)."""
        run = self.store.row(run_id)
        if run.status != RunStatus.COMPENSATING.value:
            self.store.set_run(run_id, status=RunStatus.COMPENSATING.value)
        step = self._definitions(run.workflow_id, run.version).steps[index]
        row = next(r for r in self.store.step_rows(run_id) if r.step_id == step.id)
        if step.type in WRITE_TYPES and row.change_set_id:
            status, note = self._undo(row.change_set_id, run.owner_id)
        elif isinstance(step, HttpRequest) and step.compensate is not None:
            ctx = StepContext(run_id, run.owner_id, None, values)
            status, note = self._request(ctx, step)
        else:
            return "none"
        self.store.set_step(run_id, step.id, status=status, compensation=note)
        return status

    def finish(
        self,
        run_id: str,
        done: list[int],
        ending: str,
        error: str,
        values: Mapping[str, Any],
        on_failure: str,
    ) -> str:
        """Set the run's final status (a DBOS step); returns it."""
        # A run that succeeded compensated nothing: no need to read its steps first.
        rows = self.store.step_rows(run_id) if ending != "succeeded" else []
        incomplete = [r for r in rows if r.status == StepStatus.COMPENSATION_INCOMPLETE.value]
        undone = any(r.status == StepStatus.COMPENSATED.value for r in rows)
        if ending == "succeeded":
            status = RunStatus.SUCCEEDED
        elif incomplete:
            status = RunStatus.COMPENSATION_INCOMPLETE
        elif ending == "cancelled":
            status = RunStatus.CANCELLED
        elif on_failure == "stop" or not undone:
            # `failed` means nothing was undone: nothing completed that needed it (reads,
            # prompts, notifications), or the workflow said to stop.
            status = RunStatus.FAILED
        else:
            status = RunStatus.COMPENSATED
        now = datetime.now(UTC)
        self.store.end_run(run_id, status=status.value, error=error or None, finished_at=now)
        owner_id = values["run"]["owner_id"] if "run" in values else self.store.row(run_id).owner_id
        kind = {
            RunStatus.SUCCEEDED: "workflow.run.succeeded",
            RunStatus.FAILED: "workflow.run.failed",
            RunStatus.CANCELLED: "workflow.run.failed",
        }.get(status, "workflow.run.compensated")
        self.announce(owner_id, kind, run_id, status.value)
        if incomplete:
            logger.warning(
                "run %s: compensation incomplete in steps %s",
                run_id,
                ", ".join(r.step_id for r in incomplete),
            )
        logger.info("run %s ended %s", run_id, status.value)
        return status.value

    def announce_step(self, owner_id: int, run_id: str, step_id: str, status: str) -> None:
        """Publish `workflow.run.step` to the run's owner when a step ends (the Run page and
        bell follow it). The caller carries the owner (the workflow's values hold it), so
        no run row is read per step."""
        if self._publish is None:
            return
        try:
            self._publish(
                owner_id,
                "workflow.run.step",
                {"run_id": run_id, "step_id": step_id, "status": status},
            )
        except Exception:  # an event must never fail the run
            logger.warning("run %s: step event not published", run_id)

    def announce(self, owner_id: int, kind: str, run_id: str, detail: str) -> None:
        """Publish a run event to its owner (no-op until the events bus is wired)."""
        if self._publish is None:
            return
        try:
            self._publish(owner_id, kind, {"run_id": run_id, "detail": detail})
        except Exception:  # an event must never fail the run
            logger.warning("run %s: event %s not published", run_id, kind)

    def _undo(self, change_set_id: str, owner_id: int) -> tuple[str, str]:
        try:
            result, kept = self._changes.undo_unedited(change_set_id, owner_id)
        except NotFoundError:
            return StepStatus.COMPENSATED.value, "nothing was written"
        except AppError as exc:
            return StepStatus.COMPENSATION_INCOMPLETE.value, f"undo failed: {exc}"
        restored = result.done if result is not None else 0
        note = f"undone: {restored} record changes reverted (change set {change_set_id})"
        if not kept:
            return StepStatus.COMPENSATED.value, note
        listed = "; ".join(k.describe() for k in kept[:KEPT_LISTED])
        more = f"; and {len(kept) - KEPT_LISTED} more" if len(kept) > KEPT_LISTED else ""
        return (
            StepStatus.COMPENSATION_INCOMPLETE.value,
            f"{note}; kept {len(kept)} edited since the run wrote them: {listed}{more}",
        )

    def _request(self, ctx: StepContext, step: HttpRequest) -> tuple[str, str]:
        assert step.compensate is not None
        for attempt in range(1, self._max_attempts + 1):
            try:
                answer = self._actions.http(ctx, step.compensate, timeout=step.timeout)
            except Exception as exc:  # typed or not, the compensation did not happen
                if is_transient(exc) and attempt < self._max_attempts:
                    time.sleep(min(2**attempt, 30))
                    continue
                reason = str(exc) if isinstance(exc, AppError) else type(exc).__name__
                return (
                    StepStatus.COMPENSATION_INCOMPLETE.value,
                    f"compensating request failed: {reason}",
                )
            return StepStatus.COMPENSATED.value, (
                f"sent {step.compensate.method} {step.compensate.url}: {answer['status']}"
            )
        return StepStatus.COMPENSATION_INCOMPLETE.value, "compensating request failed"
