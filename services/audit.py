"""The audit log of account, role and connection changes."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from services.orm import AuditEvent

logger = logging.getLogger(__name__)


def record_event(
    session: Session,
    *,
    actor_user_id: int | None,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row in the caller's transaction (never secrets in `detail`)."""
    session.add(
        AuditEvent(actor_user_id=actor_user_id, action=action, target=target, detail=detail or {})
    )
    logger.info("audit %s by %s on %s", action, actor_user_id, target)
