"""Keeping Airtable webhooks alive (the worker's periodic pass), and what a payload that
says the schema changed does to the gateway's caches."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import User
from services.webhooks.airtable_payloads import PayloadReader, parse_payloads
from services.webhooks.record_triggers import RecordTriggers
from services.workflows.types import WorkflowDefinitionError
from tests.integration.airtable.fixtures import FreshBase, create_fresh_base
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import in_process_worker, wait_for_run

pytestmark = pytest.mark.sql


@pytest.fixture
def hook_services(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    # Nothing listens at PUBLIC_URL here: Airtable's pings are lost, as when the app is down.
    with services_on(
        settings,
        emulator.url,
        public_url="http://127.0.0.1:9",
        workflow_dbos_schema=f"dbos_{uuid.uuid4().hex[:10]}",
    ) as built:
        yield built


@pytest.fixture
def owner(hook_services: Services) -> User:
    return make_user(hook_services, name="Keeper")


@pytest.fixture
def base(emulator: EmulatorServer) -> FreshBase:
    return create_fresh_base(emulator)


def _watching(services: Services, owner: User, base: FreshBase) -> str:
    workflow = services.workflows.create(
        owner.id,
        {
            "name": f"Watch {uuid.uuid4().hex[:6]}",
            "base": base.id,
            "trigger": {"record": {"table": "Tasks"}},
            "steps": [{"id": "tell", "type": "notify", "message": "Changed"}],
        },
    )
    services.workflows.set_enabled(owner, workflow.id, True)
    return workflow.id


def _remote_ids(emulator: EmulatorServer, base: FreshBase) -> set[str]:
    api = Api(DEV_TOKEN, endpoint_url=emulator.url, retry_strategy=None)
    return {h.id for h in api.base(base.id).webhooks()}


def test_enable__registers_one_webhook_per_watched_table_with_a_url_under_public_url(
    hook_services: Services, owner: User, base: FreshBase, emulator: EmulatorServer
) -> None:
    first = _watching(hook_services, owner, base)
    _watching(hook_services, owner, base)  # a second trigger on the same table shares it
    served = hook_services.airtable_webhooks.serving(owner, first)
    assert served is not None
    assert _remote_ids(emulator, base) == {served.airtable_id}
    api = Api(DEV_TOKEN, endpoint_url=emulator.url, retry_strategy=None)
    (remote,) = api.base(base.id).webhooks()
    assert remote.notification_url == f"http://127.0.0.1:9/api/airtable/notifications/{served.id}"


def test_maintain__re_creates_a_webhook_airtable_lost_behind_the_same_url(
    hook_services: Services, owner: User, base: FreshBase, emulator: EmulatorServer
) -> None:
    workflow_id = _watching(hook_services, owner, base)
    before = hook_services.airtable_webhooks.serving(owner, workflow_id)
    assert before is not None
    api = Api(DEV_TOKEN, endpoint_url=emulator.url, retry_strategy=None)
    api.base(base.id).webhook(before.airtable_id).delete()
    hook_services.airtable_webhooks.maintain()
    after = hook_services.airtable_webhooks.serving(owner, workflow_id)
    assert after is not None
    assert after.id == before.id  # the notification URL stays
    assert after.airtable_id != before.airtable_id
    assert after.cursor == 1
    assert _remote_ids(emulator, base) == {after.airtable_id}


def test_maintain__refreshes_a_webhook_near_its_expiry(
    hook_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _watching(hook_services, owner, base)
    before = hook_services.airtable_webhooks.serving(owner, workflow_id)
    assert before is not None
    hook_services.airtable_webhooks.maintain(now=before.expires_at - timedelta(days=3))
    untouched = hook_services.airtable_webhooks.serving(owner, workflow_id)
    assert untouched is not None
    assert untouched.expires_at == before.expires_at  # more than 2 days left: no call
    # A day before expiry: refreshed (the emulator gives 7 days from its own clock).
    hook_services.airtable_webhooks.maintain(now=before.expires_at - timedelta(days=1))
    after = hook_services.airtable_webhooks.serving(owner, workflow_id)
    assert after is not None
    assert after.airtable_id == before.airtable_id
    assert after.expires_at > before.expires_at


def test_schema_change_payload__drops_the_schema_cache(
    hook_services: Services, owner: User, base: FreshBase
) -> None:
    gateway = hook_services.airtable
    cached = gateway.schema(owner.id, base.id)
    table_id = cached.table("Tasks").id
    key = f"{hook_services.settings.redis_key_prefix}airtable:schema:{base.id}"
    assert hook_services.redis.exists(key)
    gateway.remember_names(base.id, table_id, {"recX": "X"})
    payload = {
        "timestamp": "2026-12-07T05:00:00.000Z",
        "baseTransactionNumber": 7,
        "payloadFormat": "v0",
        "changedTablesById": {
            table_id: {
                "createdFieldsById": {"fldNew0000000001": {"name": "Risk", "type": "number"}}
            }
        },
    }
    parsed = parse_payloads(base.id, owner.id, 3, [payload])
    assert parsed.schema_changed
    assert parsed.changes == []
    data = hook_services.airtable_webhooks
    workflow_id = _watching(hook_services, owner, base)
    served = data.serving(owner, workflow_id)
    assert served is not None
    reader = PayloadReader(
        data,
        RecordTriggers(
            hook_services.workflows, hook_services.workflow_runs, gateway, hook_services.sql
        ),
        gateway,
        hook_services.events,
        gateway.feed,
    )
    page = {"start": 1, "cursor": 2, "more": False, "payloads": [payload]}
    assert reader.handle(served.id, page) == 0
    assert not hook_services.redis.exists(key)
    assert gateway.cached_names(base.id, table_id, ["recX"]) == {}
    moved = data.get(served.id)
    assert moved is not None
    assert moved.cursor == 2


def test_parse_payloads__numbers_changes_by_cursor_and_merges_unchanged_values() -> None:
    payloads: list[dict[str, Any]] = [
        {
            "changedTablesById": {
                "tblA": {
                    "createdRecordsById": {
                        "rec1": {"createdTime": "x", "cellValuesByFieldId": {"fldN": "One"}}
                    }
                }
            }
        },
        {
            "changedTablesById": {
                "tblA": {
                    "changedRecordsById": {
                        "rec1": {
                            "current": {"cellValuesByFieldId": {"fldS": "Done"}},
                            "previous": {"cellValuesByFieldId": {"fldS": "Todo"}},
                            "unchanged": {"cellValuesByFieldId": {"fldN": "One"}},
                        }
                    },
                    "destroyedRecordIds": ["rec2"],
                }
            }
        },
    ]
    parsed = parse_payloads("appB", 5, 10, payloads)
    assert not parsed.schema_changed
    got = [(c.payload, c.change.record_id, c.change.kind) for c in parsed.changes]
    assert got == [(10, "rec1", "created"), (11, "rec1", "updated"), (11, "rec2", "deleted")]
    updated = parsed.changes[1].change
    assert updated.fields == {"fldN": "One", "fldS": "Done"}
    assert updated.changed_fields == ("fldS",)
    assert updated.source == "airtable"
    assert updated.user_id == 5


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"table": "Taskz"}, "trigger.record.table"),
        ({"table": "Tasks", "fields": ["Stat"]}, "trigger.record.fields[0]"),
        (
            {"table": "Tasks", "where": [{"field": "Stat", "op": "equals", "value": "x"}]},
            "trigger.record.where[0].field",
        ),
    ],
    ids=["unknown table", "unknown watched field", "unknown where field"],
)
def test_record_trigger__on_an_unknown_table_or_field_is_refused_and_registers_nothing(
    hook_services: Services,
    owner: User,
    base: FreshBase,
    emulator: EmulatorServer,
    record: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(WorkflowDefinitionError, match=re.escape(field)):
        hook_services.workflows.create(
            owner.id,
            {
                "name": "Broken trigger",
                "base": base.id,
                "trigger": {"record": record},
                "steps": [{"id": "tell", "type": "notify", "message": "Changed"}],
            },
        )
    assert hook_services.workflows.list_for(owner) == []
    assert _remote_ids(emulator, base) == set()


def test_maintain__reads_payloads_whose_ping_was_lost(
    hook_services: Services, owner: User, base: FreshBase
) -> None:
    workflow_id = _watching(hook_services, owner, base)
    tasks = base.api.table(base.id, "Tasks")
    record_id = tasks.all()[0]["id"]
    with in_process_worker(hook_services):
        tasks.update(record_id, {"Hours": 42})
        time.sleep(1.5)  # the ping went nowhere: nothing read, nothing started
        assert hook_services.workflow_runs.list_for(owner, workflow_id=workflow_id) == []
        hook_services.airtable_webhooks.maintain()
        deadline = time.monotonic() + 20
        while not (runs := hook_services.workflow_runs.list_for(owner, workflow_id=workflow_id)):
            assert time.monotonic() < deadline, "the catch-up read started nothing"
            time.sleep(0.1)
        assert [r.trigger for r in runs] == ["record"]
        assert wait_for_run(hook_services, runs[0].id).status == "succeeded"
