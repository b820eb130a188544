"""SQL tables of sync jobs: the job, its field mappings, the per-record snapshot of the
last synced state, held conflicts and the history of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.orm import Base, UTCDateTime, utcnow


class SyncJob(Base):
    """An Airtable table kept in step with a SQL table; runs as its owner's connection."""

    __tablename__ = "sync_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    base_id: Mapped[str] = mapped_column(String(40))
    table_id: Mapped[str] = mapped_column(String(40))
    # Empty: the app's own database. Otherwise a SQLAlchemy URL, encrypted.
    sql_url_encrypted: Mapped[str] = mapped_column(Text, default="")
    sql_table: Mapped[str] = mapped_column(String(120))
    sql_key_column: Mapped[str] = mapped_column(String(120))
    match_kind: Mapped[str] = mapped_column(String(20))  # record_id | field
    match_sql_column: Mapped[str] = mapped_column(String(120))
    match_airtable_field: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(10), default="both")
    policy: Mapped[str] = mapped_column(String(20), default="manual")
    delete_rule: Mapped[str] = mapped_column(String(20), default="keep")
    change_detection: Mapped[str] = mapped_column(String(20))  # updated_at | change_table
    updated_at_column: Mapped[str] = mapped_column(String(120), default="")
    airtable_modified_field: Mapped[str] = mapped_column(String(40), default="")
    every_seconds: Mapped[int] = mapped_column(Integer, default=300)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    airtable_cursor: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sql_cursor: Mapped[str] = mapped_column(String(64), default="")
    runs_since_scan: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncFieldMap(Base):
    __tablename__ = "sync_field_maps"
    __table_args__ = (UniqueConstraint("job_id", "sql_column", name="uq_sync_field_maps"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    airtable_field: Mapped[str] = mapped_column(String(40))
    sql_column: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(60), default="UTC")


class SyncSnapshot(Base):
    """One synced record: the pair of IDs, the agreed values (`base`), and each side's
    values and modification time as last seen. `pending_since`: an Airtable create was
    sent for this SQL row and its answer not yet recorded (a crash is reconciled)."""

    __tablename__ = "sync_snapshots"
    __table_args__ = (
        UniqueConstraint("job_id", "airtable_id", name="uq_sync_snapshots_airtable"),
        UniqueConstraint("job_id", "sql_key", name="uq_sync_snapshots_sql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    airtable_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sql_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    base: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    airtable: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sql: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    airtable_modified: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sql_modified: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    flag: Mapped[str] = mapped_column(String(80), default="")
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SyncConflict(Base):
    """A field held by a `manual` job, or a delete kept and flagged (`field` empty)."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_job_status", "job_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("sync_snapshots.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(120), default="")
    base: Mapped[Any] = mapped_column(JSON, nullable=True)
    airtable: Mapped[Any] = mapped_column(JSON, nullable=True)
    sql: Mapped[Any] = mapped_column(JSON, nullable=True)
    airtable_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sql_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|resolved|applied
    resolution: Mapped[Any] = mapped_column(JSON, nullable=True)  # {"value": v} | {"side": s}
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_job_started", "job_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|ok|failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    read_airtable: Mapped[int] = mapped_column(Integer, default=0)
    read_sql: Mapped[int] = mapped_column(Integer, default=0)
    written_airtable: Mapped[int] = mapped_column(Integer, default=0)
    written_sql: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    log: Mapped[list[str]] = mapped_column(JSON, default=list)
