"""A two-way job with a PostgreSQL table whose changes a trigger-maintained table records."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from emulator.testing import EmulatorServer
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from tests.integration.sync.fixtures import item_spec, make_items, make_target


def test_sync__postgres_change_table(
    sync_services: Services, admin: User, emulator: EmulatorServer, sql_url: str
) -> None:
    if not sql_url.startswith("postgresql"):
        pytest.skip("needs DATABASE_URL on PostgreSQL (this run uses SQLite)")
    engine = sync_services.engine  # the app's own database, as an admin's job may use
    name = f"items_{uuid.uuid4().hex[:8]}"
    table = make_target(engine, name, updated_at=False)
    items = make_items(emulator, 5)
    spec = item_spec(items, name, change_detection="change_table", delete_rule="propagate")
    with pytest.raises(InvalidInputError, match="change table"):
        sync_services.sync_jobs.create(admin, spec)
    sync_services.sync_jobs.install_change_table(admin, sql_url="", table=name, key="id")
    job = sync_services.sync_jobs.create(admin, spec)
    try:
        first = sync_services.sync.run(job.id, f"{job.id}-1", "manual")
        assert first.status == "ok", first.log
        with engine.connect() as conn:
            rows = {r.airtable_id: r for r in conn.execute(sa.select(table))}
        assert set(rows) == set(items.rows())
        # Our own inserts went through the trigger too; the next run sees them as agreed.
        quiet = sync_services.sync.run(job.id, f"{job.id}-2", "manual")
        assert (quiet.written_airtable, quiet.written_sql) == (0, 0)

        edited, gone = sorted(rows)[:2]
        with engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.airtable_id == edited).values(qty="42"))
            conn.execute(sa.delete(table).where(table.c.airtable_id == gone))
            conn.execute(sa.insert(table).values(name="New in Postgres", done=False))
        third = sync_services.sync.run(job.id, f"{job.id}-3", "manual")
        assert third.status == "ok", third.log
        airtable = items.rows()
        assert airtable[edited]["Qty"] == 42
        assert gone not in airtable
        assert [r["Name"] for r in airtable.values()].count("New in Postgres") == 1
        with engine.connect() as conn:
            assert (
                conn.execute(
                    sa.select(sa.func.count()).where(table.c.airtable_id.is_(None))
                ).scalar_one()
                == 0
            )
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "_sync_changes_{name}"'))
            conn.execute(sa.text(f'DROP FUNCTION IF EXISTS "_sync_changes_{name}_fn"()'))
