"""Runs and their steps in SQL: what the Run page, the REST API and the saga read.

The worker writes every transition here as it happens (each one short transaction), the
web process reads it; DBOS keeps its own checkpoints beside it. Cost comes from the
ledger rows carrying the run's reference.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Update, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.budget.orm import LedgerEntry
from services.budget.types import RefType
from services.errors import NotFoundError
from services.workflows.orm import WorkflowRun, WorkflowRunStep
from services.workflows.types import RunInfo, StepRun, StepStatus

NUSD_PER_USD = 1_000_000_000


@functools.cache
def _run_update(columns: frozenset[str]) -> Update:
    """UPDATE of these run columns, built once: a statement object reused keeps its
    cache key, so each execution skips SQLAlchemy's statement building (most of what a
    one-row update costs on SQLite)."""
    return (
        update(WorkflowRun)
        .where(WorkflowRun.id == bindparam("key_run_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


@functools.cache
def _step_update(columns: frozenset[str]) -> Update:
    """UPDATE of these step columns, built once (as `_run_update`)."""
    return (
        update(WorkflowRunStep)
        .where(
            WorkflowRunStep.run_id == bindparam("key_run_id"),
            WorkflowRunStep.step_id == bindparam("key_step_id"),
        )
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


_SKIP_PENDING = (
    update(WorkflowRunStep)
    .where(
        WorkflowRunStep.run_id == bindparam("key_run_id"),
        WorkflowRunStep.status == StepStatus.PENDING.value,
    )
    .values(status=StepStatus.SKIPPED.value)
)

_STATUS = select(WorkflowRun.status).where(WorkflowRun.id == bindparam("key_run_id"))

# One more attempt at a step, unless its run was asked to cancel; returns the new count.
_COUNT_ATTEMPT = (
    update(WorkflowRunStep)
    .where(
        WorkflowRunStep.run_id == bindparam("key_run_id"),
        WorkflowRunStep.step_id == bindparam("key_step_id"),
        ~select(WorkflowRun.id)
        .where(
            WorkflowRun.id == bindparam("key_run_id"),
            WorkflowRun.cancel_requested.is_(True),
        )
        .exists(),
    )
    .values(
        attempts=WorkflowRunStep.attempts + 1,
        status=StepStatus.RUNNING.value,
        error=None,
        started_at=func.coalesce(
            WorkflowRunStep.started_at,
            bindparam("new_started_at", type_=WorkflowRunStep.started_at.type),
        ),
        dbos_function_id=func.coalesce(
            WorkflowRunStep.dbos_function_id,
            bindparam("new_function_id", type_=WorkflowRunStep.dbos_function_id.type),
        ),
    )
    .returning(WorkflowRunStep.attempts)
)


class RunStore:
    """Rows of runs and steps; every write is one transaction, safe across processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._db = sessions
        # The worker's per-step writes are single UPDATE statements: they go through a
        # pooled connection directly, without an ORM session around each one.
        self._engine: Engine = sessions.kw["bind"]

    def create(
        self,
        *,
        run_id: str,
        workflow_id: str,
        workflow_name: str,
        version: int,
        owner_id: int,
        trigger: str,
        inputs: dict[str, Any],
        steps: Iterable[tuple[str, str]],
        status: str,
        retry_of: str | None = None,
    ) -> bool:
        """Insert a run with its steps pending; False when the run already exists."""
        try:
            with self._db.begin() as session:
                session.add(
                    WorkflowRun(
                        id=run_id,
                        workflow_id=workflow_id,
                        workflow_name=workflow_name,
                        version=version,
                        owner_id=owner_id,
                        status=status,
                        trigger=trigger,
                        inputs=inputs,
                        retry_of=retry_of,
                        created_at=datetime.now(UTC),
                    )
                )
                session.flush()
                for position, (step_id, kind) in enumerate(steps):
                    session.add(
                        WorkflowRunStep(
                            run_id=run_id,
                            step_id=step_id,
                            position=position,
                            type=kind,
                            status=StepStatus.PENDING.value,
                        )
                    )
        except IntegrityError:
            return False
        return True

    def set_run(self, run_id: str, **values: Any) -> None:
        """Update run columns (status, error, started_at, finished_at, cancel_requested)."""
        params = {f"new_{name}": value for name, value in values.items()}
        with self._engine.begin() as conn:
            conn.execute(_run_update(frozenset(values)), {"key_run_id": run_id, **params})

    def set_step(self, run_id: str, step_id: str, **values: Any) -> None:
        """Update step columns; `attempts=+1` style increments go through `count_attempt`."""
        params = {f"new_{name}": value for name, value in values.items()}
        with self._engine.begin() as conn:
            conn.execute(
                _step_update(frozenset(values)),
                {"key_run_id": run_id, "key_step_id": step_id, **params},
            )

    def end_run(
        self, run_id: str, *, status: str, error: str | None, finished_at: datetime
    ) -> None:
        """End a run in one transaction: its steps still pending become skipped, and the
        run gets its final status."""
        with self._engine.begin() as conn:
            conn.execute(_SKIP_PENDING, {"key_run_id": run_id})
            conn.execute(
                _run_update(frozenset({"status", "error", "finished_at"})),
                {
                    "key_run_id": run_id,
                    "new_status": status,
                    "new_error": error,
                    "new_finished_at": finished_at,
                },
            )

    def count_attempt(self, run_id: str, step_id: str, *, function_id: int | None) -> int:
        """Mark a step running and count one more attempt; returns the attempt number, or
        0 when the run was asked to cancel (nothing is marked then).

        One statement, one round trip: an UPDATE guarded by the run's cancel flag that
        returns the new count (a write from its first statement, so SQLite takes the write
        lock once instead of upgrading a read). Only when it touches no row does a read
        tell a cancelled run from a missing step.
        """
        params = {
            "key_run_id": run_id,
            "key_step_id": step_id,
            "new_started_at": datetime.now(UTC),
            "new_function_id": function_id,
        }
        with self._engine.begin() as conn:
            attempts = conn.execute(_COUNT_ATTEMPT, params).scalar_one_or_none()
        if attempts is not None:
            return int(attempts)
        with self._db() as session:
            found = session.execute(
                select(WorkflowRun.cancel_requested)
                .join(WorkflowRunStep, WorkflowRunStep.run_id == WorkflowRun.id)
                .where(WorkflowRun.id == run_id, WorkflowRunStep.step_id == step_id)
            ).one_or_none()
        if found is None:
            raise NotFoundError(f"Run {run_id} has no step {step_id}.")
        return 0

    def row(self, run_id: str) -> WorkflowRun:
        """The run row.

        Raises:
            NotFoundError: no run with this ID.
        """
        with self._db() as session:
            run = session.get(WorkflowRun, run_id)
        if run is None:
            raise NotFoundError("There is no workflow run with this ID.")
        return run

    def status(self, run_id: str) -> str | None:
        """The run's status alone (one cheap read for whoever waits on a run); None when
        there is no such run."""
        with self._engine.connect() as conn:
            return conn.execute(_STATUS, {"key_run_id": run_id}).scalar_one_or_none()

    def step_rows(self, run_id: str) -> list[WorkflowRunStep]:
        with self._db() as session:
            return list(
                session.scalars(
                    select(WorkflowRunStep)
                    .where(WorkflowRunStep.run_id == run_id)
                    .order_by(WorkflowRunStep.position)
                )
            )

    def info(self, run_id: str) -> RunInfo:
        return self._info(self.row(run_id))

    def list(
        self,
        *,
        owner_id: int | None,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[RunInfo]:
        """Newest first; `owner_id=None` lists everyone's (admins)."""
        query = select(WorkflowRun).order_by(WorkflowRun.created_at.desc()).limit(limit)
        if owner_id is not None:
            query = query.where(WorkflowRun.owner_id == owner_id)
        if workflow_id is not None:
            query = query.where(WorkflowRun.workflow_id == workflow_id)
        if status is not None:
            query = query.where(WorkflowRun.status == status)
        with self._db() as session:
            rows = list(session.scalars(query))
        return [self._info(row) for row in rows]

    def copy_steps(self, source_run_id: str, target_run_id: str, before_position: int) -> None:
        """Give a fork the finished steps it inherits from the run it retries."""
        with self._db.begin() as session:
            for old in session.scalars(
                select(WorkflowRunStep).where(
                    WorkflowRunStep.run_id == source_run_id,
                    WorkflowRunStep.position < before_position,
                )
            ):
                session.execute(
                    update(WorkflowRunStep)
                    .where(
                        WorkflowRunStep.run_id == target_run_id,
                        WorkflowRunStep.step_id == old.step_id,
                    )
                    .values(
                        status=old.status,
                        attempts=old.attempts,
                        dbos_function_id=old.dbos_function_id,
                        summary=old.summary,
                        change_set_id=old.change_set_id,
                        started_at=old.started_at,
                        finished_at=old.finished_at,
                    )
                )

    def cost_nusd(self, run_id: str) -> int:
        query = select(func.coalesce(func.sum(LedgerEntry.cost_nusd), 0)).where(
            LedgerEntry.ref_type == RefType.WORKFLOW_RUN.value, LedgerEntry.ref_id == run_id
        )
        with self._db() as session:
            return int(session.scalar(query) or 0)

    def _info(self, run: WorkflowRun) -> RunInfo:
        steps = [
            StepRun(
                id=s.step_id,
                type=s.type,
                status=s.status,
                attempts=s.attempts,
                started_at=s.started_at,
                finished_at=s.finished_at,
                summary=s.summary,
                error=s.error,
                compensation=s.compensation,
            )
            for s in self.step_rows(run.id)
        ]
        return RunInfo(
            id=run.id,
            workflow_id=run.workflow_id,
            workflow_name=run.workflow_name,
            version=run.version,
            owner_id=run.owner_id,
            status=run.status,
            trigger=run.trigger,
            inputs=dict(run.inputs or {}),
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            cost_usd=self.cost_nusd(run.id) / NUSD_PER_USD,
            error=run.error,
            retry_of=run.retry_of,
            steps=steps,
        )
