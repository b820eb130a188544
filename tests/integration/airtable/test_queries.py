"""Reads over whole tables: totals and groups equal a direct computation over every record."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import pytest
from pyairtable import Api

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.airtable.filters import Condition, SortKey
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase, emulator_stats

pytestmark = pytest.mark.sql
PROJECTS = "appDemoProjects00"


@pytest.fixture(scope="module")
def all_tasks(airtable_emulator: EmulatorServer) -> list[dict[str, Any]]:
    """Every task's fields, fetched with pyairtable straight from the emulator."""
    api = Api(DEV_TOKEN, endpoint_url=airtable_emulator.url, retry_strategy=None)
    return [r["fields"] for r in api.table(PROJECTS, "Tasks").all()]


def test_count__over_5000_tasks_equals_direct_count(
    airtable_services: Services, member: User, all_tasks: list[dict[str, Any]]
) -> None:
    expected = sum(1 for t in all_tasks if t.get("Assignee") == "Ana" and not t.get("Done"))
    result = airtable_services.airtable_records.aggregate(
        member.id,
        PROJECTS,
        "Tasks",
        metric="count",
        filters=[
            Condition(field="assignee", op="equals", value="ana"),
            Condition(field="Done", op="equals", value="false"),
        ],
    )
    assert len(all_tasks) == 5000
    assert result.total.value == expected == result.total.records
    assert expected > 100  # more than one page: a first-page-only answer would be wrong


def test_sum__per_group_over_every_task_equals_direct_sums(
    airtable_services: Services, member: User, all_tasks: list[dict[str, Any]]
) -> None:
    sums: dict[str, float] = defaultdict(float)
    for task in all_tasks:
        sums[task["Status"]] += task.get("Estimate Hours", 0)
    result = airtable_services.airtable_records.aggregate(
        member.id, PROJECTS, "Tasks", metric="sum", field="Estimate Hours", group_by="Status"
    )
    assert {g.key: g.value for g in result.groups} == pytest.approx(dict(sums))
    assert result.total.value == pytest.approx(math.fsum(sums.values()))
    assert [g.value for g in result.groups] == sorted(sums.values(), reverse=True)


def test_average_min_max__match_direct_computation(
    airtable_services: Services, member: User, all_tasks: list[dict[str, Any]]
) -> None:
    urgent = [t for t in all_tasks if t.get("Priority") == "Urgent"]
    hours = [t["Estimate Hours"] for t in urgent if "Estimate Hours" in t]
    records = airtable_services.airtable_records
    urgent_only = [Condition(field="Priority", op="equals", value="Urgent")]
    avg = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="avg", field="Estimate Hours", filters=urgent_only
    )
    latest = records.aggregate(
        member.id, PROJECTS, "Tasks", metric="max", field="Due Date", filters=urgent_only
    )
    assert avg.total.value == pytest.approx(sum(hours) / len(hours))
    assert latest.total.value == max(t["Due Date"] for t in urgent)


def test_group_by_multiple_select__counts_a_record_in_each_of_its_options(
    airtable_services: Services, member: User, all_tasks: list[dict[str, Any]]
) -> None:
    expected = Counter(tag for t in all_tasks for tag in t.get("Tags", []))
    expected["(empty)"] = sum(1 for t in all_tasks if not t.get("Tags"))
    result = airtable_services.airtable_records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count", group_by="Tags"
    )
    assert {g.key: g.value for g in result.groups} == dict(expected)


def test_group_by_link__names_groups_by_the_linked_primary_field(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    api = Api(DEV_TOKEN, endpoint_url=airtable_emulator.url, retry_strategy=None)
    names = {p["id"]: p["fields"]["Name"] for p in api.table(PROJECTS, "Projects").all()}
    expected = Counter(names[t["fields"]["Project"][0]] for t in api.table(PROJECTS, "Tasks").all())
    result = airtable_services.airtable_records.aggregate(
        member.id, PROJECTS, "Tasks", metric="count", group_by="Project", max_groups=100
    )
    assert {g.key: g.value for g in result.groups} == dict(expected)


def test_search__date_range_and_tags_total_equals_direct_filter(
    airtable_services: Services, member: User, all_tasks: list[dict[str, Any]]
) -> None:
    expected = [
        t
        for t in all_tasks
        if "2026-03-01" <= t.get("Due Date", "") <= "2026-03-31" and "QA" in t.get("Tags", [])
    ]
    page = airtable_services.airtable_records.search(
        member.id,
        PROJECTS,
        "Tasks",
        filters=[
            Condition(field="Due Date", op="between", value="2026-03-01", value_to="2026-03-31"),
            Condition(field="Tags", op="equals", value="qa"),
        ],
        sort=[SortKey(field="Due Date", direction="desc")],
        limit=5,
    )
    assert page.total == len(expected)
    dates = [r["fields"][page.table.field("Due Date").id] for r in page.rows]
    assert dates == sorted((t["Due Date"] for t in expected), reverse=True)[:5]


def test_search__any_of_conditions_and_text_contains_ignore_case(
    airtable_services: Services, member: User, all_tasks: list[dict[str, Any]]
) -> None:
    expected = sum(
        1
        for t in all_tasks
        if "qa" in t.get("Notes", "").lower() or t.get("Priority") in ("Urgent",)
    )
    page = airtable_services.airtable_records.search(
        member.id,
        PROJECTS,
        "Tasks",
        filters=[
            Condition(field="Notes", op="contains", value="QA"),
            Condition(field="Priority", op="is_any_of", values=["urgent"]),
        ],
        match="any",
        limit=1,
    )
    assert page.total == expected


def test_search__asks_airtable_only_for_the_fields_shown(
    airtable_services: Services, member: User, airtable_emulator: EmulatorServer
) -> None:
    page = airtable_services.airtable_records.search(
        member.id, PROJECTS, "Tasks", fields=["Name", "Project"], limit=3
    )
    assert [f.name for f in page.fields] == ["Name", "Project"]
    assert all(set(r["fields"]) <= {f.id for f in page.fields} for r in page.rows)
    linked = {i for r in page.rows for i in r["fields"][page.fields[1].id]}
    assert linked <= set(page.names)
    assert all(not n.startswith("rec") for n in page.names.values())
    assert page.total == 5000


def test_unknown_field__gets_a_did_you_mean_suggestion(
    airtable_services: Services, member: User
) -> None:
    with pytest.raises(InvalidInputError, match='Did you mean "Estimate Hours"'):
        airtable_services.airtable_records.aggregate(
            member.id, PROJECTS, "Tasks", metric="sum", field="Estimate Hour"
        )
    with pytest.raises(InvalidInputError, match='Did you mean "Tasks"'):
        airtable_services.airtable_records.search(member.id, PROJECTS, "Taks")


def test_unknown_select_option__is_refused_with_the_options(
    airtable_services: Services, member: User
) -> None:
    with pytest.raises(InvalidInputError, match='Did you mean "Blocked"'):
        airtable_services.airtable_records.search(
            member.id,
            PROJECTS,
            "Tasks",
            filters=[Condition(field="Status", op="equals", value="Blockd")],
        )


def test_model_text__cannot_break_out_of_the_formula(
    airtable_services: Services, member: User
) -> None:
    hostile = "x') , TRUE(), ('"
    page = airtable_services.airtable_records.search(
        member.id,
        PROJECTS,
        "Tasks",
        filters=[Condition(field="Name", op="contains", value=hostile)],
    )
    assert page.total == 0


def test_schema__is_cached_in_redis_and_refetched_when_a_field_is_new(
    airtable_services: Services,
    member: User,
    fresh_base: FreshBase,
    airtable_emulator: EmulatorServer,
) -> None:
    records = airtable_services.airtable_records

    def schema_reads() -> int:
        return int(
            emulator_stats(airtable_emulator)["routes"].get("GET /v0/meta/bases/{baseId}/tables", 0)
        )

    records.search(member.id, fresh_base.id, "Tasks", limit=1)
    first = schema_reads()
    records.search(member.id, fresh_base.id, "Tasks", limit=1)
    assert schema_reads() == first  # served from Redis
    fresh_base.api.table(fresh_base.id, "Tasks").create_field(
        "Estimate", "number", options={"precision": 0}
    )
    before = schema_reads()
    page = records.search(member.id, fresh_base.id, "Tasks", fields=["Estimate"], limit=1)
    assert schema_reads() == before + 1  # the unknown name made it refetch, once
    assert page.fields[0].name == "Estimate"


def test_base_and_schema__decodes_each_cached_schema_once_and_follows_a_change(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    gateway = airtable_services.airtable
    gateway.base_and_schema(member.id, fresh_base.id)  # fetched and cached in Redis
    base, schema = gateway.base_and_schema(member.id, fresh_base.id)
    _, again = gateway.base_and_schema(member.id, fresh_base.id)
    assert again is schema  # the same cached text: decoded once
    assert base.id == fresh_base.id

    fresh_base.api.table(fresh_base.id, "Tasks").create_field(
        "Estimate", "number", options={"precision": 0}
    )
    gateway.forget_schema(fresh_base.id)
    gateway.base_and_schema(member.id, fresh_base.id)
    _, changed = gateway.base_and_schema(member.id, fresh_base.id)

    assert changed is not schema
    assert "Estimate" in [f.name for f in changed.table("Tasks").fields]
    assert "Estimate" not in [f.name for f in schema.table("Tasks").fields]


def test_schema__a_cached_schema_is_one_redis_round_trip_and_decoded_once(
    airtable_services: Services, member: User, fresh_base: FreshBase, monkeypatch: Any
) -> None:
    gateway = airtable_services.airtable
    gateway.schema(member.id, fresh_base.id)  # fetched and cached in Redis
    client = gateway._redis
    real = client.execute_command
    commands: list[str] = []

    def counted(*args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return real(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    schema = gateway.schema(member.id, fresh_base.id)
    assert commands == ["MGET"]  # the base's check and the schema together
    assert gateway.schema(member.id, fresh_base.id) is schema  # decoded once
    refreshed = gateway.schema(member.id, fresh_base.id, refresh=True)
    assert refreshed is not schema
    assert [t.name for t in refreshed.tables] == [t.name for t in schema.tables]


def test_base_and_schema__a_schema_cache_miss_checks_the_base_once(
    airtable_services: Services, member: User, fresh_base: FreshBase, monkeypatch: Any
) -> None:
    gateway = airtable_services.airtable
    gateway.base_and_schema(member.id, fresh_base.id)  # bases and schema cached
    gateway.forget_schema(fresh_base.id)
    client = gateway._redis
    real = client.execute_command
    reads: list[str] = []

    def counted(*args: Any, **options: Any) -> Any:
        if args[0] == "GET":
            reads.append(str(args[1]))
        return real(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    base, schema = gateway.base_and_schema(member.id, fresh_base.id)
    assert base.id == fresh_base.id
    assert schema.table("Tasks")
    assert len([key for key in reads if ":bases:" in key]) == 1, reads
