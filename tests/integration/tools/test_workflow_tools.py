"""The workflow tools as the model sees them: cards instead of actions, definitions checked
by the library before they are shown."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from emulator.seed import PROJECT_TRACKER_ID
from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import call_tool
from tests.support.accounts import make_user
from tools.workflows import workflow_tools

pytestmark = pytest.mark.sql

DEFINITION: dict[str, Any] = {
    "name": "Escalate overdue tasks",
    "base": PROJECT_TRACKER_ID,
    "inputs": [{"name": "assignee", "type": "text"}],
    "steps": [
        {
            "id": "overdue",
            "type": "find_records",
            "table": "Tasks",
            "where": [{"field": "Assignee", "op": "equals", "value": "{{ inputs.assignee }}"}],
        },
        {
            "id": "escalate",
            "type": "update_records",
            "table": "Tasks",
            "records": "{{ steps.overdue.records }}",
            "set": {"Priority": "Urgent"},
        },
    ],
}


def _call(tool: BaseTool, user_id: int, **args: Any) -> ToolMessage:
    return call_tool(tool, user_id, PROJECT_TRACKER_ID, **args)


@pytest.fixture
def tools(airtable_services: Services) -> dict[str, BaseTool]:
    return {t.name: t for t in workflow_tools(airtable_services)}


def test_tools__are_the_four_with_described_arguments(tools: dict[str, BaseTool]) -> None:
    assert sorted(tools) == [
        "draft_workflow",
        "get_workflow_run",
        "list_workflows",
        "run_workflow",
    ]
    for tool in tools.values():
        schema = convert_to_openai_tool(tool)["function"]
        assert "runtime" not in schema["parameters"].get("properties", {})
        assert len(tool.description) > 60
        for prop in schema["parameters"].get("properties", {}).values():
            assert prop.get("description"), (tool.name, prop)


def test_run_workflow__returns_a_card_and_starts_nothing(
    airtable_services: Services, tools: dict[str, BaseTool], member: User
) -> None:
    workflow = airtable_services.workflows.create(member.id, DEFINITION)
    message = _call(
        tools["run_workflow"],
        member.id,
        workflow="escalate overdue tasks",
        inputs=[{"name": "assignee", "value": "Ana"}],
    )
    assert message.status != "error", message.text
    card = message.artifact
    assert card["kind"] == "workflow_run_request"
    assert card["workflow_id"] == workflow.id
    assert card["inputs"] == {"assignee": "Ana"}
    assert card["may_write"] == ["escalate: update records in Tasks"]
    assert "NOT started" in message.text
    assert airtable_services.workflow_runs.list_for(member) == []


def test_run_workflow__bad_inputs_or_unknown_workflows_are_errors_the_model_reads(
    airtable_services: Services, tools: dict[str, BaseTool], member: User
) -> None:
    airtable_services.workflows.create(member.id, DEFINITION)
    missing = _call(tools["run_workflow"], member.id, workflow="Escalate overdue tasks")
    assert missing.status == "error"
    assert "Assignee is required" in missing.text
    unknown = _call(tools["run_workflow"], member.id, workflow="Nothing like it")
    assert unknown.status == "error"
    assert "list_workflows" in unknown.text
    assert airtable_services.workflow_runs.list_for(member) == []


def test_list_workflows__shows_own_and_shared_with_what_they_may_change(
    airtable_services: Services, tools: dict[str, BaseTool], member: User
) -> None:
    other = make_user(airtable_services, name="Other")
    private = airtable_services.workflows.create(other.id, {**DEFINITION, "name": "Private"})
    airtable_services.workflows.create(other.id, {**DEFINITION, "name": "Shared"}, shared=True)
    airtable_services.workflows.create(member.id, DEFINITION)
    message = _call(tools["list_workflows"], member.id)
    assert "Escalate overdue tasks" in message.text
    assert "Shared" in message.text
    assert private.id not in message.text
    assert "may change: escalate: update records in Tasks" in message.text


def test_draft_workflow__refuses_an_unknown_field_naming_step_and_field(
    tools: dict[str, BaseTool], member: User
) -> None:
    bad = {**DEFINITION, "steps": [{**DEFINITION["steps"][0], "fields": ["Colour"]}]}
    message = _call(tools["draft_workflow"], member.id, definition=yaml.safe_dump(bad))
    assert message.status == "error"
    assert 'Step "overdue"' in message.text
    assert "fields[0]" in message.text


def test_draft_workflow__a_valid_draft_is_yaml_that_saves_and_nothing_is_saved_before(
    airtable_services: Services, tools: dict[str, BaseTool], member: User
) -> None:
    message = _call(tools["draft_workflow"], member.id, definition=yaml.safe_dump(DEFINITION))
    assert message.status != "error", message.text
    card = message.artifact
    assert card["kind"] == "workflow_draft"
    assert airtable_services.workflows.list_for(member) == []
    saved = airtable_services.workflows.create(member.id, card["yaml"])
    assert saved.definition.model_dump(exclude_defaults=True)["steps"][1]["set"] == {
        "Priority": "Urgent"
    }


def test_get_workflow_run__reports_status_and_steps_to_its_owner_only(
    airtable_services: Services, tools: dict[str, BaseTool], member: User
) -> None:
    workflow = airtable_services.workflows.create(member.id, DEFINITION)
    run = airtable_services.workflow_runs.start(member, workflow.id, {"assignee": "Ana"}, "chat")
    message = _call(tools["get_workflow_run"], member.id, run_id=run.id)
    assert f"Run {run.id} of Escalate overdue tasks (version 1): queued" in message.text
    assert "- escalate (update_records): pending" in message.text
    other = make_user(airtable_services, name="Other")
    assert _call(tools["get_workflow_run"], other.id, run_id=run.id).status == "error"
