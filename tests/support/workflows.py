"""Workflow test support: a DBOS worker in the test process, a local HTTP receiver that
records what it is sent (and answers what a test tells it), and waiting for runs."""

from __future__ import annotations

import subprocess
import time
import uuid
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
    launch(services, worker, executor_id=f"test-{uuid.uuid4().hex[:8]}")
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


def worker_env(services: Services, **extra: str) -> dict[str, str]:
    """The environment of a `manage.py worker` on the stores and emulator `services` use."""
    import os

    settings = services.settings
    token = settings.airtable_token.get_secret_value() if settings.airtable_token else ""
    return {
        **os.environ,
        "DATABASE_URL": settings.sql_url,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "VAR_DIR": str(settings.var_dir),
        "AIRTABLE_ENDPOINT_URL": settings.airtable_url,
        "AIRTABLE_TOKEN": token,
        "LLM_PROVIDER": "none",
        "WORKFLOW_HTTP_ALLOW_PRIVATE": "true",
        "WORKFLOW_STEP_BACKOFF_SECONDS": "0.05",
        "WORKFLOW_SCHEDULE_POLL_SECONDS": "0.5",
        "WORKFLOW_DBOS_SCHEMA": settings.workflow_dbos_schema,
        **(
            {"WORKFLOW_DATABASE_URL": settings.workflow_database_url}
            if settings.workflow_database_url
            else {}
        ),
        **extra,
    }


def start_worker_process(
    services: Services, worker_id: str, log_path: Any, **extra: str
) -> subprocess.Popen[bytes]:
    """`python manage.py worker --id worker_id` as a real process, logging to `log_path`."""
    import sys

    from tests.support.appserver import PROJECT_ROOT

    log = open(log_path, "ab")  # noqa: SIM115 - the process owns it until it exits
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--id", worker_id],
        cwd=PROJECT_ROOT,
        env=worker_env(services, **extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop_worker_process(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    import signal

    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database on DATABASE_URL's server (or the local one)."""
    import os
    import uuid

    import pytest
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    from config.settings import load_settings
    from services.migrations import upgrade_database

    configured = os.environ.get("DATABASE_URL", "")
    base = configured if configured.startswith("postgres") else POSTGRES_DEFAULT
    server_url = make_url(load_settings(database_url=base).sql_url)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"pa_wf_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        if configured.startswith("postgres"):
            raise  # PostgreSQL was asked for (CI): its absence is a failure, not a skip
        # A fresh machine's `make test` (SQLite, embedded Redis) has no PostgreSQL to use.
        pytest.skip(f"no PostgreSQL server at {server_url.host}:{server_url.port}")
    url = server_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
