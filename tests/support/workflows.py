"""Workflow test support: a DBOS worker in the test process, a local HTTP receiver that
records what it is sent (and answers what a test tells it), and waiting for runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.container import Services
from services.workflows.types import FINISHED, RunInfo
from services.workflows.worker import Worker, build_worker, launch
from tests.support.thread_server import ThreadedServer


@dataclass
class Receiver:
    """What the receiver got, and what it answers next (`status`, per path)."""

    server: ThreadedServer
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def paths(self) -> list[str]:
        return [r["path"] for r in self.received]


@contextmanager
def run_receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    async def receive(request: Request) -> JSONResponse:
        receiver = holder[0]
        body = await request.body()
        receiver.received.append(
            {"path": request.url.path, "method": request.method, "body": body.decode()}
        )
        status = receiver.statuses.get(request.url.path, 200)
        return JSONResponse({"ok": status < 400}, status_code=status)

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["GET", "POST", "PUT"])])
    with ThreadedServer(app) as server:
        holder.append(Receiver(server))
        yield holder[0]


@dataclass
class WorkerHandle:
    services: Services
    worker: Worker


@contextmanager
def in_process_worker(services: Services, **kwargs: Any) -> Iterator[WorkerHandle]:
    """DBOS launched in this process over `services` (its system database under VAR_DIR)."""
    from dbos import DBOS

    worker = build_worker(services, **kwargs)
    launch(services, worker, executor_id="test-worker")
    try:
        yield WorkerHandle(services, worker)
    finally:
        DBOS.destroy(destroy_registry=True, workflow_completion_timeout_sec=0)


def wait_for_run(
    services: Services, run_id: str, *, statuses: frozenset[str] = FINISHED, timeout: float = 60
) -> RunInfo:
    """The run once its status is one of `statuses` (default: finished)."""
    store = services.workflow_runs
    deadline = time.monotonic() + timeout
    while True:
        run = store._store.info(run_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run.status} after {timeout}s: {run}")
        time.sleep(0.1)
