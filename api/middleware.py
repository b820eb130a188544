"""Pure ASGI middleware for the whole server: framing headers, `/api/*` 404/405 as JSON,
and the client's address behind trusted proxies only.

Pure ASGI (not `BaseHTTPMiddleware`) so Streamlit's WebSocket and streaming responses pass
through untouched.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.logging import new_request_id, traced
from services.metrics import Metrics

# Only pages of this app may frame it (its Confirm buttons must not be clickjacked).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
)
_LOOPBACK = "127.0.0.1,::1"


class SecurityHeadersMiddleware:
    """Adds `X-Frame-Options` and CSP `frame-ancestors 'self'` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiNotFoundMiddleware:
    """`/api/*` requests no route takes get a JSON 404 (or 405 with `Allow`), never the
    Streamlit page that the server answers for every other unknown path."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/api" or path.startswith("/api/")):
            await self.app(scope, receive, send)
            return
        matches = [route.matches(scope)[0] for route in self.routes]
        if Match.FULL in matches:
            await self.app(scope, receive, send)
            return
        if Match.PARTIAL in matches:
            allowed = sorted(
                {
                    m
                    for r in self.routes
                    if r.matches(scope)[0] is Match.PARTIAL
                    for m in _methods(r)
                }
            )
            message = f"{scope['method']} is not allowed here; use {', '.join(allowed)}."
            headers = [(b"allow", ", ".join(allowed).encode())]
            await _json_error(send, 405, "method_not_allowed", message, headers)
            return
        await _json_error(send, 404, "not_found", f"No API route at {path[:200]}.", [])


def _methods(route: BaseRoute) -> set[str]:
    return set(getattr(route, "methods", None) or ())


async def _json_error(
    send: Send, status: int, kind: str, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


class TrustedHosts:
    """IP addresses and networks from a comma-separated list such as `10.0.0.0/8,::1`."""

    def __init__(self, spec: str) -> None:
        self.networks = [
            ipaddress.ip_network(item.strip(), strict=False)
            for item in spec.split(",")
            if item.strip()
        ]

    def __contains__(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_of(self, peer: str, forwarded_for: str) -> str:
        """The client: the peer, or, when the peer is trusted, the nearest untrusted hop."""
        if peer not in self:
            return peer
        hops = [_host_of(hop) for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if hop not in self:
                return hop
        return hops[0] if hops else peer


def _host_of(hop: str) -> str:
    hop = hop.strip()
    if hop.startswith("["):  # [IPv6]:port
        return hop[1 : hop.find("]")] if "]" in hop else hop
    if hop.count(":") == 1:  # IPv4:port
        return hop.split(":")[0]
    return hop


class ClientAddressMiddleware:
    """Sets the request's client address, trusting `X-Forwarded-For` only from
    `TRUSTED_PROXIES`.

    uvicorn (as `streamlit run` starts it) already replaced the client with the header's
    last hop whenever the peer was a loopback address, and keeps no copy of the peer. When
    the client it left is exactly what that rule gives for this header, the peer was
    loopback (or a client that named itself, which is the same answer), so the peer is
    taken to be 127.0.0.1 and judged against our own list.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: Callable[[], str]) -> None:
        # A callable: the middleware is built before the lifespan reads the settings.
        self.app = app
        self._trusted_proxies = trusted_proxies
        self._trusted: TrustedHosts | None = None
        self.uvicorn_default = TrustedHosts(_LOOPBACK)

    @property
    def trusted(self) -> TrustedHosts:
        if self._trusted is None:
            self._trusted = TrustedHosts(self._trusted_proxies())
        return self._trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        forwarded = _header(scope, b"x-forwarded-for")
        if scope["type"] in {"http", "websocket"} and client and forwarded:
            host, port = client[0], client[1]
            if host == self.uvicorn_default.client_of("127.0.0.1", forwarded):
                host = "127.0.0.1"
            scope = {**scope, "client": (self.trusted.client_of(host, forwarded)[:64], port)}
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    values = [value for key, value in scope.get("headers", []) if key == name]
    return b", ".join(values).decode("latin-1")


class RequestMetricsMiddleware:
    """Counts and times every `/api/*` request by route template and status, and gives it a
    request id (the trace id of its log lines, ledger and audit rows; `X-Request-Id`).

    `metrics` is a callable: the middleware is built before the lifespan builds the services.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        metrics: Callable[[], Metrics | None],
    ) -> None:
        self.app = app
        self.routes = routes
        self._metrics = metrics

    def _route(self, scope: Scope) -> str:
        for route in self.routes:
            if route.matches(scope)[0] is Match.FULL:
                return str(getattr(route, "path", "?"))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500
        request_id = new_request_id()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            with traced(request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            metrics = self._metrics()
            if metrics is not None:
                route = self._route(scope)
                metrics.http(route, scope["method"], status, time.monotonic() - started)
