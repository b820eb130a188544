"""Checking a parsed definition before it is saved: templates, step references, schedules,
and every table and field against the base's schema (through the Airtable gateway).

Each problem is a `WorkflowDefinitionError` naming the step and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from services.airtable.gateway import AirtableGateway
from services.errors import AppError
from services.workflows.definition import (
    AggregateRecords,
    CreateRecords,
    DeleteRecords,
    FillField,
    FindRecords,
    HttpRequest,
    RecordTrigger,
    RunPrompt,
    ScheduleTrigger,
    StopIf,
    UpdateRecords,
    UpsertRecords,
    WorkflowDefinition,
)
from services.workflows.templates import (
    GLOBALS,
    check_expression,
    check_syntax,
    is_template,
    local_names,
    references,
)
from services.workflows.types import WorkflowDefinitionError

RecordStep = (
    FindRecords
    | AggregateRecords
    | CreateRecords
    | UpdateRecords
    | UpsertRecords
    | DeleteRecords
    | FillField
)
PromptExists = Callable[[int, str], bool]
# (owner_id, url): whether the owner has an outgoing webhook endpoint at exactly that URL.
SigningEndpointExists = Callable[[int, str], bool]


class DefinitionChecker:
    """`check(user_id, definition)`: the checks `WorkflowLibrary` runs before saving."""

    def __init__(
        self,
        gateway: AirtableGateway,
        prompt_exists: PromptExists | None = None,
        signing_endpoint: SigningEndpointExists | None = None,
    ) -> None:
        self._gateway = gateway
        self._prompt_exists = prompt_exists
        self._signing_endpoint = signing_endpoint

    def __call__(self, user_id: int, definition: WorkflowDefinition) -> None:
        check_schedule(definition)
        check_templates(definition)
        if isinstance(definition.trigger, RecordTrigger):
            self._check_record_trigger(user_id, definition, definition.trigger)
        for step in definition.steps:
            if isinstance(step, RecordStep):
                self._check_table(user_id, definition, step)
            if (
                isinstance(step, RunPrompt)
                and self._prompt_exists is not None
                and not is_template(step.prompt)
                and not self._prompt_exists(user_id, step.prompt)
            ):
                raise _error(step.id, "prompt", f'there is no saved prompt "{step.prompt}"')
            if isinstance(step, HttpRequest) and step.sign:
                self._check_signing(user_id, step)

    def _check_signing(self, user_id: int, step: HttpRequest) -> None:
        """`sign: true` signs with the secret of the owner's webhook endpoint at that URL."""
        if is_template(step.url):
            raise _error(step.id, "url", "a signed request needs a fixed URL, not a template")
        if self._signing_endpoint is None or not self._signing_endpoint(user_id, step.url):
            raise _error(
                step.id,
                "sign",
                f"none of your outgoing webhook endpoints has the URL {step.url}; add it on "
                "the Webhooks page to sign requests to it with its secret",
            )

    def _check_table(self, user_id: int, definition: WorkflowDefinition, step: RecordStep) -> None:
        base = step.base or definition.base
        if not base:
            raise _error(step.id, "base", "give the workflow (or the step) a base")
        if is_template(base) or is_template(step.table):
            return  # known only when the run renders it
        try:
            base_id = self._base_id(user_id, base)
            table = self._gateway.schema(user_id, base_id).table(step.table)
        except AppError as exc:
            raise _error(
                step.id, "table" if "able" in str(exc) else "base", str(exc).rstrip(".")
            ) from None
        for where, name in _field_names(step):
            if is_template(name):
                continue
            try:
                table.field(name)
            except AppError as exc:
                raise _error(step.id, where, str(exc).rstrip(".")) from None

    def _check_record_trigger(
        self, user_id: int, definition: WorkflowDefinition, trigger: RecordTrigger
    ) -> None:
        """The watched table and fields exist (else no Airtable webhook could serve it)."""
        spec = trigger.record
        if not definition.base:
            raise _error(None, "base", "a record trigger needs the workflow's base")
        try:
            base_id = self._base_id(user_id, definition.base)
            table = self._gateway.schema(user_id, base_id).table(spec.table)
        except AppError as exc:
            raise _error(None, "trigger.record.table", str(exc).rstrip(".")) from None
        named = [(f"trigger.record.fields[{i}]", n) for i, n in enumerate(spec.fields)]
        named += [(f"trigger.record.where[{i}].field", c.field) for i, c in enumerate(spec.where)]
        for where, name in named:
            try:
                table.field(name)
            except AppError as exc:
                raise _error(None, where, str(exc).rstrip(".")) from None

    def _base_id(self, user_id: int, base: str) -> str:
        for info in self._gateway.bases(user_id):
            if base in (info.id, info.name) or base.casefold() == info.name.casefold():
                return info.id
        raise _error(None, "base", f'there is no base "{base}" for this account')


def check_schedule(definition: WorkflowDefinition) -> None:
    trigger = definition.trigger
    if not isinstance(trigger, ScheduleTrigger):
        return
    spec = trigger.schedule
    if not croniter.is_valid(spec.cron) or len(spec.cron.split()) != 5:
        raise _error(None, "trigger.schedule.cron", f'"{spec.cron}" is not a five-field cron')
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _error(
            None, "trigger.schedule.timezone", f'"{spec.timezone}" is not a time zone'
        ) from None


def check_templates(definition: WorkflowDefinition) -> None:
    """Syntax, and names: inputs declared, steps only earlier ones (no forward refs, no cycles)."""
    inputs = {v.name for v in definition.inputs}
    earlier: set[str] = set()
    ids = {s.id for s in definition.steps}
    for step in definition.steps:
        data = step.model_dump(exclude={"id", "type"})
        for field, source in _strings(data):
            try:
                tree = (
                    check_expression(source)
                    if isinstance(step, StopIf) and field == "when"
                    else (check_syntax(source) if is_template(source) else None)
                )
            except AppError as exc:
                raise _error(step.id, field, str(exc)) from None
            if tree is None:
                continue
            bound = local_names(tree)
            for name, attr in references(tree):
                if name in bound:
                    continue
                if name not in GLOBALS:
                    raise _error(
                        step.id, field, f'"{name}" is not known; use inputs, steps, run or today'
                    )
                if name == "inputs" and attr is not None and attr not in inputs:
                    raise _error(step.id, field, f'there is no input "{attr}"')
                if name == "steps" and attr is not None and attr not in earlier:
                    where = "a later step" if attr in ids else "not a step"
                    raise _error(step.id, field, f'"{attr}" is {where}; use only earlier steps')
        earlier.add(step.id)


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _field_names(step: RecordStep) -> Iterator[tuple[str, str]]:
    for index, cond in enumerate(getattr(step, "where", [])):
        yield f"where[{index}].field", cond.field
    if isinstance(step, FindRecords):
        for index, name in enumerate(step.fields):
            yield f"fields[{index}]", name
    if isinstance(step, AggregateRecords):
        for key in ("field", "group_by"):
            if getattr(step, key):
                yield key, getattr(step, key)
    if isinstance(step, UpdateRecords):
        for name in step.set:
            yield f"set.{name}", name
    if isinstance(step, FillField):
        yield "field", step.field
        for index, name in enumerate(step.read):
            yield f"read[{index}]", name
    if isinstance(step, UpsertRecords):
        for index, name in enumerate(step.merge_on):
            yield f"merge_on[{index}]", name
    records = getattr(step, "records", None)
    if isinstance(records, list):
        for index, record in enumerate(records):
            if isinstance(record, dict):
                for name in record:
                    if name != "id":
                        yield f"records[{index}].{name}", name


def _error(step: str | None, field: str, message: str) -> WorkflowDefinitionError:
    where = f'Step "{step}", field "{field}"' if step else f'Field "{field}"'
    return WorkflowDefinitionError(f"{where}: {message}.", step=step, field=field)
