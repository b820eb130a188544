"""What the webhook services hand to routes and pages (plain data), and their errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.errors import AppError

TEST_EVENT_TYPE = "webhook.test"
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class EndpointDisabledError(AppError):
    """The endpoint is disabled: nothing is sent to it until it is enabled again."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class EndpointInfo:
    id: str
    owner_id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    failing_since: datetime | None
    disabled_reason: str | None
    previous_secret_until: datetime | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "url": self.url,
            "description": self.description,
            "events": self.events,
            "enabled": self.enabled,
            "failing_since": _iso(self.failing_since),
            "disabled_reason": self.disabled_reason,
            "previous_secret_until": _iso(self.previous_secret_until),
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint and its secret: the only time the secret is handed out."""

    endpoint: EndpointInfo
    secret: str


@dataclass(frozen=True)
class AttemptInfo:
    at: datetime
    status_code: int | None
    latency_ms: float
    response: str
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "status_code": self.status_code,
            "latency_ms": round(self.latency_ms, 1),
            "response": self.response,
            "error": self.error,
        }


@dataclass(frozen=True)
class DeliveryInfo:
    id: str  # also the `webhook-id` header of every attempt
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[AttemptInfo] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook_id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": _iso(self.created_at),
            "next_attempt_at": _iso(self.next_attempt_at) if self.status == PENDING else None,
            "delivered_at": _iso(self.delivered_at),
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "attempt_log": [a.to_json() for a in self.attempt_log],
        }
