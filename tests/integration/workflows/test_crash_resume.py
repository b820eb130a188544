"""Crash and resume: a worker SIGKILLed in the middle of a 5-step run with 300-record
write steps; after a restart the run completes and every record is written once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pyairtable import Api
from sqlalchemy import func, select

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.airtable.orm import RecordChange
from services.container import Services
from services.workflows.writes import change_set_id
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import start_worker_process, stop_worker_process, wait_for_run

RECORDS = 300
WRITES = ("make", "hours", "notes", "done")


@pytest.fixture
def own_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(tokens={DEV_TOKEN: None}) as server:
        yield server


def audited(services: Services, run_id: str, step_id: str) -> tuple[int, int]:
    with services.sql() as session:
        return session.execute(
            select(func.count(), func.count(func.distinct(RecordChange.record_id))).where(
                RecordChange.change_set_id == change_set_id(run_id, step_id)
            )
        ).one()


def test_sigkill_mid_run__resumes_and_writes_every_record_exactly_once(
    settings: Settings, own_emulator: EmulatorServer, tmp_path: Path
) -> None:
    api = Api(DEV_TOKEN, endpoint_url=own_emulator.url, retry_strategy=None)
    base = api.create_base(
        "wspCrash",
        "Crash",
        [
            {
                "name": "Items",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {"name": "Hours", "type": "number", "options": {"precision": 0}},
                    {"name": "Notes", "type": "singleLineText"},
                    {
                        "name": "Done",
                        "type": "checkbox",
                        "options": {"icon": "check", "color": "greenBright"},
                    },
                ],
            }
        ],
    )
    ids = "{{ steps.make.created_ids }}"
    with services_on(settings, own_emulator.url) as services:
        owner = make_user(services, name="Owner")
        workflow = services.workflows.create(
            owner.id,
            {
                "name": "Five steps",
                "base": base.id,
                "steps": [
                    {
                        "id": "make",
                        "type": "create_records",
                        "table": "Items",
                        "records": [{"Name": f"Item {i:03d}"} for i in range(RECORDS)],
                    },
                    {
                        "id": "hours",
                        "type": "update_records",
                        "table": "Items",
                        "records": ids,
                        "set": {"Hours": 1},
                    },
                    {
                        "id": "notes",
                        "type": "update_records",
                        "table": "Items",
                        "records": ids,
                        "set": {"Notes": "second"},
                    },
                    {"id": "tell", "type": "notify", "message": "{{ steps.notes.count }} noted"},
                    {
                        "id": "done",
                        "type": "update_records",
                        "table": "Items",
                        "records": ids,
                        "set": {"Done": True},
                    },
                ],
            },
        )
        requests.post(f"{own_emulator.url}/_emulator/stats/reset", timeout=10)
        log = tmp_path / "worker.log"
        # Airtable's own pace (5 requests a second): each write step takes about 6 s.
        paced = {"AIRTABLE_REQUESTS_PER_SECOND": "5"}
        worker = start_worker_process(services, "crash-worker", log, **paced)
        try:
            run = services.workflow_runs.start(owner, workflow.id, {})
            deadline = time.monotonic() + 120
            while audited(services, run.id, "hours")[0] < 100:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert worker.poll() is None, log.read_text()[-3000:]
                time.sleep(0.02)
            stop_worker_process(worker, kill=True)
            assert services.workflow_runs.get(owner, run.id).status == "running"
            worker = start_worker_process(services, "crash-worker", log, **paced)
            done = wait_for_run(services, run.id, timeout=180)
        finally:
            stop_worker_process(worker)
        assert done.status == "succeeded", log.read_text()[-3000:]
        for step_id in WRITES:
            assert audited(services, run.id, step_id) == (RECORDS, RECORDS), step_id
        records = api.table(base.id, "Items").all()
        assert len(records) == RECORDS
        assert all(
            r["fields"].get("Hours") == 1
            and r["fields"].get("Notes") == "second"
            and r["fields"].get("Done")
            for r in records
        )
        routes = requests.get(f"{own_emulator.url}/_emulator/stats", timeout=10).json()["routes"]
        batches = RECORDS // 10
        assert routes.get("POST /v0/{baseId}/{tableIdOrName}") == batches
        assert routes.get("PATCH /v0/{baseId}/{tableIdOrName}") == 3 * batches
