"""While Redis is down the `/api` routes answer 503 JSON naming it, and recover when it returns.

The app server here has an embedded Redis of its own, so stopping it leaves the shared one be.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from services.container import Services, build_services
from services.redis_store import EmbeddedRedis
from tests.support.accounts import PASSWORD, make_user
from tests.support.appserver import AppServer, run_app_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("own-redis"))
    embedded.ensure_running()
    yield embedded
    embedded.stop()


@pytest.fixture(scope="module")
def server(
    sql_url: str, own_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    var_dir = tmp_path_factory.mktemp("outage-app-var")
    env = {
        "DATABASE_URL": sql_url,
        "REDIS_URL": f"unix://{own_redis.socket_path}",
        "REDIS_KEY_PREFIX": f"outage{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(var_dir),
        "LLM_PROVIDER": "none",
    }
    with run_app_server(env, var_dir / "server.log") as running:
        yield running


@pytest.fixture
def server_services(server: AppServer, own_redis: EmbeddedRedis) -> Iterator[Services]:
    built = build_services(server.settings(llm_provider="none"))
    try:
        yield built
    finally:
        own_redis.ensure_running()  # a test that stopped it leaves it running for the next
        built.close()


def _client(server: AppServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Origin": server.url}, timeout=30)


def _signed_in(client: httpx.Client, services: Services) -> None:
    user = make_user(services)
    form = {"email": user.email, "password": PASSWORD}
    token = services.form_tokens.issue("login")
    response = client.post("/api/auth/login", data={**form, "form_token": token})
    assert response.status_code == 303
    assert "pa_session" in client.cookies


def _assert_redis_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["store"] == "redis"
    assert "Redis" in body["error"]["message"]


def test_me__answers_503_naming_redis_while_redis_is_down(
    server: AppServer, server_services: Services, own_redis: EmbeddedRedis
) -> None:
    user = make_user(server_services)
    api_token = server_services.api_tokens.create(user_id=user.id, name="ci").token
    with _client(server) as client, _client(server) as api_client:
        _signed_in(client, server_services)
        own_redis.stop()
        _assert_redis_unavailable(client.get("/api/me"))
        bearer = {"Authorization": f"Bearer {api_token}"}
        _assert_redis_unavailable(api_client.get("/api/me", headers=bearer))


def test_login__answers_503_naming_redis_while_redis_is_down(
    server: AppServer, server_services: Services, own_redis: EmbeddedRedis
) -> None:
    user = make_user(server_services)
    token = server_services.form_tokens.issue("login")
    own_redis.stop()
    with _client(server) as client:
        response = client.post(
            "/api/auth/login",
            data={"email": user.email, "password": PASSWORD, "form_token": token},
        )
    _assert_redis_unavailable(response)
    assert "set-cookie" not in response.headers


def test_ready__answers_503_while_redis_is_down_and_recovers_without_a_restart(
    server: AppServer, server_services: Services, own_redis: EmbeddedRedis
) -> None:
    with _client(server) as client:
        _signed_in(client, server_services)
        own_redis.stop()
        ready = client.get("/api/ready")
        assert ready.status_code == 503
        assert ready.json()["failed"] == ["redis"]
        own_redis.ensure_running()
        assert client.get("/api/ready").status_code == 200
        me = client.get("/api/me")  # the session outlived the restart (append-only file)
        assert me.status_code == 200
