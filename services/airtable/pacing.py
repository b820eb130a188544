"""Pacing every Airtable request: a rate limiter shared through Redis, and polite retries.

Airtable allows 5 requests per second per base and 50 per second per token, counted on
its side; going over costs a 30 second penalty for everyone using that base. Every web
replica and worker therefore takes a slot from the same Redis sliding-window log before
sending, and a 429 blocks the base for all of them until its `Retry-After` has passed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.errors import AirtableError, StoreUnavailableError
from services.metrics import Metrics

logger = logging.getLogger(__name__)

# KEYS: one sliding-window log per limit, then one "blocked" key per limit.
# ARGV: member, lease_ms, then (limit, window_ms) per log key. Returns 0 with a slot
# taken, else how many milliseconds to wait before asking again. A slot in flight is
# scored at the end of its lease, so however slow the request it is never trimmed early.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local lease = tonumber(ARGV[2])
local n = #KEYS / 2
local wait = 0
for i = 1, n do
  local blocked = redis.call('PTTL', KEYS[n + i])
  if blocked > wait then wait = blocked end
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
    local free_at = oldest + window - now
    if oldest > now then free_at = 25 end
    if free_at > wait then wait = free_at end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], lease + tonumber(ARGV[2 + 2 * i]))
end
return 0
"""

# KEYS: the logs a slot was taken in; ARGV: member. Moves the slot to "now": the request
# has been answered, so it arrived before now and the window can start counting.
_RELEASE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
end
return 0
"""

_BASE_IN_PATH = re.compile(r"/(app[A-Za-z0-9]{14})(?=/|$)")
_RETRIABLE = (429, 503)

# Below the pacing: a connection that fails before a reply comes (refused, or a kept-alive
# connection the server closed as it was reused) is retried once on a fresh one, for
# requests that can be repeated safely (GET, PUT, DELETE); a POST or PATCH is not, since
# Airtable may have applied it. Statuses, 429 with its Retry-After included, are left to
# `PacedAdapter.send` (urllib3 would otherwise sleep out a Retry-After on its own).
_TRANSPORT_RETRY = Retry(
    total=2,
    connect=1,
    read=1,
    status=0,
    other=0,
    redirect=0,
    respect_retry_after_header=False,
)


@dataclass(frozen=True)
class PacingPolicy:
    """How fast to send and how to retry; built from settings."""

    per_base: int = 5
    per_token: int = 50
    window_ms: int = 1100
    wait_timeout_seconds: float = 120.0
    max_retries: int = 4
    max_retry_wait_seconds: float = 30.0
    # Longer than any request may take (the client's timeouts are 5 s + 30 s).
    lease_ms: int = 40_000


@dataclass(frozen=True)
class Slot:
    """A request's place in the windows it counts in."""

    keys: list[str]
    member: str


class SharedRateLimiter:
    """Sliding-window request slots per base and per token, shared by every process.

    Airtable counts a request when it arrives, somewhere between taking its slot and
    getting the answer. So a slot counts as taken "in the future" while its request is in
    flight, and is stamped with the time the answer came back once it has: the next
    request in line waits a full window from then, however long this one was delayed.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        policy: PacingPolicy,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self._redis = client
        self._prefix = f"{prefix}airtable:rate:"
        self._policy = policy
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)

    def _keys(self, base_id: str | None, token_key: str) -> tuple[list[str], list[int]]:
        policy = self._policy
        logs = [f"{self._prefix}token:{token_key}"]
        args = [policy.per_token, policy.window_ms]
        if base_id:
            logs.insert(0, f"{self._prefix}base:{base_id}")
            args = [policy.per_base, policy.window_ms, *args]
        return logs, args

    def acquire(self, base_id: str | None, token_key: str) -> Slot:
        """Block until a request for `base_id` may be sent, then take its slot.

        Raises:
            AirtableError: when no slot frees up within the policy's wait timeout.
            StoreUnavailableError: when Redis cannot be reached.
        """
        logs, args = self._keys(base_id, token_key)
        keys = logs + [f"{key}:blocked" for key in logs]
        member = uuid.uuid4().hex
        started = time.monotonic()
        deadline = started + self._policy.wait_timeout_seconds
        while True:
            try:
                wait_ms = int(self._acquire(keys=keys, args=[member, self._policy.lease_ms, *args]))
            except redis.RedisError as exc:
                raise StoreUnavailableError("redis", "Redis cannot be reached.") from exc
            if wait_ms <= 0:
                if self.metrics is not None:
                    self.metrics.pacer_wait.observe(time.monotonic() - started)
                return Slot(logs, member)
            if time.monotonic() + wait_ms / 1000 > deadline:
                raise AirtableError("Airtable is busy for this base right now; try again soon.")
            time.sleep(wait_ms / 1000)

    def release(self, slot: Slot) -> None:
        """Stamp the slot with the time the response came back."""
        try:
            self._release(keys=slot.keys, args=[slot.member])
        except redis.RedisError as exc:
            raise StoreUnavailableError("redis", "Redis cannot be reached.") from exc

    def block(self, base_id: str | None, token_key: str, seconds: float) -> None:
        """Hold every process back from this base (or token) for `seconds`."""
        logs, _ = self._keys(base_id, token_key)
        target = logs[0]
        try:
            self._redis.set(f"{target}:blocked", "1", px=max(1, int(seconds * 1000)))
        except redis.RedisError as exc:
            raise StoreUnavailableError("redis", "Redis cannot be reached.") from exc


def token_fingerprint(token: str) -> str:
    """A short, one-way name for a token, for Redis keys (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def base_id_of(url: str) -> str | None:
    """The base a request URL addresses, or None for account-wide calls (bases, whoami)."""
    path = url.split("?", 1)[0]
    match = _BASE_IN_PATH.search(path)
    return match.group(1) if match else None


class PacedAdapter(HTTPAdapter):
    """A requests adapter that takes a shared slot before every send and retries 429/503."""

    def __init__(self, limiter: SharedRateLimiter, policy: PacingPolicy, token_key: str) -> None:
        super().__init__(max_retries=_TRANSPORT_RETRY)
        self._limiter = limiter
        self._policy = policy
        self._token_key = token_key

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        base_id = base_id_of(request.url or "")
        attempt = 0
        while True:
            slot = self._limiter.acquire(base_id, self._token_key)
            started = time.monotonic()
            try:
                response = super().send(request, *args, **kwargs)
            finally:
                self._limiter.release(slot)
            logger.debug(
                "airtable %s base=%s status=%s ms=%d",
                request.method,
                base_id,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            retry = response.status_code in _RETRIABLE and attempt < self._policy.max_retries
            if self._limiter.metrics is not None:
                self._limiter.metrics.airtable(base_id, response.status_code, retried=retry)
            if not retry:
                return response
            wait = self._retry_wait(response, attempt)
            if response.status_code == 429:
                self._limiter.block(base_id, self._token_key, wait)
            logger.warning(
                "airtable %s on base=%s; retry %d in %.1f s",
                response.status_code,
                base_id,
                attempt + 1,
                wait,
            )
            response.close()
            time.sleep(wait)
            attempt += 1

    def _retry_wait(self, response: Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        try:
            wait = float(header) if header else None
        except ValueError:
            wait = None
        if wait is None:
            # Without a hint, a 429 means Airtable's 30 s penalty; a 503 gets a short backoff.
            wait = 30.0 if response.status_code == 429 else 0.5 * 2**attempt
        return max(0.05, min(wait, self._policy.max_retry_wait_seconds))
