"""End to end: saving a sync job registers an Airtable webhook on its table; an edit in
Airtable pings the app, the worker reads the payload, and the job runs within seconds
(its schedule is an hour away). The job's own writes coming back start nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import Role
from services.sync.orm import SyncRun
from services.webhooks.airtable_orm import AirtableWebhook
from tests.integration.sync.fixtures import item_spec, make_items, make_target
from tests.support.accounts import make_user
from tests.support.appserver import AppServer
from tests.support.workflows import in_process_worker

pytestmark = pytest.mark.e2e


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(0.1)


def _runs(services: Services, job_id: str) -> list[SyncRun]:
    with services.sql() as session:
        rows = list(
            session.scalars(
                select(SyncRun).where(SyncRun.job_id == job_id).order_by(SyncRun.started_at)
            )
        )
        session.expunge_all()
        return rows


def test_sync_webhook__an_airtable_edit_runs_the_job_within_seconds_and_echoes_do_not(
    app_server: AppServer, app_services: Services, emulator: EmulatorServer, tmp_path: Path
) -> None:
    admin = make_user(app_services, role=Role.ADMIN, name="SyncAdmin")
    url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = sa.create_engine(url)
    table = make_target(engine, "items", updated_at=True)
    items = make_items(emulator, 5)
    job = app_services.sync_jobs.create(
        admin, item_spec(items, "items", sql_url=url, every_seconds=3600)
    )
    with app_services.sql() as session:
        hooks = session.scalars(
            select(AirtableWebhook).where(AirtableWebhook.table_id == items.table_id)
        ).all()
    assert [(h.owner_id, h.base_id) for h in hooks] == [(admin.id, items.base_id)]
    assert app_services.sync.run(job.id, "first", "manual").status == "ok"
    record_id = sorted(items.rows())[0]

    stop = threading.Event()
    loop = threading.Thread(
        target=app_services.sync_launcher.run_forever,
        kwargs={"every_seconds": 3600, "stop": stop},
        daemon=True,
    )
    with in_process_worker(app_services):
        loop.start()
        try:
            changed = time.monotonic()
            items.table.update(record_id, {"Name": "Edited in Airtable"})

            def synced() -> bool:
                with engine.connect() as conn:
                    name = conn.execute(
                        sa.select(table.c.name).where(table.c.airtable_id == record_id)
                    ).scalar_one()
                return name == "Edited in Airtable"

            _wait(synced, 15, "the edit in SQL")
            elapsed = time.monotonic() - changed
            print(f"Airtable edit -> SQL row: {elapsed:.2f} s")

            # The row is in SQL before the run records that it finished; a run started
            # before then would rightly stand down (one run of a job at a time).
            def finished() -> list[SyncRun] | None:
                runs = _runs(app_services, job.id)
                return runs if len(runs) == 2 and runs[-1].status != "running" else None

            runs = _wait(finished, 15, "the change run finished")
            assert [(r.trigger, r.status) for r in runs] == [("manual", "ok"), ("change", "ok")]

            # The job's own write to Airtable comes back as a webhook payload: no run.
            with engine.begin() as conn:
                conn.execute(
                    sa.update(table)
                    .where(table.c.airtable_id == record_id)
                    .values(qty="77", updated_at=datetime.now(UTC))
                )
            own = app_services.sync.run(job.id, "own-write", "manual")
            assert own.written_airtable == 1, own.log
            hook = hooks[0].id
            before = app_services.airtable_webhooks.get(hook)
            assert before is not None
            _wait(
                lambda: (
                    (info := app_services.airtable_webhooks.get(hook)) is not None
                    and info.cursor > before.cursor
                ),
                15,
                "the echo payload read",
            )
            time.sleep(app_services.settings.sync_change_debounce_seconds + 1.5)
            assert [r.trigger for r in _runs(app_services, job.id)] == [
                "manual",
                "change",
                "manual",
            ]
        finally:
            stop.set()
            loop.join(timeout=5)
