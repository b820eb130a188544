"""In-memory model of bases, tables, fields, views and records.

Cells are stored by field ID, so renaming a field never touches records. The JSON forms
(:func:`base_to_json` / :func:`base_from_json`) are what the store persists; the API forms
come from ``to_api`` methods.
"""

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Field types whose values the server computes; writes to them are rejected.
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
    }
)


#: Where bases made without a workspace (the demo seeds) live, and when they were made.
DEFAULT_WORKSPACE_ID = "wspEmulatorDemo00"
DEFAULT_CREATED_TIME = "2025-01-01T00:00:00.000Z"


#: Types whose options the Meta API does not show (a button's label and URL formula).
HIDDEN_OPTION_TYPES = frozenset({"button"})


@dataclass
class Field:
    """A column of a table."""

    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None
    description: str | None = None

    @property
    def computed(self) -> bool:
        """Whether the server computes this field (writes are rejected)."""
        return self.type in COMPUTED_TYPES

    def option(self, key: str, default: Any = None) -> Any:
        """Return one option value, or ``default``."""
        return (self.options or {}).get(key, default)

    def to_api(self) -> dict[str, Any]:
        """Return the field model of the Meta API."""
        data: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.description:
            data["description"] = self.description
        if self.options is not None and self.type not in HIDDEN_OPTION_TYPES:
            data["options"] = self.options
        return data

    def to_json(self) -> dict[str, Any]:
        """Return the persisted form: the API form plus options the API does not show."""
        data = self.to_api()
        if self.options is not None:
            data["options"] = self.options
        return data


@dataclass
class View:
    """A named ordering/filter of a table's records."""

    id: str
    name: str
    type: str = "grid"
    filter_formula: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    visible_field_ids: list[str] | None = None

    def to_api(self, table: "Table", *, include_visible: bool) -> dict[str, Any]:
        """Return the view model of the Meta API."""
        data: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if include_visible and self.type == "grid":
            visible = self.visible_field_ids
            data["visibleFieldIds"] = list(visible) if visible else [f.id for f in table.fields]
        return data


@dataclass(slots=True)
class Record:
    """One row; ``cells`` maps field ID to the stored (writable) API value."""

    id: str
    created: datetime
    created_time: str
    modified: datetime
    cells: dict[str, Any]
    auto_number: int


@dataclass
class Table:
    """A table: schema plus its records in creation order."""

    id: str
    name: str
    primary_field_id: str
    fields: list[Field]
    views: list[View]
    description: str | None = None
    records: dict[str, Record] = field(default_factory=dict)
    next_auto_number: int = 1
    _by_key: dict[str, Field] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the field lookup after fields were added or renamed."""
        self._by_key = {f.name: f for f in self.fields}
        self._by_key.update({f.id: f for f in self.fields})

    def field(self, key: str) -> Field | None:
        """Find a field by ID or exact name."""
        return self._by_key.get(key)

    def field_by_id(self, field_id: str) -> Field:
        """Return the field with this ID (it must exist)."""
        return self._by_key[field_id]

    @property
    def primary_field(self) -> Field:
        """The primary (first) field."""
        return self.field_by_id(self.primary_field_id)

    def view(self, key: str) -> View | None:
        """Find a view by ID or exact name."""
        for view in self.views:
            if key in (view.id, view.name):
                return view
        return None

    def to_api(self, *, include_visible: bool = False) -> dict[str, Any]:
        """Return the table model of the Meta API."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "primaryFieldId": self.primary_field_id,
            "fields": [f.to_api() for f in self.fields],
            "views": [v.to_api(self, include_visible=include_visible) for v in self.views],
        }
        if self.description:
            data["description"] = self.description
        return data


@dataclass
class Base:
    """A base and its tables."""

    id: str
    name: str
    tables: list[Table] = field(default_factory=list)
    permission_level: str = "create"
    workspace_id: str = DEFAULT_WORKSPACE_ID
    created_time: str = DEFAULT_CREATED_TIME

    def table(self, key: str) -> Table | None:
        """Find a table by ID, then by name: exact first, then ignoring case.

        Airtable resolves ``EVERYTHING`` to a table named ``Everything`` (names are
        unique regardless of case, so at most one table matches that way).
        """
        for table in self.tables:
            if table.id == key:
                return table
        for table in self.tables:
            if table.name == key:
                return table
        folded = key.casefold()
        for table in self.tables:
            if table.name.casefold() == folded:
                return table
        return None

    def table_by_id(self, table_id: str) -> Table:
        """Return the table with this ID (it must exist)."""
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(table_id)

    def to_api(self) -> dict[str, Any]:
        """Return the base entry of ``GET /v0/meta/bases``."""
        return {"id": self.id, "name": self.name, "permissionLevel": self.permission_level}


def base_to_json(base: Base) -> dict[str, Any]:
    """Serialise a base's schema (not its records) for persistence."""
    return {
        "id": base.id,
        "name": base.name,
        "workspaceId": base.workspace_id,
        "createdTime": base.created_time,
        "tables": [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "primaryFieldId": t.primary_field_id,
                "fields": [f.to_json() for f in t.fields],
                "views": [
                    {
                        "id": v.id,
                        "name": v.name,
                        "type": v.type,
                        "filter": v.filter_formula,
                        "sort": [list(s) for s in v.sort],
                        "visibleFieldIds": v.visible_field_ids,
                    }
                    for v in t.views
                ],
            }
            for t in base.tables
        ],
    }


def base_from_json(data: dict[str, Any]) -> Base:
    """Rebuild a base's schema from :func:`base_to_json` output."""
    tables = [
        Table(
            id=t["id"],
            name=t["name"],
            description=t.get("description"),
            primary_field_id=t["primaryFieldId"],
            fields=[
                Field(
                    id=f["id"],
                    name=f["name"],
                    type=f["type"],
                    options=f.get("options"),
                    description=f.get("description"),
                )
                for f in t["fields"]
            ],
            views=[
                View(
                    id=v["id"],
                    name=v["name"],
                    type=v.get("type", "grid"),
                    filter_formula=v.get("filter"),
                    sort=[(s[0], s[1]) for s in v.get("sort", [])],
                    visible_field_ids=v.get("visibleFieldIds"),
                )
                for v in t["views"]
            ],
        )
        for t in data["tables"]
    ]
    return Base(
        id=data["id"],
        name=data["name"],
        tables=tables,
        workspace_id=data.get("workspaceId", DEFAULT_WORKSPACE_ID),
        created_time=data.get("createdTime", DEFAULT_CREATED_TIME),
    )


def is_empty(value: Any) -> bool:
    """Whether a cell value counts as empty ("", [], false or null); 0 is not empty."""
    return value is None or value is False or value == "" or value == []


def clone_schema(base: Base) -> Base:
    """Copy a base's schema (tables, fields, views) sharing the record dicts.

    Schema changes are made on the copy and swapped in only when they all succeed.
    """
    tables = [
        Table(
            id=t.id,
            name=t.name,
            primary_field_id=t.primary_field_id,
            fields=[copy.deepcopy(f) for f in t.fields],
            views=[copy.deepcopy(v) for v in t.views],
            description=t.description,
            records=t.records,
            next_auto_number=t.next_auto_number,
        )
        for t in base.tables
    ]
    return Base(
        id=base.id,
        name=base.name,
        tables=tables,
        permission_level=base.permission_level,
        workspace_id=base.workspace_id,
        created_time=base.created_time,
    )
