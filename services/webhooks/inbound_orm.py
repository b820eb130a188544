"""SQL table of inbound workflow hooks: one signed URL (and its secret) per workflow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.orm import Base, UTCDateTime, utcnow


class WorkflowHook(Base):
    """The hook of a webhook-triggered workflow; the `whsec_…` secret is stored encrypted."""

    __tablename__ = "workflow_hooks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # The secret is shown once: to whoever first asks for it after creation (the save that
    # made the hook), then only a rotation shows a (new) one.
    secret_shown: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
