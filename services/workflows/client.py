"""The web side's one `DBOSClient`, made on first use (after creating the DBOS system
tables if no worker has yet), so building the services never needs the system database."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import sqlalchemy as sa

from config.settings import Settings
from services.errors import StoreUnavailableError
from services.workflows.queue import prepare_system_database, sqlite_system_engine

if TYPE_CHECKING:
    from dbos import DBOSClient


class EngineClient:
    """Callable that returns the shared `DBOSClient` (thread-safe, created once)."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.workflow_system_url
        self._schema = settings.workflow_dbos_schema
        self._client: DBOSClient | None = None
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()

    def __call__(self) -> DBOSClient:
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is None:
                from dbos import DBOS, DBOSClient

                try:
                    prepare_system_database(self._url)
                    DBOS.migrate(self._url, schema=self._schema)
                    self._engine = sqlite_system_engine(self._url)
                    self._client = DBOSClient(
                        system_database_url=self._url,
                        system_database_engine=self._engine,
                        dbos_system_schema=self._schema,
                    )
                except Exception as exc:  # the driver's own errors, whichever database
                    raise StoreUnavailableError(
                        "workflows", "The workflow engine's database cannot be reached."
                    ) from exc
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.destroy()
            self._client = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
