"""The durable workflow the worker runs: one DBOS workflow per run, one or more DBOS
steps per workflow step (so a run killed mid-way resumes at the step it was in).

Per step type: reads, LLM calls, http, notify and stop_if are one DBOS step; a write is
two (plan, then apply, see `writes.py`); an approval is a step that marks the wait, a
durable `DBOS.recv`, and a step that records the answer. Every DBOS step first looks
whether the run was cancelled. When a step fails for good, or the run is cancelled,
`saga.py` decides what happens next.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from config.logging import traced
from services.errors import AppError
from services.metrics import Metrics
from services.workflows.definition import (
    WRITE_TYPES,
    AggregateRecords,
    Approval,
    AskAssistant,
    FillField,
    FindRecords,
    HttpRequest,
    Notify,
    RunPrompt,
    Step,
    StopIf,
    WorkflowDefinition,
    duration_seconds,
)
from services.workflows.queue import APPROVAL_TOPIC, WORKFLOW_NAME
from services.workflows.saga import Saga
from services.workflows.steps import (
    StepActions,
    StepContext,
    is_store_outage,
    is_transient,
    summarize,
)
from services.workflows.types import RunStatus, StepStatus
from services.workflows.writes import RecordWrites, change_set_id

logger = logging.getLogger(__name__)

OUTAGE_ATTEMPTS = 12
Outcome = dict[str, Any]  # {"status": succeeded|failed|cancelled, "output"?, "error"?}
DefinitionSource = Callable[[str, int], WorkflowDefinition]


class Engine:
    """Registers the DBOS workflow and its steps, and holds what they need."""

    def __init__(
        self,
        *,
        definitions: DefinitionSource,
        saga: Saga,
        actions: StepActions,
        writes: RecordWrites,
        max_attempts: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        approval_timeout_seconds: int,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._definitions = definitions
        self._saga = saga
        self._store = saga.store
        self._actions = actions
        self._writes = writes
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._approval_timeout = approval_timeout_seconds

    def register(self) -> Callable[..., Any]:
        """Register with DBOS (before `DBOS.launch()`); returns the workflow function."""
        from dbos import DBOS

        engine = self
        begin = dbos_step("wf.begin", self._begin, self._metrics)
        run_step = dbos_step("wf.step", self._run_step, self._metrics)
        plan = dbos_step("wf.plan", self._plan, self._metrics)
        apply = dbos_step("wf.apply", self._apply, self._metrics)
        wait = dbos_step("wf.wait", self._mark_waiting, self._metrics)
        answer = dbos_step("wf.answer", self._answer, self._metrics)
        compensate = dbos_step("wf.compensate", self._saga.compensate_step, self._metrics)
        finish = dbos_step("wf.finish", self._saga.finish, self._metrics)

        @DBOS.workflow(name=WORKFLOW_NAME)
        def workflow_run(workflow_id: str, version: int) -> str:
            run_id = str(DBOS.workflow_id)
            start = begin(run_id)
            if start.get("cancelled"):
                return str(finish(run_id, [], "cancelled", "", {}, "compensate"))
            definition = WorkflowDefinition.model_validate(start["definition"])
            values: dict[str, Any] = {
                "inputs": start["inputs"],
                "steps": {},
                "run": {
                    "id": run_id,
                    "workflow_id": workflow_id,
                    "version": version,
                    "owner_id": start["owner"],
                },
                "today": start["today"],
            }
            done: list[int] = []
            ending, error = "succeeded", ""
            for index, step in enumerate(definition.steps):
                if isinstance(step, Approval):
                    timeout = engine._timeout(step)
                    outcome = wait(run_id, index, step.id)
                    if outcome["status"] == "waiting":
                        message = DBOS.recv(APPROVAL_TOPIC, timeout_seconds=timeout)
                        outcome = answer(run_id, step.id, message)
                elif step.type in WRITE_TYPES:
                    outcome = plan(run_id, index, values)
                    if outcome["status"] == "planned":
                        outcome = apply(run_id, index, outcome["output"], values)
                else:
                    outcome = run_step(run_id, index, values)
                if outcome["status"] != "succeeded":
                    ending, error = outcome["status"], outcome.get("error", "")
                    break
                values["steps"][step.id] = outcome["output"]
                done.append(index)
                if isinstance(step, StopIf) and outcome["output"].get("stopped"):
                    break
            if ending == "succeeded":
                return str(finish(run_id, done, ending, "", values, definition.on_failure))
            if definition.on_failure == "compensate":
                # A write step that failed part-way is undone too (its audit rows say what).
                partial = [index] if ending == "failed" and step.type in WRITE_TYPES else []
                for undo in reversed(done + partial):
                    compensate(run_id, undo, values)
            return str(finish(run_id, done, ending, error, values, definition.on_failure))

        return workflow_run

    # -- DBOS steps --------------------------------------------------------------------

    def _begin(self, run_id: str) -> dict[str, Any]:
        run = self._store.row(run_id)
        if run.cancel_requested:
            return {"cancelled": True}
        now = datetime.now(UTC)
        self._store.set_run(run_id, status=RunStatus.RUNNING.value, started_at=now)
        self._saga.announce(run.owner_id, "workflow.run.started", run_id, run.workflow_id)
        definition = self._definitions(run.workflow_id, run.version)
        return {
            "owner": run.owner_id,
            "version": run.version,
            "definition": definition.model_dump(mode="json"),
            "inputs": dict(run.inputs),
            "today": now.date().isoformat(),
        }

    def _run_step(self, run_id: str, index: int, values: dict[str, Any]) -> Outcome:
        ctx, step = self._context(run_id, index, values)
        return self._attempts(ctx, step, lambda: self._once(ctx, step))

    def _plan(self, run_id: str, index: int, values: dict[str, Any]) -> Outcome:
        from services.workflows.templates import render_value

        ctx, step = self._context(run_id, index, values)
        fields = step.model_dump(include={"records", "where", "set"}, exclude_none=True)

        def plan() -> dict[str, Any] | None:
            rendered = render_value(fields, ctx.values)
            base_id = self._actions.base_id(ctx, getattr(step, "base", None))
            return self._writes.plan(ctx.owner_id, base_id, step, rendered)  # type: ignore[arg-type]

        outcome = self._attempts(ctx, step, plan, finish=False)
        if outcome["status"] == "succeeded":
            if outcome["output"] is None:
                self._store.set_step(
                    run_id,
                    step.id,
                    status=StepStatus.SUCCEEDED.value,
                    summary="nothing to change",
                    finished_at=datetime.now(UTC),
                )
                return {"status": "succeeded", "output": {"count": 0, "record_ids": []}}
            return {"status": "planned", "output": outcome["output"]}
        return outcome

    def _apply(
        self, run_id: str, index: int, plan: dict[str, Any], values: dict[str, Any]
    ) -> Outcome:
        ctx, step = self._context(run_id, index, values)
        self._store.set_step(run_id, step.id, change_set_id=change_set_id(run_id, step.id))
        return self._attempts(ctx, step, lambda: self._writes.apply(run_id, step.id, plan))

    def _mark_waiting(self, run_id: str, index: int, step_id: str) -> Outcome:
        from dbos import DBOS

        if self._store.count_attempt(run_id, step_id, function_id=DBOS.step_id) == 0:
            return {"status": "cancelled", "error": "cancelled"}
        self._store.set_step(run_id, step_id, status=StepStatus.WAITING_APPROVAL.value)
        self._store.set_run(run_id, status=RunStatus.WAITING_APPROVAL.value)
        run = self._store.row(run_id)
        self._saga.announce(run.owner_id, "workflow.run.waiting_approval", run_id, step_id)
        return {"status": "waiting"}

    def _answer(self, run_id: str, step_id: str, message: Any) -> Outcome:
        now = datetime.now(UTC)
        self._store.set_run(run_id, status=RunStatus.RUNNING.value)
        if isinstance(message, dict) and message.get("cancel"):
            self._store.set_step(run_id, step_id, status=StepStatus.SKIPPED.value, finished_at=now)
            return {"status": "cancelled", "error": "cancelled"}
        if not isinstance(message, dict):
            error = "No answer came before the approval timed out."
        elif not message.get("approved"):
            note = str(message.get("note") or "")
            error = "Rejected" + (f": {note}" if note else ".")
        else:
            output = {"approved": True, "note": message.get("note", ""), "by": message.get("by")}
            self._store.set_step(
                run_id,
                step_id,
                status=StepStatus.SUCCEEDED.value,
                summary=summarize("approval", output),
                finished_at=now,
            )
            return {"status": "succeeded", "output": output}
        self._store.set_step(
            run_id, step_id, status=StepStatus.FAILED.value, error=error, finished_at=now
        )
        return {"status": "failed", "error": error}

    # -- attempts ----------------------------------------------------------------------

    def _attempts(
        self, ctx: StepContext, step: Step, work: Callable[[], Any], *, finish: bool = True
    ) -> Outcome:
        """Run `work` until it succeeds, fails for good, or the run is cancelled."""
        from dbos import DBOS

        run_id = ctx.run_id
        while True:
            attempt = self._store.count_attempt(run_id, step.id, function_id=DBOS.step_id)
            if attempt == 0:
                return {"status": "cancelled", "error": "cancelled"}
            try:
                output = work()
            except Exception as exc:  # every failure ends here: typed or not, it fails the step
                if is_store_outage(exc):
                    raise  # the DBOS step retries for a long while (see `_step`)
                if is_transient(exc) and attempt < self._max_attempts:
                    time.sleep(self._wait(attempt))
                    continue
                return self._failed(ctx, step, exc)
            if finish:
                self._store.set_step(
                    run_id,
                    step.id,
                    status=StepStatus.SUCCEEDED.value,
                    summary=summarize(step.type, output),
                    finished_at=datetime.now(UTC),
                )
                self._saga.announce_step(ctx.owner_id, run_id, step.id, StepStatus.SUCCEEDED.value)
            return {"status": "succeeded", "output": output}

    def _failed(self, ctx: StepContext, step: Step, exc: Exception) -> Outcome:
        run_id = ctx.run_id
        if isinstance(exc, AppError):
            error = str(exc)
        else:
            logger.exception("run %s step %s failed unexpectedly", run_id, step.id)
            error = f"Unexpected error ({type(exc).__name__})."
        self._store.set_step(
            run_id,
            step.id,
            status=StepStatus.FAILED.value,
            error=error,
            finished_at=datetime.now(UTC),
        )
        self._saga.announce_step(ctx.owner_id, run_id, step.id, StepStatus.FAILED.value)
        return {"status": "failed", "error": error}

    def _wait(self, attempt: int) -> float:
        wait = min(self._backoff * 2 ** (attempt - 1), self._backoff_max)
        return wait * random.uniform(0.5, 1.0)

    def _timeout(self, step: Approval) -> float:
        return float(duration_seconds(step.timeout) if step.timeout else self._approval_timeout)

    # -- one attempt -------------------------------------------------------------------

    def _once(self, ctx: StepContext, step: Step) -> Any:
        actions = self._actions
        if isinstance(step, FindRecords):
            return actions.find(ctx, step)
        if isinstance(step, AggregateRecords):
            return actions.aggregate(ctx, step)
        if isinstance(step, RunPrompt):
            return actions.run_prompt(ctx, step)
        if isinstance(step, FillField):
            return actions.fill(ctx, step)
        if isinstance(step, AskAssistant):
            return actions.ask(ctx, step)
        if isinstance(step, HttpRequest):
            return actions.http(ctx, step, timeout=step.timeout)
        if isinstance(step, Notify):
            return actions.notify(ctx, step)
        if isinstance(step, StopIf):
            return actions.stop_if(ctx, step)
        raise AppError(f"Step type {step.type} does not run here.")

    def _context(self, run_id: str, index: int, values: dict[str, Any]) -> tuple[StepContext, Step]:
        run = values["run"]
        definition = self._definitions(run["workflow_id"], run["version"])
        ctx = StepContext(run_id, run["owner_id"], definition.base, values)
        return ctx, definition.steps[index]


def dbos_step(
    name: str, method: Callable[..., Any], metrics: Metrics | None = None
) -> Callable[..., Any]:
    """A DBOS step calling `method` (DBOS marks the function, which a bound method refuses).

    A store outage in the step's own bookkeeping (SQL or Redis down) retries the whole
    step with backoff for about half an hour (1 s, doubling, 12 attempts) instead of
    ending the run.
    """
    from dbos import DBOS

    def step(*args: Any) -> Any:
        # Every step's first argument is the run id: its log lines and audit rows carry it.
        with traced(str(args[0])):
            if metrics is None:
                return method(*args)
            with metrics.step(name):
                result = method(*args)
            if name == "wf.finish":
                metrics.workflow_run(str(result))
            return result

    step.__name__ = step.__qualname__ = name
    return DBOS.step(
        name=name,
        retries_allowed=True,
        max_attempts=OUTAGE_ATTEMPTS,
        interval_seconds=1.0,
        backoff_rate=2.0,
        should_retry=is_store_outage,
    )(step)
