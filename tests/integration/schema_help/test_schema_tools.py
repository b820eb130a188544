"""Schema and formula help: proposals checked against the base, applied on Confirm through
the meta API (emulator), audited, and visible to describe_table; invalid formulas caught."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from sqlalchemy import select

from services.container import Services
from services.errors import NotFoundError
from services.orm import AuditEvent, User
from tests.integration.airtable.fixtures import FreshBase, runtime_for
from tools.airtable import airtable_tools
from tools.schema_help import schema_tools

pytestmark = pytest.mark.sql


def call(
    tools: dict[str, BaseTool], tool: str, user_id: int, base_id: str, **args: Any
) -> ToolMessage:
    message = tools[tool].invoke(
        {
            "type": "tool_call",
            "id": "call-1",
            "name": tool,
            "args": {**args, "runtime": runtime_for(user_id, base_id)},
        }
    )
    assert isinstance(message, ToolMessage)
    return message


@pytest.fixture
def tools(airtable_services: Services) -> dict[str, BaseTool]:
    found = [*schema_tools(airtable_services), *airtable_tools(airtable_services)]
    return {t.name: t for t in found}


def described(tools: dict[str, BaseTool], user: User, base: FreshBase, table: str) -> str:
    return call(tools, "describe_table", user.id, base.id, table=table).text


def test_propose_field__applied_on_confirm_and_described(
    airtable_services: Services, member: User, fresh_base: FreshBase, tools: dict[str, BaseTool]
) -> None:
    message = call(
        tools,
        "propose_field",
        member.id,
        fresh_base.id,
        table="Tasks",
        field={"name": "Priority", "type": "singleSelect", "choices": ["Low", "High"]},
    )
    card = message.artifact
    assert card["kind"] == "schema_proposal"
    assert card["change"] == "create_field"
    assert "Priority" not in described(tools, member, fresh_base, "Tasks")
    airtable_services.schema_help.apply(card["id"], member.id)
    text = described(tools, member, fresh_base, "Tasks")
    assert "Priority" in text
    assert "High" in text
    with pytest.raises(NotFoundError):
        airtable_services.schema_help.apply(card["id"], member.id)
    with airtable_services.sql() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "schema.create_field" in actions


def test_propose_table_and_rename__applied_and_described(
    airtable_services: Services, member: User, fresh_base: FreshBase, tools: dict[str, BaseTool]
) -> None:
    table = call(
        tools,
        "propose_table",
        member.id,
        fresh_base.id,
        name="Invoices",
        fields=[
            {"name": "Number", "type": "singleLineText"},
            {"name": "Amount", "type": "currency", "precision": 2, "symbol": "€"},
            {"name": "Paid", "type": "checkbox"},
            {"name": "Task", "type": "multipleRecordLinks", "linked_table": "Tasks"},
        ],
    ).artifact
    airtable_services.schema_help.apply(table["id"], member.id)
    text = described(tools, member, fresh_base, "Invoices")
    assert "Amount" in text
    assert "Paid" in text
    rename = call(
        tools,
        "rename_field",
        member.id,
        fresh_base.id,
        table="Tasks",
        field="Hours",
        new_name="Effort",
    ).artifact
    airtable_services.schema_help.apply(rename["id"], member.id)
    text = described(tools, member, fresh_base, "Tasks")
    assert "Effort" in text
    assert "Hours" not in text.replace("Double", "")


def test_propose_formula_field__checked_previewed_and_applied(
    airtable_services: Services, member: User, fresh_base: FreshBase, tools: dict[str, BaseTool]
) -> None:
    message = call(
        tools,
        "propose_formula_field",
        member.id,
        fresh_base.id,
        table="Tasks",
        name="Days left",
        formula='DATETIME_DIFF({Due}, TODAY(), "days")',
    )
    card = message.artifact
    assert len(card["preview"]) == 5
    assert all(p["value"].lstrip("-").isdigit() for p in card["preview"])
    airtable_services.schema_help.apply(card["id"], member.id)
    assert "Days left" in described(tools, member, fresh_base, "Tasks")
    rows = fresh_base.snapshot()
    assert any("Days left" in fields for fields in rows.values())


@pytest.mark.parametrize(
    ("formula", "error"),
    [
        ("{Deadline} - 1", 'reads the field "Deadline", which the table does not have'),
        ("DAYS_UNTIL({Due})", "DAYS_UNTIL() is not an Airtable formula function"),
        ('IF({Hours} > 2, "long"', "does not parse"),
    ],
)
def test_propose_formula_field__an_invalid_formula_is_caught_before_it_is_proposed(
    member: User, fresh_base: FreshBase, tools: dict[str, BaseTool], formula: str, error: str
) -> None:
    message = call(
        tools,
        "propose_formula_field",
        member.id,
        fresh_base.id,
        table="Tasks",
        name="X",
        formula=formula,
    )
    assert message.status == "error"
    assert error in message.text
