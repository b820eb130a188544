"""The SQL side of a sync job: one table, read by what changed since the last run and
written row by row in transactions.

Change detection is either an `updated_at` column (rows at or after the cursor are read
again; deletes are found by comparing the table's keys with the snapshots), or a change
table that triggers fill (`_sync_changes_<table>`: one row per insert, update or delete,
numbered), which the app creates on request for PostgreSQL and SQLite.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.errors import InvalidInputError

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class SqlRow:
    key: str
    values: dict[str, Any]  # raw column values, by column name
    modified: datetime | None


@dataclass(frozen=True)
class SqlChanges:
    rows: dict[str, SqlRow]  # changed rows that exist, by key
    deleted: set[str]  # keys of rows gone (change table mode only; else from a key scan)
    cursor: str


def change_table_name(table: str) -> str:
    return f"_sync_changes_{table}"


def column_type(column: sa.Column[Any]) -> str:
    """A column's type by its generic name: `integer`, `text`, `datetime_tz`, `json`, ..."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return "datetime_tz" if kind.timezone else "datetime"
    if isinstance(kind, sa.JSON):
        return "json"
    try:
        generic = kind.as_generic()
    except NotImplementedError:
        return type(kind).__name__.lower()
    return type(generic).__name__.lower()


class SqlTable:
    """One table reached through `engine`; `key` is its single-column primary key."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        *,
        key: str,
        detection: str,
        updated_at: str = "",
    ) -> None:
        for value in (name, key, *([updated_at] if updated_at else [])):
            if not _NAME.match(value):
                raise InvalidInputError(f"{value!r} is not a plain SQL table or column name.")
        self.engine = engine
        self.name = name
        self.key = key
        self.detection = detection
        self.updated_at = updated_at
        self._table: sa.Table | None = None

    @property
    def table(self) -> sa.Table:
        if self._table is None:
            self._table = sa.Table(self.name, sa.MetaData(), autoload_with=self.engine)
        return self._table

    def columns(self) -> dict[str, str]:
        """Every column with its generic type name."""
        return {c.name: column_type(c) for c in self.table.columns}

    def is_unique(self, column: str) -> bool:
        """True when `column` is the primary key, has a unique constraint or index, or
        (lacking both) holds no repeated non-null value today."""
        table = self.table
        if column in {c.name for c in table.primary_key.columns} and len(table.primary_key) == 1:
            return True
        inspector = sa.inspect(self.engine)
        named: list[list[str | None]] = [
            list(u["column_names"]) for u in inspector.get_unique_constraints(self.name)
        ]
        named += [list(i["column_names"]) for i in inspector.get_indexes(self.name) if i["unique"]]
        if [column] in named:
            return True
        col = table.c[column]
        query = (
            sa.select(col).where(col.is_not(None)).group_by(col).having(sa.func.count() > 1)
        ).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is None

    # -- reading -----------------------------------------------------------------------

    def all_rows(self) -> dict[str, SqlRow]:
        with self.engine.connect() as conn:
            return {r.key: r for r in self._rows(conn, sa.select(self.table))}

    def all_keys(self) -> set[str]:
        with self.engine.connect() as conn:
            return {str(k) for k in conn.execute(sa.select(self.table.c[self.key])).scalars()}

    def fetch(self, keys: Iterable[str]) -> dict[str, SqlRow]:
        wanted = [self._key_value(k) for k in keys]
        found: dict[str, SqlRow] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = sa.select(self.table).where(self.table.c[self.key].in_(chunk))
                found.update((r.key, r) for r in self._rows(conn, query))
        return found

    def changes_since(self, cursor: str) -> SqlChanges:
        """Rows changed since `cursor` ("" for none yet: every row) and the next cursor."""
        if self.detection == "change_table":
            return self._from_change_table(cursor)
        column = self.table.c[self.updated_at]
        query = sa.select(self.table)
        if cursor:
            query = query.where(column >= self._stamp(datetime.fromisoformat(cursor)))
        with self.engine.connect() as conn:
            rows = {r.key: r for r in self._rows(conn, query)}
        stamps = [r.modified for r in rows.values() if r.modified is not None]
        latest = max(stamps).isoformat() if stamps else cursor
        return SqlChanges(rows, set(), latest)

    def _from_change_table(self, cursor: str) -> SqlChanges:
        log = sa.Table(change_table_name(self.name), sa.MetaData(), autoload_with=self.engine)
        after = int(cursor or 0)
        query = (
            sa.select(log.c.row_key, sa.func.max(log.c.seq), sa.func.max(log.c.changed_at))
            .where(log.c.seq > after)
            .group_by(log.c.row_key)
        )
        with self.engine.connect() as conn:
            touched = {str(k): (seq, _aware(at)) for k, seq, at in conn.execute(query)}
        rows = self.fetch(touched) if cursor else self.all_rows()
        for key, row in rows.items():
            if key in touched:
                rows[key] = SqlRow(key, row.values, touched[key][1])
        latest = max((seq for seq, _ in touched.values()), default=after)
        return SqlChanges(rows, set(touched) - set(rows), str(latest))

    def _rows(self, conn: sa.Connection, query: sa.Select[Any]) -> Iterable[SqlRow]:
        for row in conn.execute(query).mappings():
            values = dict(row)
            modified = _aware(values.get(self.updated_at)) if self.updated_at else None
            yield SqlRow(str(values[self.key]), values, modified)

    # -- writing -----------------------------------------------------------------------

    def write(
        self,
        *,
        inserts: Sequence[Mapping[str, Any]] = (),
        updates: Mapping[str, Mapping[str, Any]] | None = None,
        deletes: Sequence[str] = (),
    ) -> list[str]:
        """One transaction; returns the keys of inserted rows, in order."""
        table, key = self.table, self.table.c[self.key]
        stamp = {self.updated_at: self._stamp(datetime.now(UTC))} if self.updated_at else {}
        created: list[str] = []
        with self.engine.begin() as conn:
            if inserts:
                # One statement for many rows, keys returned in the order given.
                statement = sa.insert(table).returning(key, sort_by_parameter_order=True)
                result = conn.execute(statement, [{**values, **stamp} for values in inserts])
                created = [str(k) for k in result.scalars()]
            for row_key, values in (updates or {}).items():
                conn.execute(
                    sa.update(table)
                    .where(key == self._key_value(row_key))
                    .values({**values, **stamp})
                )
            if deletes:
                conn.execute(sa.delete(table).where(key.in_([self._key_value(k) for k in deletes])))
        return created

    def _stamp(self, moment: datetime) -> datetime:
        """A UTC moment as the `updated_at` column holds it (naive columns hold UTC)."""
        aware = column_type(self.table.c[self.updated_at]) == "datetime_tz"
        return moment if aware else moment.astimezone(UTC).replace(tzinfo=None)

    def _key_value(self, key: str) -> Any:
        return int(key) if column_type(self.table.c[self.key]).endswith("integer") else key

    # -- change table ------------------------------------------------------------------

    def install_change_table(self) -> None:
        """Create the change table and its triggers (PostgreSQL or SQLite); idempotent."""
        # The names are checked against `_NAME` in the constructor: no injection through them.
        dialect = self.engine.dialect.name
        log, table, key = change_table_name(self.name), self.name, self.key
        if dialect == "sqlite":
            statements = [
                f'CREATE TABLE IF NOT EXISTS "{log}" (seq INTEGER PRIMARY KEY AUTOINCREMENT, '
                "row_key TEXT NOT NULL, op TEXT NOT NULL, "
                "changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                *(
                    f'CREATE TRIGGER IF NOT EXISTS "{log}_{op}" AFTER {op.upper()} ON "{table}" '  # noqa: S608
                    f'BEGIN INSERT INTO "{log}" (row_key, op) '
                    f"VALUES ({ref}.\"{key}\", '{op}'); END"
                    for op, ref in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD"))
                ),
            ]
        elif dialect == "postgresql":
            statements = [
                f'CREATE TABLE IF NOT EXISTS "{log}" (seq BIGSERIAL PRIMARY KEY, '
                "row_key TEXT NOT NULL, op TEXT NOT NULL, "
                "changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())",
                f'CREATE OR REPLACE FUNCTION "{log}_fn"() RETURNS trigger AS $$ BEGIN '  # noqa: S608
                f"IF TG_OP = 'DELETE' THEN "
                f'INSERT INTO "{log}" (row_key, op) VALUES (OLD."{key}"::text, \'delete\'); '
                f"RETURN OLD; END IF; "
                f'INSERT INTO "{log}" (row_key, op) VALUES (NEW."{key}"::text, lower(TG_OP)); '
                "RETURN NEW; END $$ LANGUAGE plpgsql",
                f'DROP TRIGGER IF EXISTS "{log}_trg" ON "{table}"',
                f'CREATE TRIGGER "{log}_trg" AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
                f'FOR EACH ROW EXECUTE FUNCTION "{log}_fn"()',
            ]
        else:
            raise InvalidInputError(
                f"A change table needs PostgreSQL or SQLite; this database is {dialect}."
            )
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
        logger.info("change table %s installed on %s", log, dialect)

    def has_change_table(self) -> bool:
        return sa.inspect(self.engine).has_table(change_table_name(self.name))


def _aware(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
