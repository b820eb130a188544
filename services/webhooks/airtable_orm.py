"""SQL table of the Airtable webhooks the app registered: one per (owner, base, table)
watched by a record trigger, with its MAC secret (encrypted) and its payload cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.orm import Base, UTCDateTime, utcnow


class AirtableWebhook(Base):
    __tablename__ = "airtable_webhooks"
    __table_args__ = (
        UniqueConstraint("owner_id", "base_id", "table_id", name="uq_airtable_webhooks_table"),
    )

    # Our own ID, in the notification URL (Airtable's ID is known only after creating it,
    # and a webhook re-created after it was lost keeps the URL).
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    airtable_id: Mapped[str] = mapped_column(String(40), unique=True)  # `ach…`
    # Whose connection registered it; None for the org connection (a mirror of an org base).
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True
    )
    base_id: Mapped[str] = mapped_column(String(40))
    table_id: Mapped[str] = mapped_column(String(40))
    mac_secret_encrypted: Mapped[str] = mapped_column(Text)
    # The next payload to read (Airtable's cursors start at 1); advanced with the effects.
    cursor: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
