"""What is checked when a sync job is saved, against both sides, before anything is written.

Each mapped Airtable field exists and has a type its conversion accepts, each SQL column
exists with a compatible type, the match key is unique on both sides, the SQL URL
connects, the change detection column or table is there. The first problem refuses the
save with the field named (`InvalidInputError`).
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.airtable.gateway import AirtableGateway
from services.airtable.schema import BaseSchema, FieldSchema, TableSchema
from services.errors import AppError, InvalidInputError, NotAllowedError
from services.sync.convert import AIRTABLE_TYPES, KINDS, SQL_TYPES
from services.sync.merge import DELETE_RULES, DIRECTIONS, POLICIES
from services.sync.sql_side import SqlTable, change_table_name
from services.sync.types import Actor, FieldMapping, JobSpec

MIN_EVERY_SECONDS = 10

EngineFor = Callable[[str], Engine]  # "" → the app's engine


class JobChecks:
    """Checks a job spec against Airtable's schema and records and the SQL table."""

    def __init__(self, gateway: AirtableGateway, engine_for: EngineFor) -> None:
        self._gateway = gateway
        self._engine_for = engine_for

    def validate(self, actor: Actor, spec: JobSpec, url: str) -> None:
        """Refuse a job that cannot run, naming what is wrong (`InvalidInputError`)."""
        _check_choices(spec)
        check_database(actor, url)
        if not actor.is_admin:
            # A member owns jobs only on bases their own connection reaches.
            self._gateway.require_base(actor.id, spec.base_id)
        schema = self._gateway.schema(actor.id, spec.base_id)
        table = schema.find_table(spec.table_id)
        if table is None:
            raise InvalidInputError(f"Airtable table {spec.table_id!r} is not in the base.")
        sql = self._sql_table(spec, url)
        columns = sql.columns()
        for mapping in spec.mappings:
            _check_mapping(mapping, table, columns)
            if mapping.kind == "link_names":
                _check_linked(mapping, schema, table)
        self._check_match(actor, spec, table, sql, columns)
        _check_detection(spec, sql, columns)
        if spec.policy == "newest_wins" and not spec.airtable_modified_field:
            raise InvalidInputError(
                "Policy newest_wins needs an Airtable last-modified-time field "
                "(airtable_modified_field) to compare modification times."
            )
        if spec.airtable_modified_field:
            found = find_field(table, spec.airtable_modified_field)
            if found is None or found.type != "lastModifiedTime":
                raise InvalidInputError(
                    f"airtable_modified_field {spec.airtable_modified_field!r} must be a "
                    "last-modified-time field of the table."
                )

    def reach(self, url: str) -> Engine:
        """The engine of `url` ("" = the app's), once it has connected."""
        try:
            engine = self._engine_for(url)
            with engine.connect():
                pass
        except (sa.exc.SQLAlchemyError, ValueError, AppError) as exc:
            # The URL may hold a password: name only the kind of failure.
            raise InvalidInputError(
                f"sql_url: the database cannot be reached ({type(exc).__name__})."
            ) from None
        return engine

    def _sql_table(self, spec: JobSpec, url: str) -> SqlTable:
        engine = self.reach(url)
        if not sa.inspect(engine).has_table(spec.sql_table):
            raise InvalidInputError(f"sql_table: no table {spec.sql_table!r} in the database.")
        table = SqlTable(
            engine,
            spec.sql_table,
            key=spec.sql_key_column,
            detection=spec.change_detection,
            updated_at=spec.updated_at_column if spec.change_detection == "updated_at" else "",
        )
        primary = [c.name for c in table.table.primary_key.columns]
        if primary != [spec.sql_key_column]:
            raise InvalidInputError(
                f"sql_key_column: {spec.sql_key_column!r} is not the table's single-column "
                f"primary key (it is {', '.join(primary) or 'none'})."
            )
        return table

    def _check_match(
        self,
        actor: Actor,
        spec: JobSpec,
        table: TableSchema,
        sql: SqlTable,
        columns: dict[str, str],
    ) -> None:
        column = spec.match_sql_column
        if column not in columns:
            raise InvalidInputError(f"match_sql_column: no column {column!r} in the SQL table.")
        if not sql.is_unique(column):
            raise InvalidInputError(
                f"match_sql_column: {column!r} holds repeated values; the match key is unique."
            )
        if spec.match_kind == "record_id":
            if columns[column] not in SQL_TYPES["text"]:
                raise InvalidInputError(
                    f"match_sql_column: {column!r} must be a text column to hold record IDs."
                )
            return
        mapped = {m.sql_column: m for m in spec.mappings}
        if column not in mapped or mapped[column].airtable_field != spec.match_airtable_field:
            raise InvalidInputError(
                "match_airtable_field: the match key must be one of the mapped fields, "
                f"mapped to {column!r}."
            )
        self._check_airtable_unique(actor, spec, table)

    def _check_airtable_unique(self, actor: Actor, spec: JobSpec, table: TableSchema) -> None:
        seen: set[str] = set()
        field_id = spec.match_airtable_field
        for page in self._gateway.pages(actor.id, spec.base_id, table.id, fields=[field_id]):
            for record in page:
                value = (record.get("fields") or {}).get(field_id)
                if value in (None, ""):
                    continue
                text = str(value)
                if text in seen:
                    raise InvalidInputError(
                        f"match_airtable_field: {field_id} holds {text!r} more than once; "
                        "the match key is unique."
                    )
                seen.add(text)


def check_database(actor: Actor, url: str) -> None:
    """Only admins sync with the app's own database (`url` "")."""
    if not url and not actor.is_admin:
        raise NotAllowedError(
            "sql_url: only admins sync with the app's own database; give a database URL."
        )


def find_field(table: TableSchema, name_or_id: str) -> FieldSchema | None:
    return next((f for f in table.fields if name_or_id in (f.id, f.name)), None)


def _check_choices(spec: JobSpec) -> None:
    if not spec.name.strip():
        raise InvalidInputError("name: a job needs a name.")
    if not spec.mappings:
        raise InvalidInputError("mappings: map at least one field.")
    checks = (
        ("direction", spec.direction, DIRECTIONS),
        ("policy", spec.policy, POLICIES),
        ("delete_rule", spec.delete_rule, DELETE_RULES),
        ("match_kind", spec.match_kind, ("record_id", "field")),
        ("change_detection", spec.change_detection, ("updated_at", "change_table")),
    )
    for name, value, allowed in checks:
        if value not in allowed:
            raise InvalidInputError(f"{name}: {value!r} is not one of {', '.join(allowed)}.")
    if spec.every_seconds < MIN_EVERY_SECONDS:
        raise InvalidInputError(f"every_seconds: at least {MIN_EVERY_SECONDS} seconds.")
    columns = [m.sql_column for m in spec.mappings]
    if len(set(columns)) != len(columns):
        raise InvalidInputError("mappings: a SQL column is mapped twice.")


def _check_mapping(mapping: FieldMapping, table: TableSchema, columns: dict[str, str]) -> None:
    if mapping.kind not in KINDS:
        raise InvalidInputError(
            f"{mapping.sql_column}: kind {mapping.kind!r} is not one of {', '.join(KINDS)}."
        )
    try:
        ZoneInfo(mapping.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"{mapping.sql_column}: {mapping.timezone!r} is not a time zone."
        ) from None
    found = find_field(table, mapping.airtable_field)
    if found is None:
        raise InvalidInputError(
            f"{mapping.airtable_field}: no such field in Airtable table {table.name}."
        )
    if found.type not in AIRTABLE_TYPES[mapping.kind]:
        raise InvalidInputError(
            f"{found.name}: an Airtable {found.type} field cannot sync as {mapping.kind}."
        )
    if mapping.sql_column not in columns:
        raise InvalidInputError(f"{mapping.sql_column}: no such column in the SQL table.")
    if columns[mapping.sql_column] not in SQL_TYPES[mapping.kind]:
        raise InvalidInputError(
            f"{mapping.sql_column}: a SQL {columns[mapping.sql_column]} column cannot hold "
            f"{mapping.kind} values from {found.name}."
        )


def _check_linked(mapping: FieldMapping, schema: BaseSchema, table: TableSchema) -> None:
    """Links synced as names need the linked table (its primary field holds the names)."""
    found = find_field(table, mapping.airtable_field)
    linked = schema.table_by_id(found.linked_table_id or "") if found is not None else None
    if linked is None:
        raise InvalidInputError(
            f"{mapping.sql_column}: the linked table of {mapping.airtable_field} is not in "
            "the base, so its records' names cannot be looked up."
        )


def _check_detection(spec: JobSpec, sql: SqlTable, columns: dict[str, str]) -> None:
    if spec.change_detection == "updated_at":
        kind = columns.get(spec.updated_at_column)
        if kind not in ("datetime", "datetime_tz"):
            raise InvalidInputError(
                f"updated_at_column: {spec.updated_at_column!r} is not a date-time column "
                "of the SQL table."
            )
    elif not sql.has_change_table():
        raise InvalidInputError(
            f"change_detection: the change table {change_table_name(spec.sql_table)} is not "
            "there yet; create it first (Create change table)."
        )
