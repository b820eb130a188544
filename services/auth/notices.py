"""One-time notices for an account's owner, shown once after their next sign-in.

Registration answers the same way whether or not an email already has an account; the
owner learns of an attempt on their email here instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis

_TTL_S = 90 * 86_400
_MAX_NOTICES = 20


class AccountNotices:
    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}auth:notices:"

    def registration_attempted(self, user_id: int, *, at: datetime | None = None) -> None:
        when = (at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
        self._add(user_id, f"Someone tried to register with your email on {when}.")

    def _add(self, user_id: int, text: str) -> None:
        key = f"{self._prefix}{user_id}"
        pipe = self._redis.pipeline()
        pipe.rpush(key, text)
        # Bounded: repeated attempts cannot grow one owner's list without limit.
        pipe.ltrim(key, -_MAX_NOTICES, -1)
        pipe.expire(key, _TTL_S)
        pipe.execute()

    def take(self, user_id: int) -> list[str]:
        """Every pending notice of `user_id`, removed as they are read."""
        key = f"{self._prefix}{user_id}"
        pipe = self._redis.pipeline()
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        raw, _ = pipe.execute()
        return [item.decode() if isinstance(item, bytes) else str(item) for item in raw]
