"""Per-user requests/min and tokens/min, shared by every process through Redis (`limits`).

Requests use a moving window (exact; one list entry per request). Tokens use the sliding
window counter: the moving window stores one list entry per unit of cost, which for
tokens would mean hundreds of thousands of entries a minute per user.

A call takes one request and its input estimate from the limits before its budget is
reserved (each is one atomic check-and-count), and its actual output tokens once settled.
An attempt the budget then refuses still counts as a request: it was one.
"""

from __future__ import annotations

import math
import time

import redis
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from config.settings import Settings
from services.budget.errors import RateLimitExceededError


class UserRateLimits:
    """The per-minute limits of one user, checked and charged in Redis."""

    def __init__(self, redis_client: redis.Redis, settings: Settings) -> None:
        # The URI is not used when a pool is given: the limiter shares the app's connections.
        storage = RedisStorage(
            "redis://",
            connection_pool=redis_client.connection_pool,
            key_prefix=f"{settings.redis_key_prefix}limits",
        )
        self._requests = MovingWindowRateLimiter(storage)
        self._tokens = SlidingWindowCounterRateLimiter(storage)
        self._request_item = RateLimitItemPerMinute(
            settings.rate_user_requests_per_minute, namespace="llm-requests"
        )
        self._token_item = RateLimitItemPerMinute(
            settings.rate_user_tokens_per_minute, namespace="llm-tokens"
        )

    def acquire(self, user_id: int, tokens: int) -> None:
        """Count one request and `tokens` input tokens, or refuse if either limit is reached.

        Raises:
            RateLimitExceededError: Which limit, and when to retry.
        """
        ident = str(user_id)
        if not self._requests.hit(self._request_item, ident):
            raise self._refusal("requests", self._request_item, self._requests, ident)
        # A cost above the whole allowance could never pass: it is refused like the rest.
        if not self._tokens.hit(self._token_item, ident, cost=max(tokens, 1)):
            raise self._refusal("tokens", self._token_item, self._tokens, ident)

    def charge_output(self, user_id: int, tokens: int) -> None:
        """Count generated tokens (never refused: the call already happened)."""
        if tokens > 0:
            # Above the allowance the sliding window would refuse the hit and count nothing.
            self._tokens.hit(
                self._token_item, str(user_id), cost=min(tokens, self._token_item.amount)
            )

    @staticmethod
    def _refusal(
        kind: str,
        item: RateLimitItem,
        limiter: MovingWindowRateLimiter | SlidingWindowCounterRateLimiter,
        ident: str,
    ) -> RateLimitExceededError:
        reset_at = limiter.get_window_stats(item, ident).reset_time
        retry_after = max(math.ceil(reset_at - time.time()), 1)
        return RateLimitExceededError(kind=kind, limit=item.amount, retry_after_seconds=retry_after)
