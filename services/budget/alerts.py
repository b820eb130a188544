"""Budget alerts at 50, 80 and 100%: each recorded once per counter, metric and window.

A settle moves a counter's settled total from `before` to `after`; every threshold `t`
with `before < t * limit <= after` fires, so one large call crossing 50 and 80% at once
records both. A total above its limit (a call that cost more than it reserved, or a
budget lowered below what was spent) also records, once per window, how far over it is
(`threshold_pct` above 100, e.g. "190% used"). `SET NX` in Redis decides which process
records it; the SQL row (unique by its key, insert-or-ignore) is what the usage pages show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.budget.orm import BudgetAlert
from services.budget.windows import BudgetKeys, CounterRef, Metric, Scope, ttl_seconds
from services.db import transaction
from services.events.bus import EventBus
from services.events.types import BUDGET_ALERT

logger = logging.getLogger(__name__)

THRESHOLDS_PCT = (50, 80, 100)


@dataclass(frozen=True)
class Crossing:
    """A settled total of one counter that crossed a threshold."""

    counter: CounterRef
    metric: Metric
    threshold_pct: int
    limit: int
    value: int
    over: bool = False
    """The total went above the limit; `threshold_pct` is then how far (rounded up)."""

    def key(self, keys: BudgetKeys) -> str:
        return keys.alert(self.counter, self.metric, "over" if self.over else self.threshold_pct)


def crossings(
    counter: CounterRef, metric: Metric, *, limit: int, before: int, after: int
) -> list[Crossing]:
    """Thresholds crossed by moving from `before` to `after` (none when `limit` is 0),
    and the overshoot when `after` is above `limit`."""
    if limit <= 0:
        return []
    found = [
        Crossing(counter, metric, t, limit, after)
        for t in THRESHOLDS_PCT
        if before * 100 < t * limit <= after * 100
    ]
    if after > limit:
        found.append(Crossing(counter, metric, -(-after * 100 // limit), limit, after, over=True))
    return found


def record_crossings(
    items: list[Crossing],
    *,
    redis_client: redis.Redis,
    sessions: sessionmaker[Session],
    keys: BudgetKeys,
    now: datetime,
) -> list[Crossing]:
    """Record each crossing not yet recorded in its window; return the new ones."""
    fresh: list[Crossing] = []
    for item in items:
        key = item.key(keys)
        ttl = ttl_seconds(item.counter.span.end, now)
        if redis_client.set(key, item.value, nx=True, ex=ttl):
            fresh.append(item)
    if fresh:
        try:
            _insert(sessions, fresh, keys, now)
        except SQLAlchemyError:
            logger.exception("budget alerts not stored in SQL count=%d", len(fresh))
    for item in fresh:
        logger.info(
            "budget alert %s %s %s %d%%",
            item.counter.owner,
            item.counter.span.label,
            item.metric.value,
            item.threshold_pct,
        )
    return fresh


def publish_alerts(events: EventBus | None, items: list[Crossing]) -> None:
    """Publish each new alert as `budget.alert`: to its user, or to the org stream (admins)."""
    if events is None:
        return
    for item in items:
        events.publish(BUDGET_ALERT, alert_data(item), user_id=item.counter.user_id)


def alert_data(item: Crossing) -> dict[str, Any]:
    """The `data` of a `budget.alert` event."""
    return {
        "scope": item.counter.scope.value,
        "user_id": item.counter.user_id,
        "window": item.counter.span.window.value,
        "window_label": item.counter.span.label,
        "metric": item.metric.value,
        "threshold_pct": item.threshold_pct,
        "over": item.over,
        "limit": item.limit,
        "value": item.value,
    }


def _insert(
    sessions: sessionmaker[Session], items: list[Crossing], keys: BudgetKeys, now: datetime
) -> None:
    rows = [
        {
            "alert_key": i.key(keys).removeprefix(keys.base),
            "scope": i.counter.scope.value,
            "user_id": i.counter.user_id,
            "window": i.counter.span.window.value,
            "window_label": i.counter.span.label,
            "window_ends_at": i.counter.span.end,
            "metric": i.metric.value,
            "threshold_pct": i.threshold_pct,
            "limit_value": i.limit,
            "value": i.value,
            "created_at": now,
        }
        for i in items
    ]
    with transaction(sessions) as session:
        dialect = session.get_bind().dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(BudgetAlert).values(rows)
        session.execute(statement.on_conflict_do_nothing(index_elements=["alert_key"]))


def user_alerts(
    sessions: sessionmaker[Session], user_id: int, *, limit: int = 50
) -> list[BudgetAlert]:
    """The user's own alerts, newest first."""
    query = (
        select(BudgetAlert)
        .where(BudgetAlert.scope == Scope.USER.value, BudgetAlert.user_id == user_id)
        .order_by(BudgetAlert.created_at.desc(), BudgetAlert.id.desc())
        .limit(limit)
    )
    with sessions() as session:
        return list(session.scalars(query))


def all_alerts(sessions: sessionmaker[Session], *, limit: int = 200) -> list[BudgetAlert]:
    """Every alert (users' and the organisation's), newest first: for admins."""
    newest_first = (BudgetAlert.created_at.desc(), BudgetAlert.id.desc())
    query = select(BudgetAlert).order_by(*newest_first).limit(limit)
    with sessions() as session:
        return list(session.scalars(query))
