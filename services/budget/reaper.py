"""Housekeeping for the guard: settle leaked reservations, reconcile counters with the ledger.

Both are plain functions over a `BudgetGuard`, safe to run from any process at any time and
concurrently (each step is an idempotent script); a worker can call them every minute.

Why the counters end equal to the ledger, whatever happens in between:

1. Redis holds, per call, a record of what the counters hold for it (`scripts.COUNT`):
   nothing, its reservation (`open`), or a count (`prov`, then `final`). Every script
   changes a call's record and its counters together, atomically, so for every counter
   `snusd` = the sum of the counts in the records of its calls, and `nusd` = `snusd` plus
   their open reservations. A Redis restart keeps or loses records and counters together
   (a snapshot is taken between scripts, never inside one); this needs a Redis that never
   evicts keys (`maxmemory-policy noeviction`), as befits a store of money.
2. A ledger row goes from absent to `expired` (the reaper's provisional charge) to final,
   and never back; each state has one cost. A record goes from missing or `open` to `prov`
   to `final`, and never back. Whoever counts a call counts the cost of a ledger state it
   read into the matching record state (`expired` -> `prov`), and `COUNT` ignores anything
   not above the record's state. So a call is counted once, and a stale read of its row
   only delays its final count: whoever wrote the later state counts it afterwards, or
   the next reconciliation does.
3. Once no call is in flight, a row can still differ from its record only if its record
   is `open` (the caller's settle missed Redis: the reaper counts it at the lease's end,
   reconciliation at once), `prov` under a final row (a late settle missed Redis:
   reconciliation counts it from the `prov` set), or missing (lost with Redis's data).
   After the first two are counted, `counter < ledger` for some counter exactly when a
   row that costs something is missing from Redis; reconciliation then counts every row
   of the month, and skipped rows (already counted) change nothing.

So, with the ledger written (SQL up), a reconciliation after the last settle leaves every
counter equal to the ledger's total of its window and owner, in money and in tokens.
Counters are never lowered: a call whose ledger row could not be written keeps its count.
Records live as long as the counters of their calls (until the month's end plus
`COUNTER_GRACE`): about 100 bytes of Redis per call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Row, select

from services.budget.guard import BudgetGuard
from services.budget.ledger import Totals, totals_by_user
from services.budget.orm import LedgerEntry
from services.budget.types import CallStatus
from services.budget.windows import (
    COUNTER_GRACE,
    CounterRef,
    Scope,
    Window,
    WindowSpan,
    counters_for,
    window_span,
)
from services.errors import AppError

logger = logging.getLogger(__name__)

_BATCH = 500
# request_id, user_id, created_at, status, cost_nusd, tokens
_CallRow = Row[str, int | None, datetime, str, int, int]
# Longer than any record lives (a month and its grace): older `prov` entries are stale.
_PROVISIONAL_RETENTION = timedelta(days=31) + COUNTER_GRACE


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
    """Count in Redis every ledger call of the month of `at` (default: now) it lacks.

    First the calls Redis knows to be unfinished (open reservations and provisional
    charges) whose ledger rows say more; then, if any counter of the day or month of `at`
    is below the ledger's total, every call of that month. See the module docstring.

    Returns:
        How many calls were counted.
    """
    now = guard.clock()
    at = at or now
    counted = 0
    try:
        counted += _count_known_calls(guard, guard.redis.zrange(guard.keys.leases, 0, -1), now)
        guard.redis.zremrangebyscore(
            guard.keys.provisional, "-inf", _ms(now - _PROVISIONAL_RETENTION)
        )
        counted += _count_known_calls(guard, guard.redis.zrange(guard.keys.provisional, 0, -1), now)
        if _below_ledger(guard, at):
            for rows in _ledger_rows(guard, window_span(Window.MONTH, at)):
                counted += sum(_count_row(guard, row, now) for row in rows)
    except redis.RedisError:
        logger.warning("counters not reconciled: redis unreachable, %d calls counted", counted)
    if counted:
        logger.warning("calls counted from the ledger count=%d", counted)
    return counted


def _count_known_calls(guard: BudgetGuard, raw_ids: Sequence[Any], now: datetime) -> int:
    ids = [r.decode() if isinstance(r, bytes) else str(r) for r in raw_ids]
    counted = 0
    for start in range(0, len(ids), _BATCH):
        query = _row_query().where(LedgerEntry.request_id.in_(ids[start : start + _BATCH]))
        with guard.sql() as session:
            rows = session.execute(query).all()
        counted += sum(_count_row(guard, row, now) for row in rows)
    return counted


def _below_ledger(guard: BudgetGuard, at: datetime) -> bool:
    """True when a counter of the day or month of `at` holds less than the ledger."""
    targets: list[tuple[CounterRef, Totals]] = []
    for window in (Window.DAY, Window.MONTH):
        span = window_span(window, at)
        per_user = totals_by_user(guard.sql, start=span.start, end=span.end)
        org = Totals(
            nusd=sum(t.nusd for t in per_user.values()),
            tokens=sum(t.tokens for t in per_user.values()),
        )
        targets += [(CounterRef(Scope.USER, uid, span), t) for uid, t in per_user.items() if uid]
        targets.append((CounterRef(Scope.ORG, None, span), org))
    # Read after the ledger: a call settled in between is then in both, or only in Redis.
    pipe = guard.redis.pipeline(transaction=False)
    for ref, _ in targets:
        pipe.hmget(guard.keys.counter(ref), ["snusd", "stok"])
    for (_, totals), (snusd, stok) in zip(targets, pipe.execute(), strict=True):
        if int(snusd or 0) < totals.nusd or int(stok or 0) < totals.tokens:
            return True
    return False


def _row_query() -> Any:
    return select(
        LedgerEntry.request_id,
        LedgerEntry.user_id,
        LedgerEntry.created_at,
        LedgerEntry.status,
        LedgerEntry.cost_nusd,
        LedgerEntry.input_tokens + LedgerEntry.output_tokens,
    )


def _ledger_rows(guard: BudgetGuard, span: WindowSpan) -> Iterator[Sequence[_CallRow]]:
    query = (
        _row_query()
        .where(LedgerEntry.created_at >= span.start, LedgerEntry.created_at < span.end)
        .order_by(LedgerEntry.id)
        .execution_options(yield_per=_BATCH)
    )
    with guard.sql() as session:
        yield from session.execute(query).partitions()


def _count_row(guard: BudgetGuard, row: _CallRow, now: datetime) -> bool:
    request_id, user_id, created_at, status, nusd, tokens = row
    if user_id is None:  # a deleted user's call still counts for the organisation
        refs = [CounterRef(Scope.ORG, None, window_span(w, created_at)) for w in Window]
    else:
        refs = counters_for(user_id, created_at)
    out = guard.settlements.count(
        request_id,
        refs,
        nusd=int(nusd),
        tokens=int(tokens),
        provisional=status == CallStatus.EXPIRED.value,
        now=now,
    )
    if out and user_id is not None:
        limits = guard.budgets.applied_limits(user_id)
        guard.settlements.alerts(refs, [limits.for_counter(r) for r in refs], out, now)
    return bool(out)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
