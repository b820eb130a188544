"""Sync jobs: creating, editing, listing and deleting them, and how they are stored.

Saving checks every part against both sides before anything is written (`job_checks`:
who may own the job, its fields, columns, match key and change detection). The first
problem refuses the save with the field named; nothing is stored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.gateway import AirtableGateway
from services.crypto import TokenCipher
from services.errors import InvalidInputError, NotFoundError
from services.listeners import ChangeListeners
from services.sync.convert import KINDS
from services.sync.job_checks import EngineFor, JobChecks, check_database, find_field
from services.sync.orm import SyncFieldMap, SyncJob, SyncSnapshot
from services.sync.sql_side import SqlTable
from services.sync.types import Actor, FieldMapping, JobSpec, SyncJobInfo

logger = logging.getLogger(__name__)


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
        self._checks = JobChecks(gateway, engine_for)
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
        self._checks.validate(actor, spec, url)
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
        self._checks.validate(actor, spec, url)
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
        check_database(actor, sql_url)
        engine = self._checks.reach(sql_url)
        if not sa.inspect(engine).has_table(table):
            raise InvalidInputError(f"sql_table: no table {table!r} in the database.")
        SqlTable(engine, table, key=key, detection="change_table").install_change_table()

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
            field = find_field(table, left.strip())
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
