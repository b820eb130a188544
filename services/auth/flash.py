"""One-time messages handed from an `/api` route to the page it redirects to.

Messages travel through Redis under a random id, so no user-controlled text is reflected
from a URL into a page, and the form's non-secret fields can be refilled.
"""

from __future__ import annotations

import json
import secrets

import redis

_TTL_S = 120


class FlashMessages:
    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}flash:"

    def put(self, message: str, **fields: str) -> str:
        flash_id = secrets.token_urlsafe(12)
        payload = json.dumps({"message": message, "fields": fields})
        self._redis.set(f"{self._prefix}{flash_id}", payload, ex=_TTL_S)
        return flash_id

    def take(self, flash_id: str | None) -> tuple[str, dict[str, str]] | None:
        if not flash_id:
            return None
        raw = self._redis.getdel(f"{self._prefix}{flash_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        return str(data["message"]), dict(data["fields"])
