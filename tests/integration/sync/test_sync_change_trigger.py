"""Airtable changes start sync runs: which changes count, the debounce, one queued run."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from emulator.testing import EmulatorServer
from services.airtable.change_feed import RecordChange
from services.container import Services
from services.orm import User
from services.sync.orm import SyncRun
from services.sync.triggers import ChangeRequests, SyncTriggers
from tests.integration.sync.fixtures import Items, item_spec, make_items, make_target
from tests.support.workflows import in_process_worker


@pytest.fixture
def target(tmp_path: Path) -> tuple[str, sa.Engine, sa.Table]:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = sa.create_engine(url)
    return url, engine, make_target(engine, "items", updated_at=True)


def _change(items: Items, record_id: str, cells: dict, source: str = "airtable") -> RecordChange:
    by_id = {items.fields[name]: value for name, value in cells.items()}
    return RecordChange(
        items.base_id,
        items.table_id,
        record_id,
        "updated",
        source,  # type: ignore[arg-type]
        fields=by_id,
        changed_fields=tuple(by_id),
    )


def test_sync_change_trigger__only_news_asks_for_a_run_and_one_run_is_queued(
    sync_services: Services,
    admin: User,
    emulator: EmulatorServer,
    target: tuple[str, sa.Engine, sa.Table],
) -> None:
    url, engine, table = target
    items = make_items(emulator, 3)
    job = sync_services.sync_jobs.create(
        admin, item_spec(items, "items", sql_url=url, every_seconds=3600)
    )
    assert (admin.id, items.base_id, items.table_id) in sync_services.sync_jobs.watched()
    assert sync_services.sync.run(job.id, "first", "manual").status == "ok"
    record_id, fields = sorted(items.rows().items())[0]
    requests = ChangeRequests(sync_services.redis, prefix=sync_services.settings.redis_key_prefix)
    triggers = SyncTriggers(sync_services.sql, requests)
    feed = sync_services.airtable.feed

    # What the job already holds (its own writes coming back), app writes, and fields
    # it does not map ask for nothing.
    triggers.on_changes([_change(items, record_id, {"Name": fields["Name"]})])
    triggers.on_changes([_change(items, record_id, {"Name": "By the app"}, source="app")])
    assert requests.waiting() == set()

    # A change the job has not seen asks for a run (through the container's listener).
    feed.publish([_change(items, record_id, {"Name": "Edited in Airtable"})])
    assert requests.waiting() == {job.id}
    launcher = sync_services.sync_launcher
    debounce = sync_services.settings.sync_change_debounce_seconds
    now = datetime.now(UTC)
    assert launcher.fire_changed(now) == []  # within the debounce
    later = now + timedelta(seconds=debounce + 0.1)
    fired = launcher.fire_changed(later)
    assert len(fired) == 1
    assert fired[0].startswith(f"sync:{job.id}:change:")
    # More changes while that run is queued (no worker yet) queue nothing more, and the
    # schedule does not add one either...
    feed.publish([_change(items, record_id, {"Qty": 41})])
    assert launcher.fire_changed(later + timedelta(seconds=debounce)) == []
    assert launcher.fire_due(later + timedelta(hours=2)) == []
    assert requests.waiting() == {job.id}
    with in_process_worker(sync_services):
        run = _wait(sync_services, fired[0])
        assert (run.status, run.trigger) == ("ok", "change")
        # ...and one run once it is done.
        again = launcher.fire_changed(datetime.now(UTC) + timedelta(seconds=debounce + 0.1))
        assert len(again) == 1
        assert again != fired
        assert _wait(sync_services, again[0]).status == "ok"
    assert requests.waiting() == set()
    # The change-triggered runs read what changed in Airtable (the name is the emulator's
    # value: the published changes above were made up).
    with engine.connect() as conn:
        names = set(conn.execute(sa.select(table.c.name)).scalars())
    assert fields["Name"] in names


def _wait(services: Services, run_id: str, timeout: float = 30) -> SyncRun:
    deadline = time.monotonic() + timeout
    while True:
        with services.sql() as session:
            row = session.get(SyncRun, run_id)
            if row is not None and row.status != "running":
                session.expunge(row)
                return row
        assert time.monotonic() < deadline, f"sync run {run_id} not finished"
        time.sleep(0.1)
