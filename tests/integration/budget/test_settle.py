"""Settling against real Redis and SQL: actual cost, refunds, cancels, idempotency."""

from __future__ import annotations

import pytest

from services.budget.guard import BudgetGuard, Reservation
from services.budget.pricing import CostEstimate, TokenUsage
from services.budget.types import CallRef, CallStatus, Purpose, RefType
from services.budget.windows import CounterRef, Scope, Window, window_span
from services.container import Services
from tests.integration.budget.guard_setup import (
    ManualClock,
    counter,
    estimate,
    ledger,
)

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"
USD = 1_000_000_000  # nano-USD


def reserve(
    guard: BudgetGuard, user_id: int, worst: CostEstimate, *, model: str = FLASH
) -> Reservation:
    return guard.reserve(user_id=user_id, model=model, purpose=Purpose.CHAT, estimate=worst)


def test_settle__charges_the_actual_cost_and_writes_the_ledger(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    ref = CallRef(RefType.CONVERSATION, "c-42")
    reservation = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.SUMMARY,
        estimate=estimate(input_nusd=400_000, total_nusd=3_000_000),
        ref=ref,
    )
    usage = TokenUsage(input_tokens=1000, output_tokens=100, cached_tokens=200, reasoning_tokens=40)

    settlement = guard.settle(reservation, usage, latency_ms=321)

    # 800 uncached x 300 + 200 cached x 30 + 100 output x 2500 nano-USD
    assert settlement.cost_nusd == 496_000
    assert counter(guard, user_id, Window.DAY) == {
        "nusd": 496_000, "tok": 1100, "snusd": 496_000, "stok": 1100,
    }  # fmt: skip
    assert counter(guard, None, Window.MONTH)["snusd"] == 496_000
    (row,) = ledger(services)
    assert (row.user_id, row.purpose, row.ref_type, row.ref_id) == (
        user_id, "summary", "conversation", "c-42",
    )  # fmt: skip
    assert (row.provider, row.model, row.status, row.latency_ms) == ("gemini", FLASH, "ok", 321)
    assert (row.input_tokens, row.cached_tokens, row.output_tokens, row.reasoning_tokens) == (
        1000, 200, 100, 40,
    )  # fmt: skip
    assert (row.reserved_nusd, row.cost_nusd) == (3_000_000, 496_000)
    assert row.request_id == reservation.request_id
    assert guard.redis.zcard(guard.keys.leases) == 0


def test_settle__twice_charges_once(guard: BudgetGuard, services: Services, user_id: int) -> None:
    reservation = reserve(guard, user_id, estimate(input_nusd=3000, total_nusd=90_000))
    first = guard.settle(reservation, TokenUsage(10, 10), latency_ms=1)
    again = guard.settle(reservation, TokenUsage(20, 20), latency_ms=1)
    refund = guard.refund(reservation, latency_ms=1)

    assert (first.applied, again.applied, refund.applied) == (True, False, False)
    assert counter(guard, user_id, Window.DAY)["nusd"] == 10 * 300 + 10 * 2500
    assert [(r.cost_nusd, r.status) for r in ledger(services)] == [(28_000, "ok")]


def test_refund__returns_the_whole_reservation(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    reservation = reserve(guard, user_id, estimate(input_nusd=3000, total_nusd=90_000))
    assert counter(guard, user_id, Window.DAY)["nusd"] == 90_000

    guard.refund(reservation, latency_ms=7)

    assert counter(guard, user_id, Window.DAY) == {"nusd": 0, "tok": 0, "snusd": 0, "stok": 0}
    assert [(r.status, r.cost_nusd, r.input_tokens) for r in ledger(services)] == [("error", 0, 0)]
    # The call's record stays, to say the call is counted (at 0), until its counters expire.
    record = guard.redis.hgetall(guard.keys.reservation(reservation.request_id))
    assert record == {b"st": b"final", b"nusd": b"0", b"tok": b"0"}
    assert guard.redis.zcard(guard.keys.leases) == 0


def test_charge_input__charges_the_input_estimate_on_cancel(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=500)
    reservation = reserve(guard, user_id, worst)

    guard.charge_input(reservation, status=CallStatus.CANCELLED, latency_ms=9)

    assert counter(guard, user_id, Window.DAY) == {
        "nusd": 3000,
        "tok": 10,
        "snusd": 3000,
        "stok": 10,
    }
    (row,) = ledger(services)
    assert (row.status, row.cost_nusd, row.input_tokens, row.output_tokens) == (
        "cancelled", 3000, 10, 0,
    )  # fmt: skip


def test_charge_input__charges_reported_usage_when_it_is_more(
    guard: BudgetGuard, user_id: int
) -> None:
    reservation = reserve(guard, user_id, estimate(input_nusd=3000, total_nusd=90_000))
    partial = TokenUsage(input_tokens=10, output_tokens=20)

    settlement = guard.charge_input(
        reservation, status=CallStatus.ERROR, latency_ms=9, partial=partial
    )

    assert settlement.cost_nusd == 10 * 300 + 20 * 2500
    assert counter(guard, user_id, Window.DAY)["snusd"] == 53_000


def test_settle__without_usage_keeps_the_estimate(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=36)
    reservation = reserve(guard, user_id, worst)

    guard.settle(reservation, None, latency_ms=4)

    assert counter(guard, user_id, Window.DAY) == {
        "nusd": 90_000,
        "tok": 46,
        "snusd": 90_000,
        "stok": 46,
    }
    (row,) = ledger(services)
    assert (row.status, row.cost_nusd, row.input_tokens, row.output_tokens) == (
        "estimated", 90_000, 10, 36,
    )  # fmt: skip


def test_settle__after_midnight_counts_in_the_day_it_reserved(
    guard: BudgetGuard, user_id: int, clock: ManualClock
) -> None:
    clock.now = clock.now.replace(hour=23, minute=59, second=59)
    reservation = reserve(guard, user_id, estimate(input_nusd=1000, total_nusd=90_000))
    yesterday = guard.keys.counter(_day(guard, user_id))
    clock.advance(seconds=2)

    guard.settle(reservation, TokenUsage(10, 0), latency_ms=2000)

    assert int(guard.redis.hget(yesterday, "snusd") or 0) == 3000
    assert counter(guard, user_id, Window.DAY) == {"nusd": 0, "tok": 0, "snusd": 0, "stok": 0}


def _day(guard: BudgetGuard, user_id: int) -> CounterRef:
    return CounterRef(Scope.USER, user_id, window_span(Window.DAY, guard.clock()))


def test_settle__counts_the_call_when_its_ledger_row_cannot_be_written(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    """SQL refusing the row (here: a user id no user has) leaves the call counted in Redis,
    where the budgets live, and the settle returns as usual (the error is logged)."""
    nobody = user_id + 1_000_000
    reservation = reserve(guard, nobody, estimate(input_nusd=400_000, total_nusd=3_000_000))

    settlement = guard.settle(reservation, TokenUsage(1000, 100), latency_ms=5)

    assert settlement.applied
    assert counter(guard, nobody, Window.DAY)["snusd"] == settlement.cost_nusd > 0
    assert ledger(services) == []
