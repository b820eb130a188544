"""A Redis outage during a run pauses its step; when Redis is back the run goes on."""

from __future__ import annotations

import threading
from pathlib import Path

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.redis_store import EmbeddedRedis
from tests.integration.airtable.fixtures import FreshBase
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import in_process_worker, wait_for_run


def test_redis_outage__delays_the_step_and_the_run_still_succeeds(
    wf_settings: Settings, emulator: EmulatorServer, base: FreshBase, tmp_path: Path
) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    embedded = EmbeddedRedis(redis_dir)
    embedded.ensure_running()
    own_redis = wf_settings.model_copy(update={"redis_url": f"unix://{embedded.socket_path}"})
    try:
        with services_on(own_redis, emulator.url) as services, in_process_worker(services):
            owner = make_user(services, name="Owner")
            workflow = services.workflows.create(
                owner.id,
                {
                    "name": "Wait then read",
                    "base": base.id,
                    "steps": [
                        {"id": "ok", "type": "approval", "message": "Read?"},
                        {"id": "read", "type": "find_records", "table": "Tasks"},
                    ],
                },
            )
            run = services.workflow_runs.start(owner, workflow.id, {})
            wait_for_run(services, run.id, statuses=frozenset({"waiting_approval"}))
            services.airtable.forget_schema(base.id)
            embedded.stop()
            services.workflow_runs.approve(owner, run.id, True)
            restart = threading.Timer(4.0, embedded.ensure_running)
            restart.start()
            done = wait_for_run(services, run.id, timeout=90)
            restart.join()
            assert done.status == "succeeded", done
            assert done.steps[1].attempts > 1  # it met the outage, and tried again
            assert done.steps[1].summary == f"{len(base.snapshot())} records found in Tasks"
    finally:
        embedded.stop()
