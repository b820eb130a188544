"""A sync job's Airtable table read from its mirror, when the table is mirrored and the
mirror is current: the run lists the copy (no Airtable request) instead of asking Airtable
what changed, and keeps only the records whose values differ from what the job last saw.

Writes, and the rare reads a mirror cannot answer (a record named by a new SQL row, the
creates a killed run left), still go to Airtable through `GatewayTable`. The mirror holds
every change made before its last good sweep (`synced_at`), so the next run's Airtable
cursor is that moment, not the run's start: a change the mirror has not caught yet is
read by a later run, from the mirror or from Airtable. App writes (the job's own) reach the
copy at once through the change feed.

A mapping the copy cannot give back exactly (rich text loses its markup, a multiple select
whose option holds a comma) keeps the job on Airtable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.airtable.schema import TableSchema
from services.mirrors.columns import ID_COLUMN
from services.mirrors.registry import MirrorRegistry, TableState
from services.mirrors.store import MirrorStore
from services.sync.airtable_side import AirtableRow, GatewayTable
from services.sync.convert import LIST_KINDS
from services.sync.types import JobSpec

PAGE_ROWS = 1000
_EXACT_TEXT = frozenset(
    {"singleLineText", "multilineText", "email", "url", "phoneNumber", "singleSelect"}
)


@dataclass
class MirroredTable(GatewayTable):
    """`GatewayTable` whose listings come from the mirror (`lists_everything`)."""

    store: MirrorStore = field(kw_only=True)
    state: TableState = field(kw_only=True)
    kinds: dict[str, str] = field(kw_only=True)  # field ID -> mapping kind

    lists_everything = True

    def next_cursor(self, started: datetime) -> datetime:
        """The mirror surely holds what changed before its last good sweep; later changes
        are read again by the next run."""
        as_of = self.state.synced_at
        return min(started, as_of) if as_of is not None else started

    def changed_pages(self, cursor: datetime | None) -> Iterator[dict[str, AirtableRow]]:
        """Every record of the copy, a thousand at a time (the runner keeps the news)."""
        return self._mirror_pages()

    def all_ids(self) -> set[str]:
        return self.store.ids(self.base_id, self.table_id)

    def _mirror_pages(self) -> Iterator[dict[str, AirtableRow]]:
        wanted = [f for f in self.field_ids if f in self.state.columns]
        if self.modified_field and self.modified_field not in wanted:
            wanted.append(self.modified_field)
        table = sa.table(
            self.store.name(self.base_id, self.table_id),
            sa.column(ID_COLUMN),
            *(sa.column(f) for f in wanted),
            schema=self.store.schema,
        )
        query = sa.select(table).order_by(table.c[ID_COLUMN])
        with self.store.engine(self.base_id).connect() as conn:
            result = conn.execution_options(yield_per=PAGE_ROWS).execute(query)
            for chunk in result.partitions():
                rows: dict[str, AirtableRow] = {}
                for found in chunk:
                    values = found._mapping
                    cells = {f: self._cell(f, values[f]) for f in wanted if values[f] is not None}
                    record_id = str(values[ID_COLUMN])
                    rows[record_id] = AirtableRow(record_id, cells, self._modified(cells))
                if self.links is not None:
                    self.links.to_names(rows)
                yield rows

    def _cell(self, field_id: str, value: Any) -> Any:
        """A copy's column value as the REST API gives the cell (lists are joined there)."""
        if self.kinds.get(field_id) in LIST_KINDS and isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class MirrorReads:
    """Which sync runs may read their Airtable table from a mirror (`SyncService`)."""

    def __init__(
        self, registry: MirrorRegistry, store: MirrorStore, *, behind_after_seconds: float
    ) -> None:
        self._registry = registry
        self._store = store
        self._behind_after = timedelta(seconds=behind_after_seconds)

    def current(
        self, spec: JobSpec, table_schema: Callable[[], TableSchema | None]
    ) -> TableState | None:
        """The table's mirror if it is ready, fresh, holds every mapped field and gives
        them back exactly; else None (the run asks Airtable)."""
        state = self._registry.table(spec.base_id, spec.table_id)
        if state is None or not state.enabled or state.status != "ready":
            return None
        if state.synced_at is None or datetime.now(UTC) - state.synced_at > self._behind_after:
            return None
        table = table_schema()
        if table is None:
            return None
        fields = {f.id: f for f in table.fields}
        needed = [m.airtable_field for m in spec.mappings]
        if spec.airtable_modified_field:
            needed.append(spec.airtable_modified_field)
        if any(f not in state.columns or f not in fields for f in needed):
            return None
        for mapping in spec.mappings:
            found = fields[mapping.airtable_field]
            if mapping.kind in ("text", "select") and found.type not in _EXACT_TEXT:
                return None
            if mapping.kind == "multiselect" and any("," in c for c in found.choices):
                return None
        return state

    def table(self, gateway_table: GatewayTable, state: TableState, spec: JobSpec) -> MirroredTable:
        g = gateway_table
        return MirroredTable(
            g.gateway,
            g.user_id,
            g.base_id,
            g.table_id,
            g.field_ids,
            g.modified_field,
            g.requests,
            g.links,
            store=self._store,
            state=state,
            kinds={m.airtable_field: m.kind for m in spec.mappings},
        )
