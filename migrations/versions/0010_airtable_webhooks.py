"""inbound hooks and Airtable webhooks: workflow hook secrets, registered Airtable webhooks

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_hooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "workflow_id",
            sa.String(40),
            sa.ForeignKey("workflows.id", ondelete="CASCADE", name="fk_workflow_hooks_workflow"),
            nullable=False,
            unique=True,
        ),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_shown", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "airtable_webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("airtable_id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_airtable_webhooks_owner"),
            nullable=True,  # NULL: the org connection (mirrors of the org's bases)
        ),
        sa.Column("base_id", sa.String(40), nullable=False),
        sa.Column("table_id", sa.String(40), nullable=False),
        sa.Column("mac_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_ping_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("owner_id", "base_id", "table_id", name="uq_airtable_webhooks_table"),
    )
    op.create_index("ix_airtable_webhooks_owner_id", "airtable_webhooks", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_airtable_webhooks_owner_id", table_name="airtable_webhooks")
    op.drop_table("airtable_webhooks")
    op.drop_table("workflow_hooks")
