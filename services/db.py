"""SQL engine and session factory: SQLite on a laptop, PostgreSQL at scale, same behaviour."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError, SQLAlchemyError
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
        engine = create_engine(url, pool_size=5, max_overflow=10)
        _ping_when_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0
"""A pooled connection back in use within this many seconds is not pinged on checkout."""

_USED_AT = "used_at"


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout when it has been idle for a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip before every
    statement of a busy process (a model call's ledger row is one statement). A connection
    that was in use a moment ago is as good as pinged; one idle longer (where a restarted
    server, an idle timeout or a firewall has most likely dropped it) is pinged, and a dead
    one is replaced before it is handed out. A server restarted within the last moment is
    found by the statement itself: SQLAlchemy then discards every older pooled connection
    (the ledger write retries once on a fresh one, see `services.budget.ledger`).
    """

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get(_USED_AT)
        if used_at is not None and time.monotonic() - used_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                # As a failed pre-ping: every older pooled connection goes too.
                raise InvalidatePoolError("connection lost while idle") from exc
            raise

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info[_USED_AT] = time.monotonic()


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


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """Hold around a hot write transaction: on SQLite, one writer of this process at a time.

    SQLite lets one connection write at once and makes the others wait in its busy handler,
    which sleeps 1, 2, 5, 10 ... up to 100 ms between tries: under load a writer sleeps long
    after the lock came free (the load bench saw a dozen chat turns asleep in ledger
    writes). Waiting on a lock of this process instead hands the file over at once. Other
    processes still meet the busy handler. PostgreSQL needs nothing: a no-op there.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.Lock()
    return lock


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
