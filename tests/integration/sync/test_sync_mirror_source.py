"""A sync run that lists its Airtable table from a current mirror gives the same result as
one that asks Airtable, with fewer Airtable requests (counted by the emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import Role, User
from services.sync.orm import SyncJob
from services.sync.types import RunSummary
from tests.integration.mirrors.conftest import mirror_loop
from tests.integration.sync.fixtures import (
    Items,
    item_spec,
    linked_tasks_spec,
    linked_tasks_table,
    make_items,
    make_linked_tasks,
    make_target,
)
from tests.support.accounts import make_user
from tests.support.emulated import services_on

ROWS = 150


@pytest.fixture
def built(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[tuple[Services, User]]:
    """Services whose runs scan IDs only every tenth run, as by default."""
    with services_on(
        settings, emulator.url, mirror_default_bases="", sync_full_scan_every_runs=10
    ) as made:
        yield made, make_user(made, role=Role.ADMIN, name="Admin")


class Side:
    """One setup: an Airtable table, its SQL target and the job between them."""

    def __init__(self, services: Services, admin: User, emulator: EmulatorServer, db: Path):
        self.services = services
        self.emulator = emulator
        self.items: Items = make_items(emulator, ROWS)
        self.engine = sa.create_engine(f"sqlite:///{db}")
        self.table = make_target(self.engine, "items", updated_at=True)
        spec = item_spec(self.items, "items", sql_url=f"sqlite:///{db}", every_seconds=3600)
        self.job = services.sync_jobs.create(admin, spec)
        self.requests = 0
        self.runs: list[RunSummary] = []

    def run(self, run_id: str) -> RunSummary:
        before = self._count()
        summary = self.services.sync.run(self.job.id, f"{self.job.id}-{run_id}", "manual")
        self.requests += self._count() - before
        assert summary.status == "ok", summary.log
        self.runs.append(summary)
        return summary

    def _count(self) -> int:
        stats = httpx.get(f"{self.emulator.url}/_emulator/stats").json()
        return int(stats["bases"].get(self.items.base_id, 0))

    def edit(self) -> None:
        """The same edits on both sides of the setup."""
        records = sorted(self.items.table.all(), key=lambda r: r["fields"]["Name"])
        self.items.table.update(records[3]["id"], {"Name": "Item 03 edited"})
        self.items.table.update(records[7]["id"], {"Qty": 777, "Tags": ["a", "c"]})
        self.items.table.update(records[9]["id"], {"Status": "Done"})
        self.items.table.create({"Name": "New in Airtable", "Qty": 1, "Done": True})
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            t = self.table
            conn.execute(
                sa.update(t).where(t.c.name == "Item 05").values(status="Done", updated_at=now)
            )
            conn.execute(  # the same field as Airtable's edit: a held conflict
                sa.update(t).where(t.c.name == "Item 09").values(status="Blocked", updated_at=now)
            )
            conn.execute(sa.insert(t).values(name="New in SQL", qty="2", tags="b", updated_at=now))

    def state(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            sql = sorted(
                tuple(
                    str(v)
                    for k, v in row._mapping.items()
                    if k not in ("id", "airtable_id", "updated_at")
                )
                for row in conn.execute(sa.select(self.table))
            )
        airtable = sorted(repr(sorted(r["fields"].items())) for r in self.items.table.all())
        conflicts = sorted(
            (c.field, str(c.airtable), str(c.sql))
            for c in self.services.sync_conflicts.open(_Admin(), self.job.id)
        )
        figures = [(r.written_airtable, r.written_sql, r.conflicts, r.errors) for r in self.runs]
        return {"sql": sql, "airtable": airtable, "conflicts": conflicts, "figures": figures}


class _Admin:
    id = 0
    is_admin = True


def test_sync_mirror_source__same_result_as_airtable_with_fewer_requests(
    built: tuple[Services, User], emulator: EmulatorServer, tmp_path: Path
) -> None:
    services, admin = built
    plain = Side(services, admin, emulator, tmp_path / "plain.db")
    mirrored = Side(services, admin, emulator, tmp_path / "mirrored.db")
    services.mirrors.turn_on(admin.id, is_admin=True, base_id=mirrored.items.base_id)
    loop = mirror_loop(services)
    loop.run_once()
    state = services.mirrors.registry.table(mirrored.items.base_id, mirrored.items.table_id)
    assert state is not None
    assert state.status == "ready"

    for side in (plain, mirrored):
        side.run("first")
        side.edit()
    # The mirror learns Airtable's edits as it would from the webhook or its sweep (the
    # mirror's own requests, made whether or not a job reads it).
    services.mirror_sync.sweep(mirrored.items.base_id)
    for side in (plain, mirrored):
        side.run("second")
        side.run("third")  # nothing left to do on either

    assert mirrored.state() == plain.state()
    assert mirrored.state()["conflicts"] == [("status", "Done", "Blocked")]
    assert all("mirror" not in " ".join(r.log) for r in plain.runs)
    assert all("Airtable side read from the table's mirror" in r.log for r in mirrored.runs)
    print(f"Airtable requests: gateway-backed {plain.requests}, mirror-backed {mirrored.requests}")
    assert mirrored.requests < plain.requests
    # The mirror-backed runs ask Airtable only to write (the run's own count agrees with
    # the emulator's), and for nothing when idle.
    assert mirrored.requests == sum(r.requests for r in mirrored.runs)
    assert mirrored.runs[0].requests == 0  # 150 records listed, none written
    assert mirrored.runs[-1].requests == 0
    # The next run reads Airtable from the mirror's last good sweep, not from the run's
    # start: a change the mirror had not caught yet is read by a later run.
    swept = services.mirrors.registry.table(mirrored.items.base_id, mirrored.items.table_id)
    assert swept is not None
    with services.sql() as session:
        job = session.get(SyncJob, mirrored.job.id)
        assert job is not None
        assert job.airtable_cursor == swept.synced_at


def test_sync_mirror_source__links_as_names_from_the_mirror(
    built: tuple[Services, User], emulator: EmulatorServer, tmp_path: Path
) -> None:
    services, admin = built
    _api, base_id, ids, fields = make_linked_tasks(emulator)
    url = f"sqlite:///{tmp_path / 'links.db'}"
    engine, table = linked_tasks_table(url)
    job = services.sync_jobs.create(admin, linked_tasks_spec(base_id, ids["Tasks"], fields, url))
    services.mirrors.turn_on(admin.id, is_admin=True, base_id=base_id)
    mirror_loop(services).run_once()
    run = services.sync.run(job.id, f"{job.id}-links", "manual")
    assert run.status == "ok", run.log
    assert "Airtable side read from the table's mirror" in run.log
    with engine.connect() as conn:
        owners = {r.name: r.owners for r in conn.execute(sa.select(table))}
    assert len(owners) == 30
    assert (owners["Task 01"], owners["Task 02"]) == ("Alice,Carla", "Bob")
    assert run.requests <= 1  # the names, unless the mirror's build left them remembered
