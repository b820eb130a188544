"""While the SQL database is down the `/api` routes answer 503 JSON naming it, not a 500.

The app server's database is a PostgreSQL URL on a port where nothing listens (a stopped
server), whatever backend the rest of the suite uses; its Redis is the suite's, so a session
cookie and a form token can still be issued, and each request then fails at its first SQL
query.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from services.container import Services, build_services
from tests.support.appserver import AppServer, run_app_server
from tests.support.net import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    var_dir = tmp_path_factory.mktemp("sql-outage-app-var")
    env = {
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/stopped",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"sqlout{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(var_dir),
        "LLM_PROVIDER": "none",
    }
    with run_app_server(env, var_dir / "server.log") as running:
        yield running


@pytest.fixture
def server_services(server: AppServer) -> Iterator[Services]:
    built = build_services(server.settings(llm_provider="none"))
    try:
        yield built
    finally:
        built.close()


def _assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == "unavailable"
    assert error["store"] == "database"
    assert error["message"] == "The database cannot be reached."
    assert response.headers["retry-after"] == "5"


def test_me__answers_503_json_naming_the_database_while_it_is_down(
    server: AppServer, server_services: Services
) -> None:
    cookie = server_services.sign_ins.create(1)  # Redis answers; the user lookup needs SQL
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.cookies.set("pa_session", cookie)
        response = client.get("/api/me")
    _assert_database_unavailable(response)


def test_login__answers_503_json_naming_the_database_while_it_is_down(
    server: AppServer, server_services: Services
) -> None:
    token = server_services.form_tokens.issue("login")
    form = {"email": "someone@example.com", "password": "x" * 16, "form_token": token}
    with httpx.Client(base_url=server.url, headers={"Origin": server.url}, timeout=30) as client:
        response = client.post("/api/auth/login", data=form)
    _assert_database_unavailable(response)
    assert "set-cookie" not in response.headers


def test_ready__names_the_database_while_it_is_down(server: AppServer) -> None:
    response = httpx.get(f"{server.url}/api/ready", timeout=30)
    assert response.status_code == 503
    assert "database" in response.json()["failed"]
