"""The trusted-proxy rule of the client-address middleware, on plain ASGI scopes."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

from api.middleware import ClientAddressMiddleware, TrustedHosts


def test_trusted_hosts__takes_the_nearest_untrusted_hop_from_a_trusted_peer() -> None:
    hosts = TrustedHosts("10.0.0.0/8, 192.168.1.5")
    assert hosts.client_of("10.1.2.3", "198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert hosts.client_of("192.168.1.5", "[2001:db8::1]:4711") == "2001:db8::1"
    assert hosts.client_of("198.51.100.9", "1.2.3.4") == "198.51.100.9"
    assert TrustedHosts("").client_of("127.0.0.1", "1.2.3.4") == "127.0.0.1"


def _client_seen(trusted: str, client: tuple[str, int], forwarded: str) -> str:
    seen: list[str] = []

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        seen.append(scope["client"][0])

    scope = {
        "type": "http",
        "client": client,
        "headers": [(b"x-forwarded-for", forwarded.encode())],
    }
    middleware = ClientAddressMiddleware(app, trusted_proxies=lambda: trusted)
    asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    return seen[0]


def test_client_address__undoes_uvicorns_loopback_trust_unless_configured() -> None:
    # uvicorn already replaced the loopback peer with the header's last hop.
    assert _client_seen("", ("203.0.113.9", 0), "203.0.113.9") == "127.0.0.1"
    assert _client_seen("127.0.0.1", ("203.0.113.9", 0), "203.0.113.9") == "203.0.113.9"
    # A peer uvicorn did not trust keeps its own address.
    assert _client_seen("", ("198.51.100.2", 5000), "203.0.113.9") == "198.51.100.2"
