"""Freshness: app writes reach the mirror at once, changes made in Airtable after a sweep,
deletes after the id scan, and schema changes without a rebuild by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pyairtable import Api

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.airtable.change_feed import RecordChange
from services.container import Services
from services.mirrors.guard import QueryRefusedError
from services.orm import Role
from tests.integration.airtable.fixtures import FreshBase, create_fresh_base
from tests.integration.mirrors.conftest import mirror_loop
from tests.support.accounts import make_user
from tests.support.emulated import services_on

SWEEP_SECONDS = 0.5


@pytest.fixture
def mirrored(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[tuple[Services, FreshBase, int]]:
    """A fresh base, mirrored by an admin and built; the sweep interval made short."""
    with services_on(
        settings,
        emulator.url,
        mirror_default_bases="",
        mirror_sweep_seconds=SWEEP_SECONDS,
    ) as built:
        base = create_fresh_base(emulator)
        admin = make_user(built, role=Role.ADMIN, name="Admin")
        queued = built.mirrors.turn_on(admin.id, is_admin=True, base_id=base.id)
        assert queued == 2
        mirror_loop(built, sweep_seconds=SWEEP_SECONDS).run_once()
        yield built, base, admin.id


def rows(services: Services, base: FreshBase, sql: str) -> list[tuple[object, ...]]:
    return services.mirror_queries.run(0, base.id, sql).rows


def table_id(api: Api, base_id: str, name: str) -> str:
    return str(api.table(base_id, name).schema().id)


def test_build__copies_every_record(mirrored: tuple[Services, FreshBase, int]) -> None:
    services, base, _ = mirrored
    assert rows(services, base, 'SELECT COUNT(*), SUM("Hours") FROM "Tasks"') == [
        (25, sum(i / 2 for i in range(25)))
    ]
    states = {s.name: s for s in services.mirrors.registry.tables(base.id)}
    assert states["Tasks"].status == "ready"
    assert states["Tasks"].rows == 25


def test_app_write__is_in_the_mirror_at_once(mirrored: tuple[Services, FreshBase, int]) -> None:
    services, base, admin = mirrored
    record = base.api.table(base.id, "Tasks").first(formula="{Name} = 'Task 03'")
    assert record is not None
    tasks = services.airtable.table(admin, base.id, "Tasks")
    hours = tasks.field("Hours").id
    services.airtable.update(
        admin, base.id, tasks.id, [{"id": record["id"], "fields": {hours: 99}}]
    )
    created = services.airtable.create(admin, base.id, tasks.id, [{tasks.field("Name").id: "New"}])
    assert rows(services, base, 'SELECT "Hours" FROM "Tasks" WHERE "Name" = \'Task 03\'') == [
        (99.0,)
    ]
    assert rows(services, base, 'SELECT COUNT(*) FROM "Tasks" WHERE "Name" = \'New\'') == [(1,)]
    services.airtable.delete(admin, base.id, tasks.id, [created[0]["id"]])
    assert rows(services, base, 'SELECT COUNT(*) FROM "Tasks" WHERE "Name" = \'New\'') == [(0,)]


def test_airtable_change__is_in_the_mirror_after_a_sweep(
    mirrored: tuple[Services, FreshBase, int],
) -> None:
    services, base, _ = mirrored
    table = base.api.table(base.id, "Tasks")
    record = table.first(formula="{Name} = 'Task 05'")
    assert record is not None
    table.update(record["id"], {"Hours": 77, "Status": "Todo"})
    table.create({"Name": "Made in Airtable", "Hours": 1})
    query = 'SELECT "Hours", "Status" FROM "Tasks" WHERE "Name" = \'Task 05\''
    assert rows(services, base, query) == [(2.5, "Done")]  # not swept yet
    time.sleep(SWEEP_SECONDS)
    mirror_loop(services, sweep_seconds=SWEEP_SECONDS).run_once()
    assert rows(services, base, query) == [(77.0, "Todo")]
    made = 'SELECT COUNT(*) FROM "Tasks" WHERE "Name" = \'Made in Airtable\''
    assert rows(services, base, made) == [(1,)]


def test_airtable_delete__is_gone_after_the_id_scan(
    mirrored: tuple[Services, FreshBase, int],
) -> None:
    services, base, _ = mirrored
    table = base.api.table(base.id, "Tasks")
    record = table.first(formula="{Name} = 'Task 07'")
    assert record is not None
    table.delete(record["id"])
    services.mirror_sync.sweep(base.id)
    one = f"SELECT COUNT(*) FROM \"Tasks\" WHERE id = '{record['id']}'"  # noqa: S608
    assert rows(services, base, one) == [(1,)]  # a sweep reads changed records, not deleted ones
    services.mirror_sync.copy(base.id, table_id(base.api, base.id, "Tasks"))
    assert rows(services, base, one) == [(0,)]
    assert rows(services, base, 'SELECT COUNT(*) FROM "Tasks"') == [(24,)]


def test_schema_change__new_and_renamed_fields_without_a_rebuild_by_hand(
    mirrored: tuple[Services, FreshBase, int],
) -> None:
    services, base, _ = mirrored
    tasks_id = table_id(base.api, base.id, "Tasks")
    fields_url = base.api.build_url(f"meta/bases/{base.id}/tables/{tasks_id}/fields")
    base.api.request("POST", fields_url, json={"name": "Cost", "type": "number",
                                               "options": {"precision": 2}})  # fmt: skip
    base.api.request("PATCH", f"{fields_url}/Hours", json={"name": "Effort"})
    table = base.api.table(base.id, "Tasks")
    record = table.first(formula="{Name} = 'Task 02'")
    assert record is not None
    table.update(record["id"], {"Cost": 12.5})
    loop = mirror_loop(services, sweep_seconds=0)
    loop.run_once()  # the sweep sees the new field and queues a copy of its values
    loop.run_once()  # which the next pass makes
    query = 'SELECT "Effort", "Cost" FROM "Tasks" WHERE "Name" = \'Task 02\''
    assert rows(services, base, query) == [(1.0, 12.5)]
    with pytest.raises(QueryRefusedError, match='Did you mean "Effort"'):
        rows(services, base, 'SELECT "Efort" FROM "Tasks"')


def test_turning_a_table_off__removes_it_from_queries(
    mirrored: tuple[Services, FreshBase, int],
) -> None:
    services, base, admin = mirrored
    people = table_id(base.api, base.id, "People")
    services.mirrors.turn_off(admin, is_admin=True, base_id=base.id, table_ids=[people])
    with pytest.raises(QueryRefusedError, match="not mirrored"):
        rows(services, base, 'SELECT * FROM "People"')
    assert rows(services, base, 'SELECT COUNT(*) FROM "Tasks"') == [(25,)]


def test_failing_sweep__says_the_mirror_is_behind(
    mirrored: tuple[Services, FreshBase, int],
) -> None:
    services, base, _ = mirrored
    registry = services.mirrors.registry
    tasks_id = table_id(base.api, base.id, "Tasks")
    registry.failed(base.id, tasks_id, "Airtable could not be reached.", building=False)
    answer = services.mirror_queries.run(0, base.id, 'SELECT COUNT(*) FROM "Tasks"')
    assert answer.freshness.behind
    assert "falling behind" in answer.freshness.text()
    assert any(s.table_id == tasks_id for s in services.mirrors.behind())


def test_webhook_change__updates_only_the_cells_it_carries(
    mirrored: tuple[Services, FreshBase, int],
) -> None:
    services, base, admin = mirrored
    tasks = services.airtable.table(admin, base.id, "Tasks")
    record = base.api.table(base.id, "Tasks").first(formula="{Name} = 'Task 04'")
    assert record is not None
    services.airtable.feed.publish(
        [
            RecordChange(
                base_id=base.id,
                table_id=tasks.id,
                record_id=record["id"],
                kind="updated",
                source="airtable",
                fields={tasks.field("Status").id: "Todo"},
                changed_fields=(tasks.field("Status").id,),
            )
        ]
    )
    query = 'SELECT "Status", "Hours" FROM "Tasks" WHERE "Name" = \'Task 04\''
    assert rows(services, base, query) == [("Todo", 2.0)]  # Hours kept
