"""Reserving against real Redis: every limit, windows, concurrency, Redis down, rates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from config.settings import Settings
from services.budget.budgets import BudgetOverrides
from services.budget.errors import (
    BudgetStoreUnavailableError,
    RateLimitExceededError,
    SpendLimitExceededError,
)
from services.budget.guard import BudgetGuard, Reservation
from services.budget.pricing import CostEstimate, TokenUsage
from services.budget.types import Purpose
from services.budget.windows import CounterRef, Metric, Scope, Window, window_span
from services.container import Services
from services.errors import InvalidInputError
from tests.integration.budget.conftest import GuardMaker
from tests.integration.budget.guard_setup import (
    ManualClock,
    add_user,
    counter,
    estimate,
    ledger,
    set_user_budget,
    unreachable_redis,
)

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"
USD = 1_000_000_000  # nano-USD


def reserve(
    guard: BudgetGuard, user_id: int, worst: CostEstimate, *, model: str = FLASH
) -> Reservation:
    return guard.reserve(user_id=user_id, model=model, purpose=Purpose.CHAT, estimate=worst)


def test_reserve__refuses_when_day_limit_reached(guard: BudgetGuard, user_id: int) -> None:
    set_user_budget(guard, user_id, day_nusd=2 * USD)
    reserve(guard, user_id, estimate(input_nusd=0, total_nusd=198 * USD // 100))

    with pytest.raises(SpendLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=0, total_nusd=5 * USD // 100))

    error = refused.value
    assert str(error) == (
        "Your daily budget of $2.00 is used up ($1.98 spent, this request needs up to $0.05). "
        "It resets at 00:00 UTC."
    )
    assert (error.scope, error.window, error.metric) == (Scope.USER, Window.DAY, Metric.USD)
    assert (error.limit, error.used, error.needed) == (2 * USD, 198 * USD // 100, 5 * USD // 100)
    assert counter(guard, user_id, Window.DAY)["nusd"] == 198 * USD // 100


def test_reserve__refuses_on_the_org_month_budget_across_users(
    guard: BudgetGuard, services: Services, user_id: int, clock: ManualClock
) -> None:
    clock.now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    guard.budgets.set_org_budget(BudgetOverrides(month_nusd=3 * USD))
    reserve(guard, user_id, estimate(input_nusd=0, total_nusd=2 * USD))

    other = add_user(services)
    with pytest.raises(SpendLimitExceededError) as refused:
        reserve(guard, other, estimate(input_nusd=0, total_nusd=2 * USD))

    assert (refused.value.scope, refused.value.window) == (Scope.ORG, Window.MONTH)
    assert str(refused.value) == (
        "The organisation's monthly budget of $3.00 is used up ($2.00 spent, this request needs "
        "up to $2.00). It resets on 1 December at 00:00 UTC."
    )
    assert counter(guard, other, Window.MONTH)["nusd"] == 0


def test_reserve__refuses_when_token_budget_reached(guard: BudgetGuard, user_id: int) -> None:
    set_user_budget(guard, user_id, day_tokens=2000)
    reserve(guard, user_id, estimate(input_nusd=0, total_nusd=1, input_tokens=500))

    with pytest.raises(SpendLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=0, total_nusd=1, input_tokens=500))

    assert refused.value.metric is Metric.TOKENS
    assert str(refused.value) == (
        "Your daily token budget of 2,000 tokens is used up (1,500 used, this request needs up "
        "to 1,500 tokens). It resets at 00:00 UTC."
    )


def test_reserve__names_a_request_larger_than_the_whole_budget(
    guard: BudgetGuard, user_id: int
) -> None:
    set_user_budget(guard, user_id, day_nusd=2 * USD)
    with pytest.raises(SpendLimitExceededError, match=r"needs up to \$3.00, more than your daily"):
        reserve(guard, user_id, estimate(input_nusd=0, total_nusd=3 * USD))


def test_reserve__concurrent_reservations_never_exceed_the_limit(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(rate_user_requests_per_minute=1000)
    set_user_budget(guard, user_id, day_nusd=10 * 7_000)
    worst = estimate(input_nusd=1_000, total_nusd=7_000)

    def attempt(_: int) -> bool:
        try:
            reserve(guard, user_id, worst)
        except SpendLimitExceededError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=50) as pool:
        granted = sum(pool.map(attempt, range(50)))

    assert granted == 10
    assert counter(guard, user_id, Window.DAY)["nusd"] == 70_000


def test_reserve__refuses_a_duplicate_request_id(guard: BudgetGuard, user_id: int) -> None:
    worst = estimate(input_nusd=1, total_nusd=2)
    guard.reserve(
        user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst, request_id="r1"
    )
    with pytest.raises(InvalidInputError, match="already reserved"):
        guard.reserve(
            user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst, request_id="r1"
        )


def test_reserve__day_rollover_starts_a_fresh_day(
    guard: BudgetGuard, user_id: int, clock: ManualClock
) -> None:
    clock.now = clock.now.replace(hour=23, minute=59, second=59)
    set_user_budget(guard, user_id, day_nusd=2 * 5000)
    worst = estimate(input_nusd=1000, total_nusd=5000)
    reserve(guard, user_id, worst)
    reserve(guard, user_id, worst)
    with pytest.raises(SpendLimitExceededError):
        reserve(guard, user_id, worst)

    clock.advance(seconds=2)
    reserve(guard, user_id, worst)

    assert counter(guard, user_id, Window.DAY)["nusd"] == 5000
    if clock.now.day != 1:  # the month continues unless the rollover was also a month's
        assert counter(guard, user_id, Window.MONTH)["nusd"] == 15_000


def test_reserve__refuses_paid_models_when_redis_is_down(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(redis_client=unreachable_redis())
    with pytest.raises(BudgetStoreUnavailableError) as refused:
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))
    assert refused.value.store == "redis"
    assert "Redis" in str(refused.value)
    assert "paid model calls are paused" in str(refused.value)


def test_reserve__lets_free_models_run_unreserved_when_redis_is_down(
    make_guard: GuardMaker, services: Services, user_id: int
) -> None:
    guard = make_guard(redis_client=unreachable_redis())
    reservation = reserve(guard, user_id, estimate(input_nusd=0, total_nusd=0), model="llama3.2")
    assert not reservation.tracked

    settlement = guard.settle(reservation, TokenUsage(30, 5), latency_ms=10)

    assert not settlement.applied
    assert [(r.model, r.status, r.input_tokens, r.reserved_nusd) for r in ledger(services)] == [
        ("llama3.2", "ok", 30, 0)
    ]


def test_rate_limit__refuses_the_request_over_the_per_minute_limit(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(rate_user_requests_per_minute=2)
    for _ in range(2):
        guard.settle(
            reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2)), None, latency_ms=1
        )

    with pytest.raises(RateLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))

    assert (refused.value.kind, refused.value.limit) == ("requests", 2)
    assert str(refused.value).startswith(
        "You have reached your limit of 2 model requests per minute."
    )
    assert refused.value.retry_after_seconds is not None
    assert 1 <= refused.value.retry_after_seconds <= 60
    assert counter(guard, user_id, Window.DAY)["nusd"] == 4  # the refused call reserved nothing


def test_rate_limit__counts_input_estimate_and_actual_output_tokens(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(rate_user_tokens_per_minute=2500)
    first = reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2, input_tokens=1000))
    guard.settle(first, TokenUsage(input_tokens=900, output_tokens=1000), latency_ms=1)

    with pytest.raises(RateLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2, input_tokens=1000))

    assert (refused.value.kind, refused.value.limit) == ("tokens", 2500)


def test_rate_limit__the_request_window_moves_with_the_clock(
    make_guard: GuardMaker, user_id: int, clock: ManualClock
) -> None:
    guard = make_guard(rate_user_requests_per_minute=2)
    reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))
    clock.advance(seconds=20)
    reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))

    with pytest.raises(RateLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))
    assert refused.value.retry_after_seconds == 40  # when the first request leaves the minute

    clock.advance(seconds=41)
    reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))  # only the second is left
    with pytest.raises(RateLimitExceededError):
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))


def test_rate_limit__last_minutes_tokens_weigh_as_much_as_is_still_in_the_window(
    make_guard: GuardMaker, user_id: int, clock: ManualClock
) -> None:
    guard = make_guard(rate_user_tokens_per_minute=2000)
    clock.advance(seconds=30)  # 12:00:30
    reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2, input_tokens=1500))

    clock.advance(seconds=45)  # 12:01:15: 3/4 of the last minute is in the window, 1125
    with pytest.raises(RateLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2, input_tokens=1000))
    # 1,500 · (45 - t)/60 must fall to 1,000: t = 5 s, when this call fits (not at 12:02)
    assert (refused.value.kind, refused.value.retry_after_seconds) == ("tokens", 5)

    clock.advance(seconds=30)  # 12:01:45: 1/4 of it, 375
    reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2, input_tokens=1000))


def test_rate_limit__a_call_the_budget_refuses_still_counts_as_a_request(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(rate_user_requests_per_minute=2)
    set_user_budget(guard, user_id, day_nusd=1)
    for _ in range(2):
        with pytest.raises(SpendLimitExceededError):
            reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))

    with pytest.raises(RateLimitExceededError) as refused:
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))
    assert refused.value.kind == "requests"


def test_rate_limits__are_per_user(
    make_guard: GuardMaker, services: Services, user_id: int
) -> None:
    guard = make_guard(rate_user_requests_per_minute=1)
    reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))
    reserve(guard, add_user(services), estimate(input_nusd=1, total_nusd=2))
    with pytest.raises(RateLimitExceededError):
        reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2))


def test_redis_keys__start_with_the_prefix_then_the_hash_tag(
    guard: BudgetGuard, settings: Settings, user_id: int
) -> None:
    guard.settle(reserve(guard, user_id, estimate(input_nusd=1, total_nusd=2)), None, latency_ms=1)
    keys = {k.decode() for k in guard.redis.scan_iter(match=f"{settings.redis_key_prefix}*")}
    day = _day(guard, user_id).span.label
    assert f"{settings.redis_key_prefix}{{budget}}:user:{user_id}:{day}" in keys
    assert f"{settings.redis_key_prefix}{{budget}}:org:{day}" in keys
    # The per-minute limits share the hash tag: the reserve script counts them too.
    assert f"{settings.redis_key_prefix}{{budget}}:rate:req:{user_id}" in keys
    assert any(
        k.startswith(f"{settings.redis_key_prefix}{{budget}}:rate:tok:{user_id}:") for k in keys
    )


def _day(guard: BudgetGuard, user_id: int) -> CounterRef:
    return CounterRef(Scope.USER, user_id, window_span(Window.DAY, guard.clock()))
