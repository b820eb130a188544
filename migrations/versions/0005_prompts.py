"""prompts: saved prompt templates, their versions and their runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_prompts_owner"),
            nullable=False,
        ),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_prompts_owner_id", "prompts", ["owner_id"])
    op.create_table(
        "prompt_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "prompt_id",
            sa.String(40),
            sa.ForeignKey("prompts.id", ondelete="CASCADE", name="fk_prompt_versions_prompt"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("base_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("prompt_id", "number", name="uq_prompt_versions_number"),
    )
    op.create_table(
        "prompt_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "prompt_id",
            sa.String(40),
            sa.ForeignKey("prompts.id", ondelete="CASCADE", name="fk_prompt_runs_prompt"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_prompt_runs_user"),
            nullable=False,
        ),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_prompt_runs_created_at", "prompt_runs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_prompt_runs_created_at", table_name="prompt_runs")
    op.drop_table("prompt_runs")
    op.drop_table("prompt_versions")
    op.drop_index("ix_prompts_owner_id", table_name="prompts")
    op.drop_table("prompts")
