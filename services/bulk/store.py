"""Bulk fill runs and their records in SQL: each transition one short transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.budget.orm import LedgerEntry
from services.budget.types import RefType
from services.bulk.orm import BulkFillItem, BulkFillRun
from services.errors import NotAllowedError, NotFoundError

MAX_LISTED_FAILURES = 200


class FillStatus:
    PROPOSED = "proposed"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"  # stopped by a budget or rate limit: Resume goes on
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


RESUMABLE = frozenset({FillStatus.PAUSED, FillStatus.FAILED})
ACTIVE = frozenset({FillStatus.QUEUED, FillStatus.RUNNING})


@dataclass(frozen=True)
class Failure:
    record_id: str
    label: str
    answer: str
    reason: str


@dataclass(frozen=True)
class FillInfo:
    """A run as the card, the run page and the API show it."""

    id: str
    user_id: int
    table: str
    field: str
    status: str
    total: int
    filled: int
    failed: int
    pending: int
    calls: int
    cost_nusd: int
    error: str
    plan: dict[str, Any]
    failures: list[Failure] = dataclass_field(default_factory=list)

    @property
    def done(self) -> int:
        return self.filled + self.failed

    @property
    def change_set_id(self) -> str:
        return change_set_of(self.id)


def change_set_of(run_id: str) -> str:
    """The one change set a fill writes under (undone as a whole)."""
    return run_id


class FillStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._db = sessions

    def create(self, run: BulkFillRun) -> None:
        with self._db.begin() as session:
            session.add(run)

    def row(self, run_id: str) -> BulkFillRun:
        with self._db() as session:
            found = session.get(BulkFillRun, run_id)
        if found is None:
            raise NotFoundError(f"There is no fill {run_id}.")
        return found

    def owned(self, run_id: str, user_id: int) -> BulkFillRun:
        found = self.row(run_id)
        if found.user_id != user_id:
            raise NotAllowedError("This fill belongs to someone else.")
        return found

    def set(self, run_id: str, **values: Any) -> None:
        with self._db.begin() as session:
            session.execute(
                update(BulkFillRun)
                .where(BulkFillRun.id == run_id)
                .values(**values, updated_at=datetime.now(UTC))
            )

    def move(self, run_id: str, allowed: Sequence[str], **values: Any) -> bool:
        """Set `values` only if the status is one of `allowed`; False when it was not."""
        with self._db.begin() as session:
            moved = session.execute(
                update(BulkFillRun)
                .where(BulkFillRun.id == run_id, BulkFillRun.status.in_(list(allowed)))
                .values(**values, updated_at=datetime.now(UTC))
            )
        return bool(getattr(moved, "rowcount", 0))

    # -- items ---------------------------------------------------------------------------

    def has_items(self, run_id: str) -> bool:
        with self._db() as session:
            return (
                session.scalar(
                    select(BulkFillItem.id).where(BulkFillItem.run_id == run_id).limit(1)
                )
                is not None
            )

    def add_items(self, run_id: str, todo: Sequence[dict[str, Any]]) -> None:
        with self._db.begin() as session:
            session.add_all(
                BulkFillItem(
                    run_id=run_id,
                    position=index,
                    record_id=item["id"],
                    label=str(item.get("label", ""))[:255],
                    inputs=item["inputs"],
                    before=item.get("before"),
                    status="pending",
                    answer="",
                    reason="",
                )
                for index, item in enumerate(todo)
            )
            session.execute(
                update(BulkFillRun).where(BulkFillRun.id == run_id).values(total=len(todo))
            )

    def skip(self, run_id: str, record_ids: Sequence[str]) -> None:
        """Leave out pending records (filled by someone since the preview)."""
        if not record_ids:
            return
        with self._db.begin() as session:
            session.execute(
                update(BulkFillItem)
                .where(
                    BulkFillItem.run_id == run_id,
                    BulkFillItem.status == "pending",
                    BulkFillItem.record_id.in_(list(record_ids)),
                )
                .values(status="skipped", reason="filled by someone since the preview")
            )

    def unfinished_positions(self, run_id: str) -> list[int]:
        """Positions not yet written nor found invalid, in order."""
        with self._db() as session:
            return list(
                session.scalars(
                    select(BulkFillItem.position)
                    .where(
                        BulkFillItem.run_id == run_id,
                        BulkFillItem.status.in_(["pending", "answered", "writing"]),
                    )
                    .order_by(BulkFillItem.position)
                )
            )

    def items(self, run_id: str, positions: Sequence[int]) -> list[BulkFillItem]:
        with self._db() as session:
            return list(
                session.scalars(
                    select(BulkFillItem)
                    .where(BulkFillItem.run_id == run_id, BulkFillItem.position.in_(positions))
                    .order_by(BulkFillItem.position)
                )
            )

    def record_answers(
        self, run_id: str, answers: Sequence[tuple[int, str, Any, str, str]]
    ) -> None:
        """(position, status answered|invalid, value, model's answer, reason) per record."""
        with self._db.begin() as session:
            invalid = 0
            for position, status, value, answer, reason in answers:
                invalid += status == "invalid"
                session.execute(
                    update(BulkFillItem)
                    .where(BulkFillItem.run_id == run_id, BulkFillItem.position == position)
                    .values(status=status, value=value, answer=answer[:500], reason=reason)
                )
            session.execute(
                update(BulkFillRun)
                .where(BulkFillRun.id == run_id)
                .values(failed=BulkFillRun.failed + invalid, calls=BulkFillRun.calls + 1)
            )

    def mark(self, run_id: str, positions: Sequence[int], status: str) -> None:
        with self._db.begin() as session:
            session.execute(
                update(BulkFillItem)
                .where(BulkFillItem.run_id == run_id, BulkFillItem.position.in_(positions))
                .values(status=status)
            )
            if status == "written":
                session.execute(
                    update(BulkFillRun)
                    .where(BulkFillRun.id == run_id)
                    .values(filled=BulkFillRun.filled + len(positions))
                )

    # -- reading -------------------------------------------------------------------------

    def cost(self, run_id: str) -> tuple[int, int]:
        """(nano-USD charged, model calls) in the ledger for this fill."""
        with self._db() as session:
            total, calls = session.execute(
                select(func.coalesce(func.sum(LedgerEntry.cost_nusd), 0), func.count()).where(
                    LedgerEntry.ref_type == RefType.BULK_FILL.value,
                    LedgerEntry.ref_id == run_id,
                )
            ).one()
        return int(total), int(calls)

    def info(self, run_id: str) -> FillInfo:
        run = self.row(run_id)
        with self._db() as session:
            pending = session.scalar(
                select(func.count()).where(
                    BulkFillItem.run_id == run_id,
                    BulkFillItem.status.in_(["pending", "answered", "writing"]),
                )
            )
            failures = [
                Failure(i.record_id, i.label, i.answer, i.reason)
                for i in session.scalars(
                    select(BulkFillItem)
                    .where(BulkFillItem.run_id == run_id, BulkFillItem.status == "invalid")
                    .order_by(BulkFillItem.position)
                    .limit(MAX_LISTED_FAILURES)
                )
            ]
        cost, _ = self.cost(run_id)
        return FillInfo(
            id=run.id,
            user_id=run.user_id,
            table=run.table_name,
            field=run.field_name,
            status=run.status,
            total=run.total,
            filled=run.filled,
            failed=run.failed,
            pending=int(pending or 0),
            calls=run.calls,
            cost_nusd=cost,
            error=run.error,
            plan=dict(run.plan),
            failures=failures,
        )

    def latest(self, user_id: int, *, limit: int = 20) -> list[BulkFillRun]:
        with self._db() as session:
            return list(
                session.scalars(
                    select(BulkFillRun)
                    .where(BulkFillRun.user_id == user_id)
                    .order_by(BulkFillRun.created_at.desc())
                    .limit(limit)
                )
            )
