"""A worker SIGKILLed in the middle of a sync run: after a restart the run finishes with
every row created once on each side and no change lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import Role
from services.sync.orm import SyncRun, SyncSnapshot
from tests.integration.sync.fixtures import item_spec, make_items, make_target
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import start_worker_process, stop_worker_process

SQL_ROWS = 300
AIRTABLE_ROWS = 40


@pytest.mark.usefixtures("services")  # its cleanup empties the tables afterwards
def test_sigkill_mid_sync__next_run_finishes_without_duplicates(
    settings: Settings, emulator: EmulatorServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    target = sa.create_engine(url)
    table = make_target(target, "items", updated_at=True)
    with target.begin() as conn:
        conn.execute(
            sa.insert(table),
            [
                {"name": f"SQL {i:03d}", "qty": str(i), "done": False, "updated_at": None}
                for i in range(SQL_ROWS)
            ],
        )
    items = make_items(emulator, AIRTABLE_ROWS)
    with services_on(settings, emulator.url) as services:
        admin = make_user(services, role=Role.ADMIN, name="Admin")
        spec = item_spec(
            items,
            "items",
            sql_url=url,
            change_detection="updated_at",
            every_seconds=3600,
            enabled=False,
        )
        job = services.sync_jobs.create(admin, spec)
        log = tmp_path / "worker.log"
        # Airtable's own pace: 30 create batches take about 6 s.
        paced = {"AIRTABLE_REQUESTS_PER_SECOND": "5", "SYNC_SCHEDULE_POLL_SECONDS": "3600"}
        worker = start_worker_process(services, "sync-crash", log, **paced)
        try:
            run_id = services.sync_launcher.run_now(admin, job.id)
            deadline = time.monotonic() + 120
            while _synced_to_airtable(services) < 100:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert worker.poll() is None, log.read_text()[-3000:]
                time.sleep(0.02)
            stop_worker_process(worker, kill=True)
            assert _status(services, run_id) == "running", _log(services, run_id)
            worker = start_worker_process(services, "sync-crash", log, **paced)
            deadline = time.monotonic() + 180
            while _status(services, run_id) == "running":
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        finally:
            stop_worker_process(worker)
        assert _status(services, run_id) == "ok", log.read_text()[-3000:]
        # A second run finds nothing to do: nothing was lost or left half-written.
        again = services.sync.run(job.id, "after-crash", "manual")
        assert (again.written_airtable, again.written_sql, again.errors) == (0, 0, 0), again.log
    airtable = items.rows()
    names = [f.get("Name") for f in airtable.values()]
    assert len(airtable) == SQL_ROWS + AIRTABLE_ROWS
    assert len(set(names)) == len(names)
    with target.connect() as conn:
        rows = conn.execute(sa.select(table.c.airtable_id, table.c.name)).all()
    assert len(rows) == SQL_ROWS + AIRTABLE_ROWS
    assert {r.airtable_id for r in rows} == set(airtable)
    assert all(airtable[r.airtable_id].get("Name") == r.name for r in rows)


def _synced_to_airtable(services: Services) -> int:
    with services.sql() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    SyncSnapshot.airtable_id.is_not(None), SyncSnapshot.sql_key.is_not(None)
                )
            )
            or 0
        )


def _status(services: Services, run_id: str) -> str | None:
    with services.sql() as session:
        row = session.get(SyncRun, run_id)
        return None if row is None else row.status


def _log(services: Services, run_id: str) -> list[str]:
    with services.sql() as session:
        row = session.get(SyncRun, run_id)
        return [] if row is None else list(row.log)
