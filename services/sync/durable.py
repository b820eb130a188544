"""Sync runs as durable DBOS workflows: the worker registers and executes them, the web
and the worker's schedule loop only enqueue (through `DBOSClient`).

A run is one DBOS workflow with one step. A worker killed mid-run is recovered by DBOS
on restart, which runs the step again under the same run ID; `SyncService.run` then
continues the run (snapshots, pending creates and unmoved cursors make that idempotent).
A job runs at most once at a time: a tick is skipped while the job's previous run is
still going. Airtable changes ask for runs too (`services/sync/triggers.py`): the loop
queues one per job once the debounce has passed, never while one is queued or going.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.errors import AppError
from services.sync.jobs import SyncJobs
from services.sync.orm import SyncRun
from services.sync.service import STALE_RUN, SyncService
from services.sync.triggers import ChangeRequests
from services.sync.types import Actor
from services.workflows.client import EngineClient
from services.workflows.queue import APP_VERSION, QUEUE_NAME

logger = logging.getLogger(__name__)

SYNC_WORKFLOW_NAME = "sync_run"
# What a schedule pass survives (a store outage), as the workflow schedules do.
PASS_FAILURES = (AppError, OSError, redis.RedisError, SQLAlchemyError)
# How often the loop looks for change-triggered runs (the debounce is counted from the
# first change, so a run starts between `debounce` and `debounce + this` after it).
CHANGE_POLL_SECONDS = 0.5


def register(sync: SyncService) -> Callable[..., Any]:
    """Register the sync workflow with DBOS (before `DBOS.launch()`)."""
    from dbos import DBOS

    def sync_step(job_id: str, run_id: str, trigger: str) -> dict[str, Any]:
        return asdict(sync.run(job_id, run_id, trigger))

    sync_step.__name__ = sync_step.__qualname__ = "sync.run"
    step = DBOS.step(name="sync.run")(sync_step)

    @DBOS.workflow(name=SYNC_WORKFLOW_NAME)
    def sync_run(job_id: str, trigger: str) -> dict[str, Any]:
        result: dict[str, Any] = step(job_id, str(DBOS.workflow_id), trigger)
        return result

    return sync_run


class SyncLauncher:
    """Starts sync runs: Run now, and due schedule ticks (`Services.sync_launcher`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        jobs: SyncJobs,
        client: EngineClient,
        changes: ChangeRequests,
        *,
        debounce_seconds: float,
    ) -> None:
        self._db = sessions
        self._jobs = jobs
        self._client = client
        self._changes = changes
        self._debounce = debounce_seconds

    def run_now(self, actor: Actor, job_id: str) -> str:
        """Queue a run of a job the actor may see; returns its run ID."""
        self._jobs.get(actor, job_id)
        run_id = f"sync:{job_id}:now:{uuid.uuid4().hex[:8]}"
        self._enqueue(run_id, job_id, "manual")
        return run_id

    def fire_due(self, now: datetime | None = None) -> list[str]:
        """Queue the current tick of every due job not already running (idempotent)."""
        now = now or datetime.now(UTC)
        busy = self._running(now)
        fired = []
        for job_id, every in self._jobs.due(now):
            if job_id in busy or self._change_run_queued(job_id):
                continue
            tick = int(now.timestamp()) // every * every
            run_id = f"sync:{job_id}:{tick}"
            self._enqueue(run_id, job_id, "schedule")
            fired.append(run_id)
        return fired

    def fire_changed(self, now: datetime | None = None) -> list[str]:
        """Queue a run of every job whose first waiting Airtable change is older than the
        debounce, unless a run of it is queued or going (then it waits for the next pass)."""
        now = now or datetime.now(UTC)
        due = self._changes.due(now.timestamp() - self._debounce)
        if not due:
            return []
        busy = self._running(now)
        enabled = self._jobs.enabled_ids()
        fired = []
        for job_id, first_seen in due:
            if job_id not in enabled:
                self._changes.drop(job_id)
                continue
            if job_id in busy or self._change_run_queued(job_id):
                continue
            run_id = f"sync:{job_id}:change:{int(first_seen * 1000)}"
            self._enqueue(run_id, job_id, "change")
            self._changes.taken(job_id, run_id)
            fired.append(run_id)
        return fired

    def run_forever(self, *, every_seconds: float, stop: threading.Event) -> None:
        """Due schedules every `every_seconds`; change-triggered runs twice a second."""
        failures = 0
        last_schedule = float("-inf")
        while not stop.is_set():
            try:
                if time.monotonic() - last_schedule >= every_seconds:
                    last_schedule = time.monotonic()
                    self.fire_due()
                self.fire_changed()
            except PASS_FAILURES as exc:
                failures += 1
                if failures == 1:
                    logger.warning("sync schedules paused: %s; retrying", type(exc).__name__)
            else:
                failures = 0
            stop.wait(min(every_seconds, CHANGE_POLL_SECONDS))

    def _change_run_queued(self, job_id: str) -> bool:
        """A change run was queued for the job and has not started yet."""
        run_id = self._changes.queued(job_id)
        if run_id is None:
            return False
        with self._db() as session:
            return session.get(SyncRun, run_id) is None

    def _running(self, now: datetime) -> set[str]:
        with self._db() as session:
            rows = session.execute(
                select(SyncRun.job_id).where(
                    SyncRun.status == "running", SyncRun.started_at > now - STALE_RUN
                )
            )
            return {r[0] for r in rows}

    def _enqueue(self, run_id: str, job_id: str, trigger: str) -> None:
        self._client().enqueue(
            {
                "queue_name": QUEUE_NAME,
                "workflow_name": SYNC_WORKFLOW_NAME,
                "workflow_id": run_id,
                "app_version": APP_VERSION,
            },
            job_id,
            trigger,
        )
