"""Linked-record fields synced as the linked records' primary names (kind `link_names`).

Airtable holds record IDs in a link field; the SQL column holds the names of the linked
records. Reading Airtable, each page's IDs become names (the gateway's remembered labels
first, then one request per 100 IDs not remembered). Writing Airtable, the names a run
sends become IDs (one request per 25 names, case-insensitive like the chat's lookups); a
name that matches no record, or several, cannot be sent: the runner skips that field of
that record and logs why (`ConversionError` carries the reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.airtable.cells import plain_text
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups, named_any_of
from services.airtable.schema import TableSchema
from services.sync.airtable_side import AirtableRow, RequestCount
from services.sync.convert import ConversionError

IDS_PER_REQUEST = 100  # as `RecordLookups.by_id` asks
NAMES_PER_REQUEST = 25  # keeps the formula well under Airtable's URL limit


@dataclass
class LinkNames:
    """Names ↔ record IDs for the `link_names` fields of one job, as its owner sees them.

    Args:
        linked: The linked table of each `link_names` field, by field ID.
        requests: The run's Airtable request count (lookups are Airtable reads too).
    """

    gateway: AirtableGateway
    user_id: int
    base_id: str
    linked: Mapping[str, TableSchema]
    requests: RequestCount = field(default_factory=RequestCount)
    _ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # table -> name -> IDs

    # -- Airtable → SQL ----------------------------------------------------------------

    def to_names(self, rows: Mapping[str, AirtableRow]) -> None:
        """Replace the record IDs in these rows' link fields by names (in place). A linked
        record without a name (or gone) keeps its ID, as the chat shows it."""
        for field_id, table in self.linked.items():
            wanted = {str(i) for row in rows.values() for i in _ids_in(row.fields.get(field_id))}
            if not wanted:
                continue
            names = self._names(table, sorted(wanted))
            for row in rows.values():
                if field_id in row.fields:
                    ids = _ids_in(row.fields[field_id])
                    row.fields[field_id] = [names.get(i, i) for i in ids]

    def _names(self, table: TableSchema, ids: list[str]) -> dict[str, str]:
        names = self.gateway.cached_names(self.base_id, table.id, ids)
        missing = [i for i in ids if i not in names]
        if missing:
            records = RecordLookups(self.gateway).by_id(
                self.user_id, self.base_id, table.id, missing, [table.primary_field_id]
            )
            self.requests.reads += -(-len(missing) // IDS_PER_REQUEST)
            fetched = {
                rid: text
                for rid, r in records.items()
                if (text := plain_text(r["fields"].get(table.primary_field_id)))
            }
            self.gateway.remember_names(self.base_id, table.id, fetched)
            names.update(fetched)
        return names

    # -- SQL → Airtable ----------------------------------------------------------------

    def resolve(self, wanted: Mapping[str, Iterable[str]]) -> None:
        """Look up the record IDs of these names (by field ID), batched per linked table."""
        by_table: dict[str, set[str]] = {}
        for field_id, names in wanted.items():
            table = self.linked[field_id]
            known = self._ids.setdefault(table.id, {})
            by_table.setdefault(table.id, set()).update(
                n for n in names if n.casefold() not in known
            )
        for table_id, names in by_table.items():
            table = next(t for t in self.linked.values() if t.id == table_id)
            self._lookup(table, sorted(names))

    def _lookup(self, table: TableSchema, names: list[str]) -> None:
        known = self._ids[table.id]
        for name in names:
            known.setdefault(name.casefold(), [])
        primary = table.primary
        for start in range(0, len(names), NAMES_PER_REQUEST):
            chunk = names[start : start + NAMES_PER_REQUEST]
            formula = named_any_of(primary.name, chunk)
            for page in self.gateway.pages(
                self.user_id, self.base_id, table.id, fields=[primary.id], formula=formula
            ):
                self.requests.reads += 1
                for record in page:
                    text = plain_text(record["fields"].get(primary.id)).casefold()
                    if text in known and record["id"] not in known[text]:
                        known[text].append(record["id"])

    def ids(self, field_id: str, names: list[str] | None) -> list[str]:
        """The record IDs of these names (after `resolve`).

        Raises:
            ConversionError: a name matches no record of the linked table, or several.
        """
        table = self.linked[field_id]
        known = self._ids.get(table.id, {})
        found = []
        for name in names or []:
            matches = known.get(name.casefold(), [])
            if len(matches) != 1:
                which = (
                    f"{len(matches)} {table.name} records are"
                    if matches
                    else f"no {table.name} record is"
                )
                raise ConversionError(f'{which} named "{name}"')
            found.append(matches[0])
        return found


def _ids_in(value: object) -> list[str]:
    """Record IDs of a link cell (REST gives IDs; be lenient with `{id: ...}` objects)."""
    if not isinstance(value, list):
        return []
    return [str(v["id"]) if isinstance(v, dict) else str(v) for v in value]
