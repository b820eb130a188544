"""Budget windows (UTC calendar day and month) and the Redis keys named after them.

A counter's key names its window (`...:user:7:d:20261126`), so a new day starts from a new
key and no reset job is needed. Every budget key carries the `{budget}` hash tag after the
app's key prefix, so a Redis Cluster keeps them in one slot and one Lua script may touch
them all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

HASH_TAG = "{budget}"
# Counters outlive their window by this much, for settles of calls that span its end
# and for reconciliation against the ledger.
COUNTER_GRACE = timedelta(days=2)


class Scope(StrEnum):
    USER = "user"
    ORG = "org"


class Window(StrEnum):
    DAY = "day"
    MONTH = "month"


class Metric(StrEnum):
    USD = "usd"
    TOKENS = "tokens"


@dataclass(frozen=True)
class WindowSpan:
    """One calendar window: its key label and UTC bounds."""

    window: Window
    label: str
    start: datetime
    end: datetime


def window_span(window: Window, at: datetime) -> WindowSpan:
    """The UTC day or month containing `at`."""
    at = at.astimezone(UTC)
    return _span(window, at.year, at.month, at.day if window is Window.DAY else 1)


@functools.lru_cache(maxsize=64)
def _span(window: Window, year: int, month: int, day: int) -> WindowSpan:
    # Every model call works out its windows (reserve, settle, alerts): once a day is enough.
    start = datetime(year, month, day, tzinfo=UTC)
    if window is Window.DAY:
        return WindowSpan(window, "d:" + start.strftime("%Y%m%d"), start, start + timedelta(days=1))
    end = (start + timedelta(days=32)).replace(day=1)
    return WindowSpan(window, "m:" + start.strftime("%Y%m"), start, end)


@dataclass(frozen=True)
class CounterRef:
    """Which counter: a user's or the org's, for one window."""

    scope: Scope
    user_id: int | None
    span: WindowSpan

    @property
    def owner(self) -> str:
        return f"user:{self.user_id}" if self.scope is Scope.USER else "org"


class BudgetKeys:
    """Every Redis key the budget guard uses, under one app prefix."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}{HASH_TAG}:"

    def counter(self, ref: CounterRef) -> str:
        return f"{self.base}{ref.owner}:{ref.span.label}"

    def reservation(self, request_id: str) -> str:
        return f"{self.base}res:{request_id}"

    @property
    def leases(self) -> str:
        return f"{self.base}leases"

    @property
    def provisional(self) -> str:
        """Calls counted provisionally (presumed dead), whose caller may still settle."""
        return f"{self.base}prov"

    def alert(self, ref: CounterRef, metric: Metric, threshold: int | str) -> str:
        return f"{self.base}alert:{ref.owner}:{ref.span.label}:{metric.value}:{threshold}"

    def limits(self, user_id: int | None) -> str:
        return f"{self.base}limits:" + ("org" if user_id is None else f"user:{user_id}")

    def rate_requests(self, user_id: int) -> str:
        """The times of the user's last requests (the per-minute request limit)."""
        return f"{self.base}rate:req:{user_id}"

    def rate_tokens(self, user_id: int, minute: int) -> str:
        """The tokens the user's calls counted in one minute (the per-minute token limit)."""
        return f"{self.base}rate:tok:{user_id}:{minute}"


def counters_for(user_id: int, at: datetime) -> list[CounterRef]:
    """The four counters every call of `user_id` at `at` counts against."""
    at = at.astimezone(UTC)
    return list(_counters(user_id, at.year, at.month, at.day))


@functools.lru_cache(maxsize=1024)
def _counters(user_id: int, year: int, month: int, day: int) -> tuple[CounterRef, ...]:
    spans = [_span(Window.DAY, year, month, day), _span(Window.MONTH, year, month, 1)]
    return (
        *(CounterRef(Scope.USER, user_id, s) for s in spans),
        *(CounterRef(Scope.ORG, None, s) for s in spans),
    )


def ttl_seconds(until: datetime, now: datetime) -> int:
    """Seconds from `now` to `until`, at least 1.

    Expiries are set relative to the guard's clock (not `EXAT`), so an injected clock in
    tests gives the same windows and lifetimes as the wall clock does in production.
    """
    return max(int((until - now).total_seconds()) + 1, 1)
