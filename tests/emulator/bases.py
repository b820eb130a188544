"""A throw-away base for write tests: People linked to Teams, with computed fields."""

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from pyairtable import Api, Table
from pyairtable.models.schema import TableSchema

WORKSPACE = "wspEmulatorTests0"
F = TypeVar("F")


@dataclass
class FreshBase:
    """A base made for one test: People linked to Teams, with computed fields."""

    id: str
    people: Table
    teams: Table
    api: Api

    def field_id(self, table: Table, name: str) -> str:
        return table.schema(force=True).field(name).id


PEOPLE_FIELDS: list[dict[str, Any]] = [
    {"name": "Name", "type": "singleLineText"},
    {"name": "Email", "type": "email"},
    {"name": "Age", "type": "number", "options": {"precision": 0}},
    {"name": "Score", "type": "percent", "options": {"precision": 0}},
    {"name": "Salary", "type": "currency", "options": {"precision": 2, "symbol": "$"}},
    {"name": "Active", "type": "checkbox", "options": {"color": "greenBright", "icon": "check"}},
    {
        "name": "Status",
        "type": "singleSelect",
        "options": {"choices": [{"name": "Active"}, {"name": "Inactive"}]},
    },
    {
        "name": "Tags",
        "type": "multipleSelects",
        "options": {"choices": [{"name": "a"}, {"name": "b"}]},
    },
    {"name": "Birthday", "type": "date", "options": {"dateFormat": {"name": "iso"}}},
    {
        "name": "Seen",
        "type": "dateTime",
        "options": {
            "timeZone": "utc",
            "dateFormat": {"name": "iso"},
            "timeFormat": {"name": "24hour"},
        },
    },
    {"name": "Notes", "type": "multilineText"},
    {"name": "Stars", "type": "rating", "options": {"max": 5}},
    {"name": "Photos", "type": "multipleAttachments"},
]


def create_fresh_base(api: Api) -> FreshBase:
    """Create a new base through the Meta API, the way an app would."""
    base = api.create_base(
        WORKSPACE,
        f"Test {uuid.uuid4().hex[:8]}",
        [
            {"name": "Teams", "fields": [{"name": "Name", "type": "singleLineText"}]},
            {"name": "People", "fields": PEOPLE_FIELDS},
        ],
    )
    teams, people = base.table("Teams"), base.table("People")
    teams_id = teams.schema().id
    people.create_field("Team", "multipleRecordLinks", options={"linkedTableId": teams_id})
    people.create_field("Age Next Year", "formula", options={"formula": "{Age} + 1"})
    people.create_field("No", "autoNumber")
    people.create_field("Created", "createdTime")
    people.create_field("Modified", "lastModifiedTime")
    link_id = teams.schema(force=True).field("People").id
    age_id = people.schema(force=True).field("Age").id
    teams.create_field("Member Count", "count", options={"recordLinkFieldId": link_id})
    teams.create_field(
        "Total Age",
        "rollup",
        options={
            "recordLinkFieldId": link_id,
            "fieldIdInLinkedTable": age_id,
            "formula": "SUM(values)",
        },
    )
    teams.create_field(
        "Member Ages",
        "multipleLookupValues",
        options={"recordLinkFieldId": link_id, "fieldIdInLinkedTable": age_id},
    )
    return FreshBase(base.id, people, teams, api)


def field_schema(table: TableSchema, name: str, kind: type[F]) -> F:
    """The schema of one field, checked to be of the expected pyairtable class."""
    found = table.field(name)
    assert isinstance(found, kind), (name, type(found).__name__)
    return found
