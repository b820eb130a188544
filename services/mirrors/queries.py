"""`query_records`: one checked, read-only SQL query over a base's mirrored tables.

Access follows Airtable access: the person's own connection must see the base
(`gateway.require_base`) before anything is read. Every answer says how fresh the copy is.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.airtable.gateway import AirtableGateway
from services.errors import InvalidInputError
from services.mirrors.guard import MirroredTable, QueryRefusedError, check_query
from services.mirrors.registry import MirrorRegistry, TableState
from services.mirrors.sqlite_reads import read_only
from services.mirrors.store import MirrorStore
from services.orm import utcnow

logger = logging.getLogger(__name__)
Rows = tuple[list[str], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Freshness:
    """How far a mirror is behind Airtable: everything Airtable held at `as_of` is in."""

    as_of: datetime | None
    behind_seconds: float | None
    behind: bool  # later than the sweep should ever be: Airtable unreachable, or failing
    problem: str = ""

    def text(self) -> str:
        if self.as_of is None or self.behind_seconds is None:
            return "mirror not synced yet"
        note = f"as of {self.as_of:%H:%M:%S} UTC, {self.behind_seconds:.0f} s behind Airtable"
        if self.behind:
            note += (
                "; WARNING: this mirror is falling behind"
                + (f" ({self.problem})" if self.problem else "")
                + ", recent changes may be missing"
            )
        return note


@dataclass
class QueryAnswer:
    base_id: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    freshness: Freshness
    tables: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0


def freshness_of(states: list[TableState], *, behind_after: float) -> Freshness:
    """The oldest table's freshness (a query over several is as fresh as the stalest)."""
    synced = [s.synced_at for s in states]
    if not states or any(s is None for s in synced):
        return Freshness(None, None, True, "not built yet")
    as_of = min(s for s in synced if s is not None)
    behind = max(0.0, (utcnow() - as_of).total_seconds())
    problem = next((s.error for s in states if s.error), "")
    return Freshness(as_of, behind, behind > behind_after or bool(problem), problem)


class MirrorQueries:
    """Runs checked queries against the mirrors, for people whose connection sees the base."""

    def __init__(
        self,
        gateway: AirtableGateway,
        store: MirrorStore,
        registry: MirrorRegistry,
        *,
        max_rows: int,
        timeout_seconds: float,
        behind_after_seconds: float,
    ) -> None:
        self._gateway = gateway
        self._store = store
        self._registry = registry
        self._max_rows = max_rows
        self._timeout = timeout_seconds
        self._behind_after = behind_after_seconds

    @property
    def dialect(self) -> str:
        return "postgres" if self._store.dialect == "postgresql" else "sqlite"

    def mirrored(self, user_id: int, base_id: str) -> list[TableState]:
        """The base's ready mirrored tables, if the user's connection sees the base."""
        self._gateway.require_base(user_id, base_id)
        return [
            s
            for s in self._registry.tables(base_id, enabled_only=True)
            if s.synced_at is not None and s.columns
        ]

    def run(
        self, user_id: int, base_id: str, sql: str, *, max_rows: int | None = None
    ) -> QueryAnswer:
        """Check, rewrite and run one SELECT; `QueryRefusedError` when it is not allowed.

        Raises:
            NotAllowedError: the user's connection does not see the base.
            QueryRefusedError: not one read-only SELECT over mirrored tables, or too slow.
        """
        states = self.mirrored(user_id, base_id)
        if not states:
            raise InvalidInputError(
                f"Base {base_id} has no mirrored tables yet: use search_records or "
                "aggregate_records (an admin can turn a mirror on in Bases)."
            )
        schema = self._gateway.schema(user_id, base_id)
        tables = []
        for state in states:
            found = schema.table_by_id(state.table_id)
            if found is not None:
                physical = self._store.name(base_id, state.table_id)
                tables.append(MirroredTable(found, physical, self._store.schema, state.columns))
        mirrored_ids = {s.table_id for s in states}
        unmirrored = [t.name for t in schema.tables if t.id not in mirrored_ids]
        checked = check_query(sql, tables, dialect=self.dialect, unmirrored=unmirrored)
        limit = min(max_rows or self._max_rows, self._max_rows)
        started = time.monotonic()
        readable = [t.physical for t in tables if t.table.id in checked.table_ids]
        columns, rows = self._execute(base_id, checked.sql, readable, limit)
        elapsed = (time.monotonic() - started) * 1000
        used = [s for s in states if s.table_id in checked.table_ids]
        logger.info(
            "mirror query on %s: %d tables, %d rows in %.0f ms",
            base_id,
            len(used),
            len(rows),
            elapsed,
        )
        return QueryAnswer(
            base_id,
            columns,
            rows[:limit],
            len(rows) > limit,
            freshness_of(used or states, behind_after=self._behind_after),
            [s.name for s in used],
            elapsed,
        )

    def _execute(self, base_id: str, sql: str, tables: list[str], limit: int) -> Rows:
        if self._store.dialect == "sqlite":
            return self._sqlite(base_id, sql, tables, limit)
        return self._postgres(base_id, sql, limit)

    def _sqlite(self, base_id: str, sql: str, tables: list[str], limit: int) -> Rows:
        path = self._store.path(base_id)
        try:
            with read_only(path, tables=tables, timeout_seconds=self._timeout) as conn:
                cursor = conn.execute(sql)
                rows = cursor.fetchmany(limit + 1)
                return [d[0] for d in cursor.description or []], rows
        except sqlite3.OperationalError as exc:
            raise QueryRefusedError(_sqlite_message(exc, self._timeout)) from exc
        except sqlite3.DatabaseError as exc:
            raise QueryRefusedError(f"The query failed: {str(exc).splitlines()[0]}") from exc

    def _postgres(self, base_id: str, sql: str, limit: int) -> Rows:
        import psycopg

        try:
            with (
                self._store.postgres_connection(base_id, timeout_seconds=self._timeout) as conn,
                conn.cursor() as cursor,
            ):
                cursor.execute(sql)
                rows = cursor.fetchmany(limit + 1)
                names = [d.name for d in cursor.description or []]
                return names, [tuple(_plain(v) for v in r) for r in rows]
        except psycopg.errors.QueryCanceled as exc:
            raise QueryRefusedError(_slow(self._timeout)) from exc
        except psycopg.Error as exc:
            first = (str(exc).splitlines() or ["error"])[0]
            raise QueryRefusedError(f"The query failed: {first}") from exc


def _plain(value: Any) -> Any:
    """PostgreSQL's numeric (AVG of integers, ROUND(x::numeric)) as the float SQLite gives:
    the tool's text and JSON artifact show 158.475, not Decimal('158.4750000000000000')."""
    return float(value) if isinstance(value, Decimal) else value


def _slow(timeout: float) -> str:
    return (
        f"The query ran over the {timeout:g} s limit and was stopped: filter first, "
        "avoid cross joins, aggregate instead of listing."
    )


def _sqlite_message(exc: sqlite3.OperationalError, timeout: float) -> str:
    text = str(exc)
    if "interrupted" in text:
        return _slow(timeout)
    if "not authorized" in text:
        return "The query uses something that is not allowed (only reading the mirrored tables)."
    if "too big" in text:
        return "A value in the query grew too large."
    if "user-defined function raised" in text:
        return (
            "The query failed: a function was given a value it cannot take (TO_CHAR and the "
            "date functions take dates; round a number with ROUND(x, 2))."
        )
    return f"The query failed: {text.splitlines()[0] if text else 'error'}"
