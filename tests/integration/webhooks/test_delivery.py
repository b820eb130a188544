"""Events published on the bus reach subscribed endpoints, signed (checked with the
`standardwebhooks` package and by hand), once each, and only the right ones."""

from __future__ import annotations

import json
import time

import pytest

from services.container import Services
from services.orm import User
from services.webhooks.dispatcher import WebhookDispatcher
from services.webhooks.types import SUCCEEDED
from tests.integration.webhooks.conftest import dispatching, wait_until
from tests.integration.webhooks.receiver import HookReceiver, verify_by_hand, verify_with_package

pytestmark = pytest.mark.sql


def test_event__arrives_signed_and_verifies_with_the_package_and_by_hand(
    hook_services: Services, member: User, receiver: HookReceiver, dispatcher: WebhookDispatcher
) -> None:
    created = hook_services.webhooks.create(
        member, url=receiver.url, events=["change.applied"], description="ours"
    )
    assert created.secret.startswith("whsec_")
    event = hook_services.events.publish("change.applied", {"total": 3}, user_id=member.id)

    receiver.wait_for(1)
    got = receiver.at("/hook")[0]
    assert verify_with_package(created.secret, got) == event.to_json()
    assert verify_by_hand(created.secret, got)
    assert not verify_by_hand("whsec_" + "QUJD" * 8, got)  # the hand check can fail
    assert json.loads(got.body) == {
        "id": event.id,
        "type": "change.applied",
        "timestamp": event.timestamp,
        "data": {"total": 3},
    }
    log = wait_until(
        lambda: [
            d
            for d in hook_services.webhooks.deliveries(member, created.endpoint.id)
            if d.status == "succeeded"
        ]
    )
    assert log[0].id == got.webhook_id
    assert log[0].event_id == event.id
    assert [(a.status_code, a.error) for a in log[0].attempt_log] == [(200, None)]
    assert log[0].attempt_log[0].latency_ms > 0
    scraped = hook_services.metrics.exposition().decode()
    assert 'pa_webhook_deliveries_total{outcome="delivered"' in scraped
    delivered = [
        line for line in scraped.splitlines() if line.startswith("pa_webhook_deliveries_total")
    ]
    assert [line.rsplit(" ", 1)[1] for line in delivered] == ["1.0"]


def test_routing__own_events_of_subscribed_types_and_org_events_for_admins_only(
    hook_services: Services,
    member: User,
    admin: User,
    receiver: HookReceiver,
    other_receiver: HookReceiver,
    dispatcher: WebhookDispatcher,
) -> None:
    mine = hook_services.webhooks.create(member, url=receiver.url, events=["budget.alert"])
    admins = hook_services.webhooks.create(admin, url=other_receiver.url, events=["budget.alert"])
    publish = hook_services.events.publish
    publish("budget.alert", {"n": 1}, user_id=member.id)  # member's: to theirs
    publish("change.applied", {"n": 2}, user_id=member.id)  # not subscribed
    publish("budget.alert", {"n": 3}, user_id=admin.id)  # admin's own: to the admin's
    publish("budget.alert", {"n": 4}, user_id=None)  # org: admins only
    publish("budget.alert", {"n": 5}, user_id=member.id + 1000)  # someone else's

    receiver.wait_for(1)
    other_receiver.wait_for(2)
    time.sleep(0.5)
    assert [json.loads(r.body)["data"]["n"] for r in receiver.at("/hook")] == [1]
    assert sorted(json.loads(r.body)["data"]["n"] for r in other_receiver.at("/hook")) == [3, 4]
    assert all(verify_with_package(mine.secret, r) for r in receiver.at("/hook"))
    assert all(verify_with_package(admins.secret, r) for r in other_receiver.at("/hook"))


def test_outbox__events_published_while_no_worker_runs_are_delivered_when_one_starts(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.undone"])
    events = [
        hook_services.events.publish("change.undone", {"n": n}, user_id=member.id) for n in range(5)
    ]
    time.sleep(0.3)
    assert receiver.received == []

    with dispatching(hook_services):
        receiver.wait_for(5)
        time.sleep(0.5)
    ids = [json.loads(r.body)["id"] for r in receiver.at("/hook")]
    assert sorted(ids) == sorted(e.id for e in events)
    assert all(verify_with_package(created.secret, r) for r in receiver.at("/hook"))


def test_outbox__a_restarted_dispatcher_sends_nothing_twice(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    with dispatching(hook_services):
        for n in range(3):
            hook_services.events.publish("change.applied", {"n": n}, user_id=member.id)
        receiver.wait_for(3)
        time.sleep(0.3)
    with dispatching(hook_services):
        hook_services.events.publish("change.applied", {"n": 3}, user_id=member.id)
        receiver.wait_for(4)
        time.sleep(0.8)
    ids = [r.webhook_id for r in receiver.at("/hook")]
    assert len(ids) == len(set(ids)) == 4


def test_stop__an_attempt_in_flight_finishes_and_is_recorded_so_a_restart_sends_it_not_again(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    receiver.hang_seconds = 1.0  # the receiver has the request; its answer is still coming
    with dispatching(hook_services) as running:
        hook_services.events.publish("change.applied", {"n": 0}, user_id=member.id)
        receiver.wait_for(1)
        running.stop()
    [delivery] = hook_services.webhooks.deliveries(member, created.endpoint.id)
    assert delivery.status == SUCCEEDED
    assert delivery.attempts == 1


def test_endpoint_created_after_an_event__does_not_get_it(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    hook_services.events.publish("change.applied", {"n": 0}, user_id=member.id)
    time.sleep(0.01)
    hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    with dispatching(hook_services):
        hook_services.events.publish("change.applied", {"n": 1}, user_id=member.id)
        receiver.wait_for(1)
        time.sleep(0.5)
    assert [json.loads(r.body)["data"]["n"] for r in receiver.at("/hook")] == [1]
