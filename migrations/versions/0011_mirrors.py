"""mirrors: which bases and tables are copied into SQL, and each copy's state

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mirror_bases",
        sa.Column("base_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("all_tables", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "mirror_tables",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("base_id", sa.String(32), nullable=False, index=True),
        sa.Column("table_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rows_copied", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("build_started_at", UTCDateTime(), nullable=True),
        sa.Column("built_at", UTCDateTime(), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.Column("swept_at", UTCDateTime(), nullable=True),
        sa.Column("scanned_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("base_id", "table_id", name="uq_mirror_tables"),
    )


def downgrade() -> None:
    op.drop_table("mirror_tables")
    op.drop_table("mirror_bases")
