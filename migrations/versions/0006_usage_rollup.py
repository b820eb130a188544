"""usage rollup: ledger totals per day, user, model and purpose, and per conversation or run

Creates `usage_daily`, `usage_ref_daily` and `usage_refs`, fills them from the existing ledger rows, and
indexes the ledger by reference (the per-conversation totals of each chat turn).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.orm import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_USER_KNOWN = sa.text("user_id IS NOT NULL")
_SUMS = ("calls", "input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens")


def _user(table: str) -> sa.Column[int]:
    return sa.Column(
        "user_id",
        sa.Integer(),
        sa.ForeignKey("users.id", ondelete="SET NULL", name=f"fk_{table}_user"),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False),
        _user("usage_daily"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _SUMS),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "uq_usage_daily_key",
        "usage_daily",
        ["day", "user_id", "model", "purpose"],
        unique=True,
        sqlite_where=_USER_KNOWN,
        postgresql_where=_USER_KNOWN,
    )
    op.create_index("ix_usage_daily_user_day", "usage_daily", ["user_id", "day"])
    op.create_table(
        "usage_ref_daily",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("ref_type", sa.String(20), nullable=False),
        sa.Column("ref_id", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        _user("usage_ref_daily"),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=False),
        sa.Column("last_call_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "uq_usage_ref_daily_key",
        "usage_ref_daily",
        ["ref_type", "day", "ref_id", "user_id"],
        unique=True,
        sqlite_where=_USER_KNOWN,
        postgresql_where=_USER_KNOWN,
    )
    op.create_index("ix_usage_ref_daily_ref", "usage_ref_daily", ["ref_type", "ref_id", "user_id"])
    op.create_index("ix_usage_ref_daily_user", "usage_ref_daily", ["user_id"])
    _create_usage_refs()
    op.create_index("ix_usage_ledger_ref", "usage_ledger", ["ref_type", "ref_id", "created_at"])
    _backfill()


def _create_usage_refs() -> None:
    op.create_table(
        "usage_refs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("ref_type", sa.String(20), nullable=False),
        sa.Column("ref_id", sa.String(64), nullable=False),
        sa.Column("first_day", sa.String(10), nullable=False),
        sa.Column("last_day", sa.String(10), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=False),
        sa.Column("last_call_at", UTCDateTime(), nullable=False),
    )
    op.create_index("uq_usage_refs_key", "usage_refs", ["ref_type", "ref_id"], unique=True)
    op.create_index(
        "ix_usage_refs_first_day_cost", "usage_refs", ["ref_type", "first_day", "cost_nusd"]
    )
    spans = sa.text("first_day <> last_day")
    op.create_index(
        "ix_usage_refs_spanning",
        "usage_refs",
        ["ref_type", "last_day"],
        sqlite_where=spans,
        postgresql_where=spans,
    )


def _backfill() -> None:
    # The same sums as services/budget/rollup.py `rebuild`, spelled here so this revision
    # keeps working whatever later code does.
    if op.get_bind().dialect.name == "postgresql":
        day = "to_char(timezone('UTC', created_at), 'YYYY-MM-DD')"
    else:
        day = "substr(created_at, 1, 10)"
    op.execute(
        f"INSERT INTO usage_daily (day, user_id, model, purpose, {', '.join(_SUMS)}, cost_nusd) "
        f"SELECT {day}, user_id, model, purpose, count(*), sum(input_tokens), "
        "sum(cached_tokens), sum(output_tokens), sum(reasoning_tokens), sum(cost_nusd) "
        f"FROM usage_ledger GROUP BY {day}, user_id, model, purpose"
    )
    op.execute(
        "INSERT INTO usage_ref_daily "
        "(ref_type, ref_id, day, user_id, calls, tokens, cost_nusd, last_call_at) "
        f"SELECT ref_type, ref_id, {day}, user_id, count(*), "
        "sum(input_tokens + output_tokens), sum(cost_nusd), max(created_at) "
        "FROM usage_ledger WHERE ref_type IS NOT NULL AND ref_id IS NOT NULL "
        f"GROUP BY ref_type, ref_id, {day}, user_id"
    )
    op.execute(
        "INSERT INTO usage_refs "
        "(ref_type, ref_id, first_day, last_day, calls, tokens, cost_nusd, last_call_at) "
        f"SELECT ref_type, ref_id, min({day}), max({day}), count(*), "
        "sum(input_tokens + output_tokens), sum(cost_nusd), max(created_at) "
        "FROM usage_ledger WHERE ref_type IS NOT NULL AND ref_id IS NOT NULL "
        "GROUP BY ref_type, ref_id"
    )


def downgrade() -> None:
    op.drop_index("ix_usage_ledger_ref", table_name="usage_ledger")
    op.drop_table("usage_refs")
    op.drop_table("usage_ref_daily")
    op.drop_table("usage_daily")
