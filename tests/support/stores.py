"""Real SQL and Redis for tests: the servers named by DATABASE_URL/REDIS_URL, or embedded ones."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine, make_url, text

from services.migrations import upgrade_database
from services.redis_store import EmbeddedRedis


@contextmanager
def sql_database(tmp_dir: Path) -> Iterator[str]:
    """A freshly migrated database: a new one on DATABASE_URL's server, else a SQLite file."""
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        url = f"sqlite:///{tmp_dir / 'test.db'}"
        upgrade_database(url)
        yield url
        return
    from config.settings import load_settings

    server_url = make_url(load_settings(database_url=base_url).sql_url)
    name = f"pa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def redis_server(tmp_dir: Path) -> Iterator[str]:
    """REDIS_URL when set, else an embedded server in `tmp_dir` for this test session."""
    url = os.environ.get("REDIS_URL")
    if url:
        redis.Redis.from_url(url).ping()
        yield url
        return
    embedded = EmbeddedRedis(tmp_dir)
    embedded.ensure_running()
    try:
        yield f"unix://{embedded.socket_path}"
    finally:
        embedded.stop()


def delete_prefixed_keys(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
