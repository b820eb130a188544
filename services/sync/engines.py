"""The SQL engines of sync targets: the app's own database, or any SQLAlchemy URL."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class SqlEngines:
    """One engine per target URL ("" is the app's own), made on first use."""

    def __init__(self, app_engine: Engine) -> None:
        self._app = app_engine
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> Engine:
        if not url:
            return self._app
        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                engine = self._engines[url] = sa.create_engine(url, pool_pre_ping=True)
            return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
