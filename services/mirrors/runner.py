"""The worker's side of mirrors: a durable build per base (DBOS), and a loop that starts
builds, sweeps every `MIRROR_SWEEP_SECONDS` and re-reads every table (the id scan that
catches deletes) every `MIRROR_SCAN_SECONDS`.

A build is one DBOS workflow: a step that brings the copy's schema in line, then one step
per table, so a worker killed mid-build resumes at the table it was copying (rows already
copied are upserted again, never doubled).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from services.errors import AppError
from services.mirrors.registry import MirrorRegistry
from services.mirrors.service import Mirrors
from services.mirrors.sync import MirrorSync, seconds_since

logger = logging.getLogger(__name__)
BUILD_WORKFLOW = "mirror_build"


def register_build(sync: MirrorSync) -> Callable[..., Any]:
    """Register the build workflow with DBOS (before `DBOS.launch()`)."""
    from dbos import DBOS

    @DBOS.step(name="mirror.plan")
    def plan(base_id: str, table_ids: list[str]) -> list[str]:
        wanted = set(sync.plan(base_id)) | set(table_ids)
        return [t for t in table_ids if t in wanted] + sorted(wanted - set(table_ids))

    @DBOS.step(name="mirror.copy", retries_allowed=True, max_attempts=3)
    def copy(base_id: str, table_id: str) -> int:
        return sync.copy(base_id, table_id)

    @DBOS.workflow(name=BUILD_WORKFLOW)
    def mirror_build(base_id: str, table_ids: list[str]) -> int:
        total = 0
        for table_id in plan(base_id, table_ids):
            total += copy(base_id, table_id)
        return total

    return mirror_build


class MirrorLoop:
    """Starts builds, sweeps and scans on their schedule (one thread in the worker)."""

    def __init__(
        self,
        mirrors: Mirrors,
        sync: MirrorSync,
        registry: MirrorRegistry,
        *,
        build: Callable[..., Any] | None,
        sweep_seconds: float,
        scan_seconds: float,
    ) -> None:
        self._mirrors = mirrors
        self._sync = sync
        self._registry = registry
        self._build = build
        self._sweep_seconds = sweep_seconds
        self._scan_seconds = scan_seconds
        self._last_sweep: dict[str, float] = {}

    def run_once(self) -> None:
        """One pass: default bases, queued builds, due sweeps and due scans."""
        self._mirrors.ensure_defaults()
        for base_id, table_ids in self._registry.claim_queued().items():
            self._start_build(base_id, table_ids)
        now = time.monotonic()
        for base in self._registry.bases(enabled_only=True):
            last = self._last_sweep.get(base.base_id)
            if last is not None and now - last < self._sweep_seconds:
                continue
            states = self._registry.tables(base.base_id, enabled_only=True)
            if any(s.status in ("queued", "building") for s in states):
                continue  # its build brings the schema in line; sweep after it
            self._last_sweep[base.base_id] = now
            try:
                self._sync.sweep(base.base_id)
            except AppError as exc:
                logger.warning("mirror sweep of %s failed: %s", base.base_id, exc)
            self._scan_due(base.base_id)

    def _scan_due(self, base_id: str) -> None:
        for state in self._registry.tables(base_id, enabled_only=True):
            age = seconds_since(state.scanned_at)
            if state.status == "ready" and (age is None or age >= self._scan_seconds):
                try:
                    self._sync.copy(base_id, state.table_id)
                except AppError as exc:
                    logger.warning(
                        "mirror id scan of %s/%s failed: %s", base_id, state.table_id, exc
                    )

    def _start_build(self, base_id: str, table_ids: list[str]) -> None:
        if self._build is None:
            for table_id in self._sync.plan(base_id) or table_ids:
                self._sync.copy(base_id, table_id)
            return
        from dbos import DBOS, SetWorkflowID

        with SetWorkflowID(f"mirror-build-{base_id}-{uuid.uuid4().hex[:12]}"):
            DBOS.start_workflow(self._build, base_id, table_ids)
        logger.info("mirror build of %s started: %d tables", base_id, len(table_ids))

    def run_forever(self, *, every_seconds: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                logger.exception("mirror loop pass failed; trying again next time")
            stop.wait(every_seconds)
