"""Budgets in SQL: overrides, defaults, the cached copy, and what a user has left."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, inspect

from config.settings import Settings
from services.budget.budgets import BudgetOverrides, Limits
from services.budget.errors import SpendLimitExceededError
from services.budget.guard import BudgetGuard
from services.budget.pricing import TokenUsage
from services.budget.types import Purpose
from services.budget.usage import limits_and_spend
from services.budget.windows import Metric, Scope, Window
from services.container import Services
from services.db import create_db_engine, transaction
from services.errors import InvalidInputError, NotFoundError
from services.orm import User
from tests.integration.budget.conftest import GuardMaker
from tests.integration.budget.guard_setup import estimate, ledger

pytestmark = pytest.mark.sql

USD = 1_000_000_000
FLASH = "gemini-2.5-flash"


def test_migration__creates_the_budget_tables(sql_url: str) -> None:
    engine = create_db_engine(sql_url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        indexes = {i["name"] for i in inspector.get_indexes("usage_ledger")}
    finally:
        engine.dispose()
    assert {"usage_ledger", "user_budgets", "org_budget", "budget_alerts"} <= tables
    assert {"ix_usage_ledger_user_created", "ix_usage_ledger_created"} <= indexes


def test_budgets__default_to_settings(guard: BudgetGuard, settings: Settings, user_id: int) -> None:
    assert guard.budgets.get_user_budget(user_id) == BudgetOverrides()
    limits = guard.budgets.resolve(user_id)
    assert limits.user == Limits(
        day_nusd=int(settings.budget_user_day_usd * USD),
        month_nusd=int(settings.budget_user_month_usd * USD),
        day_tokens=settings.budget_user_day_tokens,
        month_tokens=settings.budget_user_month_tokens,
    )
    assert limits.org.month_nusd == int(settings.budget_org_month_usd * USD)


def test_set_user_budget__overrides_only_what_it_sets(
    guard: BudgetGuard, settings: Settings, user_id: int
) -> None:
    guard.budgets.set_user_budget(user_id, BudgetOverrides(day_nusd=5 * USD, month_tokens=0))

    assert guard.budgets.get_user_budget(user_id) == BudgetOverrides(
        day_nusd=5 * USD, month_tokens=0
    )
    user = guard.budgets.resolve(user_id).user
    assert (user.day_nusd, user.month_tokens) == (5 * USD, 0)
    assert user.month_nusd == int(settings.budget_user_month_usd * USD)


def test_set_user_budget__takes_effect_at_once_despite_the_cache(
    guard: BudgetGuard, user_id: int
) -> None:
    worst = estimate(input_nusd=0, total_nusd=3 * USD)
    with pytest.raises(SpendLimitExceededError):  # the default is $2.00 a day
        guard.reserve(user_id=user_id, model="gemini-2.5-pro", purpose=Purpose.CHAT, estimate=worst)

    guard.budgets.set_user_budget(user_id, BudgetOverrides(day_nusd=0))  # 0: no daily limit

    guard.reserve(user_id=user_id, model="gemini-2.5-pro", purpose=Purpose.CHAT, estimate=worst)


@pytest.mark.parametrize("owner", ["user", "org"])
def test_budget_set_by_another_process__binds_the_next_reserve_of_this_one(
    guard: BudgetGuard, make_guard: GuardMaker, user_id: int, owner: str
) -> None:
    worst = estimate(input_nusd=0, total_nusd=USD // 2)
    for _ in range(2):  # this process has read the limits and reserved with them
        guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    assert guard.budgets.last_seen(user_id) is not None

    lower = BudgetOverrides(day_nusd=USD // 100)
    other = make_guard().budgets  # another web process, its own memory
    if owner == "user":
        other.set_user_budget(user_id, lower)
    else:
        other.set_org_budget(lower)

    with pytest.raises(SpendLimitExceededError) as refused:
        guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    assert (refused.value.scope.value, refused.value.limit) == (owner, USD // 100)


def test_set_org_budget__round_trips(guard: BudgetGuard) -> None:
    guard.budgets.set_org_budget(BudgetOverrides(day_nusd=7 * USD, day_tokens=10))
    guard.budgets.set_org_budget(BudgetOverrides(day_nusd=8 * USD))
    assert guard.budgets.get_org_budget() == BudgetOverrides(day_nusd=8 * USD)


def test_set_user_budget__refuses_unknown_users_and_negative_amounts(guard: BudgetGuard) -> None:
    with pytest.raises(NotFoundError):
        guard.budgets.set_user_budget(987_654, BudgetOverrides(day_nusd=1))
    with pytest.raises(InvalidInputError):
        BudgetOverrides(day_nusd=-1)


def test_deleting_a_user__drops_their_budget_but_keeps_the_ledger(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    guard.budgets.set_user_budget(user_id, BudgetOverrides(day_nusd=USD))
    reservation = guard.reserve(
        user_id=user_id,
        model="gemini-2.5-flash",
        purpose=Purpose.TITLE,
        estimate=estimate(input_nusd=1, total_nusd=50_000),
    )
    guard.settle(reservation, TokenUsage(10, 2), latency_ms=3)

    with transaction(services.sql) as session:
        session.execute(delete(User).where(User.id == user_id))

    assert guard.budgets.get_user_budget(user_id) == BudgetOverrides()
    assert [(r.user_id, r.cost_nusd) for r in ledger(services)] == [(None, 8000)]


def test_limits_and_spend__reports_spent_and_in_flight(guard: BudgetGuard, user_id: int) -> None:
    guard.budgets.set_user_budget(user_id, BudgetOverrides(day_nusd=USD))
    done = guard.reserve(
        user_id=user_id,
        model="gemini-2.5-flash",
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=1, total_nusd=50_000, input_tokens=5, output_tokens=5),
    )
    guard.settle(done, TokenUsage(10, 2), latency_ms=3)
    guard.reserve(
        user_id=user_id,
        model="gemini-2.5-flash",
        purpose=Purpose.CHAT,
        estimate=estimate(input_nusd=1, total_nusd=70_000, input_tokens=5, output_tokens=5),
    )

    statuses = {(s.scope, s.window, s.metric): s for s in limits_and_spend(guard, user_id)}

    user_day_usd = statuses[(Scope.USER, Window.DAY, Metric.USD)]
    assert (user_day_usd.limit, user_day_usd.spent, user_day_usd.in_flight) == (USD, 8000, 70_000)
    assert user_day_usd.used_pct == pytest.approx(0.0008)
    org_month_tokens = statuses[(Scope.ORG, Window.MONTH, Metric.TOKENS)]
    assert (org_month_tokens.spent, org_month_tokens.in_flight) == (12, 10)
    assert len(statuses) == 8
