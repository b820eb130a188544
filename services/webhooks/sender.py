"""One delivery attempt: the SSRF check, a signed POST, a bounded wait, no redirects.

Any 2xx is a success. Everything else is a failure the dispatcher retries on schedule:
another status (3xx included: redirects are never followed), a timeout, a refused
connection, a refused target. The answer's first bytes are kept for the log.

Requests go over `http.client` with a small keep-alive pool per origin: it costs about
a third of the CPU of a general client per request, which is what bounds a worker's
deliveries per second.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from services.webhooks.signing import signed_headers
from services.webhooks.targets import TargetRefusedError, check_target

EXCERPT_BYTES = 1024
USER_AGENT = "pyairtable-assistant-webhooks/1"
Origin = tuple[str, str, int, str | None]  # scheme, host, port, the checked address


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address the SSRF guard checked, not to a fresh lookup of the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """The same over TLS: the certificate is still checked against the host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


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


class _Stale(Exception):
    """A kept-alive connection the receiver had closed: send again on a fresh one."""


class DeliverySender:
    """Sends attempts, keeping up to `pool_size` idle connections per origin.

    Args:
        timeout_seconds: the whole attempt (connect and answer), `WEBHOOK_TIMEOUT_SECONDS`.
        allow_private: `WEBHOOK_ALLOW_PRIVATE_TARGETS`.
        pool_size: idle connections kept per origin (the per-endpoint concurrency).
    """

    def __init__(self, *, timeout_seconds: float, allow_private: bool, pool_size: int) -> None:
        self._timeout = timeout_seconds
        self._allow_private = allow_private
        self._pool_size = pool_size
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context()

    def send(self, url: str, msg_id: str, payload: bytes, signers: list[Webhook]) -> AttemptResult:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            address = check_target(url, allow_private=self._allow_private)
        except TargetRefusedError as exc:
            return AttemptResult(started, 0.0, None, "", f"refused: {exc}")
        headers = signed_headers(signers, msg_id, payload, at=started)
        headers["user-agent"] = USER_AGENT
        parts = urlsplit(url)
        port = parts.port or _default_port(parts.scheme)
        origin = (parts.scheme, parts.hostname or "", port, address)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        deadline = clock + self._timeout
        try:
            try:
                status, excerpt = self._post(origin, target, payload, headers, deadline, True)
            except _Stale:
                status, excerpt = self._post(origin, target, payload, headers, deadline, False)
        except TimeoutError:
            return _failure(started, clock, "timed out")
        except (OSError, http.client.HTTPException) as exc:
            return _failure(started, clock, f"connection failed: {type(exc).__name__}")
        latency = (time.perf_counter() - clock) * 1000
        error = None if 200 <= status < 300 else f"answered {status}"
        if 300 <= status < 400:
            error = f"answered {status} (redirects are not followed)"
        return AttemptResult(started, latency, status, excerpt.decode(errors="replace"), error)

    def _post(
        self,
        origin: Origin,
        target: str,
        payload: bytes,
        headers: dict[str, str],
        deadline: float,
        reuse: bool,
    ) -> tuple[int, bytes]:
        conn = self._take(origin) if reuse else None
        reused = conn is not None
        conn = conn or self._connect(origin)
        try:
            conn.timeout = _left(deadline)
            if conn.sock is not None:
                conn.sock.settimeout(conn.timeout)
            try:
                conn.request("POST", target, body=payload, headers=headers)
                response = conn.getresponse()
            except (ConnectionError, http.client.RemoteDisconnected) as exc:
                if reused:
                    raise _Stale from exc
                raise
            if conn.sock is not None:
                conn.sock.settimeout(_left(deadline))
            excerpt = response.read(EXCERPT_BYTES)
            if response.isclosed() or response.read(1) == b"":
                keep = not response.will_close
            else:
                keep = False  # more body than we read: this connection cannot be reused
        except BaseException:
            conn.close()
            raise
        if keep:
            self._give_back(origin, conn)
        else:
            conn.close()
        return response.status, excerpt

    def _connect(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port, address = origin
        if address is not None and scheme == "https":
            return _PinnedHTTPS(host, port, address, self._timeout, self._tls)
        if address is not None:
            return _PinnedHTTP(host, port, address, self._timeout)
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._tls)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)

    def _take(self, origin: Origin) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(origin)
            return idle.pop() if idle else None

    def _give_back(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._pool_size:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _left(deadline: float) -> float:
    left = deadline - time.perf_counter()
    if left <= 0:
        raise TimeoutError
    return left


def _failure(started: datetime, clock: float, error: str) -> AttemptResult:
    return AttemptResult(started, (time.perf_counter() - clock) * 1000, None, "", error)
