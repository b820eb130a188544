"""SQL tables of mirrors: which bases and tables are mirrored, and each table's state.

The mirrored rows themselves live elsewhere (`store.py`): a SQLite file per base, or the
mirror database. These rows say what to copy, whose connection copies it, how far a build
got and how fresh each copy is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.orm import Base, UTCDateTime, utcnow


class MirrorBase(Base):
    """A base someone turned mirroring on for (all its tables, or the chosen ones)."""

    __tablename__ = "mirror_bases"

    base_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    # Whose Airtable connection copies the base; NULL: the org connection.
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    all_tables: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MirrorTable(Base):
    """One mirrored table: build progress and freshness."""

    __tablename__ = "mirror_tables"
    __table_args__ = (UniqueConstraint("base_id", "table_id", name="uq_mirror_tables"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    base_id: Mapped[str] = mapped_column(String(32), index=True)
    table_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # queued (a build is wanted) | building | ready | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_copied: Mapped[int] = mapped_column(Integer, default=0)
    # The columns the copy has: field ID -> column kind (see columns.py).
    columns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    build_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Everything Airtable held at this moment is in the copy (the last good sweep's start).
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
