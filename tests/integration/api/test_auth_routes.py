"""The `/api/auth/*`, `/api/me` and `/api/admin/*` routes over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from services.container import Services
from services.models import Role
from tests.support.accounts import PASSWORD, make_user
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def _client(server: AppServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Origin": server.url}, timeout=30)


def _login(client: httpx.Client, services: Services, email: str, password: str) -> httpx.Response:
    token = services.form_tokens.issue("login")
    return client.post(
        "/api/auth/login", data={"email": email, "password": password, "form_token": token}
    )


def test_login__sets_an_httponly_lax_cookie(app_server: AppServer, app_services: Services) -> None:
    user = make_user(app_services)
    with _client(app_server) as client:
        response = _login(client, app_services, user.email, PASSWORD)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("pa_session=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain http on localhost; PUBLIC_URL https adds it
        me = client.get("/api/me")
        assert me.status_code == 200
        assert me.json()["email"] == user.email


def test_login__refuses_cross_site_posts(app_server: AppServer, app_services: Services) -> None:
    user = make_user(app_services)
    token = app_services.form_tokens.issue("login")
    data = {"email": user.email, "password": PASSWORD, "form_token": token}
    with httpx.Client(base_url=app_server.url, headers={"Origin": "https://evil.example"}) as c:
        response = c.post("/api/auth/login", data=data)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?flash=")
    assert "set-cookie" not in response.headers


def test_login__refuses_a_missing_form_token(app_server: AppServer, app_services: Services) -> None:
    user = make_user(app_services)
    with _client(app_server) as client:
        response = client.post("/api/auth/login", data={"email": user.email, "password": PASSWORD})
    assert "set-cookie" not in response.headers


def test_login__sixth_wrong_attempt_blocks_the_right_password(
    app_server: AppServer, app_services: Services
) -> None:
    user = make_user(app_services)
    with _client(app_server) as client:
        for _ in range(5):
            assert (
                "set-cookie"
                not in _login(client, app_services, user.email, "wrong pw 1234").headers
            )
        response = _login(client, app_services, user.email, PASSWORD)
        assert "set-cookie" not in response.headers
        flash_id = response.headers["location"].split("flash=")[1]
    message, _ = app_services.flash.take(flash_id) or ("", {})
    assert message.startswith("Too many sign-in attempts")


def test_logout__ends_the_session(app_server: AppServer, app_services: Services) -> None:
    user = make_user(app_services)
    with _client(app_server) as client:
        _login(client, app_services, user.email, PASSWORD)
        token = app_services.form_tokens.issue("logout")
        response = client.post("/api/auth/logout", data={"form_token": token})
        assert response.status_code == 303
        assert client.get("/api/me").status_code == 401


def test_admin_route__checks_the_role(app_server: AppServer, app_services: Services) -> None:
    member = make_user(app_services)
    admin = make_user(app_services, role=Role.ADMIN)
    with _client(app_server) as client:
        assert client.get("/api/admin/users").status_code == 401
        _login(client, app_services, member.email, PASSWORD)
        refused = client.get("/api/admin/users")
        assert refused.status_code == 403
        assert "Not allowed" in refused.json()["error"]
    with _client(app_server) as client:
        _login(client, app_services, admin.email, PASSWORD)
        listed = client.get("/api/admin/users")
        assert listed.status_code == 200
        assert member.email in {u["email"] for u in listed.json()["users"]}


def test_api_token__authorises_until_revoked(app_server: AppServer, app_services: Services) -> None:
    user = make_user(app_services)
    issued = app_services.api_tokens.create(user_id=user.id, name="script")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert httpx.get(f"{app_server.url}/api/me", headers=headers).json()["id"] == user.id
    app_services.api_tokens.revoke(user_id=user.id, jti=issued.jti)
    assert httpx.get(f"{app_server.url}/api/me", headers=headers).status_code == 401
