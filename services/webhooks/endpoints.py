"""The web side of outgoing webhooks (`Services.webhooks`): endpoints, secrets, the
delivery log, test events and replays.

Nothing here sends anything: a test event or a replay is a due delivery row that a
worker's dispatcher picks up within `WEBHOOK_POLL_SECONDS`. Owners manage their own
endpoints; admins may manage anyone's; for anyone else an endpoint does not exist (404).
Secrets are stored encrypted (`TokenCipher`) and handed out once: at creation and at
rotation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from services.crypto import TokenCipher
from services.errors import InvalidInputError, NotFoundError
from services.events.types import EVENT_TYPES
from services.webhooks.orm import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.webhooks.signing import message_id, new_secret
from services.webhooks.targets import check_target
from services.webhooks.types import (
    PENDING,
    TEST_EVENT_TYPE,
    AttemptInfo,
    CreatedEndpoint,
    DeliveryInfo,
    EndpointDisabledError,
    EndpointInfo,
)

MAX_DESCRIPTION = 500
MAX_ENDPOINTS_PER_USER = 50
NOT_FOUND = "There is no such webhook endpoint."


class Caller(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


class WebhookEndpoints:
    """Args:
    sessions: the app's SQL sessions.
    cipher: encrypts secrets at rest.
    allow_private: `WEBHOOK_ALLOW_PRIVATE_TARGETS`.
    overlap_seconds: how long a rotated-out secret still signs.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: TokenCipher,
        *,
        allow_private: bool,
        overlap_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._allow_private = allow_private
        self._overlap = timedelta(seconds=overlap_seconds)

    # -- endpoints -----------------------------------------------------------------------

    def create(
        self,
        caller: Caller,
        *,
        url: str,
        events: Iterable[str],
        description: str = "",
        enabled: bool = True,
    ) -> CreatedEndpoint:
        """A new endpoint and its `whsec_…` secret (shown to the caller once).

        Raises:
            InvalidInputError: a refused URL, no or unknown event types, a long description.
        """
        url, chosen, description = _checked(url, events, description, self._allow_private)
        secret = new_secret()
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            count = len(
                session.scalars(
                    select(WebhookEndpoint.id).where(WebhookEndpoint.owner_id == caller.id)
                ).all()
            )
            if count >= MAX_ENDPOINTS_PER_USER:
                raise InvalidInputError(
                    f"You have {count} endpoints already; delete one to add another."
                )
            row = WebhookEndpoint(
                id=f"ep_{uuid.uuid4().hex[:20]}",
                owner_id=caller.id,
                url=url,
                description=description,
                events=chosen,
                enabled=enabled,
                secret=self._cipher.encrypt(secret),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return CreatedEndpoint(_info(row), secret)

    def list_for(self, caller: Caller) -> list[EndpointInfo]:
        """The caller's endpoints (an admin's list holds everyone's), newest first."""
        query = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at.desc())
        if not caller.is_admin:
            query = query.where(WebhookEndpoint.owner_id == caller.id)
        with self._sessions() as session:
            return [_info(row) for row in session.scalars(query)]

    def get(self, caller: Caller, endpoint_id: str) -> EndpointInfo:
        with self._sessions() as session:
            return _info(_owned(session, caller, endpoint_id))

    def update(
        self,
        caller: Caller,
        endpoint_id: str,
        *,
        enabled: bool | None = None,
        description: str | None = None,
        events: Iterable[str] | None = None,
    ) -> EndpointInfo:
        """Enable or disable (enabling clears the failure streak), describe, resubscribe."""
        with self._sessions.begin() as session:
            row = _owned(session, caller, endpoint_id)
            if description is not None or events is not None:
                _, chosen, text = _checked(
                    row.url,
                    row.events if events is None else events,
                    row.description if description is None else description,
                    allow_private=True,  # the URL is not changing
                )
                row.events, row.description = chosen, text
            if enabled is not None and enabled != row.enabled:
                row.enabled = enabled
                row.failing_since = None
                row.disabled_reason = None if enabled else "Disabled by its owner."
            row.updated_at = datetime.now(UTC)
            return _info(row)

    def delete(self, caller: Caller, endpoint_id: str) -> None:
        with self._sessions.begin() as session:
            session.delete(_owned(session, caller, endpoint_id))

    def rotate(self, caller: Caller, endpoint_id: str) -> tuple[EndpointInfo, str]:
        """A new secret (returned once); the old one also signs for the overlap."""
        secret = new_secret()
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            row = _owned(session, caller, endpoint_id)
            row.previous_secret = row.secret
            row.previous_until = now + self._overlap
            row.secret = self._cipher.encrypt(secret)
            row.updated_at = now
            return _info(row), secret

    # -- deliveries ----------------------------------------------------------------------

    def send_test(self, caller: Caller, endpoint_id: str) -> DeliveryInfo:
        """Queue a `webhook.test` event to the endpoint (a worker sends it at once)."""
        now = datetime.now(UTC)
        event_id = f"test_{uuid.uuid4().hex[:20]}"
        envelope = {
            "id": event_id,
            "type": TEST_EVENT_TYPE,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "data": {
                "endpoint_id": endpoint_id,
                "message": "A test event from PyAirtable Assistant.",
            },
        }
        with self._sessions.begin() as session:
            endpoint = _owned(session, caller, endpoint_id)
            if not endpoint.enabled:
                raise EndpointDisabledError("This endpoint is disabled; enable it to send a test.")
            row = WebhookDelivery(
                id=message_id(endpoint_id, event_id),
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=TEST_EVENT_TYPE,
                payload=json.dumps(envelope, separators=(",", ":")),
                status=PENDING,
                attempts=0,
                retries=0,
                next_attempt_at=now,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _delivery(row, [])

    def deliveries(
        self, caller: Caller, endpoint_id: str, *, limit: int = 50
    ) -> list[DeliveryInfo]:
        """The endpoint's newest deliveries, each with its attempts (oldest attempt first)."""
        with self._sessions() as session:
            _owned(session, caller, endpoint_id)
            rows = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
                .limit(limit)
            ).all()
            attempts: dict[str, list[AttemptInfo]] = {row.id: [] for row in rows}
            for attempt in session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(list(attempts)))
                .order_by(WebhookAttempt.id)
            ):
                attempts[attempt.delivery_id].append(
                    AttemptInfo(
                        attempt.started_at,
                        attempt.status_code,
                        attempt.latency_ms,
                        attempt.response,
                        attempt.error,
                    )
                )
            return [_delivery(row, attempts[row.id]) for row in rows]

    def replay(self, caller: Caller, delivery_id: str) -> DeliveryInfo:
        """Send a delivery again, with the same `webhook-id`, on a fresh retry schedule."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                raise NotFoundError("There is no such delivery.")
            try:
                endpoint = _owned(session, caller, row.endpoint_id)
            except NotFoundError:
                raise NotFoundError("There is no such delivery.") from None
            if not endpoint.enabled:
                raise EndpointDisabledError("This endpoint is disabled; enable it to replay.")
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(
                    status=PENDING,
                    retries=0,
                    next_attempt_at=now,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            session.refresh(row)
            return _delivery(row, [])

    # -- signing for workflow steps ------------------------------------------------------

    def signers_for(self, owner_id: int, url: str) -> list[Webhook] | None:
        """The signers of `owner_id`'s endpoint at exactly `url` (None: there is none)."""
        now = datetime.now(UTC)
        with self._sessions() as session:
            row = session.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.owner_id == owner_id, WebhookEndpoint.url == url)
                .order_by(WebhookEndpoint.created_at)
                .limit(1)
            ).first()
            if row is None:
                return None
            return signers_of(
                self._cipher, row.secret, row.previous_secret, row.previous_until, now
            )

    def has_endpoint(self, owner_id: int, url: str) -> bool:
        with self._sessions() as session:
            found = session.scalars(
                select(WebhookEndpoint.id).where(
                    WebhookEndpoint.owner_id == owner_id, WebhookEndpoint.url == url
                )
            ).first()
            return found is not None


def signers_of(
    cipher: TokenCipher,
    secret: str,
    previous: str | None,
    previous_until: datetime | None,
    now: datetime,
) -> list[Webhook]:
    """The current secret's signer, and the previous one's while its overlap lasts."""
    signers = [Webhook(cipher.decrypt(secret))]
    if previous and previous_until and previous_until > now:
        signers.append(Webhook(cipher.decrypt(previous)))
    return signers


def _checked(
    url: str, events: Iterable[str], description: str, allow_private: bool
) -> tuple[str, list[str], str]:
    url = (url or "").strip()
    if not url:
        raise InvalidInputError("Give the endpoint a URL.")
    check_target(url, allow_private=allow_private)
    if isinstance(events, str):
        raise InvalidInputError('"events" must be a list of event types.')
    chosen = list(dict.fromkeys(events))
    if not chosen:
        raise InvalidInputError("Pick at least one event type.")
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInputError(
            f"Unknown event types: {', '.join(map(str, unknown))}. Valid: {', '.join(EVENT_TYPES)}."
        )
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInputError(f"The description is longer than {MAX_DESCRIPTION} characters.")
    return url, [e for e in EVENT_TYPES if e in chosen], description


def _owned(session: Session, caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or (row.owner_id != caller.id and not caller.is_admin):
        raise NotFoundError(NOT_FOUND)
    return row


def _info(row: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(
        id=row.id,
        owner_id=row.owner_id,
        url=row.url,
        description=row.description,
        events=list(row.events),
        enabled=row.enabled,
        failing_since=row.failing_since,
        disabled_reason=row.disabled_reason,
        previous_secret_until=row.previous_until,
        created_at=row.created_at,
    )


def _delivery(row: WebhookDelivery, attempts: list[AttemptInfo]) -> DeliveryInfo:
    return DeliveryInfo(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        attempt_log=attempts,
    )
