"""`/api/workflows` and `/api/runs` over real HTTP: the app server, the emulator as Airtable,
API tokens and session cookies; runs are queued in DBOS (no worker here, so they stay queued)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from emulator.seed import PROJECT_TRACKER_ID
from services.container import Services
from services.orm import Role, User
from tests.support.accounts import PASSWORD, make_user
from tests.support.appserver import AppServer
from tests.support.workflows import in_process_worker, wait_for_run

pytestmark = pytest.mark.e2e


def definition(name: str = "") -> dict[str, Any]:
    return {
        "name": name or f"Escalate {uuid.uuid4().hex[:6]}",
        "description": "Mark someone's overdue tasks urgent",
        "base": PROJECT_TRACKER_ID,
        "inputs": [{"name": "assignee", "type": "text", "required": True}],
        "steps": [
            {
                "id": "overdue",
                "type": "find_records",
                "table": "Tasks",
                "where": [{"field": "Assignee", "op": "equals", "value": "{{ inputs.assignee }}"}],
                "fields": ["Name", "Due Date"],
            },
            {
                "id": "escalate",
                "type": "update_records",
                "table": "Tasks",
                "records": "{{ steps.overdue.records }}",
                "set": {"Priority": "Urgent"},
            },
            {"id": "tell", "type": "notify", "message": "Escalated {{ steps.escalate.count }}"},
        ],
    }


def _api(server: AppServer, services: Services, user: User) -> httpx.Client:
    token = services.api_tokens.create(user_id=user.id, name="tests").token
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()["error"]
    assert body["type"]
    assert body["message"]
    return str(body["message"])


@pytest.fixture
def owner(app_services: Services) -> User:
    return make_user(app_services, name="Owner")


def test_create__answers_201_with_id_name_version_and_reads_back(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    wanted = definition()
    with _api(app_server, app_services, owner) as api:
        created = api.post("/api/workflows", json=wanted)
        assert created.status_code == 201, created.text
        body = created.json()
        assert set(body) == {"id", "name", "version"}
        assert (body["name"], body["version"]) == (wanted["name"], 1)

        listed = api.get("/api/workflows").json()["workflows"]
        assert [w["id"] for w in listed if w["name"] == wanted["name"]] == [body["id"]]
        one = api.get(f"/api/workflows/{body['id']}").json()
        assert one["definition"]["steps"][1]["set"] == {"Priority": "Urgent"}
        assert one["enabled"] is False
        assert one["may_write"] == ["escalate: update records in Tasks"]


def test_create__refuses_an_unknown_field_naming_step_and_field_and_saves_nothing(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    bad = definition()
    bad["steps"][1]["set"] = {"Urgency": "High"}
    with _api(app_server, app_services, owner) as api:
        message = _error(api.post("/api/workflows", json=bad), 422)
        assert 'Step "escalate"' in message
        assert "set.Urgency" in message
        assert all(w["name"] != bad["name"] for w in api.get("/api/workflows").json()["workflows"])


@pytest.mark.parametrize(
    ("change", "step", "field"),
    [
        (lambda d: d["steps"][0].update(type="find_everything"), "overdue", "type"),
        (lambda d: d["steps"][2].update(message="{{ steps.later.count }}"), "tell", "message"),
        (lambda d: d["steps"][0].update(table="Taskz"), "overdue", "table"),
        (
            lambda d: d.update(trigger={"schedule": {"cron": "every monday", "timezone": "UTC"}}),
            None,
            "trigger.schedule.cron",
        ),
    ],
    ids=["unknown step type", "forward reference", "missing table", "bad cron"],
)
def test_create__refusals_name_the_step_and_field(
    app_server: AppServer,
    app_services: Services,
    owner: User,
    change: Any,
    step: str | None,
    field: str,
) -> None:
    bad = copy.deepcopy(definition())
    change(bad)
    with _api(app_server, app_services, owner) as api:
        message = _error(api.post("/api/workflows", json=bad), 422)
    if step:
        assert f'Step "{step}"' in message
    assert field in message


def test_create__a_name_already_used_is_a_conflict(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    wanted = definition()
    with _api(app_server, app_services, owner) as api:
        assert api.post("/api/workflows", json=wanted).status_code == 201
        _error(api.post("/api/workflows", json=wanted), 409)


def test_bad_bodies__are_400_json(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    with _api(app_server, app_services, owner) as api:
        _error(api.post("/api/workflows", content=b"{not json"), 400)
        _error(api.post("/api/workflows", json=[1, 2]), 400)
        _error(api.post("/api/workflows", content=b"x" * 300_000), 400)
        deep = b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        assert "nested" in _error(api.post("/api/workflows", content=deep), 400)
        # PostgreSQL text cannot hold a NUL: refused at the door, on every database.
        named = {**definition(), "name": "Escalate\u0000"}
        assert "NUL" in _error(api.post("/api/workflows", json=named), 400)
        assert api.get("/api/workflows").json()["workflows"] == []


def test_put__saves_a_new_version_and_toggles_enabled(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    wanted = definition()
    with _api(app_server, app_services, owner) as api:
        workflow_id = api.post("/api/workflows", json=wanted).json()["id"]
        wanted["steps"][1]["set"] = {"Priority": "High"}
        updated = api.put(f"/api/workflows/{workflow_id}", json=wanted)
        assert updated.json() == {"id": workflow_id, "name": wanted["name"], "version": 2}
        enabled = api.put(f"/api/workflows/{workflow_id}", json={"enabled": True})
        assert enabled.json()["version"] == 2
        one = api.get(f"/api/workflows/{workflow_id}").json()
        assert one["enabled"] is True
        assert one["definition"]["steps"][1]["set"] == {"Priority": "High"}


def test_head__reads_like_get_and_saves_nothing(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    with _api(app_server, app_services, owner) as api:
        workflow_id = api.post("/api/workflows", json=definition()).json()["id"]
        for path in ("/api/workflows", f"/api/workflows/{workflow_id}"):
            head = api.head(path)
            assert head.status_code == 200, path
            assert head.headers["content-type"] == "application/json"
            assert head.content == b""
            assert head.headers["content-length"] == str(len(api.get(path).content))
        assert api.get(f"/api/workflows/{workflow_id}").json()["version"] == 1


def test_access__others_cannot_see_private_ones_nor_change_shared_ones_admins_can_delete(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    other = make_user(app_services, name="Other")
    admin = make_user(app_services, name="Admin", role=Role.ADMIN)
    with (
        _api(app_server, app_services, owner) as mine,
        _api(app_server, app_services, other) as theirs,
        _api(app_server, app_services, admin) as admins,
    ):
        workflow_id = mine.post("/api/workflows", json=definition()).json()["id"]
        path = f"/api/workflows/{workflow_id}"
        _error(theirs.get(path), 404)
        _error(theirs.post(f"{path}/runs", json={"inputs": {"assignee": "Ana"}}), 404)
        assert mine.put(path, json={"shared": True}).status_code == 200
        assert theirs.get(path).status_code == 200
        _error(theirs.put(path, json=definition()), 403)
        _error(theirs.delete(path), 403)
        assert admins.get(path).status_code == 200
        assert admins.delete(path).status_code == 204
        _error(mine.get(path), 404)


def test_unauthenticated_and_cross_site_calls__are_refused(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    _error(httpx.get(f"{app_server.url}/api/workflows"), 401)
    _error(httpx.get(f"{app_server.url}/api/runs/run_0000"), 401)
    bad_token = {"Authorization": "Bearer not-a-token"}
    _error(httpx.get(f"{app_server.url}/api/workflows", headers=bad_token), 401)
    with httpx.Client(base_url=app_server.url, timeout=30) as browser:
        form = {"email": owner.email, "password": PASSWORD}
        token = app_services.form_tokens.issue("login")
        signed_in = browser.post(
            "/api/auth/login",
            data={**form, "form_token": token},
            headers={"Origin": app_server.url},
        )
        assert signed_in.status_code == 303
        assert browser.get("/api/workflows").status_code == 200  # the cookie reads
        evil = {"Origin": "https://evil.example"}
        _error(browser.post("/api/workflows", json=definition(), headers=evil), 403)
        own = {"Origin": app_server.url}
        assert browser.post("/api/workflows", json=definition(), headers=own).status_code == 201


def test_run__queues_202_reads_as_platform_shape_and_cancels(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    with _api(app_server, app_services, owner) as api:
        workflow_id = api.post("/api/workflows", json=definition()).json()["id"]
        started = api.post(
            f"/api/workflows/{workflow_id}/runs", json={"inputs": {"assignee": "Ana"}}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        assert started.json() == {"run_id": run_id, "status": "queued"}

        run = api.get(f"/api/runs/{run_id}").json()
        assert set(run) == {
            "id",
            "workflow_id",
            "status",
            "trigger",
            "started_at",
            "finished_at",
            "cost_usd",
            "steps",
        }
        assert (run["workflow_id"], run["trigger"]) == (workflow_id, "api")
        assert [s["id"] for s in run["steps"]] == ["overdue", "escalate", "tell"]
        assert set(run["steps"][0]) == {
            "id",
            "type",
            "status",
            "attempts",
            "started_at",
            "finished_at",
            "summary",
            "error",
            "compensation",
        }
        _error(api.post(f"/api/runs/{run_id}/approve", json={"approved": True}), 409)
        cancelled = api.post(f"/api/runs/{run_id}/cancel")
        assert cancelled.status_code == 202
        assert cancelled.json()["status"] == "cancelled"
        _error(api.post(f"/api/runs/{run_id}/cancel"), 409)


def test_run__invalid_inputs_are_422_and_start_nothing(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    with _api(app_server, app_services, owner) as api:
        workflow_id = api.post("/api/workflows", json=definition()).json()["id"]
        runs = f"/api/workflows/{workflow_id}/runs"
        assert "Assignee is required" in _error(api.post(runs, json={"inputs": {}}), 422)
        _error(api.post(runs, json={"inputs": {"assignee": "Ana", "extra": 1}}), 422)
        _error(api.post(runs, json={"inputs": ["Ana"]}), 400)
    assert app_services.workflow_runs.list_for(owner, workflow_id=workflow_id) == []


def test_runs__are_private_to_their_owner_and_admins(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    other = make_user(app_services, name="Other")
    admin = make_user(app_services, name="Admin", role=Role.ADMIN)
    with (
        _api(app_server, app_services, owner) as mine,
        _api(app_server, app_services, other) as theirs,
        _api(app_server, app_services, admin) as admins,
    ):
        workflow_id = mine.post("/api/workflows", json=definition()).json()["id"]
        started = mine.post(
            f"/api/workflows/{workflow_id}/runs", json={"inputs": {"assignee": "Ana"}}
        )
        run_id = started.json()["run_id"]
        _error(theirs.get(f"/api/runs/{run_id}"), 404)
        _error(theirs.post(f"/api/runs/{run_id}/cancel"), 404)
        _error(theirs.post(f"/api/runs/{run_id}/approve", json={"approved": False}), 404)
        assert admins.get(f"/api/runs/{run_id}").json()["id"] == run_id
        _error(mine.post(f"/api/runs/{run_id}/approve", json={"approved": "yes"}), 400)
        assert admins.post(f"/api/runs/{run_id}/cancel").json()["status"] == "cancelled"


def test_approve__answers_the_waiting_step_and_the_run_succeeds_or_rejects(
    app_server: AppServer, app_services: Services, owner: User
) -> None:
    waits = {
        "name": f"Ask first {uuid.uuid4().hex[:6]}",
        "steps": [
            {"id": "ok", "type": "approval", "message": "Go?"},
            {"id": "tell", "type": "notify", "message": "Went"},
        ],
    }
    with in_process_worker(app_services), _api(app_server, app_services, owner) as api:
        workflow_id = api.post("/api/workflows", json=waits).json()["id"]
        runs = []
        for _ in range(2):
            run_id = api.post(f"/api/workflows/{workflow_id}/runs", json={}).json()["run_id"]
            wait_for_run(app_services, run_id, statuses=frozenset({"waiting_approval"}))
            assert api.get(f"/api/runs/{run_id}").json()["steps"][0]["status"] == (
                "waiting_approval"
            )
            runs.append(run_id)
        yes = api.post(f"/api/runs/{runs[0]}/approve", json={"approved": True, "note": "go"})
        no = api.post(f"/api/runs/{runs[1]}/approve", json={"approved": False})
        assert (yes.status_code, no.status_code) == (202, 202)
        assert wait_for_run(app_services, runs[0]).status == "succeeded"
        assert wait_for_run(app_services, runs[1]).status in {"failed", "compensated"}
        done = api.get(f"/api/runs/{runs[0]}").json()
        assert [s["status"] for s in done["steps"]] == ["succeeded", "succeeded"]
        assert done["finished_at"] is not None
        _error(api.post(f"/api/runs/{runs[0]}/approve", json={"approved": True}), 409)
