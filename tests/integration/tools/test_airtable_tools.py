"""The Airtable tools as the model sees them: compact text out, artifacts for the UI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.tools import ToolRuntime
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase
from tests.integration.airtable.fixtures import call_tool as _call
from tools.context import AssistantContext

pytestmark = pytest.mark.sql
PROJECTS = "appDemoProjects00"


class ToolFake(GenericFakeChatModel):
    """A scripted chat model that can be bound to tools."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


def test_tools__are_the_documented_set_with_model_facing_schemas(
    tools: dict[str, BaseTool],
) -> None:
    assert sorted(tools) == sorted(
        [
            "list_bases",
            "describe_table",
            "search_records",
            "aggregate_records",
            "get_record",
            "create_records",
            "update_records",
            "upsert_records",
            "delete_records",
        ]
    )
    schema = convert_to_openai_tool(tools["search_records"])["function"]
    assert "runtime" not in schema["parameters"]["properties"]
    assert "filters" in schema["parameters"]["properties"]
    assert all(len(t.description) > 40 for t in tools.values())


def test_search__returns_a_small_text_table_and_rows_for_the_ui(
    tools: dict[str, BaseTool], member: User
) -> None:
    message = _call(
        tools["search_records"],
        member.id,
        PROJECTS,
        table="Tasks",
        filters=[{"field": "Assignee", "op": "equals", "value": "Ana"}],
        fields=["Name", "Project", "Notes"],
        limit=5,
    )
    lines = str(message.content).splitlines()
    total = message.artifact["total"]
    assert lines[0] == f"Tasks: {total} records match; showing 5."
    assert lines[1] == "id|Name|Project|Notes"
    assert len(lines) == 2 + 5 + 1
    assert "more rows not shown" in lines[-1]
    assert "{" not in str(message.content)
    assert "rec" not in lines[2].split("|", 2)[2]
    assert message.artifact["kind"] == "records"
    assert len(message.artifact["rows"]) == 5
    rows = [line.split("|") for line in lines[2:-1]]
    assert all(len(cell) <= 60 for row in rows for cell in row[:3])  # id, Name, Project
    assert all(len(row[3]) <= 240 for row in rows)  # long text gets more room


def test_aggregate__answers_over_the_whole_table(tools: dict[str, BaseTool], member: User) -> None:
    message = _call(tools["aggregate_records"], member.id, PROJECTS, table="Tasks", metric="count")
    assert message.content == "Tasks: count over 5000 matching records: 5000."
    assert message.artifact["total"] == {"value": 5000, "records": 5000}


def test_errors__come_back_as_short_actionable_tool_messages(
    tools: dict[str, BaseTool], member: User
) -> None:
    typo = _call(
        tools["aggregate_records"], member.id, PROJECTS, table="Tasks", metric="sum", field="Hours"
    )
    no_base = _call(tools["search_records"], member.id, None, table="Tasks")
    bad_args = _call(tools["search_records"], member.id, PROJECTS, table="Tasks", limit=1000)
    assert typo.status == "error"
    assert 'Did you mean "Estimate Hours"' in str(typo.content)
    assert no_base.status == "error"
    assert "list_bases" in str(no_base.content)
    assert bad_args.status == "error"
    assert "limit" in str(bad_args.content)


def test_update_tool__proposes_and_writes_nothing(
    tools: dict[str, BaseTool], member: User, fresh_base: FreshBase, airtable_services: Services
) -> None:
    before = fresh_base.snapshot()
    message = _call(
        tools["update_records"],
        member.id,
        fresh_base.id,
        table="Tasks",
        filters=[{"field": "Owner", "op": "equals", "value": "ana"}],
        set_fields=[{"field": "Status", "value": "Done"}],
    )
    proposal = message.artifact
    assert proposal["kind"] == "proposal"
    assert proposal["counts"]["update"] == 9
    assert proposal["proposal_id"] in str(message.content)
    assert "NOT applied" in str(message.content)
    assert fresh_base.snapshot() == before
    airtable_services.airtable_changes.apply(proposal["proposal_id"], member.id)
    assert sum(f["Status"] == "Done" for f in fresh_base.snapshot().values()) == 8 + 9


def test_agent__passes_the_users_identity_through_runtime_context(
    tools: dict[str, BaseTool], member: User
) -> None:
    model = ToolFake(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[
                        {
                            "name": "aggregate_records",
                            "args": {"table": "Projects", "metric": "count"},
                            "id": "c1",
                        }
                    ],
                ),
                AIMessage("There are 40 projects."),
            ]
        )
    )
    agent = create_agent(model, tools=list(tools.values()), context_schema=AssistantContext)
    result = agent.invoke(
        {"messages": [HumanMessage("How many projects?")]},
        context=AssistantContext(user_id=member.id, base_id=PROJECTS),
    )
    tool_message = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert tool_message.content == "Projects: count over 40 matching records: 40."
    assert tool_message.artifact["kind"] == "aggregate"


def _schema_problems(schema: dict[str, Any], defs: dict[str, Any], path: str) -> list[str]:
    if "$ref" in schema:
        return _schema_problems(defs[schema["$ref"].split("/")[-1]], defs, path)
    problems = []
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) > 1:
        problems.append(f"{path}: a union of {len(options)} types")
    for option in options:
        problems += _schema_problems(option, defs, path)
    if schema.get("type") == "object" and not schema.get("properties"):
        problems.append(f"{path}: an object without properties")
    for name, inner in schema.get("properties", {}).items():
        problems += _schema_problems(inner, defs, f"{path}.{name}")
    if "items" in schema:
        problems += _schema_problems(schema["items"], defs, f"{path}[]")
    return problems


def test_argument_schemas__use_plain_types_every_provider_accepts(
    tools: dict[str, BaseTool],
) -> None:
    # Gemini collapses unions of scalar types and rejects objects without properties.
    problems = []
    for tool in tools.values():
        parameters = convert_to_openai_tool(tool)["function"]["parameters"]
        if parameters.get("properties"):
            problems += _schema_problems(parameters, parameters.get("$defs", {}), tool.name)
    assert problems == []


def _call_in_zone(tool: BaseTool, user_id: int, zone: str, **args: Any) -> ToolMessage:
    runtime: ToolRuntime[AssistantContext, Any] = ToolRuntime(
        state={},
        context=AssistantContext(user_id=user_id, base_id=PROJECTS, time_zone=zone),
        config={},
        stream_writer=lambda _chunk: None,
        tool_call_id="call-tz",
        store=None,
    )
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "call-tz",
            "name": tool.name,
            "args": {**args, "runtime": runtime},
        }
    )
    assert isinstance(message, ToolMessage)
    return message


def test_read_tools__say_what_they_can_and_cannot_do_with_a_flat_schema(
    tools: dict[str, BaseTool],
) -> None:
    search, aggregate = tools["search_records"].description, tools["aggregate_records"].description
    assert all(word in search for word in ("cursor", "cannot join", "full-text"))
    assert all(word in aggregate for word in ("median", "percentile", "cannot join"))
    for name in ("search_records", "aggregate_records"):
        schema = convert_to_openai_tool(tools[name])["function"]["parameters"]
        defs = schema.get("$defs", {})
        # Groups nest without a self-reference: some providers refuse recursive schemas.
        for key, definition in defs.items():
            assert f"#/$defs/{key}" not in str(definition)
        assert {"groups", "text_search"} <= set(schema["properties"])


def test_relative_dates__are_resolved_in_the_persons_zone_and_echoed(
    tools: dict[str, BaseTool], member: User
) -> None:
    zone = "Pacific/Kiritimati"
    today = (datetime.now(UTC) + timedelta(hours=14)).date()
    message = _call_in_zone(
        tools["aggregate_records"], member.id, zone, table="Tasks", metric="count",
        filters=[{"field": "Due Date", "op": "on", "value": "next_14_days"}],
    )  # fmt: skip
    text = str(message.content)
    last = today + timedelta(days=14)
    assert f"Dates used (today is {today.isoformat()}, {zone}): " in text
    assert f"next_14_days = {today.isoformat()}..{last.isoformat()}" in text


def test_search_cursor__the_next_page_continues_and_a_foreign_cursor_is_refused(
    tools: dict[str, BaseTool], member: User
) -> None:
    blocked = [{"field": "Status", "op": "equals", "value": "Blocked"}]
    first = _call(
        tools["search_records"], member.id, PROJECTS, table="Tasks", filters=blocked,
        fields=["Name"], limit=100,
    )  # fmt: skip
    cursor = re.findall(r"with cursor (\S+);", str(first.content))[0]
    second = _call(
        tools["search_records"], member.id, PROJECTS, table="Tasks", filters=blocked,
        fields=["Name"], limit=100, cursor=cursor,
    )  # fmt: skip
    total = first.artifact["total"]
    last = min(total, 200)
    assert total > 100
    assert str(second.content).startswith(f"Tasks: {total} records match; showing rows 101-{last}.")
    ids = {r["id"] for r in first.artifact["rows"]} | {r["id"] for r in second.artifact["rows"]}
    assert len(ids) == last
    foreign = _call(
        tools["search_records"], member.id, PROJECTS, table="Tasks", fields=["Name"],
        cursor=cursor,
    )  # fmt: skip
    assert foreign.status == "error"
    assert "another search" in str(foreign.content)


def test_aggregate__two_fields_with_shares_render_one_line_per_pair(
    tools: dict[str, BaseTool], member: User
) -> None:
    message = _call(
        tools["aggregate_records"], member.id, PROJECTS, table="Tasks", metric="count",
        group_by="Priority", then_by="Done", share=True,
    )  # fmt: skip
    lines = str(message.content).splitlines()
    assert lines[0] == "Tasks: count over 5000 matching records, by Priority then Done (8 groups):"
    assert lines[1] == "Priority|Done|records|share"
    high = [line.split("|") for line in lines[2:] if line.startswith("High|")]
    assert sum(int(cells[2]) for cells in high) == sum(
        g["records"] for g in message.artifact["groups"] if g["group"] == "High"
    )
    assert sum(float(cells[3].rstrip("%")) for cells in high) == pytest.approx(100, abs=0.02)
    assert lines[-1] == "all||5000|"
