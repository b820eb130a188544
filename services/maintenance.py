"""Periodic housekeeping, run by the `maintenance` process that `make run` starts.

Settles budget reservations whose callers died (so counters never stay inflated) and
raises counters to the ledger's totals where a settle was lost. Safe to run in several
processes at once: every step is an idempotent Redis script.
"""

from __future__ import annotations

import logging
import threading

from services.budget.reaper import reap_expired_reservations, reconcile_counters
from services.container import Services
from services.errors import AppError

logger = logging.getLogger(__name__)


def run_once(services: Services) -> tuple[int, int]:
    """One pass; returns (reservations settled, counters raised)."""
    guard = services.models.budget_guard
    reaped = reap_expired_reservations(guard)
    raised = reconcile_counters(guard)
    if reaped or raised:
        logger.info(
            "maintenance: %d leaked reservations settled, %d counters raised", reaped, raised
        )
    return reaped, raised


def run_forever(services: Services, *, every_seconds: float, stop: threading.Event) -> None:
    """Run a pass every `every_seconds` until `stop` is set; a failed pass is logged."""
    while not stop.is_set():
        try:
            run_once(services)
        except (AppError, OSError) as exc:
            logger.warning("maintenance pass failed: %s", type(exc).__name__)
        stop.wait(every_seconds)
