"""Which bases and tables are mirrored, and each copy's progress and freshness (in SQL)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.db import transaction
from services.mirrors.orm import MirrorBase, MirrorTable
from services.orm import utcnow

ORG_CONNECTION = 0  # the "user" whose gateway calls use the org connection (no own token)


@dataclass(frozen=True)
class TableState:
    """One mirrored table as the pages and the query tool see it."""

    base_id: str
    table_id: str
    name: str
    enabled: bool
    status: str
    rows: int
    rows_copied: int
    columns: dict[str, str]
    error: str
    built_at: datetime | None
    synced_at: datetime | None
    swept_at: datetime | None
    scanned_at: datetime | None
    requested_at: datetime


@dataclass(frozen=True)
class BaseState:
    base_id: str
    name: str
    owner_id: int | None
    all_tables: bool
    enabled: bool

    @property
    def connection_user(self) -> int:
        """The user ID whose connection the gateway uses for this mirror."""
        return self.owner_id if self.owner_id is not None else ORG_CONNECTION


class MirrorRegistry:
    """Reads and writes `mirror_bases` / `mirror_tables`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- bases ---------------------------------------------------------------------------

    def base(self, base_id: str) -> BaseState | None:
        with self._sessions() as session:
            row = session.get(MirrorBase, base_id)
            return _base(row) if row else None

    def bases(self, *, enabled_only: bool = False) -> list[BaseState]:
        with self._sessions() as session:
            query = select(MirrorBase).order_by(MirrorBase.base_id)
            if enabled_only:
                query = query.where(MirrorBase.enabled.is_(True))
            return [_base(r) for r in session.scalars(query)]

    def set_base(
        self,
        base_id: str,
        *,
        name: str,
        owner_id: int | None,
        enabled: bool,
        all_tables: bool,
    ) -> None:
        with transaction(self._sessions) as session:
            row = session.get(MirrorBase, base_id)
            if row is None:
                row = MirrorBase(base_id=base_id)
                session.add(row)
            row.name, row.owner_id, row.enabled, row.all_tables = (
                name,
                owner_id,
                enabled,
                all_tables,
            )
            row.updated_at = utcnow()
            if not enabled:
                session.execute(
                    update(MirrorTable).where(MirrorTable.base_id == base_id).values(enabled=False)
                )

    # -- tables --------------------------------------------------------------------------

    def tables(self, base_id: str | None = None, *, enabled_only: bool = False) -> list[TableState]:
        with self._sessions() as session:
            query = select(MirrorTable).order_by(MirrorTable.base_id, MirrorTable.id)
            if base_id is not None:
                query = query.where(MirrorTable.base_id == base_id)
            if enabled_only:
                query = query.where(MirrorTable.enabled.is_(True))
            return [_table(r) for r in session.scalars(query)]

    def table(self, base_id: str, table_id: str) -> TableState | None:
        with self._sessions() as session:
            row = self._row(session, base_id, table_id)
            return _table(row) if row else None

    def set_table(self, base_id: str, table_id: str, *, name: str, enabled: bool) -> bool:
        """Turn one table's mirror on (queued for a build unless it is already there) or
        off; returns whether a build was queued."""
        with transaction(self._sessions) as session:
            row = self._row(session, base_id, table_id)
            if row is None:
                row = MirrorTable(base_id=base_id, table_id=table_id, columns={})
                session.add(row)
                row.status = "queued"
            row.name, row.enabled = name, enabled
            if enabled and row.status in ("failed", "off"):
                row.status = "queued"
            if not enabled:
                row.status = "off"
            if row.status == "queued":
                row.requested_at = utcnow()
            return enabled and row.status == "queued"

    def request_build(self, base_id: str, table_id: str) -> None:
        """Copy the table again (a new field's values, a changed type)."""
        self._update(base_id, table_id, status="queued", requested_at=utcnow())

    def claim_queued(self) -> dict[str, list[str]]:
        """Queued tables of enabled bases, marked building: base ID -> table IDs.

        The conditional UPDATE makes each claim happen once however many workers look.
        """
        claimed: dict[str, list[str]] = {}
        with transaction(self._sessions) as session:
            rows = session.scalars(
                select(MirrorTable).where(
                    MirrorTable.status == "queued", MirrorTable.enabled.is_(True)
                )
            ).all()
            for row in rows:
                done: Any = session.execute(
                    update(MirrorTable)
                    .where(MirrorTable.id == row.id, MirrorTable.status == "queued")
                    .values(status="building", build_started_at=utcnow(), error="")
                )
                if done.rowcount:
                    claimed.setdefault(row.base_id, []).append(row.table_id)
        return claimed

    def progress(self, base_id: str, table_id: str, copied: int) -> None:
        self._update(base_id, table_id, rows_copied=copied)

    def set_columns(self, base_id: str, table_id: str, columns: dict[str, str], name: str) -> None:
        self._update(base_id, table_id, columns=columns, name=name)

    def built(self, base_id: str, table_id: str, *, rows: int, as_of: datetime) -> None:
        now = utcnow()
        self._update(
            base_id,
            table_id,
            status="ready",
            rows=rows,
            rows_copied=rows,
            error="",
            built_at=now,
            synced_at=as_of,
            swept_at=now,
            scanned_at=now,
        )

    def swept(self, base_id: str, table_id: str, *, as_of: datetime, rows: int | None) -> None:
        values: dict[str, Any] = {"synced_at": as_of, "swept_at": utcnow(), "error": ""}
        if rows is not None:
            values["rows"] = rows
        self._update(base_id, table_id, **values)

    def scanned(self, base_id: str, table_id: str, *, as_of: datetime, rows: int) -> None:
        now = utcnow()
        self._update(
            base_id, table_id, synced_at=as_of, swept_at=now, scanned_at=now, rows=rows, error=""
        )

    def failed(self, base_id: str, table_id: str, error: str, *, building: bool) -> None:
        values: dict[str, Any] = {"error": error[:500], "swept_at": utcnow()}
        if building:
            values["status"] = "failed"
        self._update(base_id, table_id, **values)

    def add_rows(self, base_id: str, table_id: str, delta: int) -> None:
        if delta:
            with transaction(self._sessions) as session:
                session.execute(
                    update(MirrorTable)
                    .where(MirrorTable.base_id == base_id, MirrorTable.table_id == table_id)
                    .values(rows=MirrorTable.rows + delta)
                )

    def forget(self, base_id: str, table_ids: Iterable[str]) -> None:
        with transaction(self._sessions) as session:
            for table_id in table_ids:
                row = self._row(session, base_id, table_id)
                if row is not None:
                    session.delete(row)

    def _update(self, base_id: str, table_id: str, **values: Any) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(MirrorTable)
                .where(MirrorTable.base_id == base_id, MirrorTable.table_id == table_id)
                .values(**values)
            )

    @staticmethod
    def _row(session: Session, base_id: str, table_id: str) -> MirrorTable | None:
        return session.scalar(
            select(MirrorTable).where(
                MirrorTable.base_id == base_id, MirrorTable.table_id == table_id
            )
        )


def _base(row: MirrorBase) -> BaseState:
    return BaseState(row.base_id, row.name, row.owner_id, row.all_tables, row.enabled)


def _table(row: MirrorTable) -> TableState:
    return TableState(
        row.base_id,
        row.table_id,
        row.name,
        row.enabled,
        row.status,
        row.rows,
        row.rows_copied,
        dict(row.columns or {}),
        row.error,
        row.built_at,
        row.synced_at,
        row.swept_at,
        row.scanned_at,
        row.requested_at,
    )
