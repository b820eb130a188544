"""Definitions refused naming the step and the field; nothing saved. Runs whose inputs
are wrong are not started."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from emulator.seed import PROJECT_TRACKER_ID
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.prompts.library import PromptDraft
from services.prompts.variables import Variable, VariableType
from services.workflows.orm import Workflow, WorkflowRun
from services.workflows.parsing import dump_yaml, load_yaml
from services.workflows.types import WorkflowDefinitionError
from tests.integration.airtable.fixtures import FreshBase


def definition(base_id: str, *steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "Checked", "base": base_id, "steps": list(steps), **extra}


FIND = {"id": "found", "type": "find_records", "table": "Tasks", "fields": ["Name"]}


@pytest.mark.parametrize(
    ("steps", "extra", "expected"),
    [
        ([{"id": "x", "type": "teleport"}], {}, 'Step "x", field "type": "teleport" is not'),
        ([{**FIND, "table": "Nope"}], {}, 'Step "found", field "table"'),
        ([{**FIND, "fields": ["Name", "Colour"]}], {}, 'Step "found", field "fields[1]"'),
        (
            [FIND, {"id": "tell", "type": "notify", "message": "{{ steps.found.count "}],
            {},
            'Step "tell", field "message": template error',
        ),
        (
            [{"id": "tell", "type": "notify", "message": "{{ steps.found.count }}"}, FIND],
            {},
            'Step "tell", field "message": "found" is a later step',
        ),
        (
            [{"id": "tell", "type": "notify", "message": "{{ steps.tell.count }}"}],
            {},
            'Step "tell", field "message": "tell" is a later step',
        ),
        (
            [{"id": "tell", "type": "notify", "message": "{{ inputs.who }}"}],
            {},
            'Step "tell", field "message": there is no input "who"',
        ),
        (
            [FIND],
            {"trigger": {"schedule": {"cron": "61 * * * *"}}},
            'Field "trigger.schedule.cron"',
        ),
        (
            [FIND],
            {"trigger": {"schedule": {"cron": "0 9 * * MON", "timezone": "Mars/Olympus"}}},
            'Field "trigger.schedule.timezone"',
        ),
        (
            [{**FIND, "where": [{"field": "Status", "op": "resembles", "value": "x"}]}],
            {},
            'Step "found", field "where.0.op"',
        ),
    ],
)
def test_create__refuses_a_bad_definition_naming_step_and_field_and_saves_nothing(
    steps: list[dict[str, Any]],
    extra: dict[str, Any],
    expected: str,
    wf_services: Services,
    owner: User,
    base: FreshBase,
) -> None:
    with pytest.raises(WorkflowDefinitionError) as refused:
        wf_services.workflows.create(owner.id, definition(base.id, *steps, **extra))
    assert expected in str(refused.value)
    with wf_services.sql() as session:
        owned = select(func.count()).where(Workflow.owner_id == owner.id)
        assert session.scalar(owned) == 0


def test_parse__names_the_yaml_line_of_the_bad_field(wf_services: Services) -> None:
    text = (
        "name: x\n"
        "steps:\n"
        "  - id: a\n"
        "    type: notify\n"
        "    message: hi\n"
        "  - id: b\n"
        "    type: approval\n"
        "    message: ok\n"
        "    timeout: soon\n"
    )
    with pytest.raises(WorkflowDefinitionError) as refused:
        wf_services.workflows.parse(text)
    assert str(refused.value).startswith('Step "b" (line 9), field "timeout"')


def test_start__refuses_inputs_that_fail_validation_and_starts_nothing(
    wf_services: Services, owner: User, base: FreshBase
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        definition(
            base.id,
            FIND,
            inputs=[
                {"name": "who", "type": "text", "required": True},
                {"name": "hours", "type": "number", "required": False},
            ],
        ),
    )
    for inputs in ({}, {"who": "Ana", "hours": "many"}, {"who": "Ana", "extra": "1"}):
        with pytest.raises(InvalidInputError):
            wf_services.workflow_runs.start(owner, workflow.id, inputs)
    with wf_services.sql() as session:
        runs = select(func.count()).where(WorkflowRun.owner_id == owner.id)
        assert session.scalar(runs) == 0


def test_schema__is_exported_for_editors(wf_services: Services) -> None:
    from services.workflows.definition import WorkflowDefinition

    schema = WorkflowDefinition.model_json_schema()
    assert {"name", "steps", "trigger", "on_failure"} <= set(schema["properties"])
    assert "http_request" in str(schema)


# PLATFORM.md's example as written, on the emulator's demo base; TRIGGER is replaced below.
PLATFORM_EXAMPLE = f"""\
name: Escalate overdue tasks          # unique per owner
description: Mark someone's overdue tasks urgent and tell the team
base: {PROJECT_TRACKER_ID}            # default base of record steps (ID or name)
inputs:                               # same variable types as saved prompts
  - {{name: assignee, type: text, required: true}}
trigger: TRIGGER
on_failure: compensate                # compensate (default) or stop
steps:
  - id: overdue
    type: find_records                # also: aggregate_records
    table: Tasks
    where: [{{field: Assignee, op: equals, value: "{{{{ inputs.assignee }}}}"}},
            {{field: Status, op: not_equals, value: Done}}]
    fields: [Name, Due Date]
  - id: escalate
    type: update_records              # also: create_records, upsert_records, delete_records
    table: Tasks
    records: "{{{{ steps.overdue.records }}}}"   # or `where:` like find_records
    set: {{Priority: Urgent}}
  - id: summary
    type: run_prompt                  # a saved prompt; or ask_assistant (read-only tools)
    prompt: overdue-summary
    inputs: {{rows: "{{{{ steps.overdue.records | tojson }}}}"}}
  - id: ok
    type: approval                    # waits for a person (UI, REST, chat); timeout fails it
    message: "Post the summary to the team channel?"
    timeout: 24h
  - id: post
    type: http_request                # signed like outgoing webhooks when `sign: true`
    method: POST
    url: https://hooks.example.com/team
    body: {{text: "{{{{ steps.summary.text }}}}"}}
    compensate: {{method: POST, url: https://hooks.example.com/team, body: {{text: "Retracted"}}}}
  - id: tell
    type: notify                      # an in-app notification (and event) to the owner
    message: "Escalated {{{{ steps.escalate.count }}}} tasks"
"""
TRIGGER_FORMS = {
    "manual": "{manual: {}}",
    "schedule": '{schedule: {cron: "0 9 * * MON", timezone: "Europe/Berlin"}}',
    "record": "{record: {table: Tasks, on: [created, updated], fields: [Status],\n"
    "           where: [{field: Status, op: equals, value: Blocked}]}}",
    "webhook": "{webhook: {}}",
}


@pytest.mark.parametrize("kind", list(TRIGGER_FORMS))
def test_create__saves_the_platform_example_with_each_trigger_form(
    kind: str, wf_services: Services, owner: User
) -> None:
    wf_services.prompts.create(
        user_id=owner.id,
        draft=PromptDraft(
            name="overdue-summary",
            template="Summarise {{rows}}",
            variables=[Variable("rows", VariableType.TEXT)],
        ),
    )
    text = PLATFORM_EXAMPLE.replace("TRIGGER", TRIGGER_FORMS[kind])

    saved = wf_services.workflows.create(owner.id, text)

    assert (saved.name, saved.trigger) == ("Escalate overdue tasks", kind)
    assert [s.type for s in saved.definition.steps] == [
        "find_records", "update_records", "run_prompt", "approval", "http_request", "notify",
    ]  # fmt: skip
    as_json = json.dumps(load_yaml(text))
    assert wf_services.workflows.validate(owner.id, as_json) == saved.definition


def test_parse__reads_on_yes_and_no_as_text_not_booleans(wf_services: Services) -> None:
    parsed = wf_services.workflows.parse(
        "name: x\n"
        "trigger: {record: {table: Tasks, on: [deleted],\n"
        "                   where: [{field: A, op: equals, value: No}]}}\n"
        "steps:\n"
        "  - {id: a, type: notify, message: yes}\n"
    )
    trigger = parsed.trigger.model_dump(exclude_none=True)
    assert trigger == {
        "record": {
            "table": "Tasks",
            "on": ["deleted"],
            "fields": [],
            "where": [{"field": "A", "op": "equals", "value": "No"}],
        }
    }
    assert parsed.steps[0].model_dump()["message"] == "yes"


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (
            "record:\n    table: Tasks\n    on: [created, changed]",
            'Field "trigger.record.on.1" (line 6): Input should be',
        ),
        ("schedule:\n    timezone: UTC", 'Field "trigger.schedule.cron" (line 5): Field required'),
        ("cron: 0 9 * * MON", 'Field "trigger" (line 4): a trigger is one of manual, schedule'),
    ],
)
def test_parse__names_the_line_and_field_of_a_bad_trigger(
    trigger: str, expected: str, wf_services: Services
) -> None:
    text = f"name: x\nsteps: [{{id: a, type: notify, message: hi}}]\ntrigger:\n  {trigger}\n"
    with pytest.raises(WorkflowDefinitionError) as refused:
        wf_services.workflows.parse(text)
    assert str(refused.value).startswith(expected)


def test_parse__names_the_line_of_a_repeated_step_id(wf_services: Services) -> None:
    text = (
        "name: x\n"
        "steps:\n"
        "  - {id: a, type: notify, message: hi}\n"
        "  - {id: b, type: notify, message: hi}\n"
        "  - {id: a, type: notify, message: again}\n"
    )
    with pytest.raises(WorkflowDefinitionError) as refused:
        wf_services.workflows.parse(text)
    assert str(refused.value).startswith('Step "a" (line 5), field "id"')


def test_get__keeps_a_webhook_trigger_through_saving_and_export(
    wf_services: Services, owner: User
) -> None:
    text = "name: Hooked\ntrigger: {webhook: {}}\nsteps: [{id: a, type: notify, message: hi}]"
    saved = wf_services.workflows.create(owner.id, text)
    read = wf_services.workflows.get(owner, saved.id)

    assert read.definition.trigger_kind == "webhook"
    assert read.to_json()["definition"]["trigger"] == {"webhook": {}}
    exported = dump_yaml(read.definition)
    assert wf_services.workflows.parse(exported).trigger_kind == "webhook"
