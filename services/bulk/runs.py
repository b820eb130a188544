"""Bulk fills for the app: propose (the card), start on Confirm, resume, cancel, undo.

Nothing runs when a fill is proposed: the records are counted and the cost previewed, and
the plan is kept as a `proposed` run. Confirm queues the durable run for the worker (the
web process never runs it); Resume queues another attempt over what is left.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from services.airtable.change_sets import ApplyResult
from services.airtable.changes import ChangeLog
from services.airtable.gateway import AirtableGateway
from services.airtable.orm import ChangeStatus
from services.budget.guard import BudgetGuard
from services.budget.pricing import format_usd
from services.budget.types import Purpose
from services.budget.usage import budget_left
from services.bulk.engine import FILL_WORKFLOW
from services.bulk.orm import BulkFillRun
from services.bulk.planning import TYPE_NAMES, CostPreview, FillRequest, preview_cost, read_target
from services.bulk.store import RESUMABLE, FillInfo, FillStatus, FillStore, change_set_of
from services.errors import InvalidInputError, NotFoundError
from services.llm.factory import ChatModelFactory
from services.workflows.client import EngineClient
from services.workflows.queue import APP_VERSION, QUEUE_NAME

logger = logging.getLogger(__name__)

SHOWN_EXAMPLES = 3


class BulkFills:
    """Bulk fill runs of their owners."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        gateway: AirtableGateway,
        models: ChatModelFactory,
        guard: BudgetGuard,
        changes: ChangeLog,
        engine_client: EngineClient,
    ) -> None:
        self._settings = settings
        self.store = FillStore(sessions)
        self._gateway = gateway
        self._models = models
        self._guard = guard
        self._changes = changes
        self._client = engine_client

    def propose(
        self,
        user_id: int,
        request: FillRequest,
        *,
        model: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Count, check and price the fill; keep it as a proposed run. Returns the card.

        Raises:
            InvalidInputError: an unknown table, field or view; an output field a fill
                cannot write; more records than `BULK_FILL_MAX_RECORDS`; nothing to fill;
                or an expected cost above what is left of the person's budget.
            ConfigurationError: no model is configured.
        """
        spec = self._models.for_user(user_id, Purpose.BULK_FILL, model=model).model_name
        model_spec = self._models.catalog.get(spec)
        target = read_target(self._gateway, user_id, request)
        count, most = len(target.todo), self._settings.bulk_fill_max_records
        if count == 0:
            raise InvalidInputError(
                f"Nothing to fill: all {target.matching:,} records already have a "
                f"{target.output.name}. Ask to overwrite to replace their values."
            )
        if count > most:
            raise InvalidInputError(
                f"This fill would write {count:,} records, more than the {most:,} a fill may "
                "write (BULK_FILL_MAX_RECORDS). Narrow it with a view or a filter."
            )
        cost = preview_cost(
            model_spec,
            request.instruction,
            target.output,
            target.todo,
            safety_factor=self._settings.budget_estimate_safety_factor,
        )
        left = budget_left(self._guard, user_id)
        left_nusd = left.left if left is not None else None
        if left_nusd is not None and cost.expected_nusd > left_nusd:
            raise InvalidInputError(
                f"This fill of {count:,} records is expected to cost "
                f"{format_usd(cost.expected_nusd)} "
                f"(between {format_usd(cost.min_nusd)} and {format_usd(cost.max_nusd)}), more than "
                f"the {format_usd(left_nusd)} left of your budget. Narrow it with a view or a "
                "filter, or ask an admin for a larger budget."
            )
        run_id = run_id or f"fill_{secrets.token_hex(8)}"
        plan = {
            "request": _request_json(request),
            "output": target.output.to_json(),
            "sources": [s.name for s in target.sources],
            "model": model_spec.name,
            "matching": target.matching,
            "to_fill": count,
            "cost": cost.to_json(),
            "budget_left_nusd": left_nusd,
        }
        self.store.create(
            BulkFillRun(
                id=run_id,
                user_id=user_id,
                base_id=request.base_id,
                table_id=target.table.id,
                table_name=target.table.name,
                field_name=target.output.name,
                plan=plan,
                status=FillStatus.PROPOSED,
                attempt=0,
                total=count,
                filled=0,
                failed=0,
                calls=0,
                cost_nusd=0,
                error="",
            )
        )
        # The records as the preview read them: the run fills these (leaving out any cell
        # filled by the time it starts), so a confirmed fill does not read every page again.
        self.store.add_items(run_id, target.todo)
        logger.info("fill %s proposed: %d records, %d calls", run_id, count, cost.calls)
        examples = [r["label"] for r in target.todo[:SHOWN_EXAMPLES]]
        return card(run_id, target.table.name, plan, cost, left_nusd, examples)

    def start(self, user_id: int, run_id: str) -> FillInfo:
        """Queue a proposed fill for the worker (once: a second Confirm does nothing)."""
        run = self.store.owned(run_id, user_id)
        if run.status == FillStatus.PROPOSED and self.store.move(
            run_id, [FillStatus.PROPOSED], status=FillStatus.QUEUED, attempt=1
        ):
            self._enqueue(run_id, 1)
        return self.store.info(run_id)

    def run_in_step(self, user_id: int, run_id: str, request: FillRequest, run: Any) -> FillInfo:
        """A workflow step's fill: proposed (same checks as in chat) and run here, with
        `run` (`FillSteps.run_inline`); a re-executed step goes on with the same fill."""
        try:
            existing = self.store.owned(run_id, user_id)
        except NotFoundError:
            self.propose(user_id, request, run_id=run_id)
            existing = self.store.owned(run_id, user_id)
        if existing.status != FillStatus.SUCCEEDED:
            self.store.set(run_id, status=FillStatus.RUNNING, attempt=existing.attempt + 1)
            run(run_id)
        return self.store.info(run_id)

    def resume(self, user_id: int, run_id: str) -> FillInfo:
        """Queue another attempt of a paused or failed fill over the records left.

        Raises:
            InvalidInputError: it is not paused or failed, or it was undone.
        """
        run = self.store.owned(run_id, user_id)
        if run.status not in RESUMABLE:
            raise InvalidInputError(f"This fill is {run.status}; only a paused one resumes.")
        changes = self._changes.history(user_id, limit=200)
        if any(c.id == change_set_of(run_id) and c.status == "undone" for c in changes):
            raise InvalidInputError("This fill was undone; propose a new one instead.")
        attempt = run.attempt + 1
        if self.store.move(run_id, list(RESUMABLE), status=FillStatus.QUEUED, attempt=attempt):
            self._enqueue(run_id, attempt)
        return self.store.info(run_id)

    def cancel(self, user_id: int, run_id: str) -> FillInfo:
        """Drop a proposed or paused fill; a running one stops after its current batch."""
        self.store.owned(run_id, user_id)
        self.store.move(
            run_id,
            [FillStatus.PROPOSED, FillStatus.PAUSED, FillStatus.QUEUED, FillStatus.RUNNING],
            status=FillStatus.CANCELLED,
        )
        return self.store.info(run_id)

    def undo(self, user_id: int, run_id: str, *, force: bool = False) -> ApplyResult:
        """Revert everything the fill wrote (all attempts: one change set)."""
        run = self.store.owned(run_id, user_id)
        if run.status in (FillStatus.QUEUED, FillStatus.RUNNING):
            raise InvalidInputError("This fill is still running; wait for it or cancel it first.")
        return self._changes.undo(change_set_of(run_id), user_id, force=force)

    def get(self, user_id: int, run_id: str) -> FillInfo:
        self.store.owned(run_id, user_id)
        return self.store.info(run_id)

    def undone(self, user_id: int, run_id: str) -> bool:
        for change in self._changes.history(user_id, limit=200):
            if change.id == change_set_of(run_id):
                return change.status == ChangeStatus.UNDONE.value
        return False

    def _enqueue(self, run_id: str, attempt: int) -> None:
        self._client().enqueue(
            {
                "queue_name": QUEUE_NAME,
                "workflow_name": FILL_WORKFLOW,
                "workflow_id": f"{run_id}.{attempt}",
                "app_version": APP_VERSION,
            },
            run_id,
        )
        logger.info("fill %s queued (attempt %d)", run_id, attempt)


def card(
    run_id: str,
    table: str,
    plan: dict[str, Any],
    cost: CostPreview,
    left_nusd: int | None,
    examples: list[str],
) -> dict[str, Any]:
    """The artifact of a proposed fill (`bulk_fill_proposal`)."""
    output = plan["output"]
    request = plan["request"]
    return {
        "kind": "bulk_fill_proposal",
        "fill_id": run_id,
        "table": table,
        "field": output["name"],
        "field_type": TYPE_NAMES.get(output["type"], output["type"]),
        "options": output["options"],
        "sources": plan["sources"],
        "instruction": request["instruction"],
        "view": request.get("view"),
        "filtered": bool(request.get("where")),
        "overwrite": request["overwrite"],
        "matching": plan["matching"],
        "to_fill": plan["to_fill"],
        "model": plan["model"],
        "cost": cost.to_json(),
        "budget_left": format_usd(left_nusd) if left_nusd is not None else None,
        "examples": examples,
    }


def describe(card_data: dict[str, Any]) -> str:
    """The card in words, for the model to relay."""
    cost = card_data["cost"]
    options = f" (options: {', '.join(card_data['options'])})" if card_data["options"] else ""
    left = f"; budget left {card_data['budget_left']}" if card_data["budget_left"] else ""
    return (
        f"Proposed fill {card_data['fill_id']}: {card_data['field']} "
        f"({card_data['field_type']}{options}) for {card_data['to_fill']:,} of "
        f"{card_data['matching']:,} records in {card_data['table']}, reading "
        f"{', '.join(card_data['sources'])}. {cost['calls']:,} model calls, expected "
        f"{cost['expected']} (min {cost['min']}, max {cost['max']}){left}. Nothing runs until "
        "the person presses Confirm on the card."
    )


def _request_json(request: FillRequest) -> dict[str, Any]:
    data = dataclasses.asdict(request)
    data["where"] = [c.model_dump(exclude_none=True) for c in request.where]
    return data
