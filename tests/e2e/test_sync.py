"""Sync in Chromium, with a real worker process: create a job on the Sync page, make a
conflicting edit on both sides, resolve it in the Conflicts inbox, see both sides agree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import Role
from tests.integration.sync.fixtures import make_items, make_target
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import PROJECT_ROOT, AppServer

pytestmark = pytest.mark.e2e
SLOW = 60_000


@pytest.fixture(autouse=True)
def patient(page: Page) -> None:
    page.set_default_timeout(SLOW)


@pytest.fixture
def worker(app_server: AppServer, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python manage.py worker` on the app server's stores, for Run now."""
    with open(tmp_path / "worker.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--id", "e2e-sync"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **app_server.env},
            stdout=log,
            stderr=log,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _eventually(check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.3)


def _choose(page: Page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True).first
    for attempt in range(3):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    expect(box).to_have_value(option, timeout=SLOW)


def test_sync__conflict_resolved_in_the_inbox_reaches_both_sides(
    app_server: AppServer,
    app_services: Services,
    emulator: EmulatorServer,
    worker: subprocess.Popen[bytes],
    page: Page,
    tmp_path: Path,
) -> None:
    admin = make_user(app_services, role=Role.ADMIN, name="Syncer")
    items = make_items(emulator, 3)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    target = sa.create_engine(url)
    table = make_target(target, "items", updated_at=True)

    def sql_names() -> dict[str, str]:
        with target.connect() as conn:
            return {r.airtable_id: r.name for r in conn.execute(sa.select(table))}

    sign_in(page, app_server.url, admin.email)
    page.goto(f"{app_server.url}/sync")
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    _choose(page, "Airtable base", items.base_name)
    page.get_by_label("Name", exact=True).fill("Items both ways")
    page.get_by_label("SQL database URL (empty: the app's database)").fill(url)
    page.get_by_label("SQL table", exact=True).fill("items")
    page.get_by_label("Field mapping", exact=True).fill("Name -> name : text\nQty -> qty : number")
    page.get_by_text("Enabled (runs on its schedule)").click()
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_text("Items both ways")).to_be_visible()

    page.get_by_role("button", name="Run now").click()
    _eventually(lambda: len(sql_names()) == 3, "the first run to fill the SQL table")

    record_id = sorted(sql_names())[0]
    items.table.update(record_id, {"Name": "Name from Airtable"})
    with target.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.airtable_id == record_id)
            .values(name="Name from SQL", updated_at=datetime.now(UTC))
        )
    page.get_by_role("button", name="Run now").click()
    _eventually(lambda: app_services.sync_conflicts.open(admin), "the conflict")

    page.goto(f"{app_server.url}/conflicts")
    expect(page.get_by_text("Name from Airtable")).to_be_visible()
    expect(page.get_by_text("Name from SQL")).to_be_visible()
    page.get_by_role("button", name="Keep SQL", exact=True).click()
    expect(page.get_by_text("No conflicts waiting.")).to_be_visible()

    page.goto(f"{app_server.url}/sync")
    page.get_by_text("Items both ways").click()
    page.get_by_role("button", name="Run now").click()
    _eventually(
        lambda: items.rows()[record_id].get("Name") == "Name from SQL",
        "the resolved value in Airtable",
    )
    assert sql_names()[record_id] == "Name from SQL"
