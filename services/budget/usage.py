"""Where a user stands: each limit that applies, what is spent and what is in flight."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import redis

from services.budget.budgets import AppliedLimits
from services.budget.guard import BudgetGuard
from services.budget.windows import Metric, Scope, Window, counters_for
from services.errors import StoreUnavailableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitStatus:
    """One limit of a user, in its current window (money in nano-USD).

    Attributes:
        limit: The budget; 0 means no limit.
        spent: Settled in this window.
        in_flight: Reserved by calls still running.
    """

    scope: Scope
    window: Window
    metric: Metric
    limit: int
    spent: int
    in_flight: int
    resets_at: datetime

    @property
    def used_pct(self) -> float | None:
        return None if not self.limit else 100.0 * self.spent / self.limit

    @property
    def used(self) -> int:
        """Settled plus reserved: what the guard counts against the limit."""
        return self.spent + self.in_flight

    @property
    def left(self) -> int | None:
        """What the next calls may still use (never below 0); None when there is no limit.

        The settled counter is the sum of the window's ledger rows (settle writes both), so
        this is the limit less what the ledger shows, less the calls still running.
        """
        return max(self.limit - self.used, 0) if self.limit else None


def limits_and_spend(
    guard: BudgetGuard, user_id: int, *, include_org: bool = True
) -> list[LimitStatus]:
    """The effective limits of `user_id` with the current spend against each.

    `include_org=False` leaves out the organisation's limits: their spend is everyone's,
    which only admins may see.

    Raises:
        StoreUnavailableError: Redis (the counters) or the database (the budgets) cannot
            be reached.
    """
    limits: AppliedLimits = guard.budgets.resolve(user_id)
    refs = counters_for(user_id, guard.clock())
    pipe = guard.redis.pipeline(transaction=False)
    for ref in refs:
        pipe.hmget(guard.keys.counter(ref), ["nusd", "tok", "snusd", "stok"])
    try:
        counters = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("budget counters unreadable: %s", type(exc).__name__)
        raise StoreUnavailableError(
            "redis", "Budgets left cannot be shown: Redis, which counts spend, cannot be reached."
        ) from exc
    statuses: list[LimitStatus] = []
    for ref, values in zip(refs, counters, strict=True):
        nusd, tok, snusd, stok = (int(v or 0) for v in values)
        limit_nusd, limit_tokens = limits.for_counter(ref)
        window, end = ref.span.window, ref.span.end
        statuses.append(
            LimitStatus(ref.scope, window, Metric.USD, limit_nusd, snusd, nusd - snusd, end)
        )
        statuses.append(
            LimitStatus(ref.scope, window, Metric.TOKENS, limit_tokens, stok, tok - stok, end)
        )
    return statuses if include_org else [s for s in statuses if s.scope is Scope.USER]


def budget_left(guard: BudgetGuard, user_id: int) -> LimitStatus | None:
    """The money budget (the user's or the org's, day or month) with the least left.

    That is what bounds the user's next calls; None when no money limit applies.

    Raises:
        StoreUnavailableError: Redis or the database cannot be reached.
    """
    money = [s for s in limits_and_spend(guard, user_id) if s.metric is Metric.USD and s.limit]
    return min(money, key=lambda s: s.left or 0, default=None)
