"""record changes: Airtable change sets and the audit log of record writes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_column(table: str) -> sa.Column:
    return sa.Column(
        "user_id",
        sa.Integer(),
        sa.ForeignKey("users.id", ondelete="SET NULL", name=f"fk_{table}_user"),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "airtable_change_sets",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        _user_column("airtable_change_sets"),
        sa.Column("base_id", sa.String(32), nullable=False),
        sa.Column("table_id", sa.String(32), nullable=False),
        sa.Column("table_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("reverts_id", sa.String(40), nullable=True),
        sa.Column("reverted_by", sa.String(40), nullable=True),
        sa.Column("conversation_id", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ix_airtable_change_sets_user_created", "airtable_change_sets", ["user_id", "created_at"]
    )
    op.create_table(
        "airtable_record_changes",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "change_set_id",
            sa.String(40),
            sa.ForeignKey("airtable_change_sets.id", name="fk_airtable_record_changes_set"),
            nullable=False,
        ),
        _user_column("airtable_record_changes"),
        sa.Column("base_id", sa.String(32), nullable=False),
        sa.Column("table_id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("source_record_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_airtable_record_changes_change_set",
        "airtable_record_changes",
        ["change_set_id", "id"],
    )
    op.create_index(
        "ix_airtable_record_changes_record", "airtable_record_changes", ["base_id", "record_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_airtable_record_changes_record", table_name="airtable_record_changes")
    op.drop_index("ix_airtable_record_changes_change_set", table_name="airtable_record_changes")
    op.drop_table("airtable_record_changes")
    op.drop_index("ix_airtable_change_sets_user_created", table_name="airtable_change_sets")
    op.drop_table("airtable_change_sets")
