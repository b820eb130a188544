"""The durable fill the worker runs: one DBOS workflow per attempt, two DBOS steps a batch.

`begin` reads the records to fill (once per fill: they are kept in SQL) and claims the
fill's change set. Then for every batch of records: `ask` calls the model once through the
budget guard and keeps each valid answer in SQL (a re-executed `ask` finds them and does
not call the model again); `write` writes the answers ten records a request under the
fill's one change set (a re-executed `write` skips what the audit log already lists, and
a batch in flight when the worker died is audited, not rewritten: `InFlightBatch`).

A budget or rate limit stops the attempt cleanly (status `paused`), an Airtable or
provider failure too (`failed`); either can be resumed, as a new attempt over what is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from config.settings import LLMProvider, Settings
from services.airtable.change_sets import ChangeSetRecords
from services.airtable.gateway import BATCH_SIZE, AirtableGateway
from services.airtable.in_flight import InFlightBatch
from services.airtable.orm import ChangeStatus
from services.airtable.proposals import PlannedChange, Proposal
from services.airtable.writing import BatchWriter, Target
from services.budget.errors import RateLimitExceededError
from services.budget.types import CallRef, Purpose, RefType
from services.bulk.outputs import OutputField, coerce
from services.bulk.planning import FillRequest, filled_since, read_target
from services.bulk.prompting import batch_messages, parse_answers
from services.bulk.store import FillStatus, FillStore, change_set_of
from services.errors import AppError, BudgetExceededError, ProviderError
from services.llm.catalog import ModelSpec
from services.llm.factory import ChatModelFactory
from services.workflows.steps import TRANSIENT_PROVIDER_KINDS, is_store_outage

logger = logging.getLogger(__name__)

FILL_WORKFLOW = "bulk_fill"
PROVIDER_ATTEMPTS = 3
WRITE_CONCURRENCY = 4
# (owner_id, event type, data)
Publish = Callable[[int, str, Mapping[str, Any]], None]
Outcome = dict[str, Any]


def plan_request(plan: Mapping[str, Any]) -> FillRequest:
    from services.airtable.filters import Condition

    data = dict(plan["request"])
    data["where"] = [Condition.model_validate(c) for c in data.get("where") or []]
    return FillRequest(**data)


class FillSteps:
    """What each DBOS step of a fill does."""

    def __init__(
        self,
        settings: Settings,
        store: FillStore,
        gateway: AirtableGateway,
        models: ChatModelFactory,
        sets: ChangeSetRecords,
        writer: BatchWriter,
        in_flight: InFlightBatch,
        publish: Publish,
    ) -> None:
        self._settings = settings
        self._store = store
        self._gateway = gateway
        self._models = models
        self._sets = sets
        self._writer = writer
        self._in_flight = in_flight
        self._publish = publish

    # -- begin / finish ------------------------------------------------------------------

    def begin(self, run_id: str) -> Outcome:
        run = self._store.row(run_id)
        if run.status == FillStatus.CANCELLED:
            return {"stop": FillStatus.CANCELLED, "message": "cancelled"}
        plan = dict(run.plan)
        request = plan_request(plan)
        if not self._store.has_items(run_id):
            target = read_target(self._gateway, run.user_id, request)
            self._store.add_items(run_id, target.todo)
        elif not request.overwrite:
            # The preview read the records; a cell filled since then is left alone.
            self._store.skip(run_id, sorted(filled_since(self._gateway, run.user_id, request)))
        self._claim_change_set(run.id, run.user_id, run.base_id, run.table_id, run.table_name)
        self._store.set(run_id, status=FillStatus.RUNNING, error="")
        per_call = OutputField.from_json(plan["output"]).per_call
        left = self._store.unfinished_positions(run_id)
        batches = [left[i : i + per_call] for i in range(0, len(left), per_call)]
        self._announce(run.user_id, "workflow.run.started", run_id)
        return {"batches": batches}

    def finish(self, run_id: str, outcome: Outcome) -> str:
        run = self._store.row(run_id)
        stop = outcome.get("stop")
        status = stop or FillStatus.SUCCEEDED
        if status == FillStatus.SUCCEEDED and self._store.unfinished_positions(run_id):
            status = FillStatus.FAILED  # cannot happen unless a batch was skipped: say so
            outcome = {"message": "Some records were not filled; resume to finish them."}
        cost, _ = self._store.cost(run_id)
        finished = datetime.now(UTC) if status != FillStatus.PAUSED else None
        self._store.set(
            run_id,
            status=status,
            error=str(outcome.get("message", "")) if stop or status == FillStatus.FAILED else "",
            cost_nusd=cost,
            finished_at=finished,
        )
        self._close_change_set(run_id)
        kind = {
            FillStatus.SUCCEEDED: "workflow.run.succeeded",
            FillStatus.PAUSED: "workflow.run.step",
        }.get(status, "workflow.run.failed")
        self._announce(run.user_id, kind, run_id)
        logger.info("fill %s ended %s", run_id, status)
        return status

    def run_inline(self, run_id: str) -> str:
        """The whole fill inside the caller (a workflow's `fill_field` step, itself a DBOS
        step): every part is idempotent on the SQL state, so a re-executed step goes on
        where the dead one stopped. Returns the final status."""
        start = self.begin(run_id)
        outcome: Outcome = start if start.get("stop") else {}
        batches = start.get("batches", [])
        for index, batch in enumerate(batches):
            outcome = self.ask(run_id, batch)
            if outcome.get("stop"):
                break
            outcome = self.write(run_id, batch, _next(batches, index))
            if outcome.get("stop"):
                break
        return self.finish(run_id, outcome)

    # -- one batch -----------------------------------------------------------------------

    def ask(self, run_id: str, positions: list[int]) -> Outcome:
        """Ask the model about the batch's records not answered yet; keep the answers."""
        run = self._store.row(run_id)
        if run.status == FillStatus.CANCELLED:
            return {"stop": FillStatus.CANCELLED, "message": "cancelled"}
        todo = [i for i in self._store.items(run_id, positions) if i.status == "pending"]
        if not todo:
            return {}
        plan = dict(run.plan)
        output = OutputField.from_json(plan["output"])
        messages = batch_messages(plan["request"]["instruction"], output, [i.inputs for i in todo])
        model = self._models.for_user(
            run.user_id,
            Purpose.BULK_FILL,
            model=plan["model"],
            ref=CallRef(RefType.BULK_FILL, run_id),
        )
        limits = _output_kwargs(model_spec(self._models, plan["model"]), output, len(todo))
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = model.invoke(messages, **limits)
                break
            except RateLimitExceededError as exc:
                wait = exc.retry_after_seconds
                if wait is None or wait > self._settings.bulk_fill_rate_wait_seconds:
                    return {"stop": FillStatus.PAUSED, "message": str(exc)}
                time.sleep(wait)
            except BudgetExceededError as exc:
                return {"stop": FillStatus.PAUSED, "message": str(exc)}
            except ProviderError as exc:
                if exc.kind in TRANSIENT_PROVIDER_KINDS and attempt < PROVIDER_ATTEMPTS:
                    time.sleep(min(2.0**attempt, 30.0))
                    continue
                return {"stop": FillStatus.FAILED, "message": str(exc)}
        answers = parse_answers(reply.text, len(todo))
        rows = []
        for number, item in enumerate(todo, start=1):
            raw = answers.get(number)
            value, reason = coerce(output, raw)
            said = "" if raw is None else str(raw)
            rows.append(
                (item.position, "answered" if value is not None else "invalid", value, said, reason)
            )
        self._store.record_answers(run_id, rows)
        return {}

    def write(
        self, run_id: str, positions: list[int], following: list[int] | None = None
    ) -> Outcome:
        """Write the batch's answers, ten records a request, under the fill's change set.

        Meanwhile the model is asked about the `following` batch (its answers are kept in
        SQL, so that batch's own `ask` step finds them and calls no model): the writes,
        paced at Airtable's limit, do not wait for the model.
        """
        ahead = None
        if following:
            ahead = threading.Thread(target=self._ask_ahead, args=(run_id, following))
            ahead.start()
        try:
            return self._write(run_id, positions)
        finally:
            if ahead is not None:
                ahead.join()

    def _ask_ahead(self, run_id: str, positions: list[int]) -> None:
        try:
            self.ask(run_id, positions)  # a refusal or failure is met again by its own step
        except Exception:  # the batch's own ask step retries and reports it
            logger.warning("fill %s: asking ahead failed; the batch's step asks again", run_id)

    def _write(self, run_id: str, positions: list[int]) -> Outcome:
        run = self._store.row(run_id)
        field_id = OutputField.from_json(dict(run.plan)["output"]).id
        items = [
            i for i in self._store.items(run_id, positions) if i.status in ("answered", "writing")
        ]
        target = Target(change_set_of(run_id), run.user_id, run.base_id, run.table_id)
        groups = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]

        def send(group: list[Any]) -> None:
            changes = [
                PlannedChange(
                    "update",
                    i.record_id,
                    i.label,
                    before={field_id: i.before},
                    after={field_id: i.value},
                )
                for i in group
            ]
            done = [i.position for i in group]
            if any(i.status == "writing" for i in group) and self._settled(target, changes):
                self._store.mark(run_id, done, "written")
                return
            self._store.mark(run_id, done, "writing")
            self._writer.run(target, changes)
            self._store.mark(run_id, done, "written")

        # The batch's requests go out together (the gateway paces them at Airtable's
        # limit): one after another, each would wait for the one before to come back.
        with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
            futures = [pool.submit(send, g) for g in groups]
        errors = [e for f in futures if (e := f.exception()) is not None]
        for error in errors:
            if is_store_outage(error) or not isinstance(error, AppError):
                raise error
        if errors:
            return {"stop": FillStatus.FAILED, "message": str(errors[0])}
        info = self._store.info(run_id)
        self._publish(
            run.user_id,
            "workflow.run.step",
            {
                "run_id": run_id,
                "kind": "bulk_fill",
                "step_id": "fill",
                "status": "running",
                "filled": info.filled,
                "failed": info.failed,
                "total": info.total,
                "cost_nusd": info.cost_nusd,
            },
        )
        return {}

    # -- change set ----------------------------------------------------------------------

    def _settled(self, target: Target, changes: list[PlannedChange]) -> bool:
        """A group sent before the worker died: audited already, or audited now if Airtable
        holds it (then it is not written again)."""
        audited = {r.record_id for r in self._sets.rows(target.change_set_id)}
        if all(c.record_id in audited for c in changes):
            return True
        began = self._sets.owned(target.change_set_id, target.user_id).created_at
        return self._in_flight.settle(target, changes, audited, began)

    def _claim_change_set(
        self, run_id: str, user_id: int, base_id: str, table_id: str, table_name: str
    ) -> None:
        now = datetime.now(UTC)
        proposal = Proposal(
            id=change_set_of(run_id),
            user_id=user_id,
            base_id=base_id,
            table_id=table_id,
            table_name=table_name,
            action="update",
            changes=[],
            field_names={},
            created_at=now,
            expires_at=now + timedelta(minutes=1),
        )
        if not self._sets.claim(proposal):
            self._sets.set_status(
                change_set_of(run_id), ChangeStatus.APPLYING.value, reverted_by=None
            )

    def _close_change_set(self, run_id: str) -> None:
        from sqlalchemy import update

        from services.airtable.orm import ChangeSet

        self._sets.finish(change_set_of(run_id), ChangeStatus.APPLIED)
        filled = self._store.row(run_id).filled
        with self._store._db.begin() as session:
            session.execute(
                update(ChangeSet).where(ChangeSet.id == change_set_of(run_id)).values(total=filled)
            )

    def _announce(self, user_id: int, kind: str, run_id: str) -> None:
        info = self._store.info(run_id)
        self._publish(
            user_id,
            kind,
            {
                "run_id": run_id,
                "kind": "bulk_fill",
                "status": info.status,
                "filled": info.filled,
                "failed": info.failed,
                "total": info.total,
                "cost_nusd": info.cost_nusd,
                "error": info.error,
            },
        )


def _next(batches: list[list[int]], index: int) -> list[int]:
    return batches[index + 1] if index + 1 < len(batches) else []


def model_spec(models: ChatModelFactory, name: str) -> ModelSpec:
    return models.catalog.get(name)


def _output_kwargs(spec: ModelSpec, output: OutputField, records: int) -> dict[str, Any]:
    """Hold the call's answer to what `records` answers need, without thinking (Gemini 2.5
    Pro cannot turn thinking off: the least it allows)."""
    most = output.output_tokens[1] * records + 32
    if spec.provider is LLMProvider.OLLAMA:
        return {"options": {"num_predict": most}}
    thinking = 0 if spec.thinking_budget == 0 or "pro" not in spec.name else 128
    return {"max_output_tokens": most, "thinking_budget": thinking}


def register(steps: FillSteps) -> Callable[..., Any]:
    """Register the fill workflow with DBOS (before `DBOS.launch()`)."""
    from dbos import DBOS

    from services.workflows.engine import dbos_step

    begin = dbos_step("fill.begin", steps.begin)
    ask = dbos_step("fill.ask", steps.ask)
    write = dbos_step("fill.write", steps.write)
    finish = dbos_step("fill.finish", steps.finish)

    @DBOS.workflow(name=FILL_WORKFLOW)
    def bulk_fill(run_id: str) -> str:
        start = begin(run_id)
        if start.get("stop"):
            return str(finish(run_id, start))
        outcome: Outcome = {}
        batches = start["batches"]
        for index, batch in enumerate(batches):
            outcome = ask(run_id, batch)
            if outcome.get("stop"):
                break
            outcome = write(run_id, batch, _next(batches, index))
            if outcome.get("stop"):
                break
        return str(finish(run_id, outcome))

    return bulk_fill


def fill_runner(fills: Any, steps: FillSteps) -> Callable[[int, str, Any], dict[str, Any]]:
    """The `fill_field` step of workflows: `BulkFills.run_in_step` over `steps`.

    Raises (from the step): `InvalidInputError` with the numbers when the fill is refused,
    or `AppError` when it stopped (a budget, a rate limit, Airtable): the step fails, and
    retrying the run from it goes on with the same fill.
    """

    def run(owner_id: int, fill_id: str, request: Any) -> dict[str, Any]:
        info = fills.run_in_step(owner_id, fill_id, request, steps.run_inline)
        if info.status != FillStatus.SUCCEEDED:
            raise AppError(f"The fill stopped after {info.filled} records: {info.error}")
        return {
            "fill_id": info.id,
            "change_set_id": info.change_set_id,
            "table": info.table,
            "field": info.field,
            "filled": info.filled,
            "failed": info.failed,
            "count": info.filled,
            "cost_nusd": info.cost_nusd,
            "failures": [
                {"record_id": f.record_id, "answer": f.answer, "reason": f.reason}
                for f in info.failures[:20]
            ],
        }

    return run
