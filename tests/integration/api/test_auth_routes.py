"""The `/api/auth/*`, `/api/me` and `/api/admin/*` routes over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from services.container import Services
from services.orm import Role, UserStatus
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


@pytest.mark.parametrize("token", ["", "x.y", "².abc", "-5.abc", "1" * 40 + ".abc"])
def test_login__refuses_a_malformed_form_token(
    app_server: AppServer, app_services: Services, token: str
) -> None:
    user = make_user(app_services)
    data = {"email": user.email, "password": PASSWORD, "form_token": token}
    with _client(app_server) as client:
        response = client.post("/api/auth/login", data=data)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/signin?flash=")
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
    flash = app_services.flash.take(flash_id)
    assert flash is not None
    assert flash.message.startswith("Too many sign-in attempts")


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
        assert "Not allowed" in refused.json()["error"]["message"]
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


def _flash_of(response: httpx.Response, services: Services) -> tuple[str, dict[str, str], str]:
    flash = services.flash.take(response.headers["location"].split("flash=")[1])
    assert flash is not None
    return flash.message, flash.fields, flash.level


def test_api_token__stays_revoked_when_redis_forgets_it(
    app_server: AppServer, app_services: Services
) -> None:
    user = make_user(app_services)
    issued = app_services.api_tokens.create(user_id=user.id, name="script")
    headers = {"Authorization": f"Bearer {issued.token}"}
    app_services.api_tokens.revoke(user_id=user.id, jti=issued.jti)
    prefix = app_services.settings.redis_key_prefix
    app_services.redis.delete(f"{prefix}auth:revoked:{issued.jti}")
    assert httpx.get(f"{app_server.url}/api/me", headers=headers).status_code == 401


def test_api_token__disable_then_enable_leaves_old_tokens_dead(
    app_server: AppServer, app_services: Services
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    user = make_user(app_services)
    issued = app_services.api_tokens.create(user_id=user.id, name="script")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert httpx.get(f"{app_server.url}/api/me", headers=headers).status_code == 200
    for status in (UserStatus.DISABLED, UserStatus.ACTIVE):
        app_services.accounts.set_status(actor_id=admin.id, user_id=user.id, status=status)
    assert httpx.get(f"{app_server.url}/api/me", headers=headers).status_code == 401


def _register(
    client: httpx.Client, services: Services, email: str, password: str = PASSWORD
) -> httpx.Response:
    data = {
        "email": email,
        "display_name": "Someone",
        "password": password,
        "password_confirm": password,
        "form_token": services.form_tokens.issue("register"),
    }
    return client.post("/api/auth/register", data=data)


def test_register__answers_the_same_for_a_taken_email_and_tells_its_owner(
    app_server: AppServer, app_services: Services
) -> None:
    owner = make_user(app_services)
    with _client(app_server) as client:
        taken = _register(client, app_services, owner.email.upper(), "an intruder's pass")
        fresh = _register(client, app_services, f"new-{owner.email}")
    answers = []
    for response in (taken, fresh):
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?flash=")
        assert "set-cookie" not in response.headers
        message, fields, level = _flash_of(response, app_services)
        answers.append((message, level))
        assert fields["email"].lower() in {owner.email, f"new-{owner.email}"}
    assert answers[0] == answers[1]
    assert answers[0][1] == "success"
    with _client(app_server) as client:
        signed_in = _login(client, app_services, owner.email, PASSWORD)
        assert signed_in.headers["location"].startswith("/?flash=")
        message, _, level = _flash_of(signed_in, app_services)
        assert message.startswith("Someone tried to register with your email on ")
        assert level == "info"
        # Shown once: the next sign-in has nothing to tell.
        assert _login(client, app_services, owner.email, PASSWORD).headers["location"] == "/"


def test_register__caps_every_field_it_keeps_and_refuses_a_huge_body(
    app_server: AppServer, app_services: Services
) -> None:
    prefix = app_services.settings.redis_key_prefix
    with _client(app_server) as client:
        # Under the body limit, but the fields are far longer than any real one.
        long = _register(client, app_services, "x" * 5000 + "@example.com", "short")
        _, fields, _ = _flash_of(long, app_services)
        assert len(fields["email"]) == 320
        huge = _register(client, app_services, "y" * 1_000_000 + "@example.com")
        message, fields, _ = _flash_of(huge, app_services)
        assert message.startswith("The form was too large")
        assert fields == {}
        login = client.post(
            "/api/auth/login",
            data={"email": "z" * 1_000_000, "password": "p", "form_token": "t"},
        )
        message, fields, _ = _flash_of(login, app_services)
        assert message.startswith("The form was too large")
    biggest = max(
        (
            app_services.redis.memory_usage(k) or 0
            for k in app_services.redis.scan_iter(f"{prefix}*")
        ),
        default=0,
    )
    assert biggest < 20_000


def test_change_password__keeps_this_session_under_a_new_id_and_ends_the_others(
    app_server: AppServer, app_services: Services
) -> None:
    user = make_user(app_services)
    with _client(app_server) as other, _client(app_server) as this:
        _login(other, app_services, user.email, PASSWORD)
        _login(this, app_services, user.email, PASSWORD)
        old_cookie = this.cookies["pa_session"]
        data = {
            "current_password": PASSWORD,
            "new_password": "a different passphrase",
            "new_password_confirm": "a different passphrase",
            "form_token": app_services.form_tokens.issue("password"),
        }
        response = this.post("/api/account/password", data=data)
        assert response.status_code == 303
        message, _, level = _flash_of(response, app_services)
        assert (message, level) == (
            "Password changed. Your other sessions were signed out; this one stays signed in.",
            "success",
        )
        assert "HttpOnly" in response.headers["set-cookie"]
        assert this.cookies["pa_session"] != old_cookie
        assert this.get("/api/me").json()["id"] == user.id
        assert other.get("/api/me").status_code == 401
    with httpx.Client(base_url=app_server.url, cookies={"pa_session": old_cookie}) as stale:
        assert stale.get("/api/me").status_code == 401


def test_reset__a_link_sets_the_password_once(
    app_server: AppServer, app_services: Services
) -> None:
    user = make_user(app_services)
    link = app_services.password_resets.issue(actor_id=None, user_id=user.id)
    token = link.url.split("token=")[1]

    def post(password: str) -> httpx.Response:
        data = {
            "token": token,
            "password": password,
            "password_confirm": password,
            "form_token": app_services.form_tokens.issue("reset"),
        }
        with _client(app_server) as client:
            return client.post("/api/auth/reset", data=data)

    done = post("a fresh passphrase")
    assert done.headers["location"].startswith("/signin?flash=")
    assert _flash_of(done, app_services)[0] == "Password set: sign in with it."
    again = post("another passphrase")
    assert _flash_of(again, app_services)[0].startswith("Reset link: it has expired")
    with _client(app_server) as client:
        assert (
            _login(client, app_services, user.email, "a fresh passphrase").headers["location"]
            == "/"
        )
