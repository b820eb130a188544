"""Sign-in throttling per account and per client address (moving window in Redis)."""

from __future__ import annotations

import hashlib

import redis
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from services.redis_store import redis_errors

THROTTLED_MESSAGE = "Too many sign-in attempts. Wait a minute and try again."


def limits_storage(client: redis.Redis, prefix: str) -> RedisStorage:
    """A `limits` storage on the app's own Redis connection pool."""
    return RedisStorage("redis://", connection_pool=client.connection_pool, key_prefix=prefix)


class LoginThrottle:
    """Counts failed sign-ins; once a limit is reached every attempt is refused, right or wrong."""

    def __init__(
        self, client: redis.Redis, *, prefix: str, per_account: int, per_address: int
    ) -> None:
        self._limiter = MovingWindowRateLimiter(limits_storage(client, f"{prefix}throttle"))
        self._account = RateLimitItemPerMinute(per_account)
        self._address = RateLimitItemPerMinute(per_address)

    @staticmethod
    def _account_key(email: str) -> str:
        # Hashed so the throttle keys do not list who tried to sign in.
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    @redis_errors()  # `limits` makes its own client on our pool, so map its errors here
    def allowed(self, email: str, address: str) -> bool:
        return self._limiter.test(self._account, "account", self._account_key(email)) and (
            self._limiter.test(self._address, "address", address)
        )

    @redis_errors()
    def record_failure(self, email: str, address: str) -> None:
        self._limiter.hit(self._account, "account", self._account_key(email))
        self._limiter.hit(self._address, "address", address)
