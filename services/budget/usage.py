"""Where a user stands: each limit that applies, what is spent and what is in flight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.budget.budgets import AppliedLimits
from services.budget.guard import BudgetGuard
from services.budget.windows import Metric, Scope, Window, counters_for


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


def limits_and_spend(guard: BudgetGuard, user_id: int) -> list[LimitStatus]:
    """The effective limits of `user_id` with the current spend against each.

    Raises:
        redis.RedisError: Redis cannot be reached (the counters live there).
    """
    limits: AppliedLimits = guard.budgets.resolve(user_id)
    refs = counters_for(user_id, guard.clock())
    pipe = guard.redis.pipeline(transaction=False)
    for ref in refs:
        pipe.hmget(guard.keys.counter(ref), ["nusd", "tok", "snusd", "stok"])
    statuses: list[LimitStatus] = []
    for ref, values in zip(refs, pipe.execute(), strict=True):
        nusd, tok, snusd, stok = (int(v or 0) for v in values)
        limit_nusd, limit_tokens = limits.for_counter(ref)
        window, end = ref.span.window, ref.span.end
        statuses.append(
            LimitStatus(ref.scope, window, Metric.USD, limit_nusd, snusd, nusd - snusd, end)
        )
        statuses.append(
            LimitStatus(ref.scope, window, Metric.TOKENS, limit_tokens, stok, tok - stok, end)
        )
    return statuses
