"""Budgets left: the limit less the ledger's figures and the calls in flight, computed once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.budget.guard import BudgetGuard
from services.budget.orm import LedgerEntry
from services.budget.pricing import TokenUsage, format_usd
from services.budget.types import Purpose
from services.budget.usage import budget_left, limits_and_spend
from services.budget.windows import Metric, Scope, Window, window_span
from services.container import Services
from services.errors import StoreUnavailableError
from tests.integration.budget.conftest import GuardMaker
from tests.integration.budget.guard_setup import (
    estimate,
    set_user_budget,
    unreachable_redis,
)

pytestmark = pytest.mark.sql

USD = 1_000_000_000
FLASH = "gemini-2.5-flash"


def _ledger_today(services: Services, guard: BudgetGuard, user_id: int) -> int:
    span = window_span(Window.DAY, guard.clock())
    query = select(func.coalesce(func.sum(LedgerEntry.cost_nusd), 0)).where(
        LedgerEntry.user_id == user_id,
        LedgerEntry.created_at >= span.start,
        LedgerEntry.created_at < span.end,
    )
    with services.sql() as session:
        return int(session.execute(query).scalar_one())


def test_budget_left__is_the_limit_less_the_ledger_and_the_calls_in_flight(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    set_user_budget(guard, user_id, day_nusd=2 * USD)
    done = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=300_000, total_nusd=50_000_000),
    )
    # 1,000 input and 640 output tokens: $0.0003 + $0.0016 = $0.0019.
    guard.settle(done, TokenUsage(1_000, 640), latency_ms=5)
    guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=1_000_000, total_nusd=5_000_000),
    )

    statuses = limits_and_spend(guard, user_id, include_org=False)
    day = next(s for s in statuses if (s.window, s.metric) == (Window.DAY, Metric.USD))
    tightest = budget_left(guard, user_id)

    assert {s.scope for s in statuses} == {Scope.USER}
    assert day.spent == _ledger_today(services, guard, user_id) == 1_900_000
    assert (day.in_flight, day.used) == (5_000_000, 6_900_000)
    assert tightest == day
    assert day.left == 2 * USD - 6_900_000
    assert format_usd(day.left) == "$1.993"  # was "$2.00": rounded up to the cent


def test_budget_left__never_below_zero(guard: BudgetGuard, user_id: int) -> None:
    set_user_budget(guard, user_id, day_nusd=1_000)
    guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=500, total_nusd=1_000),
    )
    tightest = budget_left(guard, user_id)
    assert tightest is not None
    assert (tightest.limit, tightest.left) == (1_000, 0)

    statuses = limits_and_spend(guard, user_id)
    tokens = next(s for s in statuses if s.metric is Metric.TOKENS and s.scope is Scope.USER)
    assert tokens.left == tokens.limit - tokens.used


def test_limits_and_spend__redis_down_is_a_store_error(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(redis_client=unreachable_redis())
    with pytest.raises(StoreUnavailableError, match="Redis"):
        limits_and_spend(guard, user_id)
