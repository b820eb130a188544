"""What each step type does, one attempt at a time (the engine retries and records).

Every function takes the step, the template context (`inputs`, `steps`, `run`, `today`)
and returns a JSON-safe output that later steps read as `steps.<id>`. Approval waits in
the engine itself (a durable DBOS receive), so it is not here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.exc import OperationalError
from standardwebhooks import Webhook

from config.settings import Settings
from services.airtable.filters import Condition as FilterCondition
from services.airtable.gateway import AirtableGateway
from services.airtable.queries import RecordQueries
from services.errors import (
    AirtableError,
    ConfigurationError,
    ProviderError,
    StoreUnavailableError,
)
from services.webhooks.signing import message_id, signed_headers
from services.workflows import http_calls
from services.workflows.definition import (
    AggregateRecords,
    AskAssistant,
    FillField,
    FindRecords,
    HttpCall,
    HttpRequest,
    Notify,
    RunPrompt,
    StopIf,
)
from services.workflows.llm_steps import ModelSteps
from services.workflows.templates import evaluate, plain, render_value

logger = logging.getLogger(__name__)

# (owner_id, fill ID, request, step ID) -> the fill's outcome: a `fill_field` step (the bulk
# fill service, wired by the worker).
FillRunner = Callable[[int, str, Any], Mapping[str, Any]]
# (owner_id, event type, data): publishes an in-app notification. None until the events
# bus is wired in (the notification is then kept in the step's output only).
Publish = Callable[[int, str, Mapping[str, Any]], None]
# (owner_id, url): the signers of the owner's outgoing webhook endpoint at that URL, or
# None when there is none (`services.webhooks.endpoints.WebhookEndpoints.signers_for`).
Signers = Callable[[int, str], list[Webhook] | None]
TRANSIENT_PROVIDER_KINDS = frozenset({"unavailable", "timeout"})


def is_store_outage(exc: BaseException) -> bool:
    """SQL or Redis cannot be reached (or answered with an operational error)."""
    return isinstance(exc, StoreUnavailableError | redis.RedisError | OperationalError)


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: rate limits, overload, timeouts (store outages are retried
    longer, by the engine's DBOS steps: see `is_store_outage`)."""
    if isinstance(exc, http_calls.TransientError):
        return True
    if isinstance(exc, AirtableError):
        return exc.status in http_calls.TRANSIENT_STATUSES
    if isinstance(exc, ProviderError):
        return exc.kind in TRANSIENT_PROVIDER_KINDS
    return False


@dataclass(frozen=True)
class StepContext:
    run_id: str
    owner_id: int
    base: str | None
    values: Mapping[str, Any]  # what templates see


class StepActions:
    """One attempt of each non-approval step type."""

    def __init__(
        self,
        settings: Settings,
        gateway: AirtableGateway,
        records: RecordQueries,
        models: ModelSteps,
        publish: Publish | None = None,
        signers: Signers | None = None,
        fill: FillRunner | None = None,
    ) -> None:
        self._fill = fill
        self._settings = settings
        self._signers = signers
        self._gateway = gateway
        self._records = records
        self._models = models
        self._publish = publish

    def base_id(self, ctx: StepContext, step_base: str | None) -> str:
        """The ID of the step's base (or the workflow's), given by ID or name."""
        wanted = str(render_value(step_base or ctx.base or "", ctx.values))
        for info in self._gateway.bases(ctx.owner_id):
            if wanted in (info.id, info.name) or wanted.casefold() == info.name.casefold():
                return info.id
        raise AirtableError(f'There is no base "{wanted}" for this workflow\'s owner.')

    def find(self, ctx: StepContext, step: FindRecords) -> dict[str, Any]:
        base_id = self.base_id(ctx, step.base)
        where = _conditions(step.where, ctx)
        uses = [*step.fields, *(c.field for c in where)]
        table = self._gateway.table(ctx.owner_id, base_id, step.table, uses=uses)
        shown = [table.field(n) for n in step.fields] or [f for f in table.fields if not f.computed]
        names = {f.id: f.name for f in shown}
        rows = self._records.matching(
            ctx.owner_id, base_id, table, filters=where, match=step.match, field_ids=list(names)
        )[: step.limit]
        records = [
            {"id": r["id"], "fields": {names.get(k, k): v for k, v in r["fields"].items()}}
            for r in rows
        ]
        return plain({"records": records, "count": len(records), "table": table.name})

    def aggregate(self, ctx: StepContext, step: AggregateRecords) -> dict[str, Any]:
        result = self._records.aggregate(
            ctx.owner_id,
            self.base_id(ctx, step.base),
            step.table,
            metric=step.metric,
            field=step.field,
            group_by=step.group_by,
            filters=_conditions(step.where, ctx),
            match=step.match,
        )
        groups = [{"key": g.key, "value": g.value, "count": g.records} for g in result.groups]
        total = result.total
        return plain({"value": total.value, "count": total.records, "groups": groups})

    def run_prompt(self, ctx: StepContext, step: RunPrompt) -> dict[str, Any]:
        inputs = render_value(step.inputs, ctx.values)
        return self._models.run_prompt(ctx.owner_id, ctx.run_id, step.prompt, inputs)

    def ask(self, ctx: StepContext, step: AskAssistant) -> dict[str, Any]:
        base_id = self.base_id(ctx, step.base) if (step.base or ctx.base) else None
        question = str(render_value(step.question, ctx.values))
        return self._models.ask_assistant(ctx.owner_id, ctx.run_id, base_id, question)

    def fill(self, ctx: StepContext, step: FillField) -> dict[str, Any]:
        """A bulk fill over the step's records (see `services/bulk`), one change set."""
        from services.bulk.planning import FillRequest

        if self._fill is None:
            raise ConfigurationError("Bulk fills are not available in this process.")
        request = FillRequest(
            base_id=self.base_id(ctx, step.base),
            table=str(render_value(step.table, ctx.values)),
            field=step.field,
            sources=list(step.read),
            instruction=str(render_value(step.instruction, ctx.values)),
            view=step.view,
            where=_conditions(step.where, ctx),
            match=step.match,
            overwrite=step.overwrite,
        )
        fill_id = "fill_" + hashlib.sha256(f"{ctx.run_id}\x00{step.id}".encode()).hexdigest()[:24]
        return plain(dict(self._fill(ctx.owner_id, fill_id, request)))

    def http(self, ctx: StepContext, call: HttpCall, *, timeout: float = 10.0) -> dict[str, Any]:
        url = str(render_value(call.url, ctx.values))
        headers = {k: str(v) for k, v in render_value(call.headers, ctx.values).items()}
        body = render_value(call.body, ctx.values)
        if isinstance(call, HttpRequest) and call.sign:
            body, headers = self._signed(ctx, call, url, body, headers)
        return http_calls.send(
            call.method,
            url,
            headers=headers,
            body=body,
            timeout=timeout,
            allow_private=self._settings.workflow_http_allow_private,
        )

    def _signed(
        self, ctx: StepContext, step: HttpRequest, url: str, body: Any, headers: dict[str, str]
    ) -> tuple[str, dict[str, str]]:
        """The body as the exact JSON text signed, and the Standard Webhooks headers; the
        `webhook-id` is the same on every attempt of this run's step."""
        signers = self._signers(ctx.owner_id, url) if self._signers else None
        if not signers:
            raise http_calls.HttpStepError(
                f'Step "{step.id}" signs its request, but its owner has no outgoing webhook '
                f"endpoint with the URL {url}."
            )
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        msg_id = message_id(ctx.run_id, step.id)
        return text, {**headers, **signed_headers(signers, msg_id, text.encode())}

    def notify(self, ctx: StepContext, step: Notify) -> dict[str, Any]:
        message = str(render_value(step.message, ctx.values))
        delivered = False
        if self._publish is not None:
            data = {"run_id": ctx.run_id, "step_id": step.id, "message": message}
            self._publish(ctx.owner_id, "workflow.run.step", data)
            delivered = True
        return {"message": message, "published": delivered}

    def stop_if(self, ctx: StepContext, step: StopIf) -> dict[str, Any]:
        return {"stopped": evaluate(step.when, ctx.values)}


def _conditions(conditions: list[Any], ctx: StepContext) -> list[FilterCondition]:
    rendered = render_value([c.model_dump(exclude_none=True) for c in conditions], ctx.values)
    return [FilterCondition.model_validate(c) for c in rendered]


def summarize(kind: str, output: Mapping[str, Any]) -> str:
    """A short line for the Run page."""
    if kind == "find_records":
        return f"{output.get('count', 0)} records found in {output.get('table', '')}"
    if kind == "aggregate_records":
        return f"value {output.get('value')} over {output.get('count', 0)} records"
    if kind.endswith("_records"):
        if not output.get("change_set_id"):
            return "nothing to change"
        parts = [f"{output.get(k)} {k}" for k in ("created", "updated", "deleted") if output.get(k)]
        return f"{', '.join(parts) or 'no records'} in {output.get('table', '')}"
    if kind == "fill_field":
        return (
            f"filled {output.get('filled', 0)} records in {output.get('table', '')}"
            f" ({output.get('failed', 0)} answers did not fit)"
        )
    if kind in ("run_prompt", "ask_assistant"):
        return str(output.get("text", ""))[:200]
    if kind == "http_request":
        return f"answered {output.get('status')}"
    if kind == "notify":
        return str(output.get("message", ""))[:200]
    if kind == "stop_if":
        return "stopped the run" if output.get("stopped") else "went on"
    if kind == "approval":
        return "approved" + (f": {output.get('note')}" if output.get("note") else "")
    return ""
