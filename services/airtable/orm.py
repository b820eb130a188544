"""SQL tables of record writes: change sets (an applied proposal, or an undo) and the audit
log of every record they changed, with before and after values.

Rows outlive their user (`user_id` becomes NULL) so the history of a base stays whole.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from config.logging import current_trace
from services.orm import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ChangeStatus(StrEnum):
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"  # stopped part-way: the audit rows say what was written
    UNDOING = "undoing"
    UNDONE = "undone"
    STALE = "stale"  # refused at apply: records changed since the proposal; nothing written


class ChangeSet(Base):
    """One confirmed proposal (its ID is the proposal's), or the undo of one."""

    __tablename__ = "airtable_change_sets"
    __table_args__ = (Index("ix_airtable_change_sets_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "apply" or "undo"
    action: Mapped[str] = mapped_column(String(10))  # create, update, upsert, delete, undo
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    base_id: Mapped[str] = mapped_column(String(32))
    table_id: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    reverts_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reverted_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The web request or workflow run that applied it (also in log lines and ledger rows).
    trace_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, index=True, default=current_trace
    )
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RecordChange(Base):
    """One record written by a change set: who, when, where, what before and after."""

    __tablename__ = "airtable_record_changes"
    __table_args__ = (
        Index("ix_airtable_record_changes_change_set", "change_set_id", "id"),
        Index("ix_airtable_record_changes_record", "base_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_set_id: Mapped[str] = mapped_column(ForeignKey("airtable_change_sets.id"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    base_id: Mapped[str] = mapped_column(String(32))
    table_id: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(10))  # create, update, delete
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An undo re-creates a deleted record under a new ID; this is the ID it replaces.
    source_record_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
