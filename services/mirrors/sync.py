"""Filling and refreshing mirrors from Airtable, through the paced gateway.

- `plan` reads the base's schema, adds tables a whole-base mirror gained, and brings every
  copy's columns in line (new, retyped and removed fields; renames need nothing).
- `copy` reads a whole table page by page at Airtable's pace, upserting as it goes (with
  progress), then removes rows Airtable no longer has: a build and the periodic id scan.
- `sweep` reads only records whose `LAST_MODIFIED_TIME()` is after the last good sweep.
- `apply` takes record changes from the feed (app writes at once, webhook payloads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from services.airtable.change_feed import RecordChange
from services.airtable.gateway import AirtableGateway
from services.errors import AppError
from services.mirrors.columns import columns_of
from services.mirrors.registry import BaseState, MirrorRegistry, TableState
from services.mirrors.store import MirrorStore
from services.orm import utcnow
from services.read_ahead import read_ahead

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Records changed this close before a sweep began are read again by the next one (clock
# skew between Airtable and us, and writes that land while a sweep reads).
SWEEP_OVERLAP = timedelta(seconds=5)
PROGRESS_SECONDS = 1.0
_PREFETCH_PAGES = 4


def prefetched(pages: Iterator[T], *, depth: int = _PREFETCH_PAGES) -> Iterator[T]:
    """The same pages, read ahead on a thread: the next request waits only for Airtable's
    pace, not for this one's rows to be written (a build's speed is Airtable's limit)."""
    return read_ahead(pages, depth=depth, name="mirror-pages")


class MirrorSync:
    """Keeps mirror copies in step with Airtable."""

    def __init__(
        self, gateway: AirtableGateway, store: MirrorStore, registry: MirrorRegistry
    ) -> None:
        self._gateway = gateway
        self._store = store
        self._registry = registry

    def _base(self, base_id: str) -> BaseState:
        found = self._registry.base(base_id)
        if found is None:
            raise AppError(f"Base {base_id} has no mirror.")
        return found

    # -- schema --------------------------------------------------------------------------

    def plan(self, base_id: str) -> list[str]:
        """Bring the copies' tables and columns in line with the base's schema; returns the
        enabled tables that need a copy (queued ones, and those that gained a column)."""
        base = self._base(base_id)
        schema = self._gateway.schema(base.connection_user, base_id, refresh=True)
        known = {t.table_id: t for t in self._registry.tables(base_id)}
        if base.enabled and base.all_tables:
            for table in schema.tables:
                if table.id not in known:
                    self._registry.set_table(base_id, table.id, name=table.name, enabled=True)
            known = {t.table_id: t for t in self._registry.tables(base_id)}
        gone = [tid for tid in known if schema.table_by_id(tid) is None]
        for table_id in gone:
            self._store.drop(base_id, table_id)
        self._registry.forget(base_id, gone)
        wanted = []
        for table in schema.tables:
            state = known.get(table.id)
            if state is None or not state.enabled:
                continue
            columns: dict[str, str] = dict(columns_of(table))
            added = self._store.sync_columns(base_id, table.id, columns, state.columns)
            if columns != state.columns or table.name != state.name:
                self._registry.set_columns(base_id, table.id, columns, table.name)
            if state.status in ("queued", "building") or added:
                wanted.append(table.id)
        return wanted

    # -- full copies ---------------------------------------------------------------------

    def copy(self, base_id: str, table_id: str) -> int:
        """Read the whole table into its copy; returns the rows it now has."""
        base = self._base(base_id)
        state = self._state(base_id, table_id)
        started = utcnow()
        seen: set[str] = set()
        copied = 0
        reported = time.monotonic()
        try:
            pages = self._gateway.pages(base.connection_user, base_id, table_id)
            for page in prefetched(pages):
                self._store.upsert(base_id, table_id, state.columns, page)
                seen.update(r["id"] for r in page)
                copied += len(page)
                if time.monotonic() - reported >= PROGRESS_SECONDS:
                    self._registry.progress(base_id, table_id, copied)
                    reported = time.monotonic()
        except AppError as exc:
            self._registry.failed(base_id, table_id, str(exc), building=state.status != "ready")
            raise
        stale = self._store.ids(base_id, table_id) - seen
        self._store.delete(base_id, table_id, stale)
        if state.status == "ready":
            self._registry.scanned(base_id, table_id, as_of=started, rows=len(seen))
        else:
            self._registry.built(base_id, table_id, rows=len(seen), as_of=started)
        logger.info(
            "mirror %s/%s copied: %d rows, %d removed", base_id, table_id, copied, len(stale)
        )
        return len(seen)

    # -- incremental sweep ---------------------------------------------------------------

    def sweep(self, base_id: str) -> int:
        """Read what changed since the last good sweep, for every ready table of the base;
        new, retyped and removed fields are handled first. Returns records read."""
        base = self._base(base_id)
        for table_id in self.plan(base_id):
            state = self._state(base_id, table_id)
            if state.status == "ready":
                self._registry.request_build(base_id, table_id)
        total = 0
        for state in self._registry.tables(base_id, enabled_only=True):
            if state.status != "ready" or state.synced_at is None:
                continue
            total += self._sweep_table(base, state)
        return total

    def _sweep_table(self, base: BaseState, state: TableState) -> int:
        assert state.synced_at is not None
        started = utcnow()
        since = state.synced_at - SWEEP_OVERLAP
        # A fixed formula (no user input); the same text pyairtable.formulas writes.
        formula = f"LAST_MODIFIED_TIME()>=DATETIME_PARSE('{since:%Y-%m-%dT%H:%M:%S.000Z}')"
        read = 0
        before = self._store.count(base.base_id, state.table_id)
        try:
            for page in self._gateway.pages(
                base.connection_user, base.base_id, state.table_id, formula=formula
            ):
                self._store.upsert(base.base_id, state.table_id, state.columns, page)
                read += len(page)
        except AppError as exc:
            logger.warning("mirror sweep of %s/%s failed", base.base_id, state.table_id)
            self._registry.failed(base.base_id, state.table_id, str(exc), building=False)
            return 0
        rows = self._store.count(base.base_id, state.table_id) if read else before
        self._registry.swept(base.base_id, state.table_id, as_of=started, rows=rows)
        return read

    # -- changes from the feed -----------------------------------------------------------

    def apply(self, changes: Sequence[RecordChange]) -> None:
        """Put record changes into the copies that mirror their tables (others are ignored).

        App writes carry the whole record as Airtable returned it (replace the row);
        webhook payloads carry only the changed cells (update those).
        """
        states: dict[tuple[str, str], TableState | None] = {}
        for change in changes:
            key = (change.base_id, change.table_id)
            if key not in states:
                states[key] = self._registry.table(*key)
            state = states[key]
            if state is None or not state.enabled or state.status not in ("ready", "building"):
                continue
            if change.kind == "deleted":
                gone = self._store.delete(change.base_id, change.table_id, [change.record_id])
                self._registry.add_rows(change.base_id, change.table_id, -gone)
                continue
            record = {"id": change.record_id, "fields": dict(change.fields)}
            existed = change.kind == "updated"
            self._store.upsert(
                change.base_id,
                change.table_id,
                state.columns,
                [record],
                partial=change.source == "airtable" and existed,
            )
            if change.kind == "created":
                self._registry.add_rows(change.base_id, change.table_id, 1)

    def _state(self, base_id: str, table_id: str) -> TableState:
        found = self._registry.table(base_id, table_id)
        if found is None:
            raise AppError(f"Table {table_id} of base {base_id} has no mirror.")
        return found


def seconds_since(moment: datetime | None) -> float | None:
    return None if moment is None else max(0.0, (utcnow() - moment).total_seconds())
