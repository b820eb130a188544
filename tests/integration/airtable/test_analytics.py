"""Issue 16's question kinds, each against facts computed here from the raw records (read
with pyairtable straight from the emulator, not through our code)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyairtable import Api

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.airtable.dates import DateResolver, resolver_for
from services.airtable.filters import Condition, SortKey
from services.airtable.where import FilterGroup, GroupMatch, Subgroup, TextSearch
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase

pytestmark = pytest.mark.sql
PROJECTS, CRM, INVENTORY = "appDemoProjects00", "appDemoSalesCRM00", "appDemoInventory0"


@pytest.fixture(scope="module")
def raw(airtable_emulator: EmulatorServer) -> Any:
    """Every record of a demo table, with its ID, straight from the emulator."""
    api = Api(DEV_TOKEN, endpoint_url=airtable_emulator.url, retry_strategy=None)
    cache: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def records(base: str, table: str) -> list[dict[str, Any]]:
        if (base, table) not in cache:
            cache[base, table] = [
                {"id": r["id"], **r["fields"]} for r in api.table(base, table).all()
            ]
        return cache[base, table]

    return records


def _c(field: str, op: str, value: Any = None, **more: Any) -> Condition:
    return Condition.model_validate({"field": field, "op": op, "value": value, **more})


def test_median_and_percentile__per_stage_equal_the_statistics_module(
    airtable_services: Services, member: User, raw: Any
) -> None:
    amounts: dict[str, list[float]] = defaultdict(list)
    for deal in raw(CRM, "Deals"):
        amounts[deal["Stage"]].append(deal["Amount"])
    records = airtable_services.airtable_records
    median = records.aggregate(
        member.id, CRM, "Deals", metric="median", field="Amount", group_by="Stage"
    )
    p90 = records.aggregate(member.id, CRM, "Deals", metric="percentile", p=90, field="Amount")
    assert {g.key: g.value for g in median.groups} == pytest.approx(
        {k: statistics.median(v) for k, v in amounts.items()}
    )
    every = [a for v in amounts.values() for a in v]
    assert p90.total.value == pytest.approx(
        statistics.quantiles(every, n=100, method="inclusive")[89]
    )


def test_count_distinct__counts_customers_and_linked_companies_once(
    airtable_services: Services, member: User, raw: Any
) -> None:
    records = airtable_services.airtable_records
    customers = records.aggregate(
        member.id, INVENTORY, "Orders", metric="count_distinct", field="Customer"
    )
    won = records.aggregate(
        member.id, CRM, "Deals", metric="count_distinct", field="Company",
        filters=[_c("Stage", "equals", "Closed Won")],
    )  # fmt: skip
    assert customers.total.value == len({o["Customer"] for o in raw(INVENTORY, "Orders")})
    assert won.total.value == len(
        {c for d in raw(CRM, "Deals") if d["Stage"] == "Closed Won" for c in d.get("Company", [])}
    )


def test_expression__sums_stock_times_price_per_category(
    airtable_services: Services, member: User, raw: Any
) -> None:
    worth: dict[str, float] = defaultdict(float)
    for product in raw(INVENTORY, "Products"):
        if "Stock" in product and "Unit Price" in product:
            worth[product["Category"]] += product["Stock"] * product["Unit Price"]
    result = airtable_services.airtable_records.aggregate(
        member.id, INVENTORY, "Products", metric="sum",
        expression="{Stock} * {Unit Price}", group_by="Category",
    )  # fmt: skip
    assert {g.key: g.value for g in result.groups} == pytest.approx(dict(worth))
    assert result.total.value == pytest.approx(math.fsum(worth.values()))
    assert result.expression == "{Stock} * {Unit Price}"


def test_two_field_groups_with_share__give_each_owners_win_rate(
    airtable_services: Services, member: User, raw: Any
) -> None:
    closed = [d for d in raw(CRM, "Deals") if d["Stage"] in ("Closed Won", "Closed Lost")]
    pairs = Counter((d["Owner"], d["Stage"]) for d in closed)
    per_owner = Counter(d["Owner"] for d in closed)
    result = airtable_services.airtable_records.aggregate(
        member.id, CRM, "Deals", metric="count", group_by="Owner", then_by="Stage", share=True,
        filters=[_c("Stage", "is_any_of", values=["Closed Won", "Closed Lost"])],
    )  # fmt: skip
    assert {(g.key, g.subkey): g.value for g in result.groups} == dict(pairs)
    rates = {g.key: g.share for g in result.groups if g.subkey == "Closed Won"}
    assert rates == pytest.approx({o: pairs[o, "Closed Won"] / n for o, n in per_owner.items()})
    ordered = [(g.key, g.subkey) for g in result.groups]
    assert ordered == sorted(ordered)  # by name, then by the second field


def test_two_field_groups__name_linked_records_at_either_level(
    airtable_services: Services, member: User, raw: Any
) -> None:
    names = {p["id"]: p["Name"] for p in raw(PROJECTS, "Projects")}
    blocked = [t for t in raw(PROJECTS, "Tasks") if t.get("Status") == "Blocked"]
    expected = Counter((t["Assignee"], names[t["Project"][0]]) for t in blocked)
    per_project = Counter(names[t["Project"][0]] for t in blocked)
    records = airtable_services.airtable_records
    result = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count", group_by="Assignee", then_by="Project",
        filters=[_c("Status", "equals", "Blocked")], max_groups=200,
    )  # fmt: skip
    linked_first = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count", group_by="Project", then_by="Assignee",
        filters=[_c("Status", "equals", "Blocked")], max_groups=200, share=True,
    )  # fmt: skip
    assert {(g.key, g.subkey): g.value for g in result.groups} == dict(expected)
    assert {(g.key, g.subkey): g.share for g in linked_first.groups} == pytest.approx(
        {(p, a): n / per_project[p] for (a, p), n in expected.items()}
    )


def test_nested_groups__equal_a_python_evaluation(
    airtable_services: Services, member: User, raw: Any
) -> None:
    def wanted(d: dict[str, Any]) -> bool:
        late_stage = d["Stage"] in ("Proposal", "Negotiation")
        big = d["Amount"] > 200000
        strategic = bool(d.get("Strategic")) and d["Stage"] == "Negotiation"
        return (big and late_stage and d["Owner"] not in ("Noah Kim", "Maya Patel")) or (
            strategic and not big
        )

    groups = [
        FilterGroup(
            match="all",
            conditions=[_c("Amount", "gt", "200000")],
            groups=[
                Subgroup(match="any", conditions=[_c("Stage", "equals", "Proposal"),
                                                  _c("Stage", "equals", "Negotiation")]),
                Subgroup(match="not", conditions=[_c("Owner", "equals", "Noah Kim"),
                                                  _c("Owner", "equals", "Maya Patel")]),
            ],
        ),
        FilterGroup(
            match="all",
            conditions=[_c("Strategic", "equals", "true"), _c("Stage", "equals", "Negotiation")],
            groups=[Subgroup(match="not", conditions=[_c("Amount", "gt", "200000")])],
        ),
    ]  # fmt: skip
    result = airtable_services.airtable_records.aggregate(
        member.id, CRM, "Deals", metric="count", groups=groups, match="any"
    )
    assert result.total.value == sum(1 for d in raw(CRM, "Deals") if wanted(d)) > 0


def test_text_search__over_chosen_fields_and_every_text_field(
    airtable_services: Services, member: User, raw: Any
) -> None:
    contacts = raw(CRM, "Contacts")
    every = ("Name", "Email", "Phone", "Title", "Lead Source", "Notes")  # its text fields

    def has(row: dict[str, Any], fields: tuple[str, ...], text: str) -> bool:
        return any(text in str(row.get(f, "")).lower() for f in fields)

    records = airtable_services.airtable_records
    anywhere = records.search(
        member.id, CRM, "Contacts", text=TextSearch(text="Renewals"), limit=100
    )
    chosen = records.search(
        member.id, CRM, "Contacts", text=TextSearch(text="manager", fields=["Title"]), limit=1
    )
    words = records.search(
        member.id, CRM, "Contacts",
        text=TextSearch(text="met email", fields=["Notes", "Title"], match="any_word"), limit=1,
    )  # fmt: skip
    assert anywhere.total == sum(has(c, every, "renewals") for c in contacts) > 0
    assert sorted(anywhere.searched) == sorted(every)
    matching = {c["id"] for c in contacts if has(c, every, "renewals")}
    assert {r["id"] for r in anywhere.rows} <= matching
    assert len(anywhere.rows) == min(100, len(matching))
    assert chosen.total == sum(has(c, ("Title",), "manager") for c in contacts) > 0
    assert words.total == sum(
        has(c, ("Notes", "Title"), "met") or has(c, ("Notes", "Title"), "email") for c in contacts
    )


def test_cursor__pages_through_every_match_once_in_order(
    airtable_services: Services, member: User, raw: Any
) -> None:
    expected = sorted(
        (o for o in raw(INVENTORY, "Orders") if o["Status"] == "Delivered"),
        key=lambda o: o["Order Number"],
    )
    seen: list[str] = []
    cursor = None
    kwargs: dict[str, Any] = {
        "filters": [_c("Status", "equals", "Delivered")],
        "sort": [SortKey(field="Order Number")],
        "fields": ["Order Number"],
        "limit": 100,
    }
    for _ in range(10):
        page = airtable_services.airtable_records.search(
            member.id, INVENTORY, "Orders", cursor=cursor, **kwargs
        )
        assert page.offset == len(seen)
        seen += [r["id"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [o["id"] for o in expected]
    assert len(seen) > 600


def test_cursor__is_refused_for_another_query(airtable_services: Services, member: User) -> None:
    records = airtable_services.airtable_records
    first = records.search(
        member.id, PROJECTS, "Tasks", filters=[_c("Status", "equals", "Blocked")], limit=5
    )
    assert first.next_cursor is not None
    with pytest.raises(InvalidInputError, match="another search"):
        records.search(
            member.id, PROJECTS, "Tasks", filters=[_c("Status", "equals", "Todo")],
            cursor=first.next_cursor,
        )  # fmt: skip


def test_cursor__resumes_after_the_last_record_when_one_is_added_before_it(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    records = airtable_services.airtable_records
    sort = [SortKey(field="Name")]
    first = records.search(member.id, fresh_base.id, "Tasks", sort=sort, limit=10)
    fresh_base.api.table(fresh_base.id, "Tasks").create({"Name": "Task 00a"})  # sorts early
    second = records.search(
        member.id, fresh_base.id, "Tasks", sort=sort, limit=10, cursor=first.next_cursor
    )
    name = first.table.field("Name").id
    assert first.rows[-1]["fields"][name] == "Task 09"
    assert second.rows[0]["fields"][name] == "Task 10"  # no row shown twice, none skipped


def test_relative_dates__next_14_days_in_the_persons_zone_match_direct_dates(
    airtable_services: Services, member: User, raw: Any
) -> None:
    now = datetime.now(UTC)
    zone = "Pacific/Kiritimati"  # UTC+14: often already tomorrow
    today = (now + timedelta(hours=14)).date()
    last = (today + timedelta(days=14)).isoformat()
    expected = [
        t for t in raw(PROJECTS, "Tasks") if today.isoformat() <= t.get("Due Date", "") <= last
    ]
    dates = resolver_for(zone, now)
    result = airtable_services.airtable_records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count",
        filters=[_c("Due Date", "on", "next_14_days")], dates=dates,
    )  # fmt: skip
    assert result.total.value == len(expected)
    assert f"next_14_days = {today.isoformat()}..{last}" in result.dates
    assert zone in result.dates


def test_relative_dates__before_today_and_periods_bound_whole_days(
    airtable_services: Services, member: User, raw: Any
) -> None:
    today = date(2026, 3, 18)
    dates = DateResolver(today)
    tasks = raw(PROJECTS, "Tasks")
    records = airtable_services.airtable_records
    before = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count",
        filters=[_c("Due Date", "before", "today")], dates=dates,
    )  # fmt: skip
    month = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count",
        filters=[_c("Due Date", "on", "last_month")], dates=dates,
    )  # fmt: skip
    after = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count",
        filters=[_c("Due Date", "after", "this_week")], dates=dates,
    )  # fmt: skip
    assert before.total.value == sum(1 for t in tasks if t.get("Due Date", "9") < "2026-03-18")
    assert month.total.value == sum(
        1 for t in tasks if "2026-02-01" <= t.get("Due Date", "") <= "2026-02-28"
    )
    assert after.total.value == sum(1 for t in tasks if t.get("Due Date", "") > "2026-03-22")


_FIELDS = st.sampled_from(["Status", "Hours", "Done", "Due", "Name"])


def _condition() -> st.SearchStrategy[tuple[Condition, Any]]:
    """A condition on the fresh base's Tasks, and the same test in plain Python."""
    status = st.sampled_from(["Todo", "Doing", "Done"]).map(
        lambda s: (_c("Status", "equals", s), lambda t, s=s: t.get("Status") == s)
    )
    hours = st.integers(min_value=0, max_value=13).map(
        lambda h: (_c("Hours", "gt", str(h)), lambda t, h=h: t.get("Hours", -1) > h)
    )
    done = st.booleans().map(
        lambda d: (_c("Done", "equals", str(d).lower()), lambda t, d=d: bool(t.get("Done")) is d)
    )
    due = st.integers(min_value=1, max_value=25).map(
        lambda d: (
            _c("Due", "before", f"2026-05-{d:02d}"),
            lambda t, d=d: t.get("Due", "9") < f"2026-05-{d:02d}",
        )
    )
    name = st.sampled_from(["1", "2", "task 0", "x"]).map(
        lambda n: (_c("Name", "contains", n), lambda t, n=n: n in t.get("Name", "").lower())
    )
    return st.one_of(status, hours, done, due, name)


def _combine(match: str, tests: list[Any]) -> Any:
    if match == "all":
        return lambda t: all(f(t) for f in tests)
    if match == "any":
        return lambda t: any(f(t) for f in tests)
    return lambda t: not any(f(t) for f in tests)


@st.composite
def _groups(draw: st.DrawFn) -> tuple[list[FilterGroup], str, Any]:
    matches: st.SearchStrategy[GroupMatch] = st.sampled_from(["all", "any", "not"])
    groups, tests = [], []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        pairs = draw(st.lists(_condition(), min_size=0, max_size=2))
        subs, sub_tests = [], []
        for _ in range(draw(st.integers(min_value=0 if pairs else 1, max_value=2))):
            inner = draw(st.lists(_condition(), min_size=1, max_size=2))
            m = draw(matches)
            subs.append(Subgroup(match=m, conditions=[c for c, _ in inner]))
            sub_tests.append(_combine(m, [f for _, f in inner]))
        m = draw(matches)
        groups.append(FilterGroup(match=m, conditions=[c for c, _ in pairs], groups=subs))
        tests.append(_combine(m, [f for _, f in pairs] + sub_tests))
    top = draw(st.sampled_from(["all", "any"]))
    return groups, top, _combine(top, tests)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_groups())
def test_nested_groups__match_a_python_evaluation_of_the_raw_records(
    airtable_services: Services, member: User, fresh_base: FreshBase, case: Any
) -> None:
    groups, top, wanted = case
    tasks = fresh_base.snapshot()
    page = airtable_services.airtable_records.search(
        member.id, fresh_base.id, "Tasks", groups=groups, match=top, limit=100
    )
    assert {r["id"] for r in page.rows} == {i for i, t in tasks.items() if wanted(t)}


def test_filtered_delete__resolves_relative_dates_with_the_persons_resolver(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    dates = DateResolver(date(2026, 5, 10))  # a Sunday: this week is May 4-10
    proposal = airtable_services.airtable_proposals.delete(
        member.id, fresh_base.id, "Tasks",
        filters=[_c("Due", "on", "this_week")], dates=dates,
    )  # fmt: skip
    tasks = fresh_base.snapshot()
    expected = {i for i, t in tasks.items() if "2026-05-04" <= t["Due"] <= "2026-05-10"}
    assert {c.record_id for c in proposal.changes} == expected
    assert len(expected) == 7
    assert fresh_base.snapshot() == tasks  # only proposed
