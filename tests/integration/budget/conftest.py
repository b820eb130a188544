"""A budget guard on the test's own Redis prefix and SQL database, with a clock it controls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from config.settings import Settings
from services.budget.guard import BudgetGuard
from services.container import Services
from services.llm.catalog import load_model_catalog
from tests.integration.budget.guard_setup import ManualClock, add_user


@pytest.fixture
def clock() -> ManualClock:
    # Near the real date, so Redis expiries computed from it stay realistic.
    return ManualClock(datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0))


@pytest.fixture
def user_id(services: Services) -> int:
    return add_user(services)


GuardMaker = Callable[..., BudgetGuard]


@pytest.fixture
def make_guard(services: Services, settings: Settings, clock: ManualClock) -> GuardMaker:
    """Build a guard; keyword arguments override settings (e.g. rate limits)."""
    catalog = load_model_catalog(settings.model_table_path)

    def make(**overrides: object) -> BudgetGuard:
        return BudgetGuard(
            redis_client=overrides.pop("redis_client", services.redis),  # type: ignore[arg-type]
            sessions=services.sql,
            settings=settings.model_copy(update=overrides),
            catalog=catalog,
            clock=clock,
        )

    return make


@pytest.fixture
def guard(make_guard: GuardMaker) -> BudgetGuard:
    return make_guard()
