"""What budget and LLM tests build their scenarios from: a clock, users, stated estimates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from services.budget.budgets import BudgetOverrides
from services.budget.guard import BudgetGuard
from services.budget.orm import LedgerEntry
from services.budget.pricing import CostEstimate
from services.budget.windows import CounterRef, Scope, Window, window_span
from services.container import Services
from services.db import transaction
from services.orm import User
from tests.support.net import free_port


@dataclass
class ManualClock:
    """The guard's clock; tests move it instead of sleeping."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def add_user(services: Services) -> int:
    with transaction(services.sql) as session:
        user = User(email=f"{uuid.uuid4().hex[:12]}@example.com")
        session.add(user)
        session.flush()
        return user.id


def estimate(
    *, input_nusd: int, total_nusd: int, input_tokens: int = 1000, output_tokens: int = 1000
) -> CostEstimate:
    """A worst case stated outright, so limits can be set to fit an exact number of calls."""
    return CostEstimate(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_nusd=input_nusd,
        total_nusd=total_nusd,
    )


def set_user_budget(guard: BudgetGuard, user_id: int, **limits: int) -> None:
    guard.budgets.set_user_budget(user_id, BudgetOverrides(**limits))


def unreachable_redis() -> redis.Redis:
    """A real client for a port nothing listens on: Redis "stopped", without retries."""
    return redis.Redis(
        host="127.0.0.1",
        port=free_port(),
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


def counter(guard: BudgetGuard, user_id: int | None, window: Window) -> dict[str, int]:
    """The fields of one counter at the guard's current time (missing fields are 0)."""
    scope = Scope.ORG if user_id is None else Scope.USER
    key = guard.keys.counter(CounterRef(scope, user_id, window_span(window, guard.clock())))
    raw: dict[bytes, bytes] = guard.redis.hgetall(key)  # type: ignore[assignment]
    values = {k.decode(): int(v) for k, v in raw.items()}
    return {f: values.get(f, 0) for f in ("nusd", "tok", "snusd", "stok")}


def ledger(services: Services) -> list[LedgerEntry]:
    with services.sql() as session:
        return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
