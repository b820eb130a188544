"""The event bus on real Redis: ordering, caps, outages, read state, and its producers."""

from __future__ import annotations

import logging
import time

import pytest

from services.airtable.filters import Condition
from services.budget.budgets import BudgetOverrides
from services.budget.pricing import TokenUsage
from services.budget.types import Purpose
from services.container import Services
from services.events.bus import EventBus
from services.events.types import (
    BUDGET_ALERT,
    CHANGE_APPLIED,
    CHANGE_UNDONE,
    EVENT_TYPES,
    WORKFLOW_RUN_STARTED,
    WORKFLOW_RUN_STEP,
    WORKFLOW_RUN_SUCCEEDED,
)
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase
from tests.integration.budget.guard_setup import add_user, estimate, unreachable_redis

pytestmark = pytest.mark.sql


def _bus(services: Services, **overrides: int) -> EventBus:
    options = {"maxlen": 1000, "max_age_seconds": 3600, **overrides}
    return EventBus(services.redis, prefix=services.settings.redis_key_prefix, **options)


def test_event_types__are_every_type_platform_md_lists() -> None:
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 12
    assert {"workflow.run.waiting_approval", "sync.conflict", "webhook.endpoint.disabled"} <= set(
        EVENT_TYPES
    )


def test_publish__orders_ids_across_user_and_org_streams(services: Services) -> None:
    bus = _bus(services)
    published = [
        bus.publish(CHANGE_APPLIED, {"n": n}, user_id=7 if n % 2 else None) for n in range(40)
    ]

    admin_view = bus.read_after(7, admin=True, after="0-0")
    member_view = bus.read_after(7, admin=False, after="0-0")

    assert [e.data["n"] for e in admin_view] == list(range(40))
    assert [e.id for e in admin_view] == [e.id for e in published]
    assert [e.data["n"] for e in member_view] == list(range(1, 40, 2))
    assert bus.read_after(8, admin=False, after="0-0") == []
    middle = published[19].id
    assert [e.data["n"] for e in bus.read_after(7, admin=True, after=middle)] == list(range(20, 40))


def test_publish__caps_the_stream_and_knows_what_a_resume_missed(services: Services) -> None:
    bus = _bus(services, maxlen=10)
    ids = [bus.publish(CHANGE_APPLIED, {"n": n}, user_id=1).id for n in range(25)]

    assert services.redis.xlen(bus.keys.stream("u:1")) == 10
    assert bus.resume_problem(1, admin=False, last_event_id=ids[13]) == "too_old"
    assert bus.resume_problem(1, admin=False, last_event_id=ids[14]) is None
    assert bus.resume_problem(1, admin=False, last_event_id="not-an-id") == "malformed"
    future = f"{int(time.time() * 1000) + 60_000}-0"
    assert bus.resume_problem(1, admin=False, last_event_id=future) == "malformed"


def test_publish__drops_events_older_than_the_age_cap(services: Services) -> None:
    bus = _bus(services, max_age_seconds=60)
    bus.publish(CHANGE_APPLIED, {}, user_id=1)
    old = f"{int(time.time() * 1000) - 120_000}-0"

    assert bus.resume_problem(1, admin=False, last_event_id=old) == "too_old"
    assert 0 < services.redis.pttl(bus.keys.stream("u:1")) <= 60_000


def test_publish__never_fails_the_caller_while_redis_is_down(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    bus = EventBus(unreachable_redis(), prefix="t:", maxlen=10, max_age_seconds=60)
    with caplog.at_level(logging.WARNING, logger="services.events.bus"):
        started = time.monotonic()
        dropped = [bus.publish(BUDGET_ALERT, {"n": n}, user_id=1) for n in range(20)]
        took = time.monotonic() - started

    assert [e.id for e in dropped] == [""] * 20
    assert [e.data for e in dropped] == [{"n": n} for n in range(20)]
    assert took < 2
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


def test_publish__refuses_a_type_that_is_not_an_event_type(services: Services) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        services.events.publish("change.exploded", {}, user_id=1)


def test_inbox__counts_unread_and_marks_one_or_all_read(services: Services) -> None:
    inbox, bus = services.notifications, services.events
    first = bus.publish(CHANGE_APPLIED, {"n": 1}, user_id=5)
    bus.publish(CHANGE_UNDONE, {"n": 2}, user_id=5)
    bus.publish(BUDGET_ALERT, {"n": 3}, user_id=None)

    assert inbox.unread_count(5, admin=False) == 2
    assert inbox.unread_count(5, admin=True) == 3
    inbox.mark_read(5, first.id)
    assert inbox.unread_count(5, admin=False) == 1
    recent = inbox.recent(5, admin=False)
    assert [(n.event.data["n"], n.read) for n in recent] == [(2, False), (1, True)]
    only_undone = inbox.recent(5, admin=True, types=frozenset({CHANGE_UNDONE}))
    assert [n.event.type for n in only_undone] == [CHANGE_UNDONE]

    inbox.mark_all_read(5)
    assert inbox.unread_count(5, admin=True) == 0
    bus.publish(CHANGE_APPLIED, {"n": 4}, user_id=5)
    assert inbox.unread_count(5, admin=True) == 1


def test_inbox__tells_of_run_outcomes_and_notify_messages_not_of_each_steps_progress(
    services: Services,
) -> None:
    inbox, bus = services.notifications, services.events
    after = bus.last_id()
    bus.publish(WORKFLOW_RUN_STARTED, {"run_id": "r1"}, user_id=6)
    bus.publish(WORKFLOW_RUN_STEP, {"run_id": "r1", "step_id": "a", "status": "ok"}, user_id=6)
    bus.publish(WORKFLOW_RUN_STEP, {"run_id": "r1", "message": "Escalated 3"}, user_id=6)
    bus.publish(WORKFLOW_RUN_SUCCEEDED, {"run_id": "r1"}, user_id=6)

    told = [(e.type, e.data.get("message")) for e in inbox.since(6, admin=False, after=after)]
    assert told == [(WORKFLOW_RUN_STEP, "Escalated 3"), (WORKFLOW_RUN_SUCCEEDED, None)]
    assert inbox.unread_count(6, admin=False) == 2
    assert len(inbox.recent(6, admin=False)) == 2
    assert len(bus.read_after(6, admin=False, after=after)) == 4  # programs get every event


def test_change_log__publishes_applied_and_undone_to_the_user_who_made_them(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    proposal = airtable_services.airtable_proposals.update(
        member.id,
        fresh_base.id,
        "Tasks",
        filters=[Condition(field="Status", op="equals", value="todo")],
        values={"Status": "Doing"},
    )
    applied = airtable_services.airtable_changes.apply(proposal.id, member.id)
    airtable_services.airtable_changes.apply(proposal.id, member.id)  # again: writes nothing
    undone = airtable_services.airtable_changes.undo(applied.change_set_id, member.id)

    events = airtable_services.events.read_after(member.id, admin=False, after="0-0")
    assert [e.type for e in events] == [CHANGE_APPLIED, CHANGE_UNDONE]
    assert events[0].data["change_set_id"] == proposal.id
    assert events[0].data["done"] == events[0].data["total"] == applied.total
    assert events[0].data["table_name"] == "Tasks"
    assert events[1].data["change_set_id"] == undone.change_set_id
    assert events[1].data["undoes"] == applied.change_set_id


def _settle(services: Services, user_id: int, input_tokens: int) -> None:
    guard = services.budget_guard
    reservation = guard.reserve(
        user_id=user_id,
        model="gemini-2.5-flash-lite",  # 100 nano-USD per input token
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=0, total_nusd=1000, input_tokens=1, output_tokens=1),
    )
    guard.settle(reservation, TokenUsage(input_tokens, 0), latency_ms=1)


def test_budget_guard__publishes_a_users_alert_to_that_user(services: Services) -> None:
    user_id, other = add_user(services), add_user(services)
    services.budget_guard.budgets.set_user_budget(user_id, BudgetOverrides(day_nusd=100_000))

    _settle(services, user_id, 600)  # 60% of the day

    mine = services.events.read_after(user_id, admin=False, after="0-0")
    assert [(e.type, e.data["scope"], e.data["threshold_pct"]) for e in mine] == [
        (BUDGET_ALERT, "user", 50)
    ]
    assert services.events.read_after(other, admin=True, after="0-0") == []


def test_budget_guard__publishes_an_org_alert_to_the_org_stream(services: Services) -> None:
    user_id = add_user(services)
    services.budget_guard.budgets.set_org_budget(BudgetOverrides(day_tokens=1000))

    _settle(services, user_id, 600)

    assert services.events.read_after(user_id, admin=False, after="0-0") == []
    (alert,) = services.events.read_after(add_user(services), admin=True, after="0-0")
    assert (alert.type, alert.data["scope"]) == (BUDGET_ALERT, "org")
    assert alert.data["metric"] == "tokens"
