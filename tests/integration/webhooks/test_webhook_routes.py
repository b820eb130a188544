"""`/api/webhooks` and `/api/deliveries/{id}/replay` over real HTTP on the app server,
with a dispatcher (the worker's) in this process sending to a local receiver."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from config.settings import Settings
from services.container import Services, build_services
from services.events.types import EVENT_TYPES
from services.orm import Role, User
from tests.integration.webhooks.conftest import dispatching, wait_until
from tests.integration.webhooks.receiver import HookReceiver, verify_with_package
from tests.support.accounts import make_user
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def web_services(app_settings: Settings) -> Iterator[Services]:
    built = build_services(
        app_settings.model_copy(
            update={"webhook_allow_private_targets": True, "webhook_poll_seconds": 0.1}
        )
    )
    try:
        yield built
    finally:
        built.close()


def _api(server: AppServer, services: Services, user: User) -> httpx.Client:
    token = services.api_tokens.create(user_id=user.id, name="tests").token
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return str(response.json()["error"]["message"])


def test_routes__create_list_test_log_replay_rotate_delete(
    app_server: AppServer, web_services: Services, receiver: HookReceiver
) -> None:
    user = make_user(web_services, name="Hooker")
    api = _api(app_server, web_services, user)
    created = api.post(
        "/api/webhooks",
        json={"url": receiver.url, "events": list(EVENT_TYPES), "description": "all"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) >= {"id", "url", "events", "description", "secret"}
    assert body["secret"].startswith("whsec_")
    assert body["events"] == list(EVENT_TYPES)
    endpoint_id = body["id"]

    listed = api.get("/api/webhooks").json()["webhooks"]
    assert [e["id"] for e in listed] == [endpoint_id]
    assert "secret" not in listed[0]
    assert "secret" not in api.get(f"/api/webhooks/{endpoint_id}").json()

    with dispatching(web_services):
        queued = api.post(f"/api/webhooks/{endpoint_id}/test")
        assert queued.status_code == 202, queued.text
        receiver.wait_for(1)
        assert verify_with_package(body["secret"], receiver.at("/hook")[0])
        log = wait_until(
            lambda: [
                d
                for d in api.get(f"/api/webhooks/{endpoint_id}/deliveries").json()["deliveries"]
                if d["status"] == "succeeded"
            ]
        )
        assert log[0]["webhook_id"] == queued.json()["webhook_id"]
        assert log[0]["attempt_log"][0]["status_code"] == 200
        replayed = api.post(f"/api/deliveries/{log[0]['id']}/replay")
        assert replayed.status_code == 202, replayed.text
        receiver.wait_for(2)
        assert receiver.at("/hook")[1].webhook_id == log[0]["webhook_id"]

    rotated = api.post(f"/api/webhooks/{endpoint_id}/rotate")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (body["secret"], None)

    disabled = api.patch(f"/api/webhooks/{endpoint_id}", json={"enabled": False})
    assert disabled.json()["enabled"] is False
    assert "disabled" in _error(api.post(f"/api/webhooks/{endpoint_id}/test"), 409)
    assert api.delete(f"/api/webhooks/{endpoint_id}").status_code == 204
    _error(api.get(f"/api/webhooks/{endpoint_id}/deliveries"), 404)


def test_routes__others_get_404_admins_may_manage_bad_input_is_refused(
    app_server: AppServer, web_services: Services, receiver: HookReceiver
) -> None:
    owner = make_user(web_services, name="Owner")
    stranger = make_user(web_services, name="Stranger")
    admin = make_user(web_services, role=Role.ADMIN, name="Boss")
    mine = _api(app_server, web_services, owner)
    endpoint_id = mine.post(
        "/api/webhooks", json={"url": receiver.url, "events": ["change.applied"]}
    ).json()["id"]
    theirs = _api(app_server, web_services, stranger)
    for method, path in (
        ("GET", f"/api/webhooks/{endpoint_id}"),
        ("GET", f"/api/webhooks/{endpoint_id}/deliveries"),
        ("POST", f"/api/webhooks/{endpoint_id}/test"),
        ("POST", f"/api/webhooks/{endpoint_id}/rotate"),
        ("DELETE", f"/api/webhooks/{endpoint_id}"),
    ):
        _error(theirs.request(method, path), 404)
    assert theirs.get("/api/webhooks").json()["webhooks"] == []
    boss = _api(app_server, web_services, admin)
    assert endpoint_id in [e["id"] for e in boss.get("/api/webhooks").json()["webhooks"]]
    assert boss.get(f"/api/webhooks/{endpoint_id}/deliveries").status_code == 200
    _error(theirs.post("/api/deliveries/msg_nope/replay"), 404)

    assert "Unknown event types" in _error(
        mine.post("/api/webhooks", json={"url": receiver.url, "events": ["nope"]}), 422
    )
    assert "at least one" in _error(
        mine.post("/api/webhooks", json={"url": receiver.url, "events": []}), 422
    )
    _error(
        mine.post("/api/webhooks", json={"url": "ftp://x.example", "events": ["budget.alert"]}), 422
    )
    _error(mine.post("/api/webhooks", json={"url": receiver.url, "events": "budget.alert"}), 400)
    _error(mine.post("/api/webhooks", content=b"[1]"), 400)
    for limit in ("0", "201", "x", "²"):
        log = mine.get(f"/api/webhooks/{endpoint_id}/deliveries", params={"limit": limit})
        assert "limit" in _error(log, 400), limit
    _error(httpx.get(f"{app_server.url}/api/webhooks"), 401)
    assert len(mine.get("/api/webhooks").json()["webhooks"]) == 1  # nothing else was made


def test_head__reads_like_get_and_changes_nothing(
    app_server: AppServer, web_services: Services, receiver: HookReceiver
) -> None:
    owner = make_user(web_services, name="Header")
    api = _api(app_server, web_services, owner)
    endpoint_id = api.post(
        "/api/webhooks", json={"url": receiver.url, "events": ["change.applied"]}
    ).json()["id"]
    before = api.get(f"/api/webhooks/{endpoint_id}").json()
    for path in ("/api/webhooks", f"/api/webhooks/{endpoint_id}"):
        head = api.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == str(len(api.get(path).content))
    assert api.get(f"/api/webhooks/{endpoint_id}").json() == before
    assert len(api.get("/api/webhooks").json()["webhooks"]) == 1
