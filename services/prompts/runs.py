"""Stored prompt runs: what was asked, what came back (or why it failed), and what it cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.prompts.orm import Prompt, PromptRun


class RunStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    """Refused (a budget or rate limit) or failed (the provider, a tool); nothing answered."""


@dataclass(frozen=True)
class RunRecord:
    id: str
    prompt_id: str
    prompt_name: str
    version: int
    inputs: dict[str, str]
    output: str
    tokens: int
    cost_nusd: int
    created_at: datetime
    status: RunStatus = RunStatus.OK
    error: str = ""
    """What the person was told when the run failed (empty when it answered)."""

    @property
    def failed(self) -> bool:
        return self.status is RunStatus.FAILED


class PromptRunStore:
    """Runs are private to the user who made them."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
        self,
        *,
        run_id: str,
        user_id: int,
        prompt_id: str,
        version: int,
        inputs: dict[str, str],
        output: str,
        tokens: int,
        cost_nusd: int,
        status: RunStatus = RunStatus.OK,
        error: str = "",
    ) -> None:
        """Store one run; a failed one (`status` FAILED) keeps `error` and what it cost."""
        with self._sessions.begin() as session:
            session.add(
                PromptRun(
                    id=run_id,
                    prompt_id=prompt_id,
                    version=version,
                    user_id=user_id,
                    inputs=inputs,
                    output=output,
                    tokens=tokens,
                    cost_nusd=cost_nusd,
                    status=status.value,
                    error=error,
                )
            )

    def history(
        self, *, user_id: int, prompt_id: str | None = None, limit: int = 50
    ) -> list[RunRecord]:
        """The user's latest runs, failed ones included, newest first (of one prompt when
        `prompt_id` is given)."""
        query = (
            select(PromptRun, Prompt.name)
            .join(Prompt, Prompt.id == PromptRun.prompt_id)
            .where(PromptRun.user_id == user_id)
            .order_by(PromptRun.created_at.desc())
            .limit(limit)
        )
        if prompt_id is not None:
            query = query.where(PromptRun.prompt_id == prompt_id)
        with self._sessions() as session:
            return [
                RunRecord(
                    id=run.id,
                    prompt_id=run.prompt_id,
                    prompt_name=name,
                    version=run.version,
                    inputs=dict(run.inputs),
                    output=run.output,
                    tokens=run.tokens,
                    cost_nusd=run.cost_nusd,
                    created_at=run.created_at,
                    status=RunStatus(run.status),
                    error=run.error,
                )
                for run, name in session.execute(query)
            ]

    def prompt_names(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The prompt each run (that still exists) ran, by run ID: for admins' cost reports."""
        if not run_ids:
            return {}
        query = (
            select(PromptRun.id, Prompt.name)
            .join(Prompt, Prompt.id == PromptRun.prompt_id)
            .where(PromptRun.id.in_(list(run_ids)))
        )
        with self._sessions() as session:
            return {str(run_id): str(name) for run_id, name in session.execute(query)}
