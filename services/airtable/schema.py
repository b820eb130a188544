"""A base's tables and fields, as the gateway needs them, and name lookups with suggestions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from services.errors import InvalidInputError

# Field types whose values Airtable computes; they can be read and filtered, never written.
COMPUTED_TYPES = frozenset(
    {
        "formula",
        "rollup",
        "count",
        "multipleLookupValues",
        "autoNumber",
        "createdTime",
        "lastModifiedTime",
        "createdBy",
        "lastModifiedBy",
        "button",
        "externalSyncSource",
        "aiText",
    }
)
NUMBER_TYPES = frozenset(
    {"number", "currency", "percent", "rating", "duration", "autoNumber", "count"}
)
DATE_TYPES = frozenset({"date", "dateTime", "createdTime", "lastModifiedTime"})
LONG_TEXT_TYPES = frozenset({"multilineText", "richText", "multipleAttachments"})


@dataclass(frozen=True)
class FieldSchema:
    """One field: its ID, name, type and options (choices, link target, formula result)."""

    id: str
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def computed(self) -> bool:
        return self.type in COMPUTED_TYPES

    @property
    def value_type(self) -> str:
        """The type values behave as: a formula's or rollup's result type, else its own."""
        if self.type in ("formula", "rollup"):
            result = self.options.get("result") or {}
            return str(result.get("type") or "singleLineText")
        return self.type

    @property
    def choices(self) -> list[str]:
        return [str(c.get("name")) for c in self.options.get("choices") or [] if c.get("name")]

    @property
    def linked_table_id(self) -> str | None:
        if self.type != "multipleRecordLinks":
            return None
        return self.options.get("linkedTableId")

    def choice(self, value: str) -> str:
        """The option named `value` (case-insensitive), or `InvalidInputError` with suggestions."""
        for name in self.choices:
            if name == value:
                return name
        folded = {name.casefold(): name for name in self.choices}
        if value.casefold() in folded:
            return folded[value.casefold()]
        raise InvalidInputError(
            f'"{value}" is not an option of {self.name}.{suggest(value, self.choices, "Options")}'
        )


@dataclass(frozen=True)
class TableSchema:
    """One table: fields in order, the primary field, views."""

    id: str
    name: str
    primary_field_id: str
    fields: list[FieldSchema]
    views: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def primary(self) -> FieldSchema:
        return next((f for f in self.fields if f.id == self.primary_field_id), self.fields[0])

    def find_field(self, name: str) -> FieldSchema | None:
        """The field with this ID or name (exact, then case-insensitive), or None."""
        for candidate in self.fields:
            if name in (candidate.id, candidate.name):
                return candidate
        wanted = name.strip().casefold()
        return next((f for f in self.fields if f.name.casefold() == wanted), None)

    def field_by_id(self, field_id: str) -> FieldSchema:
        return next(f for f in self.fields if f.id == field_id)

    def field(self, name: str) -> FieldSchema:
        """The field called `name`, or `InvalidInputError` naming the closest fields."""
        found = self.find_field(name)
        if found is None:
            names = [f.name for f in self.fields]
            raise InvalidInputError(
                f'Unknown field "{name}" in table {self.name}.{suggest(name, names, "Fields")}'
            )
        return found


@dataclass(frozen=True)
class BaseSchema:
    """Every table of one base."""

    id: str
    tables: list[TableSchema]

    def find_table(self, name: str) -> TableSchema | None:
        for table in self.tables:
            if name in (table.id, table.name):
                return table
        wanted = name.strip().casefold()
        return next((t for t in self.tables if t.name.casefold() == wanted), None)

    def table(self, name: str) -> TableSchema:
        """The table called `name`, or `InvalidInputError` naming the closest tables."""
        found = self.find_table(name)
        if found is None:
            names = [t.name for t in self.tables]
            raise InvalidInputError(
                f'Unknown table "{name}" in base {self.id}.{suggest(name, names, "Tables")}'
            )
        return found

    def table_by_id(self, table_id: str) -> TableSchema | None:
        return next((t for t in self.tables if t.id == table_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tables": [
                {
                    "id": t.id,
                    "name": t.name,
                    "primaryFieldId": t.primary_field_id,
                    "description": t.description,
                    "views": t.views,
                    "fields": [
                        {
                            "id": f.id,
                            "name": f.name,
                            "type": f.type,
                            "options": f.options,
                            "description": f.description,
                        }
                        for f in t.fields
                    ],
                }
                for t in self.tables
            ],
        }

    @classmethod
    def from_json(cls, base_id: str, data: dict[str, Any]) -> BaseSchema:
        """Build from the Meta API's `tables` answer (or from `to_json`)."""
        tables = [
            TableSchema(
                id=t["id"],
                name=t["name"],
                primary_field_id=t.get("primaryFieldId") or t["fields"][0]["id"],
                description=t.get("description") or "",
                views=[v if isinstance(v, str) else v["name"] for v in t.get("views") or []],
                fields=[
                    FieldSchema(
                        id=f["id"],
                        name=f["name"],
                        type=f["type"],
                        options=f.get("options") or {},
                        description=f.get("description") or "",
                    )
                    for f in t["fields"]
                ],
            )
            for t in data["tables"]
        ]
        return cls(id=base_id, tables=tables)


def suggest(wanted: str, names: list[str], label: str) -> str:
    """' Did you mean "X"?' for close names, then the list of names (shortened)."""
    folded = {name.casefold(): name for name in names}
    key = wanted.strip().casefold()
    # Close spellings first, then names that contain the word asked for ("Hours").
    close = difflib.get_close_matches(key, list(folded), n=3, cutoff=0.6)
    close += [n for n in folded if key and key in n and n not in close][: 3 - len(close)]
    hint = ""
    if close:
        hint = " Did you mean " + " or ".join(f'"{folded[c]}"' for c in close) + "?"
    listed = ", ".join(names[:30]) + (f", … ({len(names) - 30} more)" if len(names) > 30 else "")
    return f"{hint} {label}: {listed}."
