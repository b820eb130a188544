"""Running sync jobs and keeping their history.

`SyncService.run` is what the worker's durable step calls (see `durable.py`): it is safe
to call again with the same run ID after the process died part-way (the run row is
reused; the runner's ordering makes the rest idempotent).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.gateway import AirtableGateway
from services.airtable.schema import TableSchema
from services.errors import AppError, InvalidInputError, NotFoundError
from services.events.bus import EventBus
from services.events.types import SYNC_CONFLICT, WORKFLOW_RUN_FAILED
from services.sync.airtable_side import GatewayTable
from services.sync.convert import ConversionError
from services.sync.engines import SqlEngines
from services.sync.jobs import SyncJobs
from services.sync.links import LinkNames
from services.sync.mirror_side import MirroredTable, MirrorReads
from services.sync.orm import SyncJob, SyncRun
from services.sync.run_sides import RunSides
from services.sync.runner import SyncRun as Runner
from services.sync.sql_side import SqlTable
from services.sync.store import SnapshotStore
from services.sync.types import Actor, JobSpec, RunSummary

logger = logging.getLogger(__name__)

# A run row still `running` after this long belongs to a worker that is gone for good.
STALE_RUN = timedelta(hours=1)


class SyncService:
    """Runs jobs, records run history, alerts owners of failing jobs (`Services.sync`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        jobs: SyncJobs,
        gateway: AirtableGateway,
        engines: SqlEngines,
        events: EventBus,
        *,
        full_scan_every: int,
        alert_after_failures: int,
        mirrors: MirrorReads | None = None,
    ) -> None:
        self._db = sessions
        self._jobs = jobs
        self._gateway = gateway
        self._engines = engines
        self._events = events
        self._full_scan_every = full_scan_every
        self._alert_after = alert_after_failures
        self._mirrors = mirrors

    def run(self, job_id: str, run_id: str, trigger: str = "schedule") -> RunSummary:
        """Run a job once under `run_id` (a rerun of a killed run continues it)."""
        with self._db.begin() as session:
            job = session.get(SyncJob, job_id)
            if job is None:
                raise NotFoundError(f"Sync job {job_id} does not exist.")
            row = session.get(SyncRun, run_id)
            if row is not None and row.status != "running":
                return _summary(row)
            if row is None:
                session.add(SyncRun(id=run_id, job_id=job_id, trigger=trigger, log=[]))
            cursor, sql_cursor = job.airtable_cursor, job.sql_cursor
            full_scan = job.runs_since_scan + 1 >= self._full_scan_every
            owner_id = job.owner_id
        summary = RunSummary(run_id=run_id, job_id=job_id)
        other = self._earlier_run(job_id, run_id)
        if other is not None:
            # One run of a job at a time: the later of two overlapping runs stands down.
            summary.status = "skipped"
            summary.log.append(f"skipped: run {other} of this job was still running")
            self._close(summary)
            return summary
        spec = self._jobs.get(_System(), job_id).spec
        try:
            url = self._jobs.sql_url(job_id)
            sides = RunSides(
                job_id=job_id,
                owner_id=owner_id,
                spec=spec,
                airtable=self._airtable_side(owner_id, spec),
                sql=SqlTable(
                    self._engines(url),
                    spec.sql_table,
                    key=spec.sql_key_column,
                    detection=spec.change_detection,
                    updated_at=spec.updated_at_column
                    if spec.change_detection == "updated_at"
                    else "",
                ),
                store=SnapshotStore(
                    self._db, change_set_id=f"{job_id}:{run_id[-12:]}", publish=self._conflict
                ),
                summary=summary,
            )
            runner = Runner(
                sides, airtable_cursor=cursor, sql_cursor=sql_cursor, full_scan=full_scan
            )
            if isinstance(sides.airtable, MirroredTable):
                summary.log.append("Airtable side read from the table's mirror")
            next_a, next_s = runner.run()
        except (AppError, sa.exc.SQLAlchemyError, ConversionError) as exc:
            summary.status = "failed"
            summary.errors += 1
            summary.log.append(f"run failed: {_reason(exc)}")
            self._finish(summary, None, None, full_scan)
            return summary
        summary.status = "ok"
        self._finish(summary, next_a, next_s, full_scan)
        return summary

    def _airtable_side(self, owner_id: int, spec: JobSpec) -> GatewayTable:
        """The job's Airtable table as its owner reads it (listed from its mirror when the
        mirror is current), link names looked up when the mapping syncs links as names."""
        table = GatewayTable(
            self._gateway,
            owner_id,
            spec.base_id,
            spec.table_id,
            [m.airtable_field for m in spec.mappings],
            spec.airtable_modified_field,
        )
        by_name = [m for m in spec.mappings if m.kind == "link_names"]
        if by_name:
            schema = self._gateway.schema(owner_id, spec.base_id)
            linked: dict[str, TableSchema] = {}
            for mapping in by_name:
                source = schema.table_by_id(spec.table_id)
                found = source.find_field(mapping.airtable_field) if source else None
                target = schema.table_by_id(found.linked_table_id or "") if found else None
                if target is None:
                    raise InvalidInputError(
                        f"{mapping.sql_column}: its Airtable field no longer links to a table."
                    )
                linked[mapping.airtable_field] = target
            table.links = LinkNames(
                self._gateway, owner_id, spec.base_id, linked, requests=table.requests
            )
        if self._mirrors is not None:
            state = self._mirrors.current(
                spec,
                lambda: self._gateway.schema(owner_id, spec.base_id).table_by_id(spec.table_id),
            )
            if state is not None:
                return self._mirrors.table(table, state, spec)
        return table

    def _earlier_run(self, job_id: str, run_id: str) -> str | None:
        """Another running run of the job that started first (ties: the smaller ID)."""
        with self._db() as session:
            mine = session.get(SyncRun, run_id)
            if mine is None:
                return None
            started = mine.started_at
            return session.scalar(
                select(SyncRun.id)
                .where(
                    SyncRun.job_id == job_id,
                    SyncRun.status == "running",
                    SyncRun.id != run_id,
                    SyncRun.started_at > datetime.now(UTC) - STALE_RUN,
                    sa.or_(
                        SyncRun.started_at < started,
                        sa.and_(SyncRun.started_at == started, SyncRun.id < run_id),
                    ),
                )
                .limit(1)
            )

    def _close(self, summary: RunSummary) -> None:
        with self._db.begin() as session:
            row = session.get(SyncRun, summary.run_id)
            if row is not None:
                row.status, row.log = summary.status, summary.log
                row.finished_at = datetime.now(UTC)

    def _finish(
        self, summary: RunSummary, cursor: datetime | None, sql_cursor: str | None, scan: bool
    ) -> None:
        now = datetime.now(UTC)
        alert = False
        with self._db.begin() as session:
            job = session.get(SyncJob, summary.job_id)
            row = session.get(SyncRun, summary.run_id)
            if job is None or row is None:
                return
            for name in (
                "status",
                "read_airtable",
                "read_sql",
                "written_airtable",
                "written_sql",
                "conflicts",
                "errors",
                "requests",
                "duration_ms",
            ):
                setattr(row, name, getattr(summary, name))
            row.log, row.finished_at = summary.log[-200:], now
            job.last_run_at = now
            if summary.status == "ok":
                job.airtable_cursor = cursor
                job.sql_cursor = sql_cursor or ""
                job.runs_since_scan = 0 if scan else job.runs_since_scan + 1
                job.failures = 0
            else:
                job.failures += 1
                alert = job.failures == self._alert_after
            owner, name = job.owner_id, job.name
        logger.info(
            "sync run %s of %s: %s, %d/%d read, %d/%d written, %d conflicts, %d ms",
            summary.run_id,
            summary.job_id,
            summary.status,
            summary.read_airtable,
            summary.read_sql,
            summary.written_airtable,
            summary.written_sql,
            summary.conflicts,
            summary.duration_ms,
        )
        if alert:
            self._events.publish(
                WORKFLOW_RUN_FAILED,
                {
                    "sync_job_id": summary.job_id,
                    "run_id": summary.run_id,
                    "message": f"Sync job {name} failed {self._alert_after} times in a row: "
                    + (summary.log[-1] if summary.log else "see its run history"),
                },
                user_id=owner,
            )

    def _conflict(self, owner_id: int, data: dict[str, Any]) -> None:
        self._events.publish(SYNC_CONFLICT, data, user_id=owner_id)

    def history(self, actor: Actor, job_id: str, *, limit: int = 50) -> list[RunSummary]:
        self._jobs.get(actor, job_id)
        with self._db() as session:
            rows = session.scalars(
                select(SyncRun)
                .where(SyncRun.job_id == job_id)
                .order_by(SyncRun.started_at.desc())
                .limit(limit)
            )
            return [_summary(r) for r in rows]


class _System:
    """The runner reads any job (it runs as the job's owner on the Airtable side)."""

    id = 0
    is_admin = True


def _reason(exc: Exception) -> str:
    if isinstance(exc, AppError | ConversionError):
        return str(exc)
    return f"the SQL database failed ({type(exc).__name__})"


def _summary(row: SyncRun) -> RunSummary:
    return RunSummary(
        run_id=row.id,
        job_id=row.job_id,
        status=row.status,
        read_airtable=row.read_airtable,
        read_sql=row.read_sql,
        written_airtable=row.written_airtable,
        written_sql=row.written_sql,
        conflicts=row.conflicts,
        errors=row.errors,
        requests=row.requests,
        duration_ms=row.duration_ms,
        log=list(row.log or []),
    )
