"""Details an answer needs that the tools' text must carry: how computed fields are
worked out, linked records and attachments in full, when records were added, ties."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import runtime_for
from tools.airtable import airtable_tools

pytestmark = pytest.mark.sql
PROJECTS, CRM, INVENTORY = "appDemoProjects00", "appDemoSalesCRM00", "appDemoInventory0"


@pytest.fixture
def tools(airtable_services: Services) -> dict[str, BaseTool]:
    return {t.name: t for t in airtable_tools(airtable_services)}


def _call(tool: BaseTool, user_id: int, base_id: str, **args: Any) -> ToolMessage:
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "call-1",
            "name": tool.name,
            "args": {**args, "runtime": runtime_for(user_id, base_id)},
        }
    )
    assert isinstance(message, ToolMessage)
    assert message.status != "error", message.content
    return message


def test_describe_table__says_how_formulas_rollups_counts_and_lookups_are_worked_out(
    tools: dict[str, BaseTool], member: User
) -> None:
    tasks = _call(tools["describe_table"], member.id, PROJECTS, table="Tasks").text
    assert "- Overdue: formula IF(AND(NOT({Done}), {Due Date}, IS_BEFORE(" in tasks
    projects = _call(tools["describe_table"], member.id, PROJECTS, table="Projects").text
    assert "- Total Hours: rollup SUM(values) over Estimate Hours of Tasks -> number" in projects
    assert "- Task Count: count of Tasks (read-only)" in projects
    orders = _call(tools["describe_table"], member.id, INVENTORY, table="Orders").text
    assert "- Unit Price: lookup of Unit Price of Product (read-only)" in orders
    assert "- Order Total: formula {Quantity} * {Unit Price} -> currency" in orders
