"""sync jobs: jobs, field mappings, snapshots, conflicts and run history

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            index=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("base_id", sa.String(40), nullable=False),
        sa.Column("table_id", sa.String(40), nullable=False),
        sa.Column("sql_url_encrypted", sa.Text, nullable=False),
        sa.Column("sql_table", sa.String(120), nullable=False),
        sa.Column("sql_key_column", sa.String(120), nullable=False),
        sa.Column("match_kind", sa.String(20), nullable=False),
        sa.Column("match_sql_column", sa.String(120), nullable=False),
        sa.Column("match_airtable_field", sa.String(40), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("policy", sa.String(20), nullable=False),
        sa.Column("delete_rule", sa.String(20), nullable=False),
        sa.Column("change_detection", sa.String(20), nullable=False),
        sa.Column("updated_at_column", sa.String(120), nullable=False),
        sa.Column("airtable_modified_field", sa.String(40), nullable=False),
        sa.Column("every_seconds", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("airtable_cursor", UTCDateTime(), nullable=True),
        sa.Column("sql_cursor", sa.String(64), nullable=False),
        sa.Column("runs_since_scan", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sync_field_maps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(40),
            sa.ForeignKey("sync_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("airtable_field", sa.String(40), nullable=False),
        sa.Column("sql_column", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("timezone", sa.String(60), nullable=False),
        sa.UniqueConstraint("job_id", "sql_column", name="uq_sync_field_maps"),
    )
    op.create_table(
        "sync_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(40),
            sa.ForeignKey("sync_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("airtable_id", sa.String(40), nullable=True),
        sa.Column("sql_key", sa.String(200), nullable=True),
        sa.Column("base", sa.JSON, nullable=False),
        sa.Column("airtable", sa.JSON, nullable=True),
        sa.Column("sql", sa.JSON, nullable=True),
        sa.Column("airtable_modified", UTCDateTime(), nullable=True),
        sa.Column("sql_modified", UTCDateTime(), nullable=True),
        sa.Column("flag", sa.String(80), nullable=False),
        sa.Column("pending_since", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("job_id", "airtable_id", name="uq_sync_snapshots_airtable"),
        sa.UniqueConstraint("job_id", "sql_key", name="uq_sync_snapshots_sql"),
    )
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(40),
            sa.ForeignKey("sync_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "snapshot_id",
            sa.Integer,
            sa.ForeignKey("sync_snapshots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("field", sa.String(120), nullable=False),
        sa.Column("base", sa.JSON, nullable=True),
        sa.Column("airtable", sa.JSON, nullable=True),
        sa.Column("sql", sa.JSON, nullable=True),
        sa.Column("airtable_changed_at", UTCDateTime(), nullable=True),
        sa.Column("sql_changed_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution", sa.JSON, nullable=True),
        sa.Column(
            "resolved_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sync_conflicts_job_status", "sync_conflicts", ["job_id", "status"])
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column(
            "job_id",
            sa.String(40),
            sa.ForeignKey("sync_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("read_airtable", sa.Integer, nullable=False),
        sa.Column("read_sql", sa.Integer, nullable=False),
        sa.Column("written_airtable", sa.Integer, nullable=False),
        sa.Column("written_sql", sa.Integer, nullable=False),
        sa.Column("conflicts", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("log", sa.JSON, nullable=False),
    )
    op.create_index("ix_sync_runs_job_started", "sync_runs", ["job_id", "started_at"])


def downgrade() -> None:
    op.drop_table("sync_runs")
    op.drop_table("sync_conflicts")
    op.drop_table("sync_snapshots")
    op.drop_table("sync_field_maps")
    op.drop_table("sync_jobs")
