"""The Airtable side of a sync job: what changed since the last run, every record ID (for
deletes), and writes through the gateway in batches of ten at the shared pace.

`AirtableSource` is the small surface the runner reads through; `GatewayTable` lists
records modified since the cursor (`LAST_MODIFIED_TIME()`) and scans IDs every few runs;
`MirroredTable` (`mirror_side.py`) serves the same surface from a current mirror.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from services.airtable.gateway import BATCH_SIZE, AirtableGateway

if TYPE_CHECKING:
    from services.sync.links import LinkNames

# Airtable's modification times and ours come from different clocks; reading a little
# earlier than the last run re-reads a few records (harmless: the merge sees no change).
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class AirtableRow:
    id: str
    fields: dict[str, Any]  # by field ID
    modified: datetime | None


@dataclass
class RequestCount:
    reads: int = 0
    writes: int = 0

    @property
    def total(self) -> int:
        return self.reads + self.writes


class AirtableSource(Protocol):
    """Where a sync run learns what Airtable holds."""

    def changed_since(self, cursor: datetime | None) -> dict[str, AirtableRow]: ...

    def all_ids(self) -> set[str]: ...

    def fetch(self, ids: Iterable[str]) -> dict[str, AirtableRow]: ...


@dataclass
class GatewayTable:
    """One Airtable table read and written as the job owner through the gateway."""

    gateway: AirtableGateway
    user_id: int
    base_id: str
    table_id: str
    field_ids: Sequence[str]
    modified_field: str = ""
    requests: RequestCount = field(default_factory=RequestCount)
    # Link fields synced as names: their IDs become names as pages arrive.
    links: LinkNames | None = None
    # Listings hold only what changed (a mirror-backed table lists every record).
    lists_everything = False

    def next_cursor(self, started: datetime) -> datetime:
        """The cursor of the next run, after a run that started at `started`."""
        return started

    def changed_since(self, cursor: datetime | None) -> dict[str, AirtableRow]:
        found: dict[str, AirtableRow] = {}
        for page in self.changed_pages(cursor):
            found.update(page)
        return found

    def changed_pages(self, cursor: datetime | None) -> Iterator[dict[str, AirtableRow]]:
        """Records modified since `cursor` (all, for None), a page at a time."""
        options: dict[str, Any] = {}
        if cursor is not None:
            since = (cursor - CLOCK_SKEW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            options["formula"] = f"IS_AFTER(LAST_MODIFIED_TIME(), DATETIME_PARSE('{since}'))"
        return self._pages(**options)

    def all_ids(self) -> set[str]:
        # One field keeps the pages small; the IDs are what a delete scan needs.
        found: set[str] = set()
        for page in self._pages(fields=list(self.field_ids[:1]), names=False):
            found.update(page)
        return found

    def fetch(self, ids: Iterable[str]) -> dict[str, AirtableRow]:
        wanted = sorted(set(ids))
        found: dict[str, AirtableRow] = {}
        for start in range(0, len(wanted), 50):
            chunk = wanted[start : start + 50]
            formula = "OR(" + ",".join(f"RECORD_ID()='{i}'" for i in chunk) + ")"
            found.update(self._list(formula=formula))
        return found

    def _list(self, **options: Any) -> dict[str, AirtableRow]:
        rows: dict[str, AirtableRow] = {}
        for page in self._pages(**options):
            rows.update(page)
        return rows

    def _pages(self, *, names: bool = True, **options: Any) -> Iterator[dict[str, AirtableRow]]:
        wanted = list(self.field_ids)
        if self.modified_field and self.modified_field not in wanted:
            wanted.append(self.modified_field)
        options.setdefault("fields", wanted)
        for page in self.gateway.pages(self.user_id, self.base_id, self.table_id, **options):
            self.requests.reads += 1
            rows: dict[str, AirtableRow] = {}
            for record in page:
                cells = dict(record.get("fields") or {})
                rows[record["id"]] = AirtableRow(record["id"], cells, self._modified(cells))
            if names and self.links is not None:
                self.links.to_names(rows)
            yield rows

    def _modified(self, cells: Mapping[str, Any]) -> datetime | None:
        raw = cells.get(self.modified_field) if self.modified_field else None
        if not raw:
            return None
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))

    # -- writes (at most ten records a request: the caller batches) --------------------

    def create(self, batch: Sequence[dict[str, Any]]) -> list[str]:
        _check(batch)
        self.requests.writes += 1
        created = self.gateway.create(self.user_id, self.base_id, self.table_id, batch)
        return [r["id"] for r in created]

    def update(self, batch: Sequence[dict[str, Any]]) -> None:
        _check(batch)
        self.requests.writes += 1
        self.gateway.update(self.user_id, self.base_id, self.table_id, batch)

    def delete(self, ids: Sequence[str]) -> None:
        _check(ids)
        self.requests.writes += 1
        self.gateway.delete(self.user_id, self.base_id, self.table_id, ids)

    def created_since(self, moment: datetime) -> dict[str, AirtableRow]:
        """Records created at or after `moment` (finding creates a crash left unrecorded)."""
        since = (moment - CLOCK_SKEW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return self._list(formula=f"IS_AFTER(CREATED_TIME(), DATETIME_PARSE('{since}'))")


def _check(batch: Sequence[Any]) -> None:
    if not 0 < len(batch) <= BATCH_SIZE:
        raise ValueError(f"a write batch carries 1 to {BATCH_SIZE} records")
