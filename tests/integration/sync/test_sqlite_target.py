"""A two-way job between an emulated Airtable table and a SQLite table with `updated_at`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from emulator.testing import EmulatorServer
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.sync.orm import SyncJob, SyncRun
from tests.integration.sync.fixtures import item_spec, make_items, make_target


@pytest.fixture
def target(tmp_path: Path) -> tuple[str, sa.Engine, sa.Table]:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = sa.create_engine(url)
    return url, engine, make_target(engine, "items", updated_at=True)


def _sql_rows(engine: sa.Engine, table: sa.Table) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.airtable_id: dict(r._mapping) for r in conn.execute(sa.select(table))}


def _touch(
    engine: sa.Engine, table: sa.Table, where: sa.ColumnElement[bool], **values: object
) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(where).values(**values, updated_at=datetime.now(UTC)))


def test_sync__two_way_with_updated_at(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, engine, table = target
    items = make_items(emulator, 12)
    job = sync_services.sync_jobs.create(admin, item_spec(items, "items", sql_url=url))
    assert job.external_database
    with sync_services.sql() as session:
        stored = session.get(SyncJob, job.id)
        assert stored is not None
        assert url not in stored.sql_url_encrypted

    first = sync_services.sync.run(job.id, "run-1", "manual")
    assert first.status == "ok", first.log
    assert (first.read_airtable, first.written_sql) == (12, 12)
    rows = _sql_rows(engine, table)
    airtable = items.rows()
    assert set(rows) == set(airtable)
    some_id = sorted(rows)[3]
    assert rows[some_id]["name"] == airtable[some_id]["Name"]
    assert float(rows[some_id]["qty"]) == airtable[some_id]["Qty"]
    assert rows[some_id]["tags"] == ",".join(sorted(airtable[some_id]["Tags"]))

    # A row inserted in SQL is created in Airtable and gets its record ID.
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table).values(
                name="From SQL", qty="7", done=True, tags="b,a", updated_at=datetime.now(UTC)
            )
        )
    # One field edited on each side of the same record: both edits survive.
    items.table.update(some_id, {"Name": "Renamed in Airtable"})
    _touch(engine, table, table.c.airtable_id == some_id, status="Done")
    second = sync_services.sync.run(job.id, "run-2", "manual")
    assert second.status == "ok", second.log
    airtable = items.rows()
    created = [r for r in airtable.values() if r.get("Name") == "From SQL"]
    assert len(created) == 1
    assert created[0]["Qty"] == 7
    assert sorted(created[0]["Tags"]) == ["a", "b"]
    rows = _sql_rows(engine, table)
    assert rows[some_id]["name"] == "Renamed in Airtable"
    assert airtable[some_id]["Status"] == "Done"
    assert all(key is not None for key in rows)

    # The same field changed on both sides: held for a person, the rest still syncs.
    items.table.update(some_id, {"Name": "Airtable says", "Qty": 99})
    _touch(engine, table, table.c.airtable_id == some_id, name="SQL says")
    third = sync_services.sync.run(job.id, "run-3", "manual")
    assert third.conflicts == 1
    assert float(_sql_rows(engine, table)[some_id]["qty"]) == 99
    [conflict] = sync_services.sync_conflicts.open(admin, job.id)
    assert (conflict.field, conflict.airtable, conflict.sql) == (
        "name",
        "Airtable says",
        "SQL says",
    )
    assert sync_services.sync_conflicts.resolve(admin, [conflict.id], "value", "Agreed") == 1
    fourth = sync_services.sync.run(job.id, "run-4", "manual")
    assert fourth.conflicts == 0
    assert items.rows()[some_id]["Name"] == "Agreed"
    assert _sql_rows(engine, table)[some_id]["name"] == "Agreed"

    # A value that cannot convert skips that record, with the reason; others still sync.
    other_id = sorted(rows)[5]
    _touch(engine, table, table.c.airtable_id == some_id, qty="lots")
    _touch(engine, table, table.c.airtable_id == other_id, name="Fine")
    fifth = sync_services.sync.run(job.id, "run-5", "manual")
    assert fifth.errors == 1
    assert any("lots" in line for line in fifth.log)
    assert items.rows()[other_id]["Name"] == "Fine"

    # A delete in Airtable is propagated (full ID scan every run here).
    items.table.delete(other_id)
    sixth = sync_services.sync.run(job.id, "run-6", "manual")
    assert sixth.status == "ok"
    assert other_id not in _sql_rows(engine, table)
    history = sync_services.sync.history(admin, job.id)
    assert [h.run_id for h in history][:1] == ["run-6"]


def test_sync__bad_jobs_are_refused_naming_the_field(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, engine, table = target
    items = make_items(emulator, 2)
    spec = item_spec(items, "items", sql_url=url)
    bad_column = spec.mappings[0].__class__(items.fields["Name"], "nope", "text")
    cases = [
        (spec.__class__(**{**spec.__dict__, "mappings": (bad_column,)}), "nope"),
        (
            spec.__class__(
                **{
                    **spec.__dict__,
                    "mappings": (spec.mappings[0].__class__(items.fields["Done"], "due", "date"),),
                }
            ),
            "Done",
        ),
        (spec.__class__(**{**spec.__dict__, "match_sql_column": "status"}), "match_sql_column"),
        (
            spec.__class__(
                **{**spec.__dict__, "sql_url": "postgresql+psycopg://nobody:secret@127.0.0.1:1/x"}
            ),
            "sql_url",
        ),
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [{"status": "same"}, {"status": "same"}])
    for bad, named in cases:
        with pytest.raises(InvalidInputError, match=named) as caught:
            sync_services.sync_jobs.create(admin, bad)
        assert "secret" not in str(caught.value)
    assert sync_services.sync_jobs.list_for(admin) == []


def test_sync__a_run_stands_down_while_another_run_of_the_job_is_going(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, engine, table = target
    items = make_items(emulator, 2)
    job = sync_services.sync_jobs.create(admin, item_spec(items, "items", sql_url=url))
    with sync_services.sql.begin() as session:
        session.add(SyncRun(id="going", job_id=job.id, trigger="schedule", log=[]))
    later = sync_services.sync.run(job.id, "later", "manual")
    assert later.status == "skipped"
    assert later.log == ["skipped: run going of this job was still running"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
