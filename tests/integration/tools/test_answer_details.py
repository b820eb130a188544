"""Details an answer needs that the tools' text must carry: how computed fields are
worked out, linked records and attachments in full, when records were added, ties."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from services.orm import User
from tests.integration.airtable.fixtures import call_tool

pytestmark = pytest.mark.sql
PROJECTS, CRM, INVENTORY = "appDemoProjects00", "appDemoSalesCRM00", "appDemoInventory0"


def _call(tool: BaseTool, user_id: int, base_id: str, **args: Any) -> ToolMessage:
    message = call_tool(tool, user_id, base_id, **args)
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


def test_search__shows_every_linked_name_in_full_up_to_ten_then_counts_the_rest(
    tools: dict[str, BaseTool], member: User
) -> None:
    text = _call(
        tools["search_records"],
        member.id,
        CRM,
        table="Companies",
        filters=[{"field": "Name", "op": "equals", "value": "Westbrook Energy Ltd"}],
        fields=["Name", "Contacts", "Deals"],
    ).text
    row = text.splitlines()[-1].split("|")
    contacts, deals = row[2].split(", "), row[3]
    assert len(contacts) == 8
    assert all("…" not in name for name in contacts)
    assert "Diego Campbell" in contacts
    assert "Amelia Hughes" in contacts
    assert deals.count("Westbrook Energy Ltd - ") == 10
    assert deals.endswith(" more)")


def test_search_and_get_record__show_each_attachment_with_its_url(
    tools: dict[str, BaseTool], member: User
) -> None:
    found = _call(
        tools["search_records"],
        member.id,
        INVENTORY,
        table="Products",
        filters=[{"field": "SKU", "op": "equals", "value": "OFF-1001"}],
        fields=["Name", "Photos"],
    )
    urls = [f"https://example.com/products/OFF-1001-{n}.jpg" for n in (1, 2, 3)]
    assert all(url in found.text for url in urls)
    assert "prodesklamp-1.jpg https://example.com/products/OFF-1001-1.jpg" in found.text
    record = _call(
        tools["get_record"],
        member.id,
        INVENTORY,
        table="Products",
        record_id=found.artifact["rows"][0]["id"],
    ).text
    assert all(url in record for url in urls)


def test_search__a_sorted_page_keeps_the_rows_that_tie_with_its_last(
    tools: dict[str, BaseTool], member: User
) -> None:
    args = {"table": "Suppliers", "fields": ["Name", "Rating"], "limit": 5}
    top = _call(
        tools["search_records"],
        member.id,
        INVENTORY,
        **args,
        sort=[{"field": "Rating", "direction": "desc"}],
    )
    ratings = [row["Rating"] for row in top.artifact["rows"]]
    assert ratings == [5] * 7  # the demo has seven suppliers rated 5
    assert "showing 7 (the last 2 past the limit: they tie with the row before)" in top.text
    following = top.text.split("with cursor ")[1].split(";")[0]
    rest = _call(
        tools["search_records"],
        member.id,
        INVENTORY,
        **args,
        sort=[{"field": "Rating", "direction": "desc"}],
        cursor=following,
    )
    assert rest.artifact["rows"][0]["Rating"] == 4
    unsorted = _call(tools["search_records"], member.id, INVENTORY, **args)
    assert unsorted.artifact["shown"] == 5


def test_search__no_match_says_zero(tools: dict[str, BaseTool], member: User) -> None:
    none = _call(
        tools["search_records"],
        member.id,
        PROJECTS,
        table="Tasks",
        filters=[{"field": "Name", "op": "equals", "value": "No such task"}],
    )
    assert none.text == "Tasks: 0 records match."


def test_search__takes_a_list_in_value_for_any_of_and_a_plain_string_as_text_search(
    tools: dict[str, BaseTool], member: User
) -> None:
    listed = _call(
        tools["search_records"],
        member.id,
        CRM,
        table="Deals",
        filters=[{"field": "Stage", "op": "is_any_of", "value": ["Lead", "Qualified"]}],
        fields=["Stage"],
    )
    spelled = _call(
        tools["search_records"],
        member.id,
        CRM,
        table="Deals",
        filters=[{"field": "Stage", "op": "is_any_of", "values": ["Lead", "Qualified"]}],
        fields=["Stage"],
    )
    assert listed.artifact["total"] == spelled.artifact["total"] > 0
    plain = _call(tools["search_records"], member.id, CRM, table="Contacts", text_search="renewals")
    spelled = _call(
        tools["search_records"],
        member.id,
        CRM,
        table="Contacts",
        text_search={"text": "renewals"},
    )
    assert plain.artifact["total"] == spelled.artifact["total"] > 0


def test_aggregate__groups_dates_by_week_and_by_quarter(
    tools: dict[str, BaseTool], member: User
) -> None:
    def by(bucket: str) -> ToolMessage:
        return _call(
            tools["aggregate_records"],
            member.id,
            INVENTORY,
            table="Orders",
            metric="sum",
            field="Order Total",
            group_by="Order Date",
            date_bucket=bucket,
            max_groups=200,
        )

    weeks, months, quarters = by("week"), by("month"), by("quarter")
    for result in (weeks, quarters):
        assert result.artifact["hidden_groups"] == 0
        assert sum(g["records"] for g in result.artifact["groups"]) == 800  # every order
    mondays = [date.fromisoformat(g["group"]) for g in weeks.artifact["groups"]]
    assert all(day.weekday() == 0 for day in mondays)
    assert mondays == sorted(mondays)
    first = weeks.artifact["groups"][1]
    sunday = date.fromisoformat(first["group"]) + timedelta(days=6)
    week_orders = _call(
        tools["aggregate_records"],
        member.id,
        INVENTORY,
        table="Orders",
        metric="count",
        filters=[
            {"field": "Order Date", "op": "between", "value": first["group"],
             "value_to": sunday.isoformat()},
        ],
    )  # fmt: skip
    assert week_orders.artifact["total"]["value"] == first["records"]
    per_quarter: dict[str, float] = {}
    for g in months.artifact["groups"]:
        year, month = g["group"].split("-")
        key = f"{year}-Q{(int(month) - 1) // 3 + 1}"
        per_quarter[key] = per_quarter.get(key, 0) + g["value"]
    shown = {g["group"]: g["value"] for g in quarters.artifact["groups"]}
    assert shown.keys() == per_quarter.keys()
    assert all(abs(shown[k] - per_quarter[k]) < 0.01 for k in shown)
    assert f"{next(iter(shown))}|" in quarters.text


def test_aggregate__groups_cut_by_max_groups_keep_those_that_tie_with_the_last(
    tools: dict[str, BaseTool], member: User
) -> None:
    args = {"table": "Suppliers", "metric": "count", "group_by": "Country"}
    top = _call(tools["aggregate_records"], member.id, INVENTORY, **args, max_groups=3)
    counts = [g["records"] for g in top.artifact["groups"]]
    assert counts == [5, 5, 3, 3, 3, 3]  # Brazil and Japan, then four countries with three
    assert "(11 groups; the last 3 shown past max_groups tie with the group before)" in top.text
    assert top.artifact["hidden_groups"] == 5
    assert "5 more groups not shown" in top.text
    by_name = _call(
        tools["aggregate_records"], member.id, INVENTORY, **args, max_groups=3, order="group"
    )
    assert len(by_name.artifact["groups"]) == 3
    cut_clean = _call(tools["aggregate_records"], member.id, INVENTORY, **args, max_groups=2)
    assert "past max_groups" not in cut_clean.text
    assert len(cut_clean.artifact["groups"]) == 2
