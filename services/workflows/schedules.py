"""Schedule triggers: each worker looks at the enabled scheduled workflows every few
seconds and starts the run of the latest cron tick that has come.

A tick fires exactly once however many workers look: its run ID is deterministic,
`schedule:{workflow_id}:{tick}`, so the second worker's insert and enqueue find the first's.
Ticks missed while no worker ran are not replayed, except the latest within `catch_up`.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from services.errors import AppError
from services.maintenance import PASS_FAILURES
from services.workflows.definition import ScheduleTrigger
from services.workflows.library import WorkflowLibrary
from services.workflows.runs import WorkflowRuns
from services.workflows.types import WorkflowInfo

logger = logging.getLogger(__name__)


class _Owner:
    def __init__(self, user_id: int) -> None:
        self.id = user_id
        self.is_admin = False


def run_id_for(workflow_id: str, tick: datetime) -> str:
    """The one run ID of a workflow's tick (UTC, to the second)."""
    return f"schedule:{workflow_id}:{tick.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def latest_tick(workflow: WorkflowInfo, now: datetime, *, catch_up: timedelta) -> datetime | None:
    """The latest tick at or before `now`, if after the workflow was last changed and
    within `catch_up`; None otherwise."""
    trigger = workflow.definition.trigger
    if not isinstance(trigger, ScheduleTrigger):
        return None
    zone = ZoneInfo(trigger.schedule.timezone)
    local_now = now.astimezone(zone)
    tick: datetime = croniter(trigger.schedule.cron, local_now + timedelta(seconds=1)).get_prev(
        datetime
    )
    if tick < workflow.updated_at or tick < now - catch_up:
        return None
    return tick


class Scheduler:
    """Fires due ticks; `run_forever` survives store outages (logged once, retried)."""

    def __init__(
        self, library: WorkflowLibrary, runs: WorkflowRuns, *, catch_up: timedelta
    ) -> None:
        self._library = library
        self._runs = runs
        self._catch_up = catch_up

    def fire_due(self, now: datetime | None = None) -> list[str]:
        """Start every due tick's run (idempotent); returns the run IDs started or found."""
        now = now or datetime.now(UTC)
        fired = []
        for workflow in self._library.scheduled():
            tick = latest_tick(workflow, now, catch_up=self._catch_up)
            if tick is None:
                continue
            run_id = run_id_for(workflow.id, tick)
            try:
                self._runs.start(
                    _Owner(workflow.owner_id), workflow.id, {}, "schedule", run_id=run_id
                )
            except AppError as exc:
                logger.warning("schedule of %s not started: %s", workflow.id, exc)
                continue
            fired.append(run_id)
        return fired

    def run_forever(self, *, every_seconds: float, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                self.fire_due()
            except PASS_FAILURES as exc:
                failures += 1
                if failures == 1:
                    logger.warning("schedules paused: %s; retrying", type(exc).__name__)
            else:
                if failures:
                    logger.info("schedules resumed after %d failed passes", failures)
                failures = 0
            stop.wait(every_seconds)
