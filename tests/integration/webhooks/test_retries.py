"""Failures: a receiver down for several retry intervals, replays, redirects, a hanging
receiver beside a healthy one, refused targets, and auto-disable with its alert."""

from __future__ import annotations

import collections
import json
import time

import pytest
from sqlalchemy import update

from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.webhooks.dispatcher import WebhookDispatcher
from services.webhooks.orm import WebhookEndpoint
from services.webhooks.types import EndpointDisabledError
from tests.integration.webhooks.conftest import dispatching, wait_until
from tests.integration.webhooks.receiver import HookReceiver, verify_by_hand, verify_with_package

pytestmark = pytest.mark.sql


def _succeeded(services: Services, user: User, endpoint_id: str, count: int) -> list:
    def done() -> list:
        found = services.webhooks.deliveries(user, endpoint_id)
        ok = [d for d in found if d.status == "succeeded"]
        return ok if len(ok) >= count else []

    return wait_until(done, what=f"{count} deliveries succeeded")


def test_receiver_down_then_up__each_event_once_every_attempt_logged_replay_same_id(
    hook_services: Services, member: User, receiver: HookReceiver, dispatcher: WebhookDispatcher
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    receiver.stop()
    events = [
        hook_services.events.publish("change.applied", {"n": n}, user_id=member.id)
        for n in range(3)
    ]

    def failed_twice() -> bool:
        found = hook_services.webhooks.deliveries(member, created.endpoint.id)
        return len(found) == 3 and all(len(d.attempt_log) >= 2 for d in found)

    # Down until every event has failed twice (retries every 0.3 s), however busy the
    # machine: the third attempt, at the earliest, meets the receiver up again.
    wait_until(failed_twice, what="every event failed twice")
    receiver.start()
    receiver.wait_for(3)
    log = _succeeded(hook_services, member, created.endpoint.id, 3)
    time.sleep(0.8)

    by_id = collections.Counter(r.webhook_id for r in receiver.at("/hook"))
    assert sorted(by_id.values()) == [1, 1, 1]
    assert {json.loads(r.body)["id"] for r in receiver.at("/hook")} == {e.id for e in events}
    assert all(verify_by_hand(created.secret, r) for r in receiver.at("/hook"))
    for delivery in log:
        attempts = delivery.attempt_log
        assert len(attempts) == delivery.attempts >= 3
        assert [a.status_code for a in attempts[:-1]] == [None] * (len(attempts) - 1)
        assert all(a.error for a in attempts[:-1])
        assert (attempts[-1].status_code, attempts[-1].error) == (200, None)
        assert delivery.id in by_id

    first = log[0]
    hook_services.webhooks.replay(member, first.id)
    receiver.wait_for(4)
    again = receiver.at("/hook")[-1]
    assert again.webhook_id == first.id
    assert verify_with_package(created.secret, again)
    replayed = wait_until(
        lambda: [
            d
            for d in hook_services.webhooks.deliveries(member, created.endpoint.id)
            if d.id == first.id and d.status == "succeeded" and d.attempts == first.attempts + 1
        ]
    )
    assert replayed[0].attempt_log[-1].status_code == 200


def test_rotation__during_the_overlap_either_secret_verifies_then_only_the_new(
    hook_services: Services, member: User, receiver: HookReceiver, dispatcher: WebhookDispatcher
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["budget.alert"])
    info, new_secret = hook_services.webhooks.rotate(member, created.endpoint.id)
    assert new_secret != created.secret
    assert new_secret.startswith("whsec_")
    assert info.previous_secret_until is not None

    hook_services.events.publish("budget.alert", {"n": 1}, user_id=member.id)
    receiver.wait_for(1)
    during = receiver.at("/hook")[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (created.secret, new_secret):
        assert verify_with_package(secret, during)
        assert verify_by_hand(secret, during)

    time.sleep(3.2)  # WEBHOOK_SECRET_OVERLAP_SECONDS is 3 here
    hook_services.events.publish("budget.alert", {"n": 2}, user_id=member.id)
    receiver.wait_for(2)
    after = receiver.at("/hook")[1]
    assert verify_with_package(new_secret, after)
    assert not verify_by_hand(created.secret, after)
    with pytest.raises(Exception, match="No matching signature"):
        verify_with_package(created.secret, after)


def test_redirect__is_not_followed_and_counts_as_a_failure(
    hook_services: Services, member: User, receiver: HookReceiver, dispatcher: WebhookDispatcher
) -> None:
    receiver.redirect_to = f"http://127.0.0.1:{receiver.port}/elsewhere"
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    hook_services.events.publish("change.applied", {}, user_id=member.id)
    receiver.wait_for(2)  # the first attempt and a retry, both to /hook
    time.sleep(0.3)
    assert receiver.at("/elsewhere") == []
    log = hook_services.webhooks.deliveries(member, created.endpoint.id)
    assert log[0].status == "pending"
    assert log[0].attempt_log[0].status_code == 302
    assert "redirects are not followed" in (log[0].attempt_log[0].error or "")


def test_hanging_receiver__does_not_delay_another_endpoint(
    hook_services: Services,
    member: User,
    receiver: HookReceiver,
    other_receiver: HookReceiver,
    dispatcher: WebhookDispatcher,
) -> None:
    receiver.hang_seconds = 30
    hanging = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    hook_services.webhooks.create(member, url=other_receiver.url, events=["change.applied"])
    started = time.monotonic()
    for n in range(20):
        hook_services.events.publish("change.applied", {"n": n}, user_id=member.id)
    other_receiver.wait_for(20, timeout=5)
    assert time.monotonic() - started < 5
    log = wait_until(
        lambda: [
            d
            for d in hook_services.webhooks.deliveries(member, hanging.endpoint.id)
            if d.attempt_log
        ],
        timeout=10,
    )
    assert log[0].attempt_log[0].error == "timed out"  # WEBHOOK_TIMEOUT_SECONDS is 2 here
    assert 1900 < log[0].attempt_log[0].latency_ms < 4000
    receiver.hang_seconds = 0


def test_private_targets__refused_at_creation_and_at_sending_unless_allowed(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    strict = hook_services.webhooks.__class__(
        hook_services.sql,
        hook_services.webhooks._cipher,
        allow_private=False,
        overlap_seconds=60,
    )
    for url in (
        receiver.url,
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://example.com/hook",
    ):
        with pytest.raises(InvalidInputError):
            strict.create(member, url=url, events=["change.applied"])
    # Created while allowed, sent by a worker that does not allow it: refused, nothing sent.
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    with dispatching(hook_services, webhook_allow_private_targets=False):
        hook_services.events.publish("change.applied", {}, user_id=member.id)
        log = wait_until(
            lambda: [
                d
                for d in hook_services.webhooks.deliveries(member, created.endpoint.id)
                if d.attempt_log
            ]
        )
    assert receiver.received == []
    assert "refused" in (log[0].attempt_log[0].error or "")
    assert log[0].attempt_log[0].status_code is None


def test_auto_disable__after_failing_long_enough_with_an_alert_to_the_owner(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    receiver.status = 500
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    with dispatching(hook_services, webhook_disable_after_seconds=1.0):
        hook_services.events.publish("change.applied", {}, user_id=member.id)
        info = wait_until(
            lambda: (
                (i := hook_services.webhooks.get(member, created.endpoint.id)).enabled is False
                and i
            )
        )
        time.sleep(0.6)
    assert "Disabled automatically" in (info.disabled_reason or "")
    assert len(receiver.at("/hook")) >= 3  # it was retried before giving up
    log = hook_services.webhooks.deliveries(member, created.endpoint.id)
    assert log[0].status == "failed"
    assert all(a.status_code == 500 for a in log[0].attempt_log)
    alerts = [
        n.event
        for n in hook_services.notifications.recent(member.id, admin=False)
        if n.event.type == "webhook.endpoint.disabled"
    ]
    assert len(alerts) == 1
    assert alerts[0].data["endpoint_id"] == created.endpoint.id
    with pytest.raises(EndpointDisabledError):
        hook_services.webhooks.send_test(member, created.endpoint.id)
    enabled = hook_services.webhooks.update(member, created.endpoint.id, enabled=True)
    assert enabled.enabled
    assert enabled.failing_since is None


def test_success__ends_a_failure_streak(
    hook_services: Services, member: User, receiver: HookReceiver, dispatcher: WebhookDispatcher
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    with hook_services.sql.begin() as session:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == created.endpoint.id)
            .values(failing_since=WebhookEndpoint.created_at)
        )
    hook_services.events.publish("change.applied", {}, user_id=member.id)
    receiver.wait_for(1)
    wait_until(
        lambda: hook_services.webhooks.get(member, created.endpoint.id).failing_since is None
    )


def test_test_event__is_sent_by_the_worker_and_verifies(
    hook_services: Services, member: User, receiver: HookReceiver, dispatcher: WebhookDispatcher
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["sync.conflict"])
    queued = hook_services.webhooks.send_test(member, created.endpoint.id)
    assert queued.status == "pending"
    receiver.wait_for(1)
    body = verify_with_package(created.secret, receiver.at("/hook")[0])
    assert isinstance(body, dict)
    assert body["type"] == "webhook.test"
    assert receiver.at("/hook")[0].webhook_id == queued.id


def test_auto_disable__also_when_no_attempt_comes_after_the_mark(
    hook_services: Services, member: User, receiver: HookReceiver
) -> None:
    created = hook_services.webhooks.create(member, url=receiver.url, events=["change.applied"])
    with hook_services.sql.begin() as session:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == created.endpoint.id)
            .values(failing_since=WebhookEndpoint.created_at)
        )
    with dispatching(hook_services, webhook_disable_after_seconds=1.0):
        wait_until(lambda: not hook_services.webhooks.get(member, created.endpoint.id).enabled)
    alerts = [
        n.event
        for n in hook_services.notifications.recent(member.id, admin=False)
        if n.event.type == "webhook.endpoint.disabled"
    ]
    assert [a.data["endpoint_id"] for a in alerts] == [created.endpoint.id]
    assert receiver.received == []
