"""Two worker processes on one PostgreSQL: 100 queued runs are shared and each runs once;
a cron schedule both workers watch fires once per tick."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.container import Services
from services.workflows.orm import WorkflowRun
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import (
    postgres_database,
    run_receiver,
    start_worker_process,
    stop_worker_process,
    wait_for_run,
)

RUNS = 100


def test_two_workers__share_queued_runs_and_fire_a_tick_once(
    settings: Settings, emulator: EmulatorServer, tmp_path: Path
) -> None:
    with (
        postgres_database() as url,
        services_on(settings, emulator.url, database_url=url) as services,
        run_receiver() as receiver,
    ):
        assert services.settings.workflow_system_url == services.settings.sql_url
        owner = make_user(services, name="Owner")
        workflow = services.workflows.create(
            owner.id,
            {
                "name": "Ping",
                "steps": [
                    {"id": "ping", "type": "http_request", "url": receiver.url + "/{{ run.id }}"},
                    {"id": "tell", "type": "notify", "message": "pinged"},
                ],
            },
        )
        ticking = services.workflows.create(
            owner.id,
            {
                "name": "Every minute",
                "trigger": {"schedule": {"cron": "* * * * *"}},
                "steps": [
                    {
                        "id": "tick",
                        "type": "http_request",
                        "url": receiver.url + "/tick/{{ run.id }}",
                    }
                ],
            },
        )
        services.workflows.set_enabled(owner, ticking.id, True)
        runs = [services.workflow_runs.start(owner, workflow.id, {}).id for _ in range(RUNS)]
        env = {"WORKFLOW_WORKER_CONCURRENCY": "4"}
        workers = [
            start_worker_process(services, f"pg-worker-{n}", tmp_path / f"w{n}.log", **env)
            for n in (1, 2)
        ]
        try:
            for run_id in runs:
                assert wait_for_run(services, run_id, timeout=240).status == "succeeded"
            tick_runs = _wait_for_schedule_runs(services, ticking.id)
        finally:
            for worker in workers:
                stop_worker_process(worker)
        hits = Counter(receiver.paths())
        assert all(hits[f"/{run_id}"] == 1 for run_id in runs)
        executors = Counter(
            w.executor_id
            for w in services.workflow_engine().list_workflows(workflow_ids=runs, load_input=False)
        )
        assert set(executors) == {"pg-worker-1", "pg-worker-2"}, executors
        assert sum(executors.values()) == RUNS
        # Both workers' schedulers fired every tick; each tick ran once.
        assert tick_runs
        assert all(hits[f"/tick/{run_id}"] == 1 for run_id in tick_runs)
        assert sum(n for path, n in hits.items() if path.startswith("/tick/")) == len(tick_runs)


def _wait_for_schedule_runs(services: Services, workflow_id: str) -> list[str]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with services.sql() as session:
            ids = list(
                session.scalars(
                    select(WorkflowRun.id).where(WorkflowRun.workflow_id == workflow_id)
                )
            )
        if ids and all(services.workflow_runs._store.info(i).finished for i in ids):
            time.sleep(3)  # both workers have polled again since: no second run appears
            with services.sql() as session:
                return list(
                    session.scalars(
                        select(WorkflowRun.id).where(WorkflowRun.workflow_id == workflow_id)
                    )
                )
        time.sleep(0.5)
    raise AssertionError("the schedule never fired")
