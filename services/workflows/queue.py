"""The names the web process and the worker agree on, and the DBOS configuration.

The web process only talks to DBOS through `DBOSClient` with these names; the worker
registers the workflow under `WORKFLOW_NAME` and the queue under `QUEUE_NAME`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from config.settings import Settings

APP_NAME = "pyairtable-assistant"
# Pinned so every worker (and every deploy of the same engine) picks up every queued run;
# bump it only when the step sequence of the engine changes incompatibly.
APP_VERSION = "workflows-1"
QUEUE_NAME = "workflow_runs"
WORKFLOW_NAME = "workflow_run"
APPROVAL_TOPIC = "approval"


def prepare_system_database(url: str) -> None:
    """Create the folder of a SQLite system database (DBOS creates the file itself)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def sqlite_system_engine(url: str) -> sa.Engine | None:
    """For a SQLite system database, an engine in WAL mode with `synchronous=NORMAL` (as the
    app's own SQLite): durable across a killed process, without an fsync per checkpoint,
    which on a plain disk costs more than the step. None for PostgreSQL."""
    if not url.startswith("sqlite"):
        return None
    prepare_system_database(url)
    engine = sa.create_engine(url, pool_size=20, max_overflow=0, pool_timeout=30)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # As DBOS's own SQLite engine: IMMEDIATE transactions serialise writers.
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def dbos_config(settings: Settings, *, executor_id: str | None = None) -> dict[str, Any]:
    """The `DBOS(config=...)` of a worker."""
    prepare_system_database(settings.workflow_system_url)
    config: dict[str, Any] = {
        "name": APP_NAME,
        "system_database_url": settings.workflow_system_url,
        "application_version": APP_VERSION,
        "dbos_system_schema": settings.workflow_dbos_schema,
        "log_level": settings.log_level,
        "scheduler_polling_interval_sec": settings.workflow_schedule_poll_seconds,
        "notification_listener_polling_interval_sec": 0.2,
    }
    engine = sqlite_system_engine(settings.workflow_system_url)
    if engine is not None:
        config["system_database_engine"] = engine
    if executor_id:
        config["executor_id"] = executor_id
    return config
