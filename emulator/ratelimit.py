"""Airtable's rate limits: 5 requests/s per base and 50/s per token.

Going over a limit answers 429 ``RATE_LIMIT_REACHED`` and starts a penalty (30 s on
Airtable) during which every request for that base (or token) gets 429 too.
"""

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from emulator import errors


class RateLimiter:
    """Sliding one-second windows per base and per token, with a penalty period.

    Args:
        per_base: Requests allowed per second for one base.
        per_token: Requests allowed per second for one token.
        penalty_seconds: How long a key stays blocked after going over.
        clock: Monotonic time source (injectable for tests).
    """

    def __init__(
        self,
        *,
        per_base: int = 5,
        per_token: int = 50,
        penalty_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"base": per_base, "token": per_token}
        self.penalty_seconds = penalty_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}

    def check(self, token: str, base_id: str | None) -> None:
        """Count one request, or raise 429 with ``Retry-After`` if it is over a limit.

        Raises:
            ApiError: 429 ``RATE_LIMIT_REACHED``.
        """
        keys = [("token", token)]
        if base_id:
            keys.insert(0, ("base", base_id))
        with self._lock:
            now = self._clock()
            for key in keys:
                until = self._blocked_until.get(key, 0.0)
                if until > now:
                    raise errors.rate_limited(math.ceil(until - now))
            for key in keys:
                hits = self._hits.setdefault(key, deque())
                while hits and hits[0] <= now - 1.0:
                    hits.popleft()
                if len(hits) >= self.limits[key[0]]:
                    self._blocked_until[key] = now + self.penalty_seconds
                    hits.clear()
                    raise errors.rate_limited(math.ceil(self.penalty_seconds))
            for key in keys:
                self._hits[key].append(now)
