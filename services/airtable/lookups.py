"""Finding records by ID or by name: the batched lookups behind linked-record names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyairtable.api.types import RecordDict
from pyairtable.formulas import AND, EQ, LOWER, OR, RECORD_ID
from pyairtable.formulas import Field as F

from services.airtable.cells import check_record_id, plain_text
from services.airtable.gateway import AirtableGateway
from services.airtable.schema import FieldSchema, TableSchema
from services.errors import InvalidInputError

_PER_REQUEST = 100
_KEYS_PER_REQUEST = 25
_REMEMBERED = 20_000  # names kept from one listing, bounding the cache per table


def any_of(tests: Sequence[Any]) -> str:
    """One formula true when any test is (pyairtable's OR needs two or more)."""
    return str(OR(*tests) if len(tests) > 1 else tests[0])


def named_any_of(primary_name: str, names: Sequence[str]) -> str:
    """One formula true for the records whose primary field is any of `names` (case-blind)."""
    return any_of([EQ(LOWER(F(primary_name)), n.lower()) for n in names])


def value_key(cells: Mapping[str, Any], field_ids: Sequence[str]) -> tuple[str, ...]:
    """The values of these fields as a case-insensitive key (upsert matching)."""
    return tuple(plain_text(cells.get(f)).casefold() for f in field_ids)


class RecordLookups:
    """Records by ID, primary-field names by ID, and IDs by primary-field name."""

    def __init__(self, gateway: AirtableGateway) -> None:
        self._gateway = gateway

    def by_id(
        self,
        user_id: int,
        base_id: str,
        table_id: str,
        ids: Iterable[str],
        field_ids: list[str],
    ) -> dict[str, RecordDict]:
        """The records with these IDs (100 per request), keyed by ID; missing ones are absent."""
        found: dict[str, RecordDict] = {}
        unique = list(dict.fromkeys(check_record_id(i) for i in ids))
        for start in range(0, len(unique), _PER_REQUEST):
            formula = any_of([EQ(RECORD_ID(), i) for i in unique[start : start + _PER_REQUEST]])
            pages = self._gateway.pages(
                user_id, base_id, table_id, fields=field_ids, formula=formula
            )
            for page in pages:
                found.update((r["id"], r) for r in page)
        return found

    def names(
        self, user_id: int, base_id: str, table: TableSchema, ids: Iterable[str]
    ) -> dict[str, str]:
        """Primary field text of records of `table`, by record ID (remembered in Redis)."""
        wanted = list(dict.fromkeys(ids))
        names = self._gateway.cached_names(base_id, table.id, wanted)
        missing = [i for i in wanted if i not in names]
        if missing:
            records = self.by_id(user_id, base_id, table.id, missing, [table.primary_field_id])
            fetched = {
                rec_id: plain_text(r["fields"].get(table.primary_field_id)) or rec_id
                for rec_id, r in records.items()
            }
            self._gateway.remember_names(base_id, table.id, fetched)
            names.update(fetched)
        return names

    def remember(self, base_id: str, table: TableSchema, records: Iterable[RecordDict]) -> None:
        """Note the primary field text of records listed anyway (up to `_REMEMBERED`), so
        later links to them need no lookup; records listed without it are passed over."""
        labels: dict[str, str] = {}
        for record in records:
            if text := plain_text(record["fields"].get(table.primary_field_id)):
                labels[record["id"]] = text
                if len(labels) >= _REMEMBERED:
                    break
        self._gateway.remember_names(base_id, table.id, labels)

    def ids_by_name(
        self, user_id: int, base_id: str, table_id: str, names: set[str]
    ) -> dict[str, str]:
        """Record IDs by lower-cased primary field text; each name must match one record.

        Raises:
            InvalidInputError: a name matches no record, or several.
        """
        linked = self._gateway.schema(user_id, base_id).table_by_id(table_id)
        if linked is None:
            raise InvalidInputError("A link field points to a table that no longer exists.")
        formula = named_any_of(linked.primary.name, sorted(names))
        found: dict[str, list[str]] = {}
        for page in self._gateway.pages(
            user_id, base_id, linked.id, fields=[linked.primary_field_id], formula=formula
        ):
            for record in page:
                name = plain_text(record["fields"].get(linked.primary_field_id)).lower()
                found.setdefault(name, []).append(record["id"])
        for name in names:
            if len(found.get(name.lower(), [])) != 1:
                problem = "More than one" if found.get(name.lower()) else "No"
                raise InvalidInputError(
                    f'{problem} {linked.name} record is named "{name}"; use its record ID.'
                )
        return {name: ids[0] for name, ids in found.items()}

    def by_values(
        self,
        user_id: int,
        base_id: str,
        table: TableSchema,
        keys: Sequence[FieldSchema],
        cells: Sequence[Mapping[str, Any]],
        field_ids: list[str],
    ) -> dict[tuple[str, ...], list[RecordDict]]:
        """Existing records whose `keys` fields equal those of any of `cells`, by `value_key`."""
        found: dict[tuple[str, ...], list[RecordDict]] = {}
        key_ids = [k.id for k in keys]
        for start in range(0, len(cells), _KEYS_PER_REQUEST):
            tests = []
            for c in cells[start : start + _KEYS_PER_REQUEST]:
                parts = [EQ(LOWER(F(k.name)), plain_text(c.get(k.id)).lower()) for k in keys]
                tests.append(AND(*parts) if len(parts) > 1 else parts[0])
            pages = self._gateway.pages(
                user_id, base_id, table.id, fields=field_ids, formula=any_of(tests)
            )
            for page in pages:
                for record in page:
                    found.setdefault(value_key(record["fields"], key_ids), []).append(record)
        return found
