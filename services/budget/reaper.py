"""Housekeeping for the guard: settle leaked reservations, reconcile counters with the ledger.

Both are plain functions over a `BudgetGuard`, safe to run from any process at any time and
concurrently (each step is an idempotent script); a worker can call them every minute.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis

from services.budget import scripts
from services.budget.guard import BudgetGuard
from services.budget.ledger import Totals, totals_by_user
from services.budget.windows import (
    COUNTER_GRACE,
    CounterRef,
    Scope,
    Window,
    ttl_seconds,
    window_span,
)
from services.errors import AppError

logger = logging.getLogger(__name__)


def reap_expired_reservations(guard: BudgetGuard, *, batch: int = 100) -> int:
    """Settle every reservation whose lease has run out, up to `batch` of them.

    A call whose caller died is charged its input estimate (ledger status `expired`);
    if its caller comes back and settles after all, the actual cost replaces that charge.

    Returns:
        How many reservations were settled.
    """
    deadline_ms = int(guard.clock().timestamp() * 1000)
    expired = guard.redis.zrangebyscore(guard.keys.leases, "-inf", deadline_ms, start=0, num=batch)
    settled = 0
    for raw_id in expired:
        request_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
        try:
            if (result := guard.settle_expired(request_id)) is not None and result.applied:
                settled += 1
        except AppError:
            logger.exception("expired reservation not settled request_id=%s", request_id)
    if settled:
        logger.info("reaped expired reservations count=%d", settled)
    return settled


def reconcile_counters(guard: BudgetGuard, *, at: datetime | None = None) -> int:
    """Raise the day and month counters of `at` (default: now) to the ledger's totals.

    Counters are never lowered: a counter above the ledger holds calls in flight, or calls
    whose ledger row could not be written. Deleted users' rows count towards the org only.

    Returns:
        How many counters were raised.
    """
    now = guard.clock()
    at = at or now
    raise_to = guard.redis.register_script(scripts.RAISE_TO)
    raised = 0
    for window in (Window.DAY, Window.MONTH):
        span = window_span(window, at)
        per_user = totals_by_user(guard.sessions, start=span.start, end=span.end)
        org = Totals(
            nusd=sum(t.nusd for t in per_user.values()),
            tokens=sum(t.tokens for t in per_user.values()),
        )
        targets = [(CounterRef(Scope.USER, uid, span), t) for uid, t in per_user.items() if uid]
        targets.append((CounterRef(Scope.ORG, None, span), org))
        ttl = ttl_seconds(span.end + COUNTER_GRACE, now)
        for ref, totals in targets:
            if not totals.nusd and not totals.tokens:
                continue
            try:
                key = guard.keys.counter(ref)
                raised += int(raise_to(keys=[key], args=[totals.nusd, totals.tokens, ttl]))
            except redis.RedisError:
                logger.warning("counter not reconciled %s:%s", ref.owner, span.label)
    if raised:
        logger.warning("counters raised to ledger totals count=%d", raised)
    return raised
