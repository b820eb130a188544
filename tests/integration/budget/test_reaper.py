"""Leaked reservations and counters that drifted from the ledger."""

from __future__ import annotations

import pytest

from config.settings import Settings
from services.budget.guard import BudgetGuard
from services.budget.ledger import LedgerRecord, record_call
from services.budget.pricing import TokenUsage
from services.budget.reaper import reap_expired_reservations, reconcile_counters
from services.budget.types import CallStatus, Purpose
from services.budget.windows import Window
from services.container import Services
from tests.integration.budget.conftest import GuardMaker
from tests.integration.budget.guard_setup import (
    ManualClock,
    counter,
    estimate,
    ledger,
    unreachable_redis,
)

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"


def _reserve(guard: BudgetGuard, user_id: int) -> str:
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=100)
    return guard.reserve(
        user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst
    ).request_id


def test_reaper__leaves_live_leases_alone(guard: BudgetGuard, user_id: int) -> None:
    _reserve(guard, user_id)
    assert reap_expired_reservations(guard) == 0
    assert counter(guard, user_id, Window.DAY)["nusd"] == 90_000


def test_reaper__settles_a_leaked_reservation_to_its_input_estimate(
    guard: BudgetGuard, services: Services, settings: Settings, user_id: int, clock: ManualClock
) -> None:
    request_id = _reserve(guard, user_id)
    clock.advance(seconds=settings.budget_reservation_lease_seconds + 1)

    assert reap_expired_reservations(guard) == 1
    assert reap_expired_reservations(guard) == 0

    assert counter(guard, user_id, Window.DAY) == {
        "nusd": 3000,
        "tok": 10,
        "snusd": 3000,
        "stok": 10,
    }
    assert [(r.request_id, r.status, r.cost_nusd) for r in ledger(services)] == [
        (request_id, "expired", 3000)
    ]
    assert guard.redis.zcard(guard.keys.leases) == 0


def test_settle__after_the_reaper_corrects_the_charge_to_the_actual_cost(
    guard: BudgetGuard, services: Services, settings: Settings, user_id: int, clock: ManualClock
) -> None:
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=100)
    reservation = guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    clock.advance(seconds=settings.budget_reservation_lease_seconds + 1)
    reap_expired_reservations(guard)

    late = guard.settle(reservation, TokenUsage(input_tokens=8, output_tokens=20), latency_ms=999)
    again = guard.settle(reservation, TokenUsage(input_tokens=8, output_tokens=20), latency_ms=999)

    actual = 8 * 300 + 20 * 2500
    assert (late.applied, again.applied) == (True, False)
    assert counter(guard, user_id, Window.DAY) == {
        "nusd": actual, "tok": 28, "snusd": actual, "stok": 28,
    }  # fmt: skip
    assert [(r.status, r.cost_nusd, r.latency_ms) for r in ledger(services)] == [
        ("ok", actual, 999)
    ]


def test_reaper__charges_what_the_ledger_recorded_when_redis_missed_the_settle(
    guard: BudgetGuard,
    make_guard: GuardMaker,
    services: Services,
    settings: Settings,
    user_id: int,
    clock: ManualClock,
) -> None:
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=100)
    reservation = guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    cut_off = make_guard(redis_client=unreachable_redis())

    settlement = cut_off.settle(reservation, TokenUsage(20, 4), latency_ms=50)

    assert not settlement.applied
    assert counter(guard, user_id, Window.DAY)["nusd"] == 90_000
    clock.advance(seconds=settings.budget_reservation_lease_seconds + 1)
    assert reap_expired_reservations(guard) == 1
    assert counter(guard, user_id, Window.DAY)["snusd"] == 20 * 300 + 4 * 2500
    assert [(r.status, r.cost_nusd) for r in ledger(services)] == [("ok", 16_000)]


def test_reconcile__counts_ledger_calls_that_redis_lost(
    guard: BudgetGuard, services: Services, user_id: int, clock: ManualClock
) -> None:
    guard.settle(
        guard.reserve(
            user_id=user_id,
            model=FLASH,
            purpose=Purpose.CHAT,
            estimate=estimate(input_nusd=1, total_nusd=50_000),
        ),
        TokenUsage(10, 10),
        latency_ms=1,
    )
    # A call whose counters were lost (Redis restarted without persistence, say).
    record_call(
        services.sql,
        LedgerRecord(
            request_id="lost-1", user_id=user_id, purpose="chat", ref_type=None, ref_id=None,
            provider="gemini", model=FLASH, input_tokens=100, cached_tokens=0, output_tokens=0,
            reasoning_tokens=0, reserved_nusd=0, cost_nusd=30_000, latency_ms=1,
            status=CallStatus.OK, created_at=clock.now,
        ),
    )  # fmt: skip

    assert reconcile_counters(guard) == 1  # the lost call, in all four counters
    assert reconcile_counters(guard) == 0

    expected = 28_000 + 30_000
    assert counter(guard, user_id, Window.DAY) == {
        "nusd": expected, "tok": 120, "snusd": expected, "stok": 120,
    }  # fmt: skip
    assert counter(guard, None, Window.MONTH)["snusd"] == expected


def test_reconcile__never_lowers_a_counter(guard: BudgetGuard, user_id: int) -> None:
    reservation = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=1, total_nusd=50_000),
    )
    guard.settle(reservation, TokenUsage(10, 10), latency_ms=1)
    in_flight = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=1, total_nusd=50_000),
    )
    before = counter(guard, user_id, Window.DAY)

    assert reconcile_counters(guard) == 0

    assert counter(guard, user_id, Window.DAY) == before
    guard.refund(in_flight, latency_ms=1)


def test_reconcile__then_reaper__count_a_call_whose_settle_missed_redis_once(
    guard: BudgetGuard,
    make_guard: GuardMaker,
    services: Services,
    settings: Settings,
    user_id: int,
    clock: ManualClock,
) -> None:
    # Issue 11, item 3: during an outage the second call's settle writes its ledger row but
    # cannot reach Redis; reconciling, then reaping its lease, must count it once.
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=100)
    cut_off = make_guard(redis_client=unreachable_redis())
    first = guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    guard.settle(first, TokenUsage(5, 8), latency_ms=1)
    second = guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    assert not cut_off.settle(second, TokenUsage(5, 8), latency_ms=1).applied

    reconcile_counters(guard)
    clock.advance(seconds=settings.budget_reservation_lease_seconds + 1)
    reap_expired_reservations(guard)
    reconcile_counters(guard)

    each = 5 * 300 + 8 * 2500  # 21,500 nano-USD
    assert sum(r.cost_nusd for r in ledger(services)) == 2 * each
    settled = {"nusd": 2 * each, "tok": 26, "snusd": 2 * each, "stok": 26}
    for owner in (user_id, None):
        for window in (Window.DAY, Window.MONTH):
            assert counter(guard, owner, window) == settled
