"""SQL tables of bulk fills: the run (its plan, status and totals) and one row per record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.orm import Base, UTCDateTime, utcnow


class BulkFillRun(Base):
    """One fill: proposed, then queued, running, paused (resumable), or finished."""

    __tablename__ = "bulk_fill_runs"
    __table_args__ = (Index("ix_bulk_fill_runs_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    base_id: Mapped[str] = mapped_column(String(32))
    table_id: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(255))
    field_name: Mapped[str] = mapped_column(String(255))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    cost_nusd: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BulkFillItem(Base):
    """One record of a fill: what the model reads, what it answered, whether it was written.

    `status`: pending (not asked yet), answered (a valid value, not written), writing (a
    write was sent, not yet audited), written, invalid (the answer did not fit the field).
    """

    __tablename__ = "bulk_fill_items"
    __table_args__ = (Index("ix_bulk_fill_items_run_position", "run_id", "position", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("bulk_fill_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(255), default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")  # what the model said (invalid ones)
    reason: Mapped[str] = mapped_column(Text, default="")
