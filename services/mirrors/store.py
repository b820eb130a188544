"""Where mirrored rows live: one SQLite file per base under VAR_DIR (WAL, so the web reads
while the worker writes), or one PostgreSQL database for every base (`MIRROR_DATABASE_URL`,
tables `"<base>_<table>"` in the mirror schema).

Tables are named by table ID and columns by field ID, so a renamed table or field needs no
change here; `guard.py` maps names to these when it rewrites a query.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.db import create_db_engine
from services.errors import InvalidInputError
from services.mirrors.columns import CREATED_COLUMN, ID_COLUMN, row_of, sql_type

logger = logging.getLogger(__name__)

_BASE_ID = re.compile(r"^app[A-Za-z0-9]{14}$")
_TABLE_ID = re.compile(r"^tbl[A-Za-z0-9]{14}$")
_CHUNK = 500


def check_ids(base_id: str, table_id: str | None = None) -> None:
    """Refuse anything but Airtable IDs (they become file and table names)."""
    if not _BASE_ID.match(base_id) or (table_id is not None and not _TABLE_ID.match(table_id)):
        raise InvalidInputError(f"Not an Airtable base/table ID: {base_id} {table_id or ''}")


class MirrorStore:
    """Creates, alters, fills and reads mirror tables.

    Args:
        var_dir: Where the SQLite files go (`<var_dir>/mirrors/<base>.db`).
        url: A PostgreSQL URL for every base's tables, or None for SQLite files.
        schema: The PostgreSQL schema of the mirror tables.
    """

    def __init__(self, *, var_dir: Path, url: str | None, schema: str) -> None:
        self._folder = var_dir / "mirrors"
        self._url = url
        self._schema = schema if url else None
        self._engines: dict[str, sa.Engine] = {}
        self._lock = threading.Lock()
        self.dialect = "postgresql" if url else "sqlite"
        self._reader: str | None = None  # the role queries run as (PostgreSQL)

    # -- engines and names -------------------------------------------------------------

    def path(self, base_id: str) -> Path:
        check_ids(base_id)
        return self._folder / f"{base_id}.db"

    def engine(self, base_id: str) -> sa.Engine:
        key = "" if self._url else base_id
        with self._lock:
            found = self._engines.get(key)
            if found is None:
                if self._url:
                    found = create_db_engine(self._url)
                    with found.begin() as conn:
                        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"'))
                    self._reader = _prepare_reader(found, str(self._schema))
                else:
                    found = create_db_engine(f"sqlite:///{self.path(base_id)}")
                self._engines[key] = found
        return found

    def name(self, base_id: str, table_id: str) -> str:
        """The physical table name (without schema)."""
        check_ids(base_id, table_id)
        return f"{base_id}_{table_id}" if self._url else table_id

    @property
    def schema(self) -> str | None:
        return self._schema

    def _table(self, base_id: str, table_id: str, columns: dict[str, str]) -> sa.Table:
        cols = [
            sa.Column(ID_COLUMN, sa.Text(), primary_key=True),
            sa.Column(CREATED_COLUMN, sql_type("datetime", self.dialect)),
            *(sa.Column(fid, sql_type(kind, self.dialect)) for fid, kind in columns.items()),
        ]
        return sa.Table(self.name(base_id, table_id), sa.MetaData(), *cols, schema=self._schema)

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    # -- schema ------------------------------------------------------------------------

    def sync_columns(
        self, base_id: str, table_id: str, columns: dict[str, str], previous: dict[str, str]
    ) -> list[str]:
        """Make the table have exactly these columns; returns the field IDs added or
        retyped (their values must be copied again). Renames need nothing: columns are IDs."""
        engine = self.engine(base_id)
        name = self.name(base_id, table_id)
        table = self._table(base_id, table_id, columns)
        with engine.begin() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table(name, schema=self._schema):
                conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
                return list(columns)
            existing = {c["name"] for c in inspector.get_columns(name, schema=self._schema)}
            changed = [
                fid for fid, kind in columns.items() if fid in previous and previous[fid] != kind
            ]
            gone = [
                c
                for c in existing - {ID_COLUMN, CREATED_COLUMN}
                if c not in columns or c in changed
            ]
            for column in gone:
                conn.execute(sa.text(f'ALTER TABLE {self._quoted(name)} DROP COLUMN "{column}"'))
            added = [fid for fid in columns if fid not in existing or fid in changed]
            for fid in added:
                ddl = sql_type(columns[fid], self.dialect).compile(dialect=engine.dialect)
                conn.execute(sa.text(f'ALTER TABLE {self._quoted(name)} ADD COLUMN "{fid}" {ddl}'))
        return added

    def drop(self, base_id: str, table_id: str) -> None:
        name = self.name(base_id, table_id)
        with self.engine(base_id).begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {self._quoted(name)}"))

    def _quoted(self, name: str) -> str:
        return f'"{self._schema}"."{name}"' if self._schema else f'"{name}"'

    # -- rows --------------------------------------------------------------------------

    def upsert(
        self,
        base_id: str,
        table_id: str,
        columns: dict[str, str],
        records: Sequence[Any],
        *,
        partial: bool = False,
    ) -> int:
        """Insert or replace records (fields keyed by field ID); `partial` updates only the
        cells each record carries (webhook payloads)."""
        if not records:
            return 0
        table = self._table(base_id, table_id, columns)
        rows = [row_of(r, columns, self.dialect, partial=partial) for r in records]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(sorted(row)), []).append(row)
        make = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.engine(base_id).begin() as conn:
            for keys, batch in groups.items():
                statement = make(table)
                updates = {k: statement.excluded[k] for k in keys if k != ID_COLUMN}
                if updates:
                    statement = statement.on_conflict_do_update(
                        index_elements=[ID_COLUMN], set_=updates
                    )
                else:
                    statement = statement.on_conflict_do_nothing(index_elements=[ID_COLUMN])
                for start in range(0, len(batch), _CHUNK):
                    conn.execute(statement, batch[start : start + _CHUNK])
        return len(rows)

    def delete(self, base_id: str, table_id: str, ids: Iterable[str]) -> int:
        gone = list(ids)
        if not gone:
            return 0
        table = self._table(base_id, table_id, {})
        deleted = 0
        with self.engine(base_id).begin() as conn:
            for start in range(0, len(gone), _CHUNK):
                chunk = gone[start : start + _CHUNK]
                result = conn.execute(table.delete().where(table.c[ID_COLUMN].in_(chunk)))
                deleted += result.rowcount or 0
        return deleted

    def ids(self, base_id: str, table_id: str) -> set[str]:
        table = self._table(base_id, table_id, {})
        with self.engine(base_id).connect() as conn:
            return set(conn.scalars(sa.select(table.c[ID_COLUMN])))

    def count(self, base_id: str, table_id: str) -> int:
        table = self._table(base_id, table_id, {})
        with self.engine(base_id).connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)

    def exists(self, base_id: str, table_id: str) -> bool:
        if self.dialect == "sqlite" and not self.path(base_id).exists():
            return False
        with self.engine(base_id).connect() as conn:
            return sa.inspect(conn).has_table(self.name(base_id, table_id), schema=self._schema)

    # -- reads for queries -------------------------------------------------------------

    @contextmanager
    def postgres_connection(self, base_id: str, *, timeout_seconds: float) -> Iterator[Any]:
        """A DB-API connection of the PostgreSQL mirror database for one query: in a
        read-only transaction, stopped after `timeout_seconds`, as the reader role (which
        may read the mirror schema's tables only, never the app's own), rolled back."""
        engine = self.engine(base_id)
        with engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            try:
                with raw.cursor() as cursor:
                    cursor.execute("SET TRANSACTION READ ONLY")
                    cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}")
                    if self._reader:
                        cursor.execute(f'SET LOCAL ROLE "{self._reader}"')
                yield raw
            finally:
                raw.rollback()


def reader_role(schema: str) -> str:
    """The role mirror queries run as: it may read the tables of `schema` and nothing of
    the app's (PostgreSQL roles are the cluster's; grants are each database's own)."""
    return f"{schema}_reader"[:63]


def _prepare_reader(engine: sa.Engine, schema: str) -> str | None:
    """Make the reader role and its grants (idempotent; several processes may race), and
    check this connection's user may become it. None (with a warning) when the database
    user may not create roles: then the query check is the only barrier."""
    role = reader_role(schema)
    statements = [
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" NOLOGIN;
              END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$""",
        f"""DO $$ BEGIN
              IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', '{role}', current_user);
              END IF;
            END $$""",
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT ON TABLES TO "{role}"',
    ]
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
                conn.execute(sa.text(f'SET LOCAL ROLE "{role}"'))
            return role
        except sa.exc.DBAPIError as exc:
            if attempt < 2 and "concurrently" in str(exc):
                continue  # another process granted at the same moment
            logger.warning(
                "mirror queries run as the app's database user: the reader role %s could "
                "not be set up (%s); the query check is the only barrier",
                role,
                str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__,
            )
            return None
    return None
