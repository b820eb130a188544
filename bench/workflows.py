"""Benchmark: what the durable engine adds to a workflow's steps.

Runs a 3-step read/notify workflow (find_records, aggregate_records, notify) 200 times
through the engine (DBOS on SQLite, a worker in this process, one run at a time, the
local emulator as Airtable) and the same step functions called directly in one process.
Prints runs/s of both, median run time of both, their ratio, and the engine overhead per
step: (engine median run time - direct median run time) / 3. The engine's run time is
measured from the run's start to its finish as the worker records them (queue waiting
excluded). Target: overhead under 10 ms a step on SQLite. It also checks the work: every
run succeeded with the same counts the direct calls found, each step once.
Run it with ``python -m bench.workflows [--runs N]``; exit status 1 on a miss.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
from pyairtable import Api
from pydantic import SecretStr

from bench.parts.stack import bench_services
from bench.report import Check, finish
from config.settings import load_settings
from emulator import DEV_TOKEN
from services.container import Services
from services.workflows.definition import AggregateRecords, FindRecords, Notify
from services.workflows.run_store import RunStore
from services.workflows.steps import StepContext
from services.workflows.types import FINISHED, RunInfo
from services.workflows.worker import build_worker, launch

TARGET_STEP_OVERHEAD_MS = 10.0
STEPS = 3
DEFINITION = {
    "name": "Read and notify",
    "base": "Bench",
    "steps": [
        {
            "id": "open",
            "type": "find_records",
            "table": "Tasks",
            "where": [{"field": "Status", "op": "not_equals", "value": "Done"}],
            "fields": ["Name"],
            "limit": 20,
        },
        {"id": "total", "type": "aggregate_records", "table": "Tasks", "metric": "count"},
        {
            "id": "tell",
            "type": "notify",
            "message": "{{ steps.open.count }} of {{ steps.total.count }}",
        },
    ],
}


@contextmanager
def _services(tmp: Path, airtable_url: str) -> Iterator[Services]:
    defaults = load_settings()
    settings = load_settings(
        var_dir=tmp,
        database_url=defaults.database_url or f"sqlite:///{tmp / 'bench.db'}",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        airtable_endpoint_url=airtable_url,
        airtable_token=SecretStr(DEV_TOKEN),
        airtable_requests_per_second=10_000,
        airtable_token_requests_per_second=10_000,
        workflow_worker_concurrency=1,
        workflow_queue_poll_seconds=0.05,
    )
    with bench_services(settings) as services:
        yield services


@contextmanager
def _emulator(tmp: Path) -> Iterator[str]:
    """The emulator in its own process (as `make run` starts it), so its work does not
    share this process's interpreter lock with the steps being timed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "emulator", "--port", str(port), "--seed", "none"]
    process = subprocess.Popen(
        [*command, "--data", str(tmp / "emulator.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/_emulator/health", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _bench_base(url: str) -> None:
    """A base "Bench" with 40 Tasks (each step reads one page)."""
    api = Api(DEV_TOKEN, endpoint_url=url, retry_strategy=None)
    status = {"choices": [{"name": "Todo"}, {"name": "Done"}]}
    base = api.create_base(
        "wspBench",
        "Bench",
        [
            {
                "name": "Tasks",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {"name": "Status", "type": "singleSelect", "options": status},
                ],
            }
        ],
    )
    api.table(base.id, "Tasks").batch_create(
        [{"Name": f"Task {i}", "Status": "Done" if i % 3 else "Todo"} for i in range(40)]
    )


class _Direct:
    """The same step functions, called directly: one run's seconds and notify message."""

    def __init__(self, services: Services, owner_id: int) -> None:
        self._actions = build_worker(services).engine._actions  # unregistered below
        self._owner = owner_id
        self._find = FindRecords.model_validate(DEFINITION["steps"][0])
        self._total = AggregateRecords.model_validate(DEFINITION["steps"][1])
        self._tell = Notify.model_validate(DEFINITION["steps"][2])

    def run(self, n: int) -> tuple[float, str]:
        started = time.perf_counter()
        steps: dict[str, object] = {}
        values = {"inputs": {}, "steps": steps, "run": {"id": f"direct-{n}"}}
        ctx = StepContext(f"direct-{n}", self._owner, "Bench", values)
        steps["open"] = self._actions.find(ctx, self._find)
        steps["total"] = self._actions.aggregate(ctx, self._total)
        message = str(self._actions.notify(ctx, self._tell)["message"])
        return time.perf_counter() - started, message


def _engine_run(services: Services, owner: object, workflow_id: str) -> RunInfo:
    run_id = services.workflow_runs.start(owner, workflow_id, {}).id  # type: ignore[arg-type]
    store = RunStore(services.sql)
    # A status-only read: the worker runs in this process, so a heavier poll would take
    # interpreter time from the run being timed.
    while store.status(run_id) not in FINISHED:
        time.sleep(0.02)
    return store.info(run_id)


def run(runs: int) -> list[Check]:
    """Alternate one direct run and one engine run, so both see the same machine load."""
    from dbos import DBOS

    with (
        tempfile.TemporaryDirectory() as tmp,
        _emulator(Path(tmp)) as emulator_url,
        _services(Path(tmp), emulator_url) as services,
    ):
        _bench_base(emulator_url)
        owner = services.accounts.register(
            email="bench@example.com",
            password="bench horse battery staple",  # noqa: S106
        )
        direct = _Direct(services, owner.id)
        DBOS.destroy(destroy_registry=True)
        workflow = services.workflows.create(owner.id, DEFINITION)
        launch(services, build_worker(services), executor_id="bench")
        direct_times, messages, infos = [], [], []
        started = time.perf_counter()
        try:
            for n in range(runs):
                seconds, message = direct.run(n)
                direct_times.append(seconds)
                messages.append(message)
                infos.append(_engine_run(services, owner, workflow.id))
        finally:
            DBOS.destroy(destroy_registry=True)
        wall = time.perf_counter() - started
    engine_times = [
        (i.finished_at - i.started_at).total_seconds()
        for i in infos
        if i.finished_at and i.started_at
    ]
    direct_median = statistics.median(direct_times)
    engine_median = statistics.median(engine_times)
    overhead_ms = (engine_median - direct_median) / STEPS * 1000
    engine_wall = wall - sum(direct_times)
    print(f"runs: {runs} of a {STEPS}-step read/notify workflow, alternating direct and engine")
    print(
        f"direct: {runs / sum(direct_times):.1f} runs/s, median run {direct_median * 1000:.2f} ms"
    )
    print(
        f"engine: {runs / engine_wall:.1f} runs/s (one at a time, queue included), "
        f"median run {engine_median * 1000:.2f} ms"
    )
    print(f"ratio engine/direct: {engine_median / direct_median:.2f}x")
    print(f"engine overhead per step: {overhead_ms:.2f} ms (target < {TARGET_STEP_OVERHEAD_MS} ms)")
    succeeded = [i for i in infos if i.status == "succeeded"]
    notified = {i.steps[2].summary for i in succeeded}
    return [
        Check(
            f"engine overhead per step {overhead_ms:.2f} ms < {TARGET_STEP_OVERHEAD_MS} ms",
            overhead_ms < TARGET_STEP_OVERHEAD_MS,
        ),
        Check(f"{len(succeeded)} of {runs} runs succeeded", len(succeeded) == runs),
        Check(
            "every run notified what the direct calls found",
            notified == set(messages) and len(notified) == 1,
        ),
        Check("every step ran once", all(s.attempts == 1 for i in succeeded for s in i.steps)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    return finish(run(args.runs))


if __name__ == "__main__":
    sys.exit(main())
