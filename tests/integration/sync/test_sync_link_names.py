"""Linked-record fields synced as the linked records' primary names, both ways."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from emulator.testing import EmulatorServer
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.sync.types import FieldMapping, JobSpec
from tests.integration.sync.fixtures import linked_tasks_spec, linked_tasks_table, make_linked_tasks


@pytest.fixture
def target(tmp_path: Path) -> tuple[str, sa.Engine, sa.Table]:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    engine, table = linked_tasks_table(url)
    return url, engine, table


def _rows(engine: sa.Engine, table: sa.Table) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.name: dict(r._mapping) for r in conn.execute(sa.select(table))}


def _touch(engine: sa.Engine, table: sa.Table, name: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.name == name)
            .values(**values, updated_at=datetime.now(UTC))
        )


def test_sync_link_names__ids_become_names_and_names_become_ids(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, engine, table = target
    api, base_id, ids, fields = make_linked_tasks(emulator)
    tasks = api.table(base_id, ids["Tasks"])
    job = sync_services.sync_jobs.create(
        admin, linked_tasks_spec(base_id, ids["Tasks"], fields, url)
    )

    # Airtable → SQL: the IDs become names, looked up in one request for all 30 tasks.
    first = sync_services.sync.run(job.id, "links-1", "manual")
    assert first.status == "ok", first.log
    rows = _rows(engine, table)
    assert len(rows) == 30
    assert rows["Task 01"]["owners"] == "Alice,Carla"
    assert rows["Task 02"]["owners"] == "Bob"
    assert first.requests == 2  # one page of tasks, one page of names

    # SQL → Airtable: names become the linked records' IDs (case-insensitive), on an
    # update and on a create.
    _touch(engine, table, "Task 01", owners="carla")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table).values(
                name="From SQL", owners="Alice, Carla", qty=5, updated_at=datetime.now(UTC)
            )
        )
    # A name matching no record, and one matching two: that field of that record is
    # skipped with the reason; the record's other fields still sync.
    _touch(engine, table, "Task 03", owners="Zed", qty=300)
    _touch(engine, table, "Task 05", owners="Bob", qty=500)
    second = sync_services.sync.run(job.id, "links-2", "manual")
    assert second.status == "ok", second.log
    assert second.errors == 2
    assert any('no People record is named "Zed"' in line for line in second.log)
    assert any('2 People records are named "Bob"' in line for line in second.log)
    airtable = {r["fields"]["Name"]: r["fields"] for r in tasks.all()}
    assert airtable["Task 01"]["Owners"] == [ids["carla"]]
    assert sorted(airtable["From SQL"]["Owners"]) == sorted([ids["alice"], ids["carla"]])
    assert airtable["From SQL"]["Qty"] == 5
    assert (airtable["Task 03"]["Qty"], airtable["Task 05"]["Qty"]) == (300, 500)
    assert sorted(airtable["Task 03"]["Owners"]) == sorted([ids["alice"], ids["carla"]])
    assert len(airtable) == 31

    # Nothing lost: the SQL names stay (not overwritten by Airtable's), and when the
    # record is read again the names are tried again and skipped again.
    tasks.update(airtable_id := _rows(engine, table)["Task 03"]["airtable_id"], {"Qty": 301})
    third = sync_services.sync.run(job.id, "links-3", "manual")
    assert third.status == "ok", third.log
    rows = _rows(engine, table)
    assert (rows["Task 03"]["owners"], rows["Task 03"]["qty"]) == ("Zed", 301)
    assert rows["Task 05"]["owners"] == "Bob"
    assert rows["From SQL"]["airtable_id"] is not None
    assert any('"Zed"' in line for line in third.log)
    assert tasks.get(airtable_id)["fields"]["Owners"] == [ids["alice"], ids["carla"]]

    # Once the name is known, it syncs.
    api.table(base_id, "People").create({"Name": "Zed"})
    _touch(engine, table, "Task 03", owners="Zed")
    fourth = sync_services.sync.run(job.id, "links-4", "manual")
    assert fourth.status == "ok", fourth.log
    assert not any("Zed" in line for line in fourth.log)
    [zed] = api.table(base_id, "People").all(formula="{Name}='Zed'")
    assert tasks.get(airtable_id)["fields"]["Owners"] == [zed["id"]]


def test_sync_link_names__chosen_in_the_form_mapping_text(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, _engine, _table = target
    _api, base_id, ids, fields = make_linked_tasks(emulator)
    text = "Name -> name : text\nOwners -> owners : link_names\nQty -> qty : number"
    jobs = sync_services.sync_jobs
    mappings = jobs.mappings_from_text(admin, base_id, ids["Tasks"], text)
    assert mappings[1] == FieldMapping(fields["Owners"], "owners", "link_names")
    spec = linked_tasks_spec(base_id, ids["Tasks"], fields, url)
    job = jobs.create(admin, JobSpec(**{**spec.__dict__, "mappings": mappings}))
    assert jobs.mappings_as_text(admin, job) == text


def test_sync_link_names__refused_on_a_field_that_is_not_a_link(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, _engine, _table = target
    _api, base_id, ids, fields = make_linked_tasks(emulator)
    spec = linked_tasks_spec(base_id, ids["Tasks"], fields, url)
    wrong = (FieldMapping(fields["Name"], "owners", "link_names"), spec.mappings[2])
    with pytest.raises(InvalidInputError, match="Name: an Airtable singleLineText field"):
        sync_services.sync_jobs.create(admin, JobSpec(**{**spec.__dict__, "mappings": wrong}))
