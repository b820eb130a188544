"""budget: usage ledger, user and org budgets, budget alerts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _limit_columns() -> list[sa.Column]:
    return [
        sa.Column("day_nusd", sa.BigInteger(), nullable=True),
        sa.Column("month_nusd", sa.BigInteger(), nullable=True),
        sa.Column("day_tokens", sa.BigInteger(), nullable=True),
        sa.Column("month_tokens", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "usage_ledger",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_usage_ledger_user"),
            nullable=True,
        ),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("ref_type", sa.String(20), nullable=True),
        sa.Column("ref_id", sa.String(64), nullable=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("reserved_nusd", sa.BigInteger(), nullable=False),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("request_id", name="uq_usage_ledger_request_id"),
    )
    op.create_index("ix_usage_ledger_user_created", "usage_ledger", ["user_id", "created_at"])
    op.create_index("ix_usage_ledger_created", "usage_ledger", ["created_at"])

    op.create_table(
        "user_budgets",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_user_budgets_user"),
            primary_key=True,
        ),
        *_limit_columns(),
    )
    op.create_table(
        "org_budget",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        *_limit_columns(),
        sa.CheckConstraint("id = 1", name="ck_org_budget_single_row"),
    )

    op.create_table(
        "budget_alerts",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_key", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_budget_alerts_user"),
            nullable=True,
        ),
        sa.Column("window", sa.String(10), nullable=False),
        sa.Column("window_label", sa.String(12), nullable=False),
        sa.Column("window_ends_at", UTCDateTime(), nullable=False),
        sa.Column("metric", sa.String(10), nullable=False),
        sa.Column("threshold_pct", sa.Integer(), nullable=False),
        sa.Column("limit_value", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("alert_key", name="uq_budget_alerts_alert_key"),
    )
    op.create_index("ix_budget_alerts_user_created", "budget_alerts", ["user_id", "created_at"])
    op.create_index("ix_budget_alerts_created", "budget_alerts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_created", table_name="budget_alerts")
    op.drop_index("ix_budget_alerts_user_created", table_name="budget_alerts")
    op.drop_table("budget_alerts")
    op.drop_table("org_budget")
    op.drop_table("user_budgets")
    op.drop_index("ix_usage_ledger_created", table_name="usage_ledger")
    op.drop_index("ix_usage_ledger_user_created", table_name="usage_ledger")
    op.drop_table("usage_ledger")
