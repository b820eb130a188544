"""`python manage.py worker` runs the webhook dispatcher: an event published while the
worker is down is delivered once it starts, and nothing twice across a restart."""

from __future__ import annotations

import collections
import uuid
from pathlib import Path

import pytest

from services.container import Services
from services.orm import User
from tests.integration.webhooks.receiver import HookReceiver, verify_with_package
from tests.support.workflows import start_worker_process, stop_worker_process

pytestmark = pytest.mark.sql


def test_worker_process__delivers_the_outbox_and_nothing_twice_across_a_restart(
    hook_services: Services, member: User, receiver: HookReceiver, tmp_path: Path
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    before = hook_services.events.publish("change.applied", {"n": 0}, user_id=member.id)
    extra = {
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOK_POLL_SECONDS": "0.2",
        "ENCRYPTION_KEY": hook_services.settings.encryption_key.get_secret_value(),
        "WORKFLOW_DBOS_SCHEMA": f"dbos_{uuid.uuid4().hex[:10]}",
    }
    worker_id = f"hooks-{uuid.uuid4().hex[:6]}"
    process = start_worker_process(hook_services, worker_id, tmp_path / "w1.log", **extra)
    try:
        receiver.wait_for(1, timeout=60)
        assert verify_with_package(created.secret, receiver.at("/hook")[0])["id"] == before.id
    finally:
        stop_worker_process(process)
    after = hook_services.events.publish("change.applied", {"n": 1}, user_id=member.id)
    process = start_worker_process(hook_services, worker_id, tmp_path / "w2.log", **extra)
    try:
        receiver.wait_for(2, timeout=60)
    finally:
        stop_worker_process(process)
    counts = collections.Counter(r.webhook_id for r in receiver.at("/hook"))
    assert sorted(counts.values()) == [1, 1]
    ids = {verify_with_package(created.secret, r)["id"] for r in receiver.at("/hook")}
    assert ids == {before.id, after.id}
