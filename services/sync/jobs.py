"""Sync jobs: who may own one, what is checked when one is saved, and how it is stored.

Saving checks every part against both sides before anything is written: each mapped
Airtable field exists and has a type its conversion accepts, each SQL column exists with
a compatible type, the match key is unique on both sides, the SQL URL connects, the
change detection column or table is there. The first problem refuses the save with the
field named; nothing is stored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.gateway import AirtableGateway
from services.airtable.schema import BaseSchema, FieldSchema, TableSchema
from services.crypto import TokenCipher
from services.errors import AppError, InvalidInputError, NotAllowedError, NotFoundError
from services.listeners import ChangeListeners
from services.sync.convert import AIRTABLE_TYPES, KINDS, SQL_TYPES
from services.sync.merge import DELETE_RULES, DIRECTIONS, POLICIES
from services.sync.orm import SyncFieldMap, SyncJob, SyncSnapshot
from services.sync.sql_side import SqlTable, change_table_name
from services.sync.types import FieldMapping, JobSpec, SyncJobInfo

logger = logging.getLogger(__name__)

MIN_EVERY_SECONDS = 10


class Actor(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


EngineFor = Callable[[str], Engine]  # "" → the app's engine


class SyncJobs:
    """Create, edit, list and delete sync jobs (`Services.sync_jobs`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: AirtableGateway,
        cipher: TokenCipher,
        engine_for: EngineFor,
    ) -> None:
        self._db = sessions
        self._gateway = gateway
        self._cipher = cipher
        self._engine_for = engine_for
        self._listeners = ChangeListeners("sync job")

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after a job is saved or deleted (the Airtable webhooks follow)."""
        self._listeners.add(listener)

    def _changed(self) -> None:
        self._listeners.notify()

    # -- reading -----------------------------------------------------------------------

    def list_for(self, actor: Actor) -> list[SyncJobInfo]:
        with self._db() as session:
            query = select(SyncJob).order_by(SyncJob.created_at)
            if not actor.is_admin:
                query = query.where(SyncJob.owner_id == actor.id)
            return [self._info(session, j) for j in session.scalars(query)]

    def get(self, actor: Actor, job_id: str) -> SyncJobInfo:
        with self._db() as session:
            job = self._owned(session, actor, job_id)
            return self._info(session, job)

    def due(self, now: datetime) -> list[tuple[str, int]]:
        """(ID, interval) of enabled jobs whose interval has passed since their last run."""
        with self._db() as session:
            jobs = session.scalars(select(SyncJob).where(SyncJob.enabled.is_(True)))
            return [
                (j.id, j.every_seconds)
                for j in jobs
                if j.last_run_at is None or (now - j.last_run_at).total_seconds() >= j.every_seconds
            ]

    def watched(self) -> set[tuple[int | None, str, str]]:
        """(owner, base, table) of every enabled job that reads Airtable's changes: their
        tables get Airtable webhooks, so a change starts a run within seconds."""
        with self._db() as session:
            rows = session.execute(
                select(SyncJob.owner_id, SyncJob.base_id, SyncJob.table_id).where(
                    SyncJob.enabled.is_(True), SyncJob.direction != "s_to_a"
                )
            )
            return {(owner, base, table) for owner, base, table in rows}

    def enabled_ids(self) -> set[str]:
        with self._db() as session:
            return set(session.scalars(select(SyncJob.id).where(SyncJob.enabled.is_(True))))

    def sql_url(self, job_id: str) -> str:
        """The job's SQL URL in clear, for the runner only ("" = the app's database)."""
        with self._db() as session:
            job = session.get(SyncJob, job_id)
            if job is None:
                raise NotFoundError(f"Sync job {job_id} does not exist.")
            return self._cipher.decrypt(job.sql_url_encrypted) if job.sql_url_encrypted else ""

    # -- writing -----------------------------------------------------------------------

    def create(self, actor: Actor, spec: JobSpec) -> SyncJobInfo:
        url = spec.sql_url or ""
        self.validate(actor, spec, url)
        job_id = f"sync{uuid.uuid4().hex[:16]}"
        with self._db.begin() as session:
            job = SyncJob(id=job_id, owner_id=actor.id)
            self._fill(job, spec, url)
            session.add(job)
            session.flush()
            self._maps(session, job_id, spec)
        self._changed()
        return self.get(actor, job_id)

    def update(self, actor: Actor, job_id: str, spec: JobSpec) -> SyncJobInfo:
        """Edit a job; `spec.sql_url` None keeps the stored URL. A new table or match key
        starts over (snapshots cleared: the next run is a first run)."""
        with self._db() as session:
            job = self._owned(session, actor, job_id)
            stored = self._cipher.decrypt(job.sql_url_encrypted) if job.sql_url_encrypted else ""
            moved = (job.base_id, job.table_id, job.sql_table) != (
                spec.base_id,
                spec.table_id,
                spec.sql_table,
            )
        url = stored if spec.sql_url is None else spec.sql_url
        self.validate(actor, spec, url)
        with self._db.begin() as session:
            job = self._owned(session, actor, job_id)
            self._fill(job, spec, url)
            job.updated_at = datetime.now(UTC)
            if moved or (spec.sql_url is not None and url != stored):
                job.airtable_cursor, job.sql_cursor = None, ""
                session.execute(sa.delete(SyncSnapshot).where(SyncSnapshot.job_id == job_id))
            session.execute(sa.delete(SyncFieldMap).where(SyncFieldMap.job_id == job_id))
            self._maps(session, job_id, spec)
        self._changed()
        return self.get(actor, job_id)

    def delete(self, actor: Actor, job_id: str) -> None:
        with self._db.begin() as session:
            session.delete(self._owned(session, actor, job_id))
        self._changed()

    def install_change_table(self, actor: Actor, *, sql_url: str, table: str, key: str) -> None:
        """Create the trigger-maintained change table of a SQL table (before saving a job
        that uses it)."""
        self._check_database(actor, sql_url)
        engine = self._reach(sql_url)
        if not sa.inspect(engine).has_table(table):
            raise InvalidInputError(f"sql_table: no table {table!r} in the database.")
        SqlTable(engine, table, key=key, detection="change_table").install_change_table()

    @staticmethod
    def _check_database(actor: Actor, url: str) -> None:
        if not url and not actor.is_admin:
            raise NotAllowedError(
                "sql_url: only admins sync with the app's own database; give a database URL."
            )

    def mappings_from_text(
        self, actor: Actor, base_id: str, table_id: str, text: str
    ) -> tuple[FieldMapping, ...]:
        """Mappings written one a line, `Airtable field -> sql_column : kind [: zone]`
        (fields by name or ID), as the Sync page's form takes them."""
        table = self._gateway.schema(actor.id, base_id).find_table(table_id)
        if table is None:
            raise InvalidInputError(f"Airtable table {table_id!r} is not in the base.")
        found: list[FieldMapping] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            left, arrow, right = line.partition("->")
            parts = [p.strip() for p in right.split(":")]
            if not arrow or len(parts) < 2 or not left.strip() or not parts[0]:
                raise InvalidInputError(
                    f"mappings line {number}: write `Airtable field -> sql_column : kind`."
                )
            field = _field(table, left.strip())
            if field is None:
                raise InvalidInputError(
                    f"{left.strip()}: no such field in Airtable table {table.name}."
                )
            if parts[1] not in KINDS:
                raise InvalidInputError(
                    f"mappings line {number}: kind {parts[1]!r} is not one of {', '.join(KINDS)}."
                )
            zone = parts[2] if len(parts) > 2 and parts[2] else "UTC"
            found.append(FieldMapping(field.id, parts[0], parts[1], zone))
        return tuple(found)

    def mappings_as_text(self, actor: Actor, info: SyncJobInfo) -> str:
        table = self._gateway.schema(actor.id, info.spec.base_id).find_table(info.spec.table_id)
        names = {f.id: f.name for f in table.fields} if table is not None else {}
        return "\n".join(
            f"{names.get(m.airtable_field, m.airtable_field)} -> {m.sql_column} : {m.kind}"
            + (f" : {m.timezone}" if m.timezone != "UTC" else "")
            for m in info.spec.mappings
        )

    # -- validation --------------------------------------------------------------------

    def validate(self, actor: Actor, spec: JobSpec, url: str) -> None:
        """Refuse a job that cannot run, naming what is wrong (`InvalidInputError`)."""
        _check_choices(spec)
        self._check_database(actor, url)
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
            found = _field(table, spec.airtable_modified_field)
            if found is None or found.type != "lastModifiedTime":
                raise InvalidInputError(
                    f"airtable_modified_field {spec.airtable_modified_field!r} must be a "
                    "last-modified-time field of the table."
                )

    def _reach(self, url: str) -> Engine:
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
        engine = self._reach(url)
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

    # -- storage -----------------------------------------------------------------------

    def _owned(self, session: Session, actor: Actor, job_id: str) -> SyncJob:
        job = session.get(SyncJob, job_id)
        if job is None or (job.owner_id != actor.id and not actor.is_admin):
            raise NotFoundError(f"Sync job {job_id} does not exist.")
        return job

    def _fill(self, job: SyncJob, spec: JobSpec, url: str) -> None:
        job.name, job.base_id, job.table_id = spec.name, spec.base_id, spec.table_id
        job.sql_url_encrypted = self._cipher.encrypt(url) if url else ""
        job.sql_table, job.sql_key_column = spec.sql_table, spec.sql_key_column
        job.match_kind, job.match_sql_column = spec.match_kind, spec.match_sql_column
        job.match_airtable_field = spec.match_airtable_field
        job.direction, job.policy, job.delete_rule = spec.direction, spec.policy, spec.delete_rule
        job.change_detection, job.updated_at_column = spec.change_detection, spec.updated_at_column
        job.airtable_modified_field = spec.airtable_modified_field
        job.every_seconds, job.enabled = spec.every_seconds, spec.enabled

    @staticmethod
    def _maps(session: Session, job_id: str, spec: JobSpec) -> None:
        session.add_all(
            SyncFieldMap(
                job_id=job_id,
                airtable_field=m.airtable_field,
                sql_column=m.sql_column,
                kind=m.kind,
                timezone=m.timezone,
            )
            for m in spec.mappings
        )

    @staticmethod
    def _info(session: Session, job: SyncJob) -> SyncJobInfo:
        maps = session.scalars(
            select(SyncFieldMap).where(SyncFieldMap.job_id == job.id).order_by(SyncFieldMap.id)
        )
        spec = JobSpec(
            name=job.name,
            base_id=job.base_id,
            table_id=job.table_id,
            sql_table=job.sql_table,
            sql_key_column=job.sql_key_column,
            mappings=tuple(
                FieldMapping(m.airtable_field, m.sql_column, m.kind, m.timezone)  # type: ignore[arg-type]
                for m in maps
            ),
            match_kind=job.match_kind,  # type: ignore[arg-type]
            match_sql_column=job.match_sql_column,
            match_airtable_field=job.match_airtable_field,
            direction=job.direction,  # type: ignore[arg-type]
            policy=job.policy,  # type: ignore[arg-type]
            delete_rule=job.delete_rule,  # type: ignore[arg-type]
            change_detection=job.change_detection,  # type: ignore[arg-type]
            updated_at_column=job.updated_at_column,
            airtable_modified_field=job.airtable_modified_field,
            every_seconds=job.every_seconds,
            enabled=job.enabled,
        )
        return SyncJobInfo(
            id=job.id,
            owner_id=job.owner_id,
            spec=spec,
            external_database=bool(job.sql_url_encrypted),
            last_run_at=job.last_run_at,
            failures=job.failures,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )


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


def _field(table: TableSchema, name_or_id: str) -> FieldSchema | None:
    return next((f for f in table.fields if name_or_id in (f.id, f.name)), None)


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
    found = _field(table, mapping.airtable_field)
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
    found = _field(table, mapping.airtable_field)
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
