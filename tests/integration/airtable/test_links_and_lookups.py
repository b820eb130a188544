"""Field kinds that trip up naive tools: lookups of numbers, links (empty cells, shared
names, many links), checkboxes and multi-select text. Each result equals a direct
computation over every record fetched with pyairtable."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pyairtable import Api
from pyairtable.api.types import RecordDict

from emulator import DEV_TOKEN
from emulator.seed_crm import SALES_CRM_ID
from emulator.seed_inventory import INVENTORY_ID
from emulator.testing import EmulatorServer
from services.airtable.filters import Condition, Operator
from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import emulator_stats
from tools.airtable import render

pytestmark = pytest.mark.sql
PROJECTS = "appDemoProjects00"


def _all(server: EmulatorServer, base_id: str, table: str) -> list[RecordDict]:
    api = Api(DEV_TOKEN, endpoint_url=server.url, retry_strategy=None)
    return api.table(base_id, table).all()


def _requests(server: EmulatorServer) -> int:
    return int(emulator_stats(server)["total"])


@pytest.mark.parametrize(
    ("op", "value", "value_to", "test"),
    [
        ("gt", "300", None, lambda p: p > 300),
        ("lte", "25", None, lambda p: p <= 25),
        ("between", "100", "200", lambda p: 100 <= p <= 200),
    ],
)
def test_lookup_of_numbers__compares_like_the_number_it_holds(
    airtable_services: Services,
    member: User,
    airtable_emulator: EmulatorServer,
    op: Operator,
    value: str,
    value_to: str | None,
    test: Any,
) -> None:
    orders = _all(airtable_emulator, INVENTORY_ID, "Orders")
    expected = sum(1 for o in orders if (p := o["fields"].get("Unit Price")) and test(p[0]))
    result = airtable_services.airtable_records.aggregate(
        member.id,
        INVENTORY_ID,
        "Orders",
        metric="count",
        filters=[Condition(field="Unit Price", op=op, value=value, value_to=value_to)],
    )
    assert result.total.value == expected > 0


def test_group_by_link__counts_per_record_with_an_empty_group_and_shared_names_told_apart(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    names = {
        c["id"]: c["fields"]["Name"] for c in _all(airtable_emulator, SALES_CRM_ID, "Contacts")
    }
    deals = _all(airtable_emulator, SALES_CRM_ID, "Deals")
    per_contact = Counter((d["fields"].get("Primary Contact") or ["(empty)"])[0] for d in deals)
    result = airtable_services.airtable_records.aggregate(
        member.id,
        SALES_CRM_ID,
        "Deals",
        metric="count",
        group_by="Primary Contact",
        max_groups=1000,
    )
    shared = {n for n, k in Counter(names[i] for i in per_contact if i in names).items() if k > 1}
    expected = {
        "(empty)" if i == "(empty)" else f"{names[i]} ({i})" if names[i] in shared else names[i]: n
        for i, n in per_contact.items()
    }
    assert {g.key: g.value for g in result.groups} == expected
    assert per_contact["(empty)"] > 0
    assert shared, "the demo data has contacts who share a name"


def test_group_by_link__looks_up_only_the_names_of_the_groups_shown(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    pages = -(-len(_all(airtable_emulator, SALES_CRM_ID, "Deals")) // 100)
    before = _requests(airtable_emulator)
    result = airtable_services.airtable_records.aggregate(
        member.id, SALES_CRM_ID, "Deals", metric="count", group_by="Primary Contact", max_groups=5
    )
    # bases + schema, every page of deals, then one lookup of five contacts' names
    assert _requests(airtable_emulator) - before == 2 + pages + 1
    assert len(result.groups) == 5
    assert not any(g.key.startswith("rec") for g in result.groups)
    assert result.hidden_groups > 100


def test_checkbox_groups__read_as_checked_and_unchecked(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    companies = _all(airtable_emulator, SALES_CRM_ID, "Companies")
    active = sum(1 for c in companies if c["fields"].get("Active"))
    result = airtable_services.airtable_records.aggregate(
        member.id, SALES_CRM_ID, "Companies", metric="count", group_by="Active"
    )
    groups = {g.key: g.value for g in result.groups}
    assert groups == {"checked (true)": active, "unchecked (empty)": len(companies) - active}


def test_multiple_select_contains__matches_part_of_an_option(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    tasks = _all(airtable_emulator, PROJECTS, "Tasks")
    expected = sum(
        1 for t in tasks if any("front" in tag.lower() for tag in t["fields"].get("Tags", []))
    )
    result = airtable_services.airtable_records.aggregate(
        member.id,
        PROJECTS,
        "Tasks",
        metric="count",
        filters=[Condition(field="Tags", op="contains", value="front")],
    )
    assert result.total.value == expected > 0


def test_get_record__names_the_first_links_and_counts_the_rest(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    projects = _all(airtable_emulator, PROJECTS, "Projects")
    busiest = max(projects, key=lambda p: len(p["fields"].get("Tasks", [])))
    count = len(busiest["fields"]["Tasks"])
    page = airtable_services.airtable_records.get_record(
        member.id, PROJECTS, "Projects", busiest["id"]
    )
    text = render.record_text(page)
    assert count > 20
    assert f"(+{count - 20} more; {count} in all)" in text
    assert not any(i.startswith("rec") for i in text.split("Tasks: ", 1)[1].split(", ")[:20])


def test_listed_records__name_later_links_to_them_without_a_lookup(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    records = airtable_services.airtable_records
    records.aggregate(member.id, SALES_CRM_ID, "Contacts", metric="count")  # lists every contact
    deal = _all(airtable_emulator, SALES_CRM_ID, "Deals")[0]
    before = _requests(airtable_emulator)
    page = records.get_record(
        member.id, SALES_CRM_ID, "Deals", deal["id"], fields=["Name", "Primary Contact"]
    )
    assert _requests(airtable_emulator) - before == 1  # the record itself, nothing more
    assert set(deal["fields"].get("Primary Contact", [])) <= set(page.names)
