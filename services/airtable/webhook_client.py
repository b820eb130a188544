"""Airtable's webhooks API for one user's connection: create, list, refresh, delete, and
read payloads (pyairtable's `Base.add_webhook` / `Base.webhooks` and raw calls).

Errors are the app's (`translate`); a webhook Airtable no longer has answers None or
False rather than raising, so callers can re-create it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
from pyairtable import Api

from services.airtable.client import make_api
from services.airtable.connections import AirtableConnections
from services.airtable.errors import translate

T = TypeVar("T")
_GONE = (403, 404)


@dataclass(frozen=True)
class CreatedWebhook:
    id: str
    mac_secret_base64: str  # shown once by Airtable; store it encrypted
    expires_at: datetime


class AirtableWebhookClient:
    """The webhooks of the bases a user's connection reaches."""

    def __init__(self, connections: AirtableConnections, *, endpoint_url: str) -> None:
        self._connections = connections
        self._endpoint = endpoint_url

    def create(
        self, user_id: int, base_id: str, notification_url: str, spec: dict[str, Any]
    ) -> CreatedWebhook:
        api = self._api(user_id)
        created = _call(
            f"a webhook on {base_id}", lambda: api.base(base_id).add_webhook(notification_url, spec)
        )
        expires = created.expiration_time or datetime.now(UTC) + timedelta(days=7)
        return CreatedWebhook(created.id, created.mac_secret_base64, expires.astimezone(UTC))

    def ids(self, user_id: int, base_id: str) -> set[str]:
        """The IDs of the base's webhooks (expired ones included)."""
        api = self._api(user_id)
        return {h.id for h in _call(f"webhooks of {base_id}", api.base(base_id).webhooks)}

    def refresh(self, user_id: int, base_id: str, webhook_id: str) -> datetime | None:
        """Seven more days; the new expiry, or None when Airtable has no such webhook."""
        api = self._api(user_id)
        url = api.build_url(f"bases/{base_id}/webhooks/{webhook_id}/refresh")
        data = _call(
            f"webhook {webhook_id}", lambda: _unless_gone(lambda: api.request("POST", url))
        )
        if data is None:
            return None
        return datetime.fromisoformat(data["expirationTime"].replace("Z", "+00:00"))

    def delete(self, user_id: int, base_id: str, webhook_id: str) -> None:
        """Delete it (one already gone is fine)."""
        api = self._api(user_id)
        url = api.build_url(f"bases/{base_id}/webhooks/{webhook_id}")
        _call(f"webhook {webhook_id}", lambda: _unless_gone(lambda: api.request("DELETE", url)))

    def payloads(
        self, user_id: int, base_id: str, webhook_id: str, *, cursor: int, limit: int = 50
    ) -> dict[str, Any]:
        """`{"cursor", "mightHaveMore", "payloads"}` from `cursor` on."""
        api = self._api(user_id)
        url = api.build_url(f"bases/{base_id}/webhooks/{webhook_id}/payloads")
        params = {"cursor": cursor, "limit": limit}
        data: dict[str, Any] = _call(
            f"payloads of {webhook_id}", lambda: api.request("GET", url, params=params)
        )
        return data

    def _api(self, user_id: int) -> Api:
        return make_api(self._endpoint, self._connections.token_for(user_id))


def _unless_gone(call: Callable[[], T]) -> T | None:
    try:
        return call()
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code in _GONE:
            return None
        raise


def _call(what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except requests.RequestException as exc:
        raise translate(exc, what=what) from exc
