"""Sign-in sessions in Redis: opaque random tokens, sliding expiry, ended everywhere at once.

Only a SHA-256 of the token is used as a key, so a Redis dump does not leak live cookies.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from services.errors import StoreUnavailableError

SESSION_COOKIE = "pa_session"
_TICKET_TTL_S = 120


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailableError(
            "redis", "Redis cannot be reached, so sign-in is unavailable right now."
        ) from exc


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignInSessions:
    """Create, resolve (refreshing the TTL) and end sessions."""

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = client
        self._prefix = f"{prefix}auth:"
        self._ttl = ttl_seconds

    def _session_key(self, token: str) -> str:
        return f"{self._prefix}session:{_digest(token)}"

    def _user_key(self, user_id: int) -> str:
        return f"{self._prefix}user-sessions:{user_id}"

    def create(self, user_id: int) -> str:
        """Start a session for `user_id`; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        key = self._session_key(token)
        pipe = self._redis.pipeline()
        pipe.set(key, user_id, ex=self._ttl)
        pipe.sadd(self._user_key(user_id), key)
        pipe.expire(self._user_key(user_id), self._ttl)
        pipe.execute()
        return token

    def resolve(self, token: str | None) -> int | None:
        """The user id for a live session (its expiry slides forward), else None."""
        if not token:
            return None
        key = self._session_key(token)
        with _redis_errors():
            pipe = self._redis.pipeline()
            pipe.get(key)
            pipe.expire(key, self._ttl)
            value, _ = pipe.execute()
            if value is None:
                return None
            user_id = int(value)
            self._redis.expire(self._user_key(user_id), self._ttl)
        return user_id

    def end(self, token: str | None) -> None:
        if not token:
            return
        key = self._session_key(token)
        value = self._redis.getdel(key)
        if value is not None:
            self._redis.srem(self._user_key(int(value)), key)

    def end_all(self, user_id: int) -> int:
        """End every session of `user_id` (sign out everywhere, disable, password change)."""
        user_key = self._user_key(user_id)
        keys = [
            k.decode() if isinstance(k, bytes) else str(k) for k in self._redis.smembers(user_key)
        ]
        pipe = self._redis.pipeline()
        for key in keys:
            pipe.delete(key)
        pipe.delete(user_key)
        pipe.execute()
        return len(keys)

    def issue_ticket(self, user_id: int) -> str:
        """A one-time, short-lived ticket a route can exchange for a session cookie."""
        ticket = secrets.token_urlsafe(32)
        self._redis.set(f"{self._prefix}ticket:{_digest(ticket)}", user_id, ex=_TICKET_TTL_S)
        return ticket

    def redeem_ticket(self, ticket: str) -> int | None:
        value = self._redis.getdel(f"{self._prefix}ticket:{_digest(ticket)}")
        return int(value) if value is not None else None
