"""Per-user requests/min and tokens/min, shared by every process through Redis (`limits`).

Requests use a moving window (exact; one list entry per request). Tokens use the sliding
window counter: the moving window stores one list entry per unit of cost, which for
tokens would mean hundreds of thousands of entries a minute per user.

A call takes one request and its input estimate from the limits before its budget is
reserved (each is one atomic check-and-count), and its actual output tokens once settled.
An attempt the budget then refuses still counts as a request: it was one. So does an
attempt refused for tokens (the request was counted first); the refusal says so.

The retry hint of a token refusal is when enough tokens will have left the window for this
call (`tokens_free_in`), not when the window next moves: with 3,000 tokens a minute, a
1,306-token call is told the second at which the weighted count has fallen to 1,694.
"""

from __future__ import annotations

import math
import time

import redis
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from config.settings import Settings
from services.budget.errors import RateLimitExceededError


class UserRateLimits:
    """The per-minute limits of one user, checked and charged in Redis."""

    def __init__(
        self, redis_client: redis.Redis, settings: Settings, *, window_seconds: int = 60
    ) -> None:
        # The URI is not used when a pool is given: the limiter shares the app's connections.
        storage = RedisStorage(
            "redis://",
            connection_pool=redis_client.connection_pool,
            key_prefix=f"{settings.redis_key_prefix}limits",
        )
        self._storage = storage
        self._requests = MovingWindowRateLimiter(storage)
        self._tokens = SlidingWindowCounterRateLimiter(storage)
        # `window_seconds` other than a minute only for tests that wait for a window.
        self._request_item = _per_window(
            settings.rate_user_requests_per_minute, window_seconds, "llm-requests"
        )
        self._token_item = _per_window(
            settings.rate_user_tokens_per_minute, window_seconds, "llm-tokens"
        )

    def acquire(self, user_id: int, tokens: int) -> None:
        """Count one request and `tokens` input tokens, or refuse if either limit is reached.

        Raises:
            RateLimitExceededError: Which limit, and when to retry.
        """
        ident = str(user_id)
        if not self._requests.hit(self._request_item, ident):
            reset_at = self._requests.get_window_stats(self._request_item, ident).reset_time
            raise RateLimitExceededError(
                kind="requests",
                limit=self._request_item.amount,
                retry_after_seconds=_whole_seconds(reset_at - time.time()),
            )
        cost = max(tokens, 1)
        if not self._tokens.hit(self._token_item, ident, cost=cost):
            raise self._token_refusal(ident, cost)

    def charge_output(self, user_id: int, tokens: int) -> None:
        """Count generated tokens (never refused: the call already happened)."""
        if tokens > 0:
            # Above the allowance the sliding window would refuse the hit and count nothing.
            self._tokens.hit(
                self._token_item, str(user_id), cost=min(tokens, self._token_item.amount)
            )

    def _token_refusal(self, ident: str, cost: int) -> RateLimitExceededError:
        item = self._token_item
        # The same Lua read the limiter does (it also shifts an aged window), TTLs in seconds.
        window = self._storage.get_sliding_window(item.key_for(ident), item.get_expiry())
        wait = tokens_free_in(*window, window=item.get_expiry(), limit=item.amount, cost=cost)
        return RateLimitExceededError(
            kind="tokens",
            limit=item.amount,
            retry_after_seconds=None if wait is None else _whole_seconds(wait),
            needed=cost,
        )


def tokens_free_in(
    previous_count: int,
    previous_ttl: float,
    current_count: int,
    current_ttl: float,
    *,
    window: float,
    limit: int,
    cost: int,
) -> float | None:
    """Seconds until a hit of `cost` fits the sliding window counter of `limits` (Redis),
    assuming no other hits meanwhile; None when it never can (`cost` above `limit`).

    The Redis script counts `floor(previous · previous_ttl / window) + current` and admits a
    hit when that plus `cost` is at most `limit`. Until the current window is a full window
    old (its TTL falls to `window`), the previous count fades out; from then on the current
    count becomes the previous one and fades out in turn, over its remaining TTL.
    """
    if cost > limit:
        return None
    room = limit - cost  # the weighted count must be at most this
    # floor(x) <= room  <=>  x < room + 1: the count fits just after the boundary; a
    # millisecond past it covers the strict inequality.
    epsilon = 0.001
    shift_at = max(current_ttl - window, 0.0) if current_count else 0.0
    if current_count <= room:
        if previous_count == 0 or previous_ttl <= 0:
            return 0.0
        fades_at = previous_ttl - (room - current_count + 1) * window / previous_count
        if fades_at < 0:
            return 0.0
        if current_count == 0 or fades_at + epsilon < shift_at:
            return min(fades_at + epsilon, previous_ttl)
    # After the shift the current count is the previous one, with TTL current_ttl - t.
    fades_at = current_ttl - (room + 1) * window / current_count
    return max(shift_at, fades_at + epsilon)


def _per_window(amount: int, seconds: int, namespace: str) -> RateLimitItem:
    if seconds == 60:
        return RateLimitItemPerMinute(amount, namespace=namespace)
    return RateLimitItemPerSecond(amount, multiples=seconds, namespace=namespace)


def _whole_seconds(seconds: float) -> int:
    return max(math.ceil(seconds), 1)
