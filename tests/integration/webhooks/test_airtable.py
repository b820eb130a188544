"""Airtable webhooks driving record triggers, end to end: the app server registers a
webhook on the emulator when a record-triggered workflow is enabled, the emulator pings
the app (`PUBLIC_URL`), the ping enqueues a durable payload read, and a worker reads the
payloads and starts the matching workflow."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from emulator.testing import EmulatorServer
from services.container import Services
from services.crypto import TokenCipher
from services.orm import Role, User
from services.webhooks.airtable_hooks import WebhookInfo, mac_of
from services.webhooks.airtable_orm import AirtableWebhook
from tests.integration.airtable.fixtures import FreshBase, create_fresh_base
from tests.integration.mirrors.conftest import mirror_loop
from tests.support.accounts import make_user
from tests.support.appserver import AppServer
from tests.support.workflows import (
    in_process_worker,
    start_worker_process,
    stop_worker_process,
    wait_for_run,
)

pytestmark = pytest.mark.e2e


def on_done(base_id: str) -> dict[str, Any]:
    """Tell the owner when a task's Status changes to Done."""
    return {
        "definition": {
            "name": f"Done {uuid.uuid4().hex[:6]}",
            "base": base_id,
            "inputs": [
                {"name": "record_id", "type": "text", "required": True},
                {"name": "change", "type": "text", "required": False},
            ],
            "trigger": {
                "record": {
                    "table": "Tasks",
                    "on": ["updated"],
                    "fields": ["Status"],
                    "where": [{"field": "Status", "op": "equals", "value": "Done"}],
                }
            },
            "steps": [{"id": "tell", "type": "notify", "message": "{{ inputs.record_id }} done"}],
        },
        "enabled": True,
    }


@pytest.fixture
def owner(app_services: Services) -> User:
    return make_user(app_services, name="Watcher")


@pytest.fixture
def base(emulator: EmulatorServer) -> FreshBase:
    return create_fresh_base(emulator)


def _create(server: AppServer, services: Services, user: User, body: dict[str, Any]) -> str:
    token = services.api_tokens.create(user_id=user.id, name="tests").token
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        created = api.post("/api/workflows", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _webhook(services: Services, owner: User, workflow_id: str) -> WebhookInfo:
    found = services.airtable_webhooks.serving(owner, workflow_id)
    assert found is not None, "enabling the workflow registered no Airtable webhook"
    return found


def _todo(base: FreshBase, count: int) -> list[str]:
    rows = base.api.table(base.id, "Tasks").all()
    return [r["id"] for r in rows if r["fields"].get("Status") == "Todo"][:count]


def _runs(services: Services, owner: User, workflow_id: str) -> list[Any]:
    return services.workflow_runs.list_for(owner, workflow_id=workflow_id, limit=500)


def _wait_runs(
    services: Services, owner: User, workflow_id: str, count: int, timeout: float
) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = _runs(services, owner, workflow_id)
        if len(runs) >= count or time.monotonic() > deadline:
            return runs
        time.sleep(0.05)


def test_matching_change__starts_the_workflow_once_within_5_seconds(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _create(app_server, app_services, owner, on_done(base.id))
    hook = _webhook(app_services, owner, workflow_id)
    tasks = base.api.table(base.id, "Tasks")
    record_id = _todo(base, 1)[0]
    with in_process_worker(app_services):
        changed = time.monotonic()
        tasks.update(record_id, {"Status": "Done"})
        runs = _wait_runs(app_services, owner, workflow_id, 1, timeout=5)
        elapsed = time.monotonic() - changed
        assert len(runs) == 1, f"no run {elapsed:.1f}s after the change"
        assert elapsed < 5
        print(f"record change -> run queued: {elapsed:.2f} s")
        run = wait_for_run(app_services, runs[0].id)
        assert run.status == "succeeded"
        assert (run.trigger, run.owner_id) == ("record", owner.id)
        assert run.inputs == {"record_id": record_id, "change": "updated"}
        time.sleep(2)  # a second ping or read would show up by now
        assert [r.id for r in _runs(app_services, owner, workflow_id)] == [run.id]
    after = app_services.airtable_webhooks.get(hook.id)
    assert after is not None
    assert after.cursor == 2  # the one payload, read once
    assert after.last_ping_at is not None


def test_non_matching_changes__start_nothing(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _create(app_server, app_services, owner, on_done(base.id))
    hook = _webhook(app_services, owner, workflow_id)
    tasks = base.api.table(base.id, "Tasks")
    wrong_value, unwatched, matching = _todo(base, 3)
    with in_process_worker(app_services):
        tasks.update(wrong_value, {"Status": "Doing"})  # watched field, `where` not met
        tasks.update(unwatched, {"Hours": 99})  # a field the trigger does not watch
        tasks.update(matching, {"Status": "Done"})  # proves the pipeline ran
        runs = _wait_runs(app_services, owner, workflow_id, 1, timeout=10)
        time.sleep(2)
        runs = _runs(app_services, owner, workflow_id)
        assert [r.inputs["record_id"] for r in runs] == [matching]
    after = app_services.airtable_webhooks.get(hook.id)
    assert after is not None
    assert after.cursor == 4  # every payload read, none twice


def test_forged_ping__is_refused_and_starts_nothing(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _create(app_server, app_services, owner, on_done(base.id))
    hook = _webhook(app_services, owner, workflow_id)
    body = (
        b'{"base":{"id":"'
        + base.id.encode()
        + b'"},"webhook":{"id":"'
        + hook.airtable_id.encode()
        + b'"},"timestamp":"2026-12-07T05:00:00.000Z"}'
    )
    forged = mac_of("c2VjcmV0LWtub3duLXRvLW5vLW9uZQ==", body)
    url = f"{app_server.url}/api/airtable/notifications/{hook.id}"
    with httpx.Client() as http:
        refused = http.post(url, content=body, headers={"X-Airtable-Content-MAC": forged})
        missing = http.post(url, content=body)
        unknown = http.post(
            f"{app_server.url}/api/airtable/notifications/awh_unknown",
            content=body,
            headers={"X-Airtable-Content-MAC": forged},
        )
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["type"] == "unauthorized"
    assert missing.status_code == 401
    assert unknown.status_code == 404
    after = app_services.airtable_webhooks.get(hook.id)
    assert after is not None
    assert after.last_ping_at is None  # nothing written
    client = app_services.workflow_engine()
    queued = client.list_workflows(name="airtable_payloads")
    assert not [w for w in queued if w.workflow_id.startswith(f"airtable:{hook.id}:")]
    assert _runs(app_services, owner, workflow_id) == []


def test_ping_nested_too_deeply__is_refused_as_json_and_starts_nothing(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _create(app_server, app_services, owner, on_done(base.id))
    hook = _webhook(app_services, owner, workflow_id)
    with app_services.sql() as session:
        sealed = session.get_one(AirtableWebhook, hook.id).mac_secret_encrypted
    key = app_services.settings.encryption_key.get_secret_value()
    body = b'{"webhook": ' + b"[" * 8_000 + b"]" * 8_000 + b"}"
    mac = mac_of(TokenCipher(key).decrypt(sealed), body)
    with httpx.Client() as http:
        refused = http.post(
            f"{app_server.url}/api/airtable/notifications/{hook.id}",
            content=body,
            headers={"X-Airtable-Content-MAC": mac},
        )
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["type"] == "unauthorized"
    after = app_services.airtable_webhooks.get(hook.id)
    assert after is not None
    assert after.last_ping_at is None


def test_disabling_the_last_trigger__deregisters_the_webhook(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _create(app_server, app_services, owner, on_done(base.id))
    hook = _webhook(app_services, owner, workflow_id)
    assert hook.airtable_id in {h.id for h in base.api.base(base.id).webhooks()}
    app_services.workflows.set_enabled(owner, workflow_id, False)
    assert app_services.airtable_webhooks.get(hook.id) is None
    assert hook.airtable_id not in {h.id for h in base.api.base(base.id).webhooks()}


def test_worker_killed_between_ping_and_read__loses_no_payload_and_runs_each_once(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase, tmp_path: Path
) -> None:
    workflow_id = _create(app_server, app_services, owner, on_done(base.id))
    hook = _webhook(app_services, owner, workflow_id)
    tasks = base.api.table(base.id, "Tasks")
    todo = _todo(base, 8)
    for record_id in todo:  # pinged while no worker runs: the reads wait in the queue
        tasks.update(record_id, {"Status": "Done"})
    client = app_services.workflow_engine()
    deadline = time.monotonic() + 10
    while not client.list_workflows(name="airtable_payloads", status="ENQUEUED"):
        assert time.monotonic() < deadline, "no payload read was enqueued"
        time.sleep(0.05)
    extra = {"PUBLIC_URL": app_server.url}
    first = start_worker_process(app_services, "hooks-w1", tmp_path / "w1.log", **extra)
    try:
        deadline = time.monotonic() + 60
        while not client.list_workflows(name="airtable_payloads", status="PENDING"):
            assert time.monotonic() < deadline, (tmp_path / "w1.log").read_text()[-3000:]
            time.sleep(0.01)
    finally:
        stop_worker_process(first, kill=True)  # mid-read (or just after a read)
    second = start_worker_process(app_services, "hooks-w1", tmp_path / "w2.log", **extra)
    try:
        runs = _wait_runs(app_services, owner, workflow_id, len(todo), timeout=60)
        time.sleep(2)
        runs = _runs(app_services, owner, workflow_id)
    finally:
        stop_worker_process(second)
    assert sorted(r.inputs["record_id"] for r in runs) == sorted(todo)
    after = app_services.airtable_webhooks.get(hook.id)
    assert after is not None
    assert after.cursor == len(todo) + 1


def test_a_workflow_writing_the_table_it_watches__is_not_started_again_by_its_own_write(
    app_server: AppServer, app_services: Services, owner: User, base: FreshBase
) -> None:
    body = {
        "definition": {
            "name": f"Touch {uuid.uuid4().hex[:6]}",
            "base": base.id,
            "inputs": [{"name": "record_id", "type": "text", "required": True}],
            "trigger": {"record": {"table": "Tasks", "on": ["updated"]}},
            "steps": [
                {
                    "id": "touch",
                    "type": "update_records",
                    "table": "Tasks",
                    "records": [{"id": "{{ inputs.record_id }}"}],
                    "set": {"Hours": 7},
                }
            ],
        },
        "enabled": True,
    }
    workflow_id = _create(app_server, app_services, owner, body)
    hook = _webhook(app_services, owner, workflow_id)
    tasks = base.api.table(base.id, "Tasks")
    record_id = _todo(base, 1)[0]
    with in_process_worker(app_services):
        tasks.update(record_id, {"Status": "Doing"})
        (run,) = _wait_runs(app_services, owner, workflow_id, 1, timeout=10)
        done = wait_for_run(app_services, run.id)
        assert done.status == "succeeded", done
        assert tasks.get(record_id)["fields"]["Hours"] == 7, done.steps
        deadline = time.monotonic() + 15
        while (info := app_services.airtable_webhooks.get(hook.id)) and info.cursor < 3:
            assert time.monotonic() < deadline, "the run's own write was never read"
            time.sleep(0.1)
        time.sleep(1)
        assert [r.id for r in _runs(app_services, owner, workflow_id)] == [run.id]
        # Someone else changing another field of that record still starts it.
        tasks.update(record_id, {"Status": "Done"})
        runs = _wait_runs(app_services, owner, workflow_id, 2, timeout=10)
        assert len(runs) == 2


def test_mirror__a_change_made_in_airtable_reaches_it_within_5_seconds_by_webhook(
    app_services: Services, base: FreshBase
) -> None:
    admin = make_user(app_services, role=Role.ADMIN, name="Mirrorer")
    app_services.mirrors.turn_on(admin.id, is_admin=True, base_id=base.id)
    mirror_loop(app_services).run_once()  # the build; no sweep runs after it
    with app_services.sql() as session:
        owners = session.execute(
            select(AirtableWebhook.owner_id, AirtableWebhook.table_id).where(
                AirtableWebhook.base_id == base.id
            )
        ).all()
    assert len(owners) == 2  # People and Tasks, on the org connection (no owner)
    assert {owner for owner, _ in owners} == {None}

    def hours() -> list[tuple[object, ...]]:
        sql = 'SELECT "Hours" FROM "Tasks" WHERE "Name" = \'Task 05\''
        return app_services.mirror_queries.run(0, base.id, sql).rows

    assert hours() == [(2.5,)]
    tasks = base.api.table(base.id, "Tasks")
    record = tasks.first(formula="{Name} = 'Task 05'")
    assert record is not None
    with in_process_worker(app_services):
        changed = time.monotonic()
        tasks.update(record["id"], {"Hours": 77})
        while hours() != [(77.0,)] and time.monotonic() - changed < 5:
            time.sleep(0.05)
        elapsed = time.monotonic() - changed
    assert hours() == [(77.0,)], f"not in the mirror {elapsed:.1f} s after the change"
    print(f"airtable change -> mirror: {elapsed:.2f} s")
    app_services.mirrors.turn_off(admin.id, is_admin=True, base_id=base.id)
    with app_services.sql() as session:
        left = session.scalars(
            select(AirtableWebhook.id).where(AirtableWebhook.base_id == base.id)
        ).all()
    assert left == []  # nothing watches the base any more: its webhooks are gone
