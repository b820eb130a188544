"""The workflow definition format (YAML or JSON), as pydantic models.

`WorkflowDefinition` is what a person writes (see PLATFORM.md): a name, a default base,
typed inputs (the saved prompts' variable types), a trigger, what to do on failure and
the steps, each a member of the `Step` union discriminated by `type`. Text values may be
Jinja2 templates over `inputs` and earlier `steps`; they are checked in `validation.py`.
`WorkflowDefinition.model_json_schema()` is the JSON Schema editors use.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from services.airtable.filters import Operator
from services.prompts.variables import VariableType

STEP_ID = r"^[a-z][a-z0-9_]{0,39}$"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
Template = Any  # a value whose strings may hold Jinja2 templates


def duration_seconds(text: str) -> int:
    """`"90s"`, `"15m"`, `"24h"`, `"7d"` as seconds.

    Raises:
        ValueError: not a whole number followed by s, m, h or d.
    """
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f'"{text}" is not a duration such as 30m, 24h or 7d')
    return int(found.group(1)) * _UNITS[found.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test on a record field, as the chat tools write it; `value` may be a template."""

    field: str = Field(min_length=1)
    op: Operator
    value: Template = None
    value_to: Template = None
    values: list[Template] | None = None


class InputVariable(_Strict):
    """One input of a run, typed like a saved prompt's variable."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
    type: VariableType = VariableType.TEXT
    label: str = ""
    required: bool = True
    options: list[str] = Field(default_factory=list)
    base_id: str = ""
    table: str = ""
    field: str = ""


class ManualTrigger(_Strict):
    manual: dict[str, Any] = Field(default_factory=dict)


class ScheduleSpec(_Strict):
    cron: str = Field(min_length=1, description='Five-field cron, e.g. "0 9 * * MON".')
    timezone: str = Field(default="UTC", description='IANA zone, e.g. "Europe/Berlin".')


class ScheduleTrigger(_Strict):
    schedule: ScheduleSpec


RecordEvent = Literal["created", "updated", "deleted"]
_DEFAULT_EVENTS: tuple[RecordEvent, ...] = ("created", "updated")


class RecordSpec(_Strict):
    table: str = Field(min_length=1)
    on: list[RecordEvent] = Field(default_factory=lambda: list(_DEFAULT_EVENTS))
    fields: list[str] = Field(default_factory=list)
    where: list[Condition] = Field(default_factory=list)


class RecordTrigger(_Strict):
    record: RecordSpec


class WebhookTrigger(_Strict):
    webhook: dict[str, Any] = Field(default_factory=dict)


TRIGGER_KINDS = ("manual", "schedule", "record", "webhook")


def _trigger_kind(value: Any) -> str | None:
    """The one key of a trigger (`{schedule: {...}}` is "schedule"); None: not a trigger.

    The union is discriminated by it so that a wrong trigger is reported at its own
    field (`trigger.record.on.0`), not as a mismatch of the first member.
    """
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, dict):
        return None
    if not value:
        return "manual"
    keys = list(value)
    return keys[0] if len(keys) == 1 and keys[0] in TRIGGER_KINDS else None


Trigger = Annotated[
    Annotated[ManualTrigger, Tag("manual")]
    | Annotated[ScheduleTrigger, Tag("schedule")]
    | Annotated[RecordTrigger, Tag("record")]
    | Annotated[WebhookTrigger, Tag("webhook")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_kind",
        custom_error_message="a trigger is one of manual, schedule, record or webhook, "
        "e.g. {manual: {}}",
    ),
]


class _Step(_Strict):
    id: str = Field(pattern=STEP_ID, description="Unique in the workflow; later steps use it.")


class _RecordStep(_Step):
    table: str = Field(min_length=1)
    base: str | None = Field(default=None, description="Overrides the workflow's base.")


class FindRecords(_RecordStep):
    type: Literal["find_records"]
    where: list[Condition] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"
    fields: list[str] = Field(default_factory=list)
    limit: int = Field(default=1000, ge=1, le=10_000)


class AggregateRecords(_RecordStep):
    type: Literal["aggregate_records"]
    metric: Literal["count", "sum", "avg", "min", "max"] = "count"
    field: str | None = None
    group_by: str | None = None
    where: list[Condition] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"


class CreateRecords(_RecordStep):
    type: Literal["create_records"]
    records: Template = Field(description="A list of {field: value}, or a template of one.")


class UpdateRecords(_RecordStep):
    type: Literal["update_records"]
    records: Template = Field(default=None, description="Records (with `id`) or a template.")
    where: list[Condition] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"
    set: dict[str, Template] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_target(self) -> UpdateRecords:
        if (self.records is None) == (not self.where):
            raise ValueError("give either `records` or `where`")
        if self.where and not self.set:
            raise ValueError("`where` needs `set`: the values to write")
        return self


class UpsertRecords(_RecordStep):
    type: Literal["upsert_records"]
    records: Template
    merge_on: list[str] = Field(min_length=1, max_length=3)


class DeleteRecords(_RecordStep):
    type: Literal["delete_records"]
    records: Template = None
    where: list[Condition] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"

    @model_validator(mode="after")
    def _one_target(self) -> DeleteRecords:
        if (self.records is None) == (not self.where):
            raise ValueError("give either `records` or `where`")
        return self


class FillField(_RecordStep):
    """The model fills `field` for every record (of `view`, or matching `where`) from the
    `read` fields: a bulk fill, written as one change set."""

    type: Literal["fill_field"]
    field: str = Field(min_length=1, description="The field to fill (text, number, select...).")
    read: list[str] = Field(min_length=1, description="The fields the model reads.")
    instruction: str = Field(min_length=3, description="What to do for each record.")
    view: str | None = None
    where: list[Condition] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"
    overwrite: bool = False


class RunPrompt(_Step):
    type: Literal["run_prompt"]
    prompt: str = Field(min_length=1, description="A saved prompt's name (or ID).")
    inputs: dict[str, Template] = Field(default_factory=dict)


class AskAssistant(_Step):
    type: Literal["ask_assistant"]
    question: str = Field(min_length=1)
    base: str | None = None


class HttpCall(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Template = None


class HttpRequest(HttpCall):
    id: str = Field(pattern=STEP_ID)
    type: Literal["http_request"]
    sign: bool = False
    timeout: float = Field(default=10.0, gt=0, le=120)
    compensate: HttpCall | None = None


class Approval(_Step):
    type: Literal["approval"]
    message: str = Field(min_length=1)
    timeout: str | None = Field(default=None, description="e.g. 30m, 24h (unset: the default).")

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class Notify(_Step):
    type: Literal["notify"]
    message: str = Field(min_length=1)


class StopIf(_Step):
    type: Literal["stop_if"]
    when: str = Field(min_length=1, description="A Jinja2 expression, e.g. steps.a.count == 0")


Step = Annotated[
    FindRecords
    | AggregateRecords
    | CreateRecords
    | UpdateRecords
    | UpsertRecords
    | DeleteRecords
    | FillField
    | RunPrompt
    | AskAssistant
    | HttpRequest
    | Approval
    | Notify
    | StopIf,
    Field(discriminator="type"),
]
STEP_TYPES = (
    "find_records",
    "aggregate_records",
    "create_records",
    "update_records",
    "upsert_records",
    "delete_records",
    "fill_field",
    "run_prompt",
    "ask_assistant",
    "http_request",
    "approval",
    "notify",
    "stop_if",
)
WRITE_TYPES = frozenset({"create_records", "update_records", "upsert_records", "delete_records"})


class WorkflowDefinition(_Strict):
    """A whole workflow, as written in YAML or JSON."""

    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    base: str | None = Field(default=None, description="Default base of record steps.")
    inputs: list[InputVariable] = Field(default_factory=list)
    trigger: Trigger = Field(default_factory=ManualTrigger)
    on_failure: Literal["compensate", "stop"] = "compensate"
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> WorkflowDefinition:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f'step id "{step.id}" is used twice')
            seen.add(step.id)
        return self

    @property
    def trigger_kind(self) -> str:
        """manual, schedule, record or webhook."""
        return next(iter(self.trigger.model_dump()))

    def to_data(self) -> dict[str, Any]:
        """The definition as JSON-safe data, defaults left out but the trigger's kind kept
        (`{webhook: {}}` would otherwise shrink to `{}`, which reads back as manual)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        data["trigger"] = self.trigger.model_dump(mode="json", exclude_defaults=True) or {
            self.trigger_kind: {}
        }
        return {name: data[name] for name in type(self).model_fields if name in data}

    def may_write(self) -> list[str]:
        """What the workflow may change, one line per write or outside call (for the UI)."""
        lines = []
        for step in self.steps:
            if step.type in WRITE_TYPES:
                verb = step.type.removesuffix("_records")
                lines.append(f"{step.id}: {verb} records in {getattr(step, 'table', '')}")
            elif isinstance(step, FillField):
                lines.append(f"{step.id}: fill {step.field} in {step.table}")
            elif isinstance(step, HttpRequest):
                lines.append(f"{step.id}: {step.method} {step.url}")
        return lines
