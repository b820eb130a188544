"""Which Airtable record goes with which SQL row, and each side's state for the merge.

A pair is known from its snapshot; a record never synced is matched by the job's match
key (the SQL column holding the Airtable record ID, or a unique field on both sides). A
side not read this run holds what the snapshot last saw there. A planned pair carries
the merge's outcome on to the writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.sync.airtable_side import AirtableRow
from services.sync.convert import ConversionError
from services.sync.merge import Outcome, RecordState
from services.sync.sql_side import SqlRow
from services.sync.types import FieldMapping


@dataclass
class Snap:
    """A snapshot row as plain data."""

    id: int | None
    airtable_id: str | None
    sql_key: str | None
    base: dict[str, Any]
    airtable: dict[str, Any] | None
    sql: dict[str, Any] | None
    airtable_modified: datetime | None = None
    sql_modified: datetime | None = None
    flag: str = ""
    pending_since: datetime | None = None


@dataclass
class Pair:
    """One record in play this run, with what each side holds now."""

    snap: Snap | None
    airtable_id: str | None = None
    sql_key: str | None = None
    a_row: AirtableRow | None = None
    s_row: SqlRow | None = None
    a_gone: bool = False
    s_gone: bool = False
    resolution: dict[str, Any] = field(default_factory=dict)  # conflict id -> resolution


@dataclass
class Planned:
    """A pair with what the merge decided for it and the state it merged."""

    pair: Pair
    outcome: Outcome
    state: RecordState


def airtable_values(row: AirtableRow, mappings: tuple[FieldMapping, ...]) -> dict[str, Any]:
    """Canonical values by SQL column name; `ConversionError` names the field."""
    out: dict[str, Any] = {}
    for m in mappings:
        try:
            out[m.sql_column] = m.converter.from_airtable(row.fields.get(m.airtable_field))
        except ConversionError as exc:
            raise ConversionError(f"Airtable field {m.airtable_field}: {exc}") from exc
    return out


def sql_values(row: SqlRow, mappings: tuple[FieldMapping, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in mappings:
        try:
            out[m.sql_column] = m.converter.from_sql(row.values.get(m.sql_column))
        except ConversionError as exc:
            raise ConversionError(f"SQL column {m.sql_column}: {exc}") from exc
    return out


def side_states(
    pair: Pair, mappings: tuple[FieldMapping, ...]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, datetime | None, datetime | None]:
    """(Airtable values, SQL values, Airtable modified, SQL modified) for the merge."""
    snap = pair.snap
    if pair.a_row is not None:
        a: dict[str, Any] | None = airtable_values(pair.a_row, mappings)
        a_time = pair.a_row.modified
    elif pair.a_gone or snap is None or snap.airtable_id is None:
        a, a_time = None, None
    else:
        a, a_time = snap.airtable, snap.airtable_modified
    if pair.s_row is not None:
        s: dict[str, Any] | None = sql_values(pair.s_row, mappings)
        s_time = pair.s_row.modified
    elif pair.s_gone or snap is None or snap.sql_key is None:
        s, s_time = None, None
    else:
        s, s_time = snap.sql, snap.sql_modified
    return a, s, a_time, s_time


class Pairs:
    """Pairs by snapshot, Airtable ID and SQL key, built up as a run reads."""

    def __init__(self, snaps: list[Snap]) -> None:
        self.by_airtable = {s.airtable_id: s for s in snaps if s.airtable_id}
        self.by_sql = {s.sql_key: s for s in snaps if s.sql_key}
        self._pairs: dict[int, Pair] = {}  # by id() of the snapshot or of the new pair
        self._a: dict[str, Pair] = {}
        self._s: dict[str, Pair] = {}

    def __iter__(self) -> Iterator[Pair]:
        return iter(list(self._pairs.values()))

    def __len__(self) -> int:
        return len(self._pairs)

    def for_snap(self, snap: Snap) -> Pair:
        pair = self._pairs.get(id(snap))
        if pair is None:
            pair = Pair(snap, snap.airtable_id, snap.sql_key)
            self._pairs[id(snap)] = pair
            self._index(pair)
        return pair

    def for_airtable(self, record_id: str) -> Pair:
        if record_id in self._a:
            return self._a[record_id]
        snap = self.by_airtable.get(record_id)
        if snap is not None:
            return self.for_snap(snap)
        pair = Pair(None, airtable_id=record_id)
        self._pairs[id(pair)] = pair
        self._index(pair)
        return pair

    def for_sql(self, key: str) -> Pair:
        if key in self._s:
            return self._s[key]
        snap = self.by_sql.get(key)
        if snap is not None:
            return self.for_snap(snap)
        pair = Pair(None, sql_key=key)
        self._pairs[id(pair)] = pair
        self._index(pair)
        return pair

    def join(self, a_pair: Pair, s_pair: Pair) -> None:
        """Match a new Airtable record with a new SQL row (by the match key)."""
        if a_pair is s_pair or a_pair.snap is not None or s_pair.snap is not None:
            return
        a_pair.sql_key, a_pair.s_row = s_pair.sql_key, s_pair.s_row
        self._pairs.pop(id(s_pair), None)
        self._index(a_pair)

    def unmatched_airtable(self) -> list[Pair]:
        return [p for p in self._pairs.values() if p.snap is None and p.sql_key is None]

    def unmatched_sql(self) -> list[Pair]:
        return [p for p in self._pairs.values() if p.snap is None and p.airtable_id is None]

    def _index(self, pair: Pair) -> None:
        if pair.airtable_id:
            self._a[pair.airtable_id] = pair
        if pair.sql_key:
            self._s[pair.sql_key] = pair
