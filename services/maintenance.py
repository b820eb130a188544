"""Periodic housekeeping, run by the `maintenance` process that `make run` starts.

Settles budget reservations whose callers died (so counters never stay inflated) and
raises counters to the ledger's totals where a settle was lost. Safe to run in several
processes at once: every step is an idempotent Redis script. A store outage never ends
the process: it is logged once, passes back off, and the first pass that works says so.
"""

from __future__ import annotations

import logging
import threading

import redis
from sqlalchemy.exc import SQLAlchemyError

from services.budget.reaper import reap_expired_reservations, reconcile_counters
from services.container import Services
from services.errors import AppError, StoreUnavailableError

logger = logging.getLogger(__name__)

# What a pass may meet while a store is down (raw driver errors included: a pass is many
# steps, and not every one of them translates its errors).
PASS_FAILURES = (AppError, OSError, redis.RedisError, SQLAlchemyError)
# During an outage passes back off, doubling the wait up to this many intervals.
MAX_BACKOFF_INTERVALS = 8


def run_once(services: Services) -> tuple[int, int]:
    """One pass; returns (reservations settled, calls counted by reconciliation)."""
    guard = services.budget_guard
    reaped = reap_expired_reservations(guard)
    counted = reconcile_counters(guard)
    if reaped or counted:
        logger.info(
            "maintenance: %d leaked reservations settled, %d calls counted from the ledger",
            reaped,
            counted,
        )
    return reaped, counted


def run_forever(services: Services, *, every_seconds: float, stop: threading.Event) -> None:
    """Run a pass every `every_seconds` until `stop` is set.

    A failed pass is logged once per outage, not once per pass; while passes fail, the
    wait doubles up to `MAX_BACKOFF_INTERVALS` intervals.
    """
    failed_passes, wait = 0, every_seconds
    while not stop.is_set():
        try:
            run_once(services)
        except PASS_FAILURES as exc:
            failed_passes += 1
            if failed_passes == 1:
                logger.warning(
                    "maintenance paused: %s unavailable (%s); retrying with back-off",
                    _store_of(exc),
                    type(exc).__name__,
                )
            wait = min(wait * 2, every_seconds * MAX_BACKOFF_INTERVALS)
        else:
            if failed_passes:
                logger.info("maintenance resumed after %d failed passes", failed_passes)
            failed_passes, wait = 0, every_seconds
        stop.wait(wait)


def _store_of(exc: Exception) -> str:
    if isinstance(exc, StoreUnavailableError):
        return exc.store
    if isinstance(exc, redis.RedisError):
        return "redis"
    if isinstance(exc, SQLAlchemyError):
        return "database"
    return "a store"
