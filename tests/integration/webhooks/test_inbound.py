"""`POST /api/hooks/{hook_id}` over real HTTP: the app server signs nothing; these tests
sign like a sender would, with the `standardwebhooks` package itself."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from services.container import Services
from services.orm import User
from tests.support.accounts import make_user
from tests.support.appserver import AppServer
from tests.support.workflows import in_process_worker, wait_for_run

pytestmark = pytest.mark.e2e


def hooked(name: str = "") -> dict[str, Any]:
    return {
        "definition": {
            "name": name or f"Hooked {uuid.uuid4().hex[:6]}",
            "inputs": [
                {"name": "who", "type": "text", "required": True},
                {"name": "count", "type": "number", "required": False},
            ],
            "trigger": {"webhook": {}},
            "steps": [{"id": "tell", "type": "notify", "message": "Hello {{ inputs.who }}"}],
        },
        "enabled": True,
    }


def _api(server: AppServer, services: Services, user: User) -> httpx.Client:
    token = services.api_tokens.create(user_id=user.id, name="tests").token
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def signed(
    secret: str, body: Any, *, message_id: str | None = None, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, at, data.decode())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return data, headers


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"]
    assert error["message"]
    return str(error["message"])


@pytest.fixture
def owner(app_services: Services) -> User:
    return make_user(app_services, name="Hookowner")


@pytest.fixture
def hook(app_server: AppServer, app_services: Services, owner: User) -> dict[str, Any]:
    with _api(app_server, app_services, owner) as api:
        created = api.post("/api/workflows", json=hooked())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["hook_url"] == f"{app_server.url}/api/hooks/{body['hook_id']}"
    return dict(body)


def _runs(services: Services, owner: User, workflow_id: str) -> list[str]:
    return [
        r.id for r in services.workflow_runs.list_for(owner, workflow_id=workflow_id, limit=500)
    ]


def test_signed_call__starts_one_run_and_a_repeated_webhook_id_none(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    data, headers = signed(hook["secret"], {"who": "Ada", "count": 3})
    with in_process_worker(app_services), httpx.Client(base_url=app_server.url) as http:
        first = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
        assert first.status_code == 202, first.text
        run_id = first.json()["run_id"]
        assert set(first.json()) == {"run_id"}
        run = wait_for_run(app_services, run_id)
        assert run.status == "succeeded"
        assert (run.trigger, run.owner_id) == ("webhook", owner.id)
        again = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
        assert again.status_code == 202, again.text
        assert again.json() == {"run_id": run_id}
    assert _runs(app_services, owner, hook["id"]) == [run_id]


@pytest.mark.parametrize("case", ["tampered body", "missing signature", "wrong secret"])
def test_bad_signature__is_401_and_starts_nothing(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any], case: str
) -> None:
    data, headers = signed(hook["secret"], {"who": "Ada"})
    if case == "tampered body":
        data = data.replace(b"Ada", b"Eve")
    elif case == "missing signature":
        del headers["webhook-signature"]
    else:
        other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3OA=="
        data, headers = signed(other, {"who": "Ada"})
    with httpx.Client(base_url=app_server.url) as http:
        response = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
    assert "signature" in _error(response, 401)
    assert _runs(app_services, owner, hook["id"]) == []


def test_old_timestamp__is_401_even_when_signed(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=6)
    data, headers = signed(hook["secret"], {"who": "Ada"}, at=old)
    with httpx.Client(base_url=app_server.url) as http:
        response = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
    _error(response, 401)
    assert _runs(app_services, owner, hook["id"]) == []


def test_unknown_hook__is_404(app_server: AppServer, hook: dict[str, Any]) -> None:
    data, headers = signed(hook["secret"], {"who": "Ada"})
    with httpx.Client(base_url=app_server.url) as http:
        response = http.post(
            "/api/hooks/hk_doesnotexist000000000000", content=data, headers=headers
        )
    _error(response, 404)


def test_disabled_workflow__is_409_and_starts_nothing(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    with _api(app_server, app_services, owner) as api:
        assert api.put(f"/api/workflows/{hook['id']}", json={"enabled": False}).status_code == 200
    data, headers = signed(hook["secret"], {"who": "Ada"})
    with httpx.Client(base_url=app_server.url) as http:
        response = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
    assert "disabled" in _error(response, 409)
    assert _runs(app_services, owner, hook["id"]) == []


@pytest.mark.parametrize(
    ("body", "named"),
    [({}, "who"), ({"who": "Ada", "count": "many"}, "count"), ({"who": "A", "x": 1}, "x")],
    ids=["missing required", "not a number", "unknown input"],
)
def test_bad_inputs__are_422_naming_the_input(
    app_server: AppServer,
    app_services: Services,
    owner: User,
    hook: dict[str, Any],
    body: dict[str, Any],
    named: str,
) -> None:
    data, headers = signed(hook["secret"], body)
    with httpx.Client(base_url=app_server.url) as http:
        response = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
    assert named in _error(response, 422).lower()
    assert _runs(app_services, owner, hook["id"]) == []


def test_body_nested_too_deeply__is_422_json_and_starts_nothing(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    deep = b'{"who": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    data, headers = signed(hook["secret"], deep)
    with httpx.Client(base_url=app_server.url) as http:
        response = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
    assert "nested" in _error(response, 422)
    assert _runs(app_services, owner, hook["id"]) == []


def test_read__shows_the_hook_url_but_never_the_secret(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    with _api(app_server, app_services, owner) as api:
        one = api.get(f"/api/workflows/{hook['id']}")
    assert one.status_code == 200
    assert one.json()["hook_url"] == hook["hook_url"]
    assert hook["secret"] not in one.text
    assert "whsec_" not in one.text


def test_rotate__the_new_secret_signs_and_the_old_one_no_longer(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    with _api(app_server, app_services, owner) as api:
        rotated = api.post(f"/api/workflows/{hook['id']}/hook/rotate")
        stranger = make_user(app_services, name="Stranger")
        with _api(app_server, app_services, stranger) as other:
            refused = other.post(f"/api/workflows/{hook['id']}/hook/rotate")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["hook_url"] == hook["hook_url"]
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != hook["secret"]
    assert refused.status_code == 404
    with httpx.Client(base_url=app_server.url) as http:
        data, headers = signed(hook["secret"], {"who": "Ada"})
        _error(http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers), 401)
        data, headers = signed(secret, {"who": "Ada"})
        ok = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
    assert ok.status_code == 202, ok.text
    assert _runs(app_services, owner, hook["id"]) == [ok.json()["run_id"]]


def test_rate_limit__refuses_calls_over_the_per_minute_limit(
    app_server: AppServer, app_services: Services, owner: User, hook: dict[str, Any]
) -> None:
    limit = app_services.settings.webhook_inbound_per_minute
    statuses = []
    started = time.monotonic()
    with httpx.Client(base_url=app_server.url, timeout=30) as http:
        for _ in range(limit + 1):
            data, headers = signed(hook["secret"], {"who": "Ada"})
            response = http.post(f"/api/hooks/{hook['hook_id']}", content=data, headers=headers)
            statuses.append(response.status_code)
    assert time.monotonic() - started < 60, "too slow to test a per-minute limit"
    assert statuses[:limit] == [202] * limit
    assert statuses[limit] == 429
    assert len(_runs(app_services, owner, hook["id"])) == limit
