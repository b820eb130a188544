"""The names the web process and the worker agree on, and the DBOS configuration.

The web process only talks to DBOS through `DBOSClient` with these names; the worker
registers the workflow under `WORKFLOW_NAME` and the queue under `QUEUE_NAME`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    if executor_id:
        config["executor_id"] = executor_id
    return config
