"""Refusals of the budget guard: typed, carrying the numbers, with a message a user can read.

BudgetExceededError (services.errors)
├── SpendLimitExceededError   a day/month budget (money or tokens) would be crossed
└── RateLimitExceededError    too many requests or tokens in the last minute
StoreUnavailableError (services.errors)
└── BudgetStoreUnavailableError  Redis is down, so paid calls are refused (fail closed)
"""

from __future__ import annotations

from datetime import datetime

from services.budget.pricing import format_usd
from services.budget.windows import Metric, Scope, Window
from services.errors import BudgetExceededError, StoreUnavailableError


class SpendLimitExceededError(BudgetExceededError):
    """A call would cross a budget. All amounts are nano-USD (money) or tokens.

    Attributes:
        scope: Whose budget: the user's or the organisation's.
        window: Day or month (UTC calendar windows).
        metric: Money (`usd`, amounts in nano-USD) or tokens.
        limit: The budget.
        used: Spent (or reserved by calls in flight) in this window so far.
        needed: What this call reserves: its worst case.
        resets_at: When the window ends.
    """

    def __init__(
        self,
        *,
        scope: Scope,
        window: Window,
        metric: Metric,
        limit: int,
        used: int,
        needed: int,
        resets_at: datetime,
    ) -> None:
        self.scope = scope
        self.window = window
        self.metric = metric
        self.limit = limit
        self.used = used
        self.needed = needed
        self.resets_at = resets_at
        super().__init__(self._message())

    def _message(self) -> str:
        whose = "Your" if self.scope is Scope.USER else "The organisation's"
        period = "daily" if self.window is Window.DAY else "monthly"
        if self.metric is Metric.USD:
            budget = f"{period} budget of {format_usd(self.limit)}"
            used, needed = f"{format_usd(self.used)} spent", format_usd(self.needed)
        else:
            budget = f"{period} token budget of {self.limit:,} tokens"
            used, needed = f"{self.used:,} used", f"{self.needed:,} tokens"
        if self.window is Window.DAY:
            resets = "It resets at 00:00 UTC."
        else:
            resets = f"It resets on 1 {self.resets_at:%B} at 00:00 UTC."
        if self.needed > self.limit:
            return f"This request needs up to {needed}, more than {whose.lower()} {budget}."
        return f"{whose} {budget} is used up ({used}, this request needs up to {needed}). {resets}"


class RateLimitExceededError(BudgetExceededError):
    """A per-user, per-minute limit would be crossed.

    Attributes:
        kind: `requests` or `tokens`.
        limit: The allowance per minute.
        retry_after_seconds: When a retry of this same call will pass, if nothing else is
            spent meanwhile (at least 1); None when it never can (a call larger than the
            whole token allowance).
        needed: The tokens this call asked for (token refusals only).
    """

    def __init__(
        self, *, kind: str, limit: int, retry_after_seconds: int | None, needed: int | None = None
    ) -> None:
        self.kind = kind
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self.needed = needed
        super().__init__(self._message())

    def _message(self) -> str:
        # Every attempt takes a request before its tokens are checked: refused ones too.
        counted = "Refused attempts count as requests too."
        if self.kind == "requests":
            return (
                f"You have reached your limit of {self.limit:,} model requests per minute. "
                f"Try again in {self.retry_after_seconds} s. {counted}"
            )
        needs = f"{self.needed:,} tokens" if self.needed is not None else "more tokens"
        if self.retry_after_seconds is None:
            return (
                f"This request needs about {needs}, more than your limit of "
                f"{self.limit:,} tokens per minute: shorten the message or start a new "
                "conversation."
            )
        reached = f"You have reached your limit of {self.limit:,} tokens per minute"
        if self.needed is not None:
            reached += f" (this request needs about {needs})"
        return f"{reached}. Try again in {self.retry_after_seconds} s. {counted}"


class BudgetStoreUnavailableError(StoreUnavailableError):
    """Redis, which holds the budget counters, cannot be reached: paid calls are refused."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(
            "redis",
            f"{model} is a paid model, and paid model calls are paused because Redis, which "
            "tracks budgets, cannot be reached. Try again shortly, or use a local Ollama model.",
        )
