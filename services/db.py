"""SQL engine and session factory: SQLite on a laptop, PostgreSQL at scale, same behaviour."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from services.errors import StoreUnavailableError

logger = logging.getLogger(__name__)


def create_db_engine(url: str) -> Engine:
    """Create the engine for `url`; a SQLite file gets its folder, WAL and foreign keys.

    Args:
        url: A SQLAlchemy URL (`sqlite:///path` or `postgresql+psycopg://...`).

    Returns:
        An engine with a connection pool suited to the backend.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process read while a worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the file and survives any process crash; only a
    # power cut can lose the last commits. It spares an fsync per commit (each ledger row).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def check_database(engine: Engine) -> None:
    """Raise `StoreUnavailableError` unless a trivial query succeeds."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        logger.warning("database check failed: %s", type(exc).__name__)
        raise StoreUnavailableError("database", DATABASE_UNAVAILABLE) from exc


DATABASE_UNAVAILABLE = "The database cannot be reached."


def unavailable_error(exc: BaseException) -> StoreUnavailableError | None:
    """The `StoreUnavailableError` that a SQL failure stands for, or None if it is not an
    outage (a constraint violation or a bad query is a bug, not the database being down).

    Outages: the driver's `OperationalError` (refused, reset or timed-out connections, a
    SQLite file that cannot be opened), any error that invalidated its connection, and a
    pool with no connection to give.
    """
    if isinstance(exc, StoreUnavailableError):
        return exc
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if isinstance(exc, OperationalError | PoolTimeoutError) or lost:
        return StoreUnavailableError("database", DATABASE_UNAVAILABLE)
    return None
