"""What the workflow services hand out: workflows, versions, runs and their steps.

`RunInfo.to_json()` is exactly the body of `GET /api/runs/{run_id}` (PLATFORM.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from services.errors import InvalidInputError
from services.workflows.definition import WorkflowDefinition


class Actor(Protocol):
    """Who asks: a signed-in user (`services.orm.User` fits)."""

    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # nothing to undo (or on_failure: stop)
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    COMPENSATION_INCOMPLETE = "compensation_incomplete"
    CANCELLED = "cancelled"


FINISHED = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.COMPENSATED,
        RunStatus.COMPENSATION_INCOMPLETE,
        RunStatus.CANCELLED,
    }
)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # after a stop_if, a failure or a cancel
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    COMPENSATION_INCOMPLETE = "compensation_incomplete"


class WorkflowDefinitionError(InvalidInputError):
    """A definition was refused; the message names the step and field (and YAML line)."""

    def __init__(self, message: str, *, step: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.field = field


@dataclass(frozen=True)
class WorkflowInfo:
    id: str
    owner_id: int
    name: str
    description: str
    shared: bool
    enabled: bool
    version: int
    trigger: str  # manual, schedule, record or webhook
    definition: WorkflowDefinition
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "name": self.name,
            "description": self.description,
            "shared": self.shared,
            "enabled": self.enabled,
            "version": self.version,
            "trigger": self.trigger,
            "definition": self.definition.to_data(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class VersionInfo:
    workflow_id: str
    number: int
    definition: WorkflowDefinition
    author_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class StepRun:
    """One step of a run, as the Run page and `GET /api/runs/{id}` show it."""

    id: str
    type: str
    status: str
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    summary: str = ""
    error: str | None = None
    compensation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "attempts": self.attempts,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "summary": self.summary,
            "error": self.error,
            "compensation": self.compensation,
        }


@dataclass(frozen=True)
class RunInfo:
    id: str
    workflow_id: str
    workflow_name: str
    version: int
    owner_id: int
    status: str
    trigger: str
    inputs: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cost_usd: float
    error: str | None = None
    retry_of: str | None = None
    steps: list[StepRun] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def waiting_step(self) -> StepRun | None:
        """The approval step waiting for an answer, if any."""
        return next((s for s in self.steps if s.status == StepStatus.WAITING_APPROVAL), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "trigger": self.trigger,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "cost_usd": self.cost_usd,
            "steps": [s.to_json() for s in self.steps],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
