"""The usage ledger: one SQL row per model call, keyed by its request id.

Writes are insert-or-ignore, so a retried settle never records a call twice. The one
exception is a row the reaper wrote for a call it presumed dead (`expired`): when that
call's own settle arrives after all, its actual figures replace the estimate. Each write
updates the daily rollup (services/budget/rollup.py) in the same transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Select, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine.interfaces import Compiled
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from config.logging import current_trace
from services.budget import rollup
from services.budget.orm import LedgerEntry
from services.budget.types import CallStatus
from services.db import write_lock
from services.errors import ConfigurationError


@dataclass(frozen=True)
class LedgerRecord:
    """The figures of one model call, as written to the ledger."""

    request_id: str
    user_id: int | None
    purpose: str
    ref_type: str | None
    ref_id: str | None
    provider: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    reserved_nusd: int
    cost_nusd: int
    latency_ms: int
    status: CallStatus
    created_at: datetime

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Totals:
    """Money and tokens summed over ledger rows."""

    nusd: int
    tokens: int


_COLUMNS = [f.name for f in fields(LedgerRecord)]
_KEPT_ON_REPLACE = ("request_id", "created_at")


@functools.cache
def _insert_or_ignore(dialect: str) -> Insert:
    """The ledger insert for `dialect`, built once with bind parameters (every model call
    writes one row, so each write only binds values to an already compiled statement)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LedgerEntry).values({c: bindparam(c) for c in (*_COLUMNS, "trace_id")})
    # RETURNING tells whether the row was written (rowcount is not reliable on every driver).
    return statement.on_conflict_do_nothing(index_elements=["request_id"]).returning(LedgerEntry.id)


@functools.cache
def _written_with_rollup(*, with_ref: bool) -> Select[Any]:
    """PostgreSQL: the ledger insert and its rollup adds as one statement (one round trip).

    The statement is its own transaction, and it commits without waiting for the WAL
    flush (`synchronous_commit` off for this transaction only, set by the row it
    returns). The Redis counters, not the ledger, enforce the budgets, and they counted
    the call before this row: a PostgreSQL crash can lose the rows of its last fraction
    of a second from the ledger and the cost reports (never a torn or half-written row),
    while the budgets stay as counted. See "Budget guard" in the README.
    """
    written = _insert_or_ignore("postgresql").cte("written")
    statement = rollup.with_rollup(written, with_ref=with_ref)
    return statement.add_columns(func.set_config("synchronous_commit", "off", True))


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once to the driver's SQL, with what binding a value needs."""

    sql: str
    compiled: Compiled
    processors: dict[str, Callable[[Any], Any]]
    positions: tuple[str, ...] = ()
    """The parameters' names in the order of the `?` marks (a positional paramstyle)."""

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        params = dict(self.compiled.construct_params(values) or {})
        for name, process in self.processors.items():
            params[name] = process(params[name])
        return params

    def positional(self, values: dict[str, Any]) -> tuple[Any, ...]:
        """The parameters in the order of the statement's `?` marks (SQLite)."""
        params = self.params(values)
        return tuple(params[name] for name in self.positions)


def _compiled(statement: Any, dialect: Any) -> _DriverStatement:
    compiled = statement.compile(dialect=dialect)
    processors: dict[str, Callable[[Any], Any]] = {
        name: process
        for bind, name in compiled.bind_names.items()
        if (process := bind.type.bind_processor(dialect)) is not None
    }
    positions = tuple(getattr(compiled, "positiontup", None) or ())
    return _DriverStatement(str(compiled), compiled, processors, positions)


@functools.cache
def _driver_statement(*, with_ref: bool) -> _DriverStatement:
    """`_written_with_rollup` in psycopg's SQL."""
    return _compiled(_written_with_rollup(with_ref=with_ref), psycopg.dialect())


@functools.cache
def _sqlite_statements() -> tuple[_DriverStatement, tuple[_DriverStatement, ...]]:
    """The ledger insert and the three rollup adds in pysqlite's SQL (`?` parameters)."""
    dialect = pysqlite.dialect()
    adds = tuple(_compiled(add, dialect) for add in rollup.upserts("sqlite"))
    return _compiled(_insert_or_ignore("sqlite"), dialect), adds


def record_call(sessions: sessionmaker[Session], record: LedgerRecord) -> None:
    """Write `record` unless its request id is already there (then only an `expired`
    row is replaced), and add what changed to the daily rollup in the same transaction.

    Only the insert that really wrote the row adds it to the rollup: a duplicate settle
    inserts nothing (no row returned), however many race. On PostgreSQL the insert and the
    three rollup adds are one statement, sent in one round trip; on SQLite (in-process,
    no round trips) four statements in one transaction.
    """
    values = {c: getattr(record, c) for c in _COLUMNS}
    values["status"] = record.status.value
    values["trace_id"] = current_trace()
    engine = _engine(sessions)
    if engine.dialect.name == "postgresql":
        if engine.dialect.driver != "psycopg":
            raise ConfigurationError(
                "PostgreSQL is reached through psycopg (postgresql+psycopg://)."
            )
        params, with_ref = rollup.rollup_params(_rolled(record))
        written = _write_on_server(engine, {**values, **params}, with_ref=with_ref)
        if not written and record.status is not CallStatus.EXPIRED:
            with engine.begin() as connection:
                _replace_expired(connection, record, values)
        return
    with write_lock(engine):
        if _write_on_sqlite(engine, record, values) or record.status is CallStatus.EXPIRED:
            return
        # The row was there: replace it if the reaper wrote it (a rare path, kept simple).
        with engine.begin() as connection:
            if connection.execute(_insert_or_ignore("sqlite"), values).first() is None:
                _replace_expired(connection, record, values)
            else:
                rollup.add_call(connection, _rolled(record))


def _write_on_sqlite(engine: Engine, record: LedgerRecord, values: dict[str, Any]) -> bool:
    """Insert the row and, if it was written, its rollup adds, in one transaction straight
    on the driver's connection (statements compiled once); True when the row was written.

    SQLAlchemy's execution layer (its contexts, result objects and events around each of
    the four statements) cost more than SQLite's own work on them. The caller holds the
    process's write lock.
    """
    insert, adds = _sqlite_statements()
    pooled = engine.raw_connection()
    try:
        connection = pooled.driver_connection
        if connection is None:
            raise ConfigurationError("The pool handed out a closed connection.")
        try:
            cursor = connection.cursor()
            written = cursor.execute(insert.sql, insert.positional(values)).fetchone()
            if written is not None:
                day, ref, life = rollup.sums(_rolled(record), 1)
                cursor.execute(adds[0].sql, adds[0].positional(day))
                if ref is not None and life is not None:
                    cursor.execute(adds[1].sql, adds[1].positional(ref))
                    cursor.execute(adds[2].sql, adds[2].positional(life))
            connection.commit()
        except engine.dialect.loaded_dbapi.Error as exc:
            connection.rollback()
            raise DBAPIError.instance(
                insert.sql, None, exc, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
            ) from exc
        return written is not None
    finally:
        pooled.close()


def _write_on_server(engine: Engine, values: dict[str, Any], *, with_ref: bool) -> bool:
    """Run the one-statement ledger write on PostgreSQL; True when the row was written.

    The statement goes straight to the driver's connection, as its own transaction
    (autocommit: no BEGIN and COMMIT round trips) and prepared on the server after a few
    uses (psycopg's `prepare_threshold`): SQLAlchemy's execution layer, with its
    isolation-level switch around an autocommit connection, cost several times the
    round trip. A connection found dead is discarded and the write retried once on a
    fresh one; the write is idempotent (insert-or-ignore by request id).
    """
    statement = _driver_statement(with_ref=with_ref)
    params = statement.params(values)
    for attempt in (1, 2):
        pooled = engine.raw_connection()
        connection = pooled.driver_connection
        if connection is None:
            pooled.close()
            raise ConfigurationError("The pool handed out a closed connection.")
        try:
            connection.autocommit = True
            try:
                row = connection.execute(statement.sql, params).fetchone()
            finally:
                if not connection.closed:
                    connection.autocommit = False
            return row is not None
        except engine.dialect.loaded_dbapi.Error as exc:
            lost = engine.dialect.is_disconnect(exc, connection, None)
            if lost:
                pooled.invalidate(exc)
            if not lost or attempt == 2:
                raise DBAPIError.instance(
                    statement.sql,
                    params,
                    exc,
                    engine.dialect.loaded_dbapi.Error,
                    connection_invalidated=lost,
                    dialect=engine.dialect,
                ) from exc
        finally:
            pooled.close()
    raise AssertionError("unreachable")


def _replace_expired(connection: Connection, record: LedgerRecord, values: dict[str, Any]) -> None:
    # An expired row is never changed but by this replacement: the row read under its lock
    # (PostgreSQL; SQLite holds the write lock since the insert) is exactly what is replaced.
    expired = (LedgerEntry.request_id == record.request_id) & (
        LedgerEntry.status == CallStatus.EXPIRED.value
    )
    old = connection.execute(
        select(*(getattr(LedgerEntry, c) for c in _ROLLED)).where(expired).with_for_update()
    ).one_or_none()
    if old is None:
        return
    changed = {c: v for c, v in values.items() if c not in _KEPT_ON_REPLACE}
    connection.execute(update(LedgerEntry).where(expired).values(changed))
    rollup.remove_call(connection, rollup.RolledCall(**old._asdict()))
    rollup.add_call(connection, _rolled(record))


_ROLLED = [f.name for f in fields(rollup.RolledCall)]


def _rolled(record: LedgerRecord) -> rollup.RolledCall:
    return rollup.RolledCall(**{c: getattr(record, c) for c in _ROLLED})


def _engine(sessions: sessionmaker[Session]) -> Engine:
    # A plain connection skips the ORM session's bookkeeping, most of a ledger write's cost.
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise ConfigurationError("The session factory is not bound to an engine.")
    return bind


def find_call(sessions: sessionmaker[Session], request_id: str) -> LedgerEntry | None:
    """The ledger row of `request_id`, if one was written."""
    with sessions() as session:
        return session.scalars(
            select(LedgerEntry).where(LedgerEntry.request_id == request_id)
        ).one_or_none()


def totals_by_user(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime
) -> dict[int | None, Totals]:
    """Cost and tokens per user (None: deleted users) of calls reserved in [start, end)."""
    tokens = LedgerEntry.input_tokens + LedgerEntry.output_tokens
    query = (
        select(
            LedgerEntry.user_id,
            func.coalesce(func.sum(LedgerEntry.cost_nusd), 0),
            func.coalesce(func.sum(tokens), 0),
        )
        .where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        .group_by(LedgerEntry.user_id)
    )
    with sessions() as session:
        return {
            user_id: Totals(nusd=int(nusd), tokens=int(toks))
            for user_id, nusd, toks in session.execute(query)
        }


def totals_for_ref(
    sessions: sessionmaker[Session], *, ref_type: str, ref_id: str, since: datetime
) -> Totals:
    """Cost and tokens of the calls made for one conversation/prompt/run since `since`."""
    tokens = LedgerEntry.input_tokens + LedgerEntry.output_tokens
    query = select(
        func.coalesce(func.sum(LedgerEntry.cost_nusd), 0), func.coalesce(func.sum(tokens), 0)
    ).where(
        LedgerEntry.ref_type == ref_type,
        LedgerEntry.ref_id == ref_id,
        LedgerEntry.created_at >= since,
    )
    with sessions() as session:
        nusd, toks = session.execute(query).one()
    return Totals(nusd=int(nusd), tokens=int(toks))
