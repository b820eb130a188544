"""Definitions refused naming the step and the field; nothing saved. Runs whose inputs
are wrong are not started."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.workflows.orm import Workflow, WorkflowRun
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
        assert session.scalar(select(func.count()).select_from(Workflow)) == 0


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
        assert session.scalar(select(func.count()).select_from(WorkflowRun)) == 0


def test_schema__is_exported_for_editors(wf_services: Services) -> None:
    from services.workflows.definition import WorkflowDefinition

    schema = WorkflowDefinition.model_json_schema()
    assert {"name", "steps", "trigger", "on_failure"} <= set(schema["properties"])
    assert "http_request" in str(schema)
