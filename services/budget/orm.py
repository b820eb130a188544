"""SQL tables of the budget guard: the usage ledger, budgets and alerts.

Money is integer nano-USD (BigInteger). Ledger rows keep their history when a user is
deleted (`user_id` becomes NULL), so org totals and past months stay correct; budgets and
alerts belong to the user and go with them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from config.logging import current_trace
from services.orm import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One model call: who, why, which model, tokens, cost and how it ended."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        Index("ix_usage_ledger_user_created", "user_id", "created_at"),
        Index("ix_usage_ledger_created", "created_at"),
        Index("ix_usage_ledger_ref", "ref_type", "ref_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The web request or workflow run the call was made in (also in log lines and audit rows).
    trace_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, index=True, default=current_trace
    )
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


# Rollup keys are unique only while their user exists: deleting a user turns its rows'
# `user_id` to NULL (like the ledger's), and those rows may then share a key.
_USER_KNOWN = text("user_id IS NOT NULL")
_SPANS_DAYS = text("first_day <> last_day")


class UsageDay(Base):
    """Ledger totals per UTC day (`YYYY-MM-DD`), user, model and purpose.

    Written with each ledger row, in its transaction (services/budget/rollup.py); the spend
    reports read it, so their cost grows with days and groups, not with ledger rows.
    """

    __tablename__ = "usage_daily"
    __table_args__ = (
        Index(
            "uq_usage_daily_key",
            "day",
            "user_id",
            "model",
            "purpose",
            unique=True,
            sqlite_where=_USER_KNOWN,
            postgresql_where=_USER_KNOWN,
        ),
        Index("ix_usage_daily_user_day", "user_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    model: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(20))
    calls: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    cached_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_nusd: Mapped[int] = mapped_column(BigInteger)


class UsageRefDay(Base):
    """Ledger totals per conversation or run (`ref_type`, `ref_id`), UTC day and user."""

    __tablename__ = "usage_ref_daily"
    __table_args__ = (
        Index(
            "uq_usage_ref_daily_key",
            "ref_type",
            "day",
            "ref_id",
            "user_id",
            unique=True,
            sqlite_where=_USER_KNOWN,
            postgresql_where=_USER_KNOWN,
        ),
        Index("ix_usage_ref_daily_ref", "ref_type", "ref_id", "user_id"),
        Index("ix_usage_ref_daily_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref_type: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    calls: Mapped[int] = mapped_column(BigInteger)
    tokens: Mapped[int] = mapped_column(BigInteger)
    cost_nusd: Mapped[int] = mapped_column(BigInteger)
    last_call_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UsageRef(Base):
    """Ledger totals per conversation or run over its whole life, with its first and last
    UTC day: a reference that lived only inside a report's range counts whole, so the most
    expensive ones are found per day from an index (services/budget/ref_reports.py)."""

    __tablename__ = "usage_refs"
    __table_args__ = (
        Index("uq_usage_refs_key", "ref_type", "ref_id", unique=True),
        Index("ix_usage_refs_first_day_cost", "ref_type", "first_day", "cost_nusd"),
        # The few that span days: the only ones a range can cut.
        Index(
            "ix_usage_refs_spanning",
            "ref_type",
            "last_day",
            sqlite_where=_SPANS_DAYS,
            postgresql_where=_SPANS_DAYS,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref_type: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[str] = mapped_column(String(10))
    last_day: Mapped[str] = mapped_column(String(10))
    calls: Mapped[int] = mapped_column(BigInteger)
    tokens: Mapped[int] = mapped_column(BigInteger)
    cost_nusd: Mapped[int] = mapped_column(BigInteger)
    last_call_at: Mapped[datetime] = mapped_column(UTCDateTime())


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
