"""Alerts at 50/80/100% of a budget: once per threshold and window, in Redis and SQL."""

from __future__ import annotations

import pytest

from config.settings import Settings
from services.budget.alerts import all_alerts, user_alerts
from services.budget.budgets import BudgetOverrides
from services.budget.errors import SpendLimitExceededError
from services.budget.guard import BudgetGuard
from services.budget.pricing import TokenUsage
from services.budget.reaper import reap_expired_reservations
from services.budget.settlement import Settlement
from services.budget.types import Purpose
from services.budget.windows import Metric, Scope, Window
from services.container import Services
from tests.integration.budget.guard_setup import ManualClock, add_user, estimate, set_user_budget

pytestmark = pytest.mark.sql

LITE = "gemini-2.5-flash-lite"  # 100 nano-USD per input token
LIMIT = 100_000  # nano-USD: 1,000 input tokens of LITE


def _call(guard: BudgetGuard, user_id: int, input_tokens: int) -> Settlement:
    reservation = guard.reserve(
        user_id=user_id,
        model=LITE,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=0, total_nusd=1000, input_tokens=1, output_tokens=1),
    )
    return guard.settle(reservation, TokenUsage(input_tokens, 0), latency_ms=1)


def _thresholds(settlement: Settlement) -> list[tuple[str, str, int]]:
    return [(a.counter.owner, a.metric.value, a.threshold_pct) for a in settlement.alerts]


def test_alerts__fire_once_per_threshold_per_window(
    guard: BudgetGuard, services: Services, user_id: int, clock: ManualClock
) -> None:
    set_user_budget(guard, user_id, day_nusd=LIMIT)
    owner = f"user:{user_id}"

    assert _thresholds(_call(guard, user_id, 550)) == [(owner, "usd", 50)]
    assert _thresholds(_call(guard, user_id, 100)) == []
    assert _thresholds(_call(guard, user_id, 200)) == [(owner, "usd", 80)]
    assert _thresholds(_call(guard, user_id, 150)) == [(owner, "usd", 100)]

    clock.advance(days=1)
    assert _thresholds(_call(guard, user_id, 600)) == [(owner, "usd", 50)]

    rows = user_alerts(services.sql, user_id)
    assert [(r.threshold_pct, r.window, r.metric, r.limit_value) for r in rows] == [
        (50, "day", "usd", LIMIT),
        (100, "day", "usd", LIMIT),
        (80, "day", "usd", LIMIT),
        (50, "day", "usd", LIMIT),
    ]
    assert rows[1].value == 100_000
    assert rows[0].window_label != rows[3].window_label


def test_alerts__one_settle_crossing_50_and_80_records_both(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    set_user_budget(guard, user_id, day_nusd=LIMIT)

    settlement = _call(guard, user_id, 850)

    owner = f"user:{user_id}"
    assert _thresholds(settlement) == [(owner, "usd", 50), (owner, "usd", 80)]
    assert sorted(r.threshold_pct for r in user_alerts(services.sql, user_id)) == [50, 80]


def test_alerts__do_not_repeat_when_a_late_settle_lowers_the_total(
    guard: BudgetGuard, settings: Settings, services: Services, user_id: int, clock: ManualClock
) -> None:
    set_user_budget(guard, user_id, day_nusd=LIMIT)
    reservation = guard.reserve(
        user_id=user_id,
        model=LITE,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=60_000, total_nusd=61_000, input_tokens=600),
    )
    clock.advance(seconds=settings.budget_reservation_lease_seconds + 1)
    reap_expired_reservations(guard)  # charges the 60% input estimate: the 50% alert
    guard.settle(reservation, TokenUsage(100, 0), latency_ms=1)  # actually 10%

    assert _thresholds(_call(guard, user_id, 500)) == []  # back over 50%: already alerted
    assert [r.threshold_pct for r in user_alerts(services.sql, user_id)] == [50]


def test_alerts__cover_org_and_token_budgets(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    guard.budgets.set_org_budget(BudgetOverrides(day_tokens=1000))
    other = add_user(services)

    _call(guard, other, 600)

    (alert,) = all_alerts(services.sql)
    assert (alert.scope, alert.user_id, alert.metric, alert.threshold_pct) == (
        Scope.ORG.value, None, Metric.TOKENS.value, 50,
    )  # fmt: skip
    assert alert.window == Window.DAY.value
    assert user_alerts(services.sql, other) == []


def test_alerts__a_call_over_its_reservation_is_charged_alerted_and_blocks_the_window(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    set_user_budget(guard, user_id, day_nusd=LIMIT)
    owner = f"user:{user_id}"
    within = guard.reserve(
        user_id=user_id,
        model=LITE,
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=0, total_nusd=5000, input_tokens=50, output_tokens=0),
    )
    assert not guard.settle(within, TokenUsage(50, 0), latency_ms=1).overrun

    over = _call(guard, user_id, 1850)  # reserved 1,000 nano-USD, reports 185,000

    assert over.overrun
    assert _thresholds(over) == [
        (owner, "usd", 50), (owner, "usd", 80), (owner, "usd", 100), (owner, "usd", 190),
    ]  # fmt: skip
    assert over.alerts[-1].value == 190_000
    with pytest.raises(SpendLimitExceededError, match="daily budget"):
        _call(guard, user_id, 1)
    stored = {a.threshold_pct: a.value for a in user_alerts(services.sql, user_id)}
    assert stored[190] == 190_000
