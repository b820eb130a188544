"""One delivery attempt: the SSRF check, a signed POST, a bounded wait, no redirects.

Any 2xx is a success. Everything else is a failure the dispatcher retries on schedule:
another status (3xx included: redirects are never followed), a timeout, a refused
connection, a refused target. The answer's first bytes are kept for the log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import urllib3
from standardwebhooks import Webhook

from services.webhooks.signing import signed_headers
from services.webhooks.targets import TargetRefusedError, check_target

EXCERPT_BYTES = 1024
USER_AGENT = "pyairtable-assistant-webhooks/1"


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    latency_ms: float
    status_code: int | None
    response: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliverySender:
    """Sends attempts over one thread-safe connection pool (kept alive per host).

    Args:
        timeout_seconds: the whole attempt (connect and answer), `WEBHOOK_TIMEOUT_SECONDS`.
        allow_private: `WEBHOOK_ALLOW_PRIVATE_TARGETS`.
        pool_size: connections kept per host (the per-endpoint concurrency is enough).
    """

    def __init__(self, *, timeout_seconds: float, allow_private: bool, pool_size: int) -> None:
        self._timeout = urllib3.Timeout(total=timeout_seconds)
        self._allow_private = allow_private
        self._pool = urllib3.PoolManager(num_pools=256, maxsize=pool_size, block=False)

    def send(self, url: str, msg_id: str, payload: bytes, signers: list[Webhook]) -> AttemptResult:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            check_target(url, allow_private=self._allow_private)
        except TargetRefusedError as exc:
            return AttemptResult(started, 0.0, None, "", f"refused: {exc}")
        headers = signed_headers(signers, msg_id, payload, at=started)
        headers["user-agent"] = USER_AGENT
        try:
            response = self._pool.request(
                "POST",
                url,
                body=payload,
                headers=headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.TimeoutError:
            return _failure(started, clock, "timed out")
        except urllib3.exceptions.HTTPError as exc:
            return _failure(started, clock, f"connection failed: {type(exc).__name__}")
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=False)
            response.drain_conn()
        except urllib3.exceptions.HTTPError:
            excerpt = b""
        finally:
            response.release_conn()
        latency = (time.perf_counter() - clock) * 1000
        status = response.status
        error = None if 200 <= status < 300 else f"answered {status}"
        if 300 <= status < 400:
            error = f"answered {status} (redirects are not followed)"
        return AttemptResult(started, latency, status, excerpt.decode(errors="replace"), error)

    def close(self) -> None:
        self._pool.clear()


def _failure(started: datetime, clock: float, error: str) -> AttemptResult:
    return AttemptResult(started, (time.perf_counter() - clock) * 1000, None, "", error)
