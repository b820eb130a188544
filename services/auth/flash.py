"""One-time messages handed from an `/api` route to the page it redirects to.

Messages travel through Redis under a random id, so no user-controlled text is reflected
from a URL into a page, and the form's non-secret fields can be refilled.
"""

from __future__ import annotations

import json
import secrets
from typing import NamedTuple

import redis

_TTL_S = 120
# Whatever a stranger posts, at most this much of each field is kept to refill a form.
MAX_FIELD = 320
MAX_MESSAGE = 1000


class Flash(NamedTuple):
    message: str
    fields: dict[str, str]
    level: str  # "error", "success" or "info"


class FlashMessages:
    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}flash:"

    def put(self, message: str, *, level: str = "error", **fields: str) -> str:
        flash_id = secrets.token_urlsafe(12)
        capped = {name: value[:MAX_FIELD] for name, value in fields.items()}
        payload = json.dumps({"message": message[:MAX_MESSAGE], "fields": capped, "level": level})
        self._redis.set(f"{self._prefix}{flash_id}", payload, ex=_TTL_S)
        return flash_id

    def take(self, flash_id: str | None) -> Flash | None:
        if not flash_id:
            return None
        raw = self._redis.getdel(f"{self._prefix}{flash_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        return Flash(str(data["message"]), dict(data["fields"]), str(data.get("level", "error")))
