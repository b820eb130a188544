"""Spellings a model sends for an option (`>=`, `DESC`, `average`, a month `2026-03`) mean
what the option's own name means; one with two readings is refused naming the options."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from langchain_core.tools import BaseTool

from services.orm import User
from tests.integration.airtable.fixtures import call_tool as _call

pytestmark = pytest.mark.sql
CRM, INVENTORY = "appDemoSalesCRM00", "appDemoInventory0"


def _count(tools: dict[str, BaseTool], user_id: int, *filters: dict[str, Any]) -> int:
    message = _call(
        tools["aggregate_records"],
        user_id,
        CRM,
        table="Deals",
        metric="count",
        filters=list(filters),
    )
    assert message.status != "error", message.content
    return int(message.artifact["total"]["value"])


@pytest.mark.parametrize(
    ("alias", "op", "field", "value"),
    [
        (">", "gt", "Amount", "50000"),
        (">=", "gte", "Amount", "50000"),
        ("<", "lt", "Amount", "20000"),
        ("<=", "lte", "Amount", "20000"),
        ("=", "equals", "Stage", "Closed Won"),
        ("==", "equals", "Stage", "Closed Won"),
        ("eq", "equals", "Stage", "Closed Won"),
        ("!=", "not_equals", "Stage", "Closed Won"),
        ("<>", "not_equals", "Stage", "Closed Won"),
        ("ne", "not_equals", "Stage", "Closed Won"),
        ("Greater Than", "gt", "Amount", "50000"),
        ("does_not_contain", "not_contains", "Name", "renewal"),
        ("includes", "contains", "Name", "renewal"),
        ("in", "is_any_of", "Stage", ["Lead", "Qualified"]),
        ("not_in", "is_none_of", "Stage", ["Lead", "Qualified"]),
        ("IS NOT EMPTY", "is_not_empty", "Primary Contact", None),
    ],
)
def test_filters__take_symbols_and_words_for_operators(
    tools: dict[str, BaseTool], member: User, alias: str, op: str, field: str, value: Any
) -> None:
    spelled = _count(tools, member.id, {"field": field, "op": alias, "value": value})
    named = _count(tools, member.id, {"field": field, "op": op, "value": value})
    assert spelled == named
    assert 0 < spelled < 1500  # the demo has 1,500 deals: the filter did select


def test_sort_metric_order_and_match__take_common_spellings(
    tools: dict[str, BaseTool], member: User
) -> None:
    def sorted_by(direction: str) -> list[Any]:
        message = _call(
            tools["search_records"],
            member.id,
            CRM,
            table="Deals",
            fields=["Amount"],
            sort=[{"field": "Amount", "direction": direction}],
            limit=3,
        )
        assert message.status != "error", message.content
        return [row["Amount"] for row in message.artifact["rows"]]

    assert sorted_by("DESC") == sorted_by("descending") == sorted_by("desc")
    assert sorted_by("ASC") == sorted_by("ascending") == sorted_by("asc")
    assert sorted_by("desc")[0] > sorted_by("asc")[0]

    def value(metric: str, **more: Any) -> Any:
        message = _call(
            tools["aggregate_records"], member.id, CRM, table="Deals", metric=metric, **more
        )
        assert message.status != "error", message.content
        return message.artifact["total"]["value"]

    assert (
        value("average", field="Amount")
        == value("mean", field="Amount")
        == value("avg", field="Amount")
    )
    assert value("total", field="Amount") == value("sum", field="Amount")
    assert value("maximum", field="Amount") == value("max", field="Amount")
    assert value("minimum", field="Amount") == value("min", field="Amount")
    assert value("unique", field="Owner") == value("count_distinct", field="Owner") > 1
    assert value("number") == value("count") == 1500
    by_owner = _call(
        tools["aggregate_records"],
        member.id,
        CRM,
        table="Deals",
        metric="sum",
        field="Amount",
        group_by="Owner",
        order="ascending",
        match="AND",
        filters=[{"field": "Stage", "op": "=", "value": "Closed Won"}],
    )
    values = [g["value"] for g in by_owner.artifact["groups"]]
    assert values == sorted(values)


def test_aliases__a_spelling_with_two_readings_is_refused_naming_the_options(
    tools: dict[str, BaseTool], member: User
) -> None:
    like = _call(
        tools["search_records"],
        member.id,
        CRM,
        table="Deals",
        filters=[{"field": "Name", "op": "like", "value": "renewal"}],
    )
    assert like.status == "error"
    assert '"like" is not one of: equals, not_equals, contains, not_contains' in like.text
    assert "Value error" not in like.text
    spread = _call(
        tools["aggregate_records"], member.id, CRM, table="Deals", metric="spread", field="Amount"
    )
    assert spread.status == "error"
    assert '"spread" is not one of: count, count_distinct, sum, avg, median' in spread.text


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
