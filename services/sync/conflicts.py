"""The conflict inbox: fields both sides changed under the `manual` policy, held until a
person picks a side or types the value (the next run writes it to both sides)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.errors import InvalidInputError
from services.sync.convert import ConversionError
from services.sync.jobs import SyncJobs
from services.sync.orm import SyncConflict
from services.sync.types import Actor

Choice = Literal["airtable", "sql", "value"]


class ConflictInbox:
    """Held conflicts of the jobs a person owns (all, for admins), and their resolution."""

    def __init__(self, sessions: sessionmaker[Session], jobs: SyncJobs) -> None:
        self._db = sessions
        self._jobs = jobs

    def open(self, actor: Actor, job_id: str | None = None) -> list[SyncConflict]:
        owned = {j.id for j in self._jobs.list_for(actor)}
        with self._db() as session:
            query = select(SyncConflict).where(SyncConflict.status == "open")
            if job_id is not None:
                query = query.where(SyncConflict.job_id == job_id)
            rows = [
                r for r in session.scalars(query.order_by(SyncConflict.id)) if r.job_id in owned
            ]
            session.expunge_all()
            return rows

    def resolve(
        self, actor: Actor, conflict_ids: Sequence[int], choice: Choice, value: str = ""
    ) -> int:
        """Resolve conflicts by a side, or by a typed value (converted as the field is);
        the next run writes it to both sides. Returns how many were resolved."""
        owned = {j.id: j for j in self._jobs.list_for(actor)}
        if choice not in ("airtable", "sql", "value"):
            raise InvalidInputError("Choose airtable, sql or a value.")
        now = datetime.now(UTC)
        with self._db.begin() as session:
            rows = list(
                session.scalars(
                    select(SyncConflict).where(
                        SyncConflict.id.in_(list(conflict_ids)), SyncConflict.status == "open"
                    )
                )
            )
            rows = [r for r in rows if r.job_id in owned]
            for row in rows:
                row.resolution = self._resolution(owned[row.job_id].spec, row, choice, value)
                row.status, row.resolved_by, row.resolved_at = "resolved", actor.id, now
            return len(rows)

    @staticmethod
    def _resolution(spec: Any, row: SyncConflict, choice: Choice, value: str) -> dict[str, Any]:
        if not row.field:
            if choice == "value":
                raise InvalidInputError("A kept delete is resolved by a side, not a value.")
            return {"side": choice}
        if choice == "airtable":
            return {"value": row.airtable}
        if choice == "sql":
            return {"value": row.sql}
        mapping = next(m for m in spec.mappings if m.sql_column == row.field)
        try:
            return {"value": mapping.converter.from_sql(value)}
        except ConversionError as exc:
            raise InvalidInputError(f"{row.field}: {exc}") from exc
