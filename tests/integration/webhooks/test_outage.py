"""The dispatcher survives its Redis stopping and starting again (its own embedded
Redis here): events stored before the outage and published after it are all delivered,
each once, and the publisher never fails while Redis is down."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from services.container import Services, build_services
from services.redis_store import EmbeddedRedis
from tests.integration.webhooks.conftest import dispatching
from tests.integration.webhooks.receiver import HookReceiver
from tests.support.accounts import make_user

pytestmark = pytest.mark.sql


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    embedded = EmbeddedRedis(tmp_path / "redis")
    embedded.ensure_running()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def outage_services(hook_settings: Settings, own_redis: EmbeddedRedis) -> Iterator[Services]:
    built = build_services(
        hook_settings.model_copy(update={"redis_url": f"unix://{own_redis.socket_path}"})
    )
    try:
        yield built
    finally:
        built.close()


def test_dispatcher__carries_on_through_a_redis_restart(
    outage_services: Services, own_redis: EmbeddedRedis, receiver: HookReceiver
) -> None:
    services = outage_services
    user = make_user(services, name="Outage")
    services.webhooks.create(user, url=receiver.url, events=["change.applied"])
    with dispatching(services):
        services.events.publish("change.applied", {"n": 0}, user_id=user.id)
        receiver.wait_for(1)
        stored = services.events.publish("change.applied", {"n": 1}, user_id=user.id)
        own_redis.stop()
        lost = services.events.publish("change.applied", {"n": 2}, user_id=user.id)
        assert lost.id == ""  # not stored, and the caller carried on
        time.sleep(1.5)  # the dispatcher meets the outage
        own_redis.ensure_running()
        time.sleep(1.2)  # past the bus's quiet period after a failed publish
        services.events.publish("change.applied", {"n": 3}, user_id=user.id)
        receiver.wait_for(3, timeout=30)
        time.sleep(0.8)
    numbers = sorted(json.loads(r.body)["data"]["n"] for r in receiver.at("/hook"))
    assert numbers == [0, 1, 3]
    assert stored.id
    assert all(
        n == 1 for n in collections.Counter(r.webhook_id for r in receiver.at("/hook")).values()
    )
