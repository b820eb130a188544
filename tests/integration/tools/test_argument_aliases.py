"""Spellings a model sends for an option (a month `2026-03`, a year `2026`) mean what the
option's own name means."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import runtime_for
from tools.airtable import airtable_tools

pytestmark = pytest.mark.sql
CRM, INVENTORY = "appDemoSalesCRM00", "appDemoInventory0"


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
    return message


def test_filters__a_month_or_a_year_stands_for_all_its_days(
    tools: dict[str, BaseTool], member: User
) -> None:
    last = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    month, first = last.strftime("%Y-%m"), last.replace(day=1)

    def orders(*filters: dict[str, Any]) -> int:
        message = _call(
            tools["aggregate_records"],
            member.id,
            INVENTORY,
            table="Orders",
            metric="count",
            filters=list(filters),
        )
        assert message.status != "error", message.content
        return int(message.artifact["total"]["value"])

    def on(op: str, value: str) -> dict[str, Any]:
        return {"field": "Order Date", "op": op, "value": value}

    within = orders(on("gte", first.isoformat()), on("lte", last.isoformat()))
    assert within > 0
    assert orders(on("on", month)) == orders(on("equals", month)) == within
    assert orders(on("before", month)) == orders(on("before", first.isoformat()))
    assert orders(on("after", month)) == orders(on("after", last.isoformat()))
    assert orders(on("between", month) | {"value_to": month}) == within
    year = str(last.year)
    whole_year = orders(on("gte", f"{year}-01-01"), on("lte", date(last.year, 12, 31).isoformat()))
    assert orders(on("on", year)) == whole_year >= within
