"""Small choices each person's screens remember across sign-ins and browsers.

Keys (under the install's prefix, no TTL: a choice outlives any session):
    prefs:{user}    hash: last_base -> the base the person last had in the chat picker
"""

from __future__ import annotations

import logging

import redis

logger = logging.getLogger(__name__)


class UserPreferences:
    """Per-user UI choices in Redis. A convenience: a store outage forgets, never fails."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}prefs:"

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    def last_base(self, user_id: int) -> str | None:
        """The base this person last picked, or None when they never picked one."""
        try:
            value = self._redis.hget(self._key(user_id), "last_base")
        except redis.RedisError as exc:
            logger.warning("last base of user %s not read: %s", user_id, type(exc).__name__)
            return None
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def remember_base(self, user_id: int, base_id: str) -> None:
        """Make `base_id` the one the base picker starts on for this person."""
        try:
            self._redis.hset(self._key(user_id), "last_base", base_id)
        except redis.RedisError as exc:
            logger.warning("last base of user %s not saved: %s", user_id, type(exc).__name__)
