"""Server-wide middleware over real HTTP: framing headers on every response, JSON 404/405
for `/api/*`, and X-Forwarded-For trusted only from `TRUSTED_PROXIES`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from services.container import Services, build_services
from tests.support.appserver import AppServer, run_app_server

pytestmark = pytest.mark.e2e


def _assert_framing_headers(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/signin"),
        ("GET", "/_stcore/health"),
        ("GET", "/api/health"),
        ("GET", "/api/me"),
        ("GET", "/api/no-such-route"),
        ("POST", "/api/health"),
    ],
)
def test_every_response__forbids_framing_by_other_sites(
    app_server: AppServer, method: str, path: str
) -> None:
    response = httpx.request(method, f"{app_server.url}{path}", follow_redirects=False)
    _assert_framing_headers(response)


def test_unknown_api_path__is_a_json_404_not_the_streamlit_page(app_server: AppServer) -> None:
    for path in ("/api/no-such-route", "/api/auth/nothing", "/api", "/api/me/extra"):
        response = httpx.get(f"{app_server.url}{path}")
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["type"] == "not_found"
        assert response.json()["error"]["message"]


def test_wrong_method_on_an_api_route__is_a_json_405_with_allow(app_server: AppServer) -> None:
    response = httpx.post(f"{app_server.url}/api/health")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]
    login = httpx.get(f"{app_server.url}/api/auth/login")
    assert login.status_code == 405
    assert login.headers["allow"] == "POST"


@pytest.fixture(scope="module")
def throttled_servers(
    app_server: AppServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[AppServer, Services]]]:
    """Two servers allowing 3 failed sign-ins per address: one trusting no proxy (the
    default), one trusting a proxy on 127.0.0.1."""
    started: dict[str, tuple[AppServer, Services]] = {}
    with ExitStack() as stack:
        for name, proxies in (("untrusted", ""), ("trusted", "127.0.0.1")):
            var_dir: Path = tmp_path_factory.mktemp(f"xff-{name}")
            env = {
                **app_server.env,
                "VAR_DIR": str(var_dir),
                "REDIS_KEY_PREFIX": f"xff{uuid.uuid4().hex[:8]}:",
                "TRUSTED_PROXIES": proxies,
                "LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": "3",
            }
            env.pop("PUBLIC_URL", None)
            server = stack.enter_context(run_app_server(env, var_dir / "server.log"))
            services = build_services(server.settings())
            stack.callback(services.close)
            started[name] = (server, services)
        yield started


def _failed_logins(server: AppServer, services: Services, count: int) -> list[str]:
    """Flash messages of `count` wrong sign-ins, each to a new account from a new claimed
    address."""
    messages = []
    with httpx.Client(base_url=server.url, headers={"Origin": server.url}) as client:
        for n in range(count):
            response = client.post(
                "/api/auth/login",
                data={
                    "email": f"guess{n}-{uuid.uuid4().hex[:6]}@example.com",
                    "password": "wrong password 1",
                    "form_token": services.form_tokens.issue("login"),
                },
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            )
            flash = services.flash.take(response.headers["location"].split("flash=")[1])
            assert flash is not None
            messages.append(flash.message)
    return messages


def test_sign_in_throttle__ignores_x_forwarded_for_from_an_untrusted_peer(
    throttled_servers: dict[str, tuple[AppServer, Services]],
) -> None:
    server, services = throttled_servers["untrusted"]
    messages = _failed_logins(server, services, 4)
    assert messages[:3] == ["Wrong email or password."] * 3
    assert messages[3].startswith("Too many sign-in attempts")


def test_sign_in_throttle__uses_x_forwarded_for_from_a_trusted_proxy(
    throttled_servers: dict[str, tuple[AppServer, Services]],
) -> None:
    server, services = throttled_servers["trusted"]
    assert _failed_logins(server, services, 5) == ["Wrong email or password."] * 5
