"""SQL tables of the budget guard: the usage ledger, budgets and alerts.

Money is integer nano-USD (BigInteger). Ledger rows keep their history when a user is
deleted (`user_id` becomes NULL), so org totals and past months stay correct; budgets and
alerts belong to the user and go with them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.models import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One model call: who, why, which model, tokens, cost and how it ended."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        Index("ix_usage_ledger_user_created", "user_id", "created_at"),
        Index("ix_usage_ledger_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    ref_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reserved_nusd: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nusd: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    # When the call was reserved: the window its cost counts in.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class _Limits:
    """Budget columns; NULL means "use the default from settings", 0 means no limit."""

    day_nusd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    month_nusd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    day_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    month_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class UserBudget(_Limits, Base):
    """A user's own budget, overriding the defaults."""

    __tablename__ = "user_budgets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class OrgBudget(_Limits, Base):
    """The whole organisation's budget: a single row with id 1."""

    __tablename__ = "org_budget"
    __table_args__ = (CheckConstraint("id = 1", name="ck_org_budget_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)


class BudgetAlert(Base):
    """A budget crossed 50, 80 or 100% in a window; recorded once per window."""

    __tablename__ = "budget_alerts"
    __table_args__ = (
        Index("ix_budget_alerts_user_created", "user_id", "created_at"),
        Index("ix_budget_alerts_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(200), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    window: Mapped[str] = mapped_column(String(10))
    window_label: Mapped[str] = mapped_column(String(12))
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    metric: Mapped[str] = mapped_column(String(10))
    threshold_pct: Mapped[int] = mapped_column(Integer)
    limit_value: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
