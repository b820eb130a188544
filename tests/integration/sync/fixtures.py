"""A base with an Items table on the session emulator, a SQL target table, and an admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import Role, User
from services.sync.types import FieldMapping, JobSpec
from tests.support.accounts import make_user
from tests.support.emulated import services_on

ITEM_FIELDS = [
    {"name": "Name", "type": "singleLineText"},
    {"name": "Qty", "type": "number", "options": {"precision": 1}},
    {"name": "Due", "type": "date", "options": {"dateFormat": {"name": "iso"}}},
    {
        "name": "When",
        "type": "dateTime",
        "options": {
            "dateFormat": {"name": "iso"},
            "timeFormat": {"name": "24hour"},
            "timeZone": "utc",
        },
    },
    {"name": "Done", "type": "checkbox", "options": {"icon": "check", "color": "greenBright"}},
    {
        "name": "Status",
        "type": "singleSelect",
        "options": {"choices": [{"name": "Todo"}, {"name": "Done"}]},
    },
    {
        "name": "Tags",
        "type": "multipleSelects",
        "options": {"choices": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
    },
]


@dataclass
class Items:
    """The Airtable side: a fresh base's Items table, read and written straight."""

    api: Api
    base_id: str
    table_id: str
    fields: dict[str, str]  # name -> field ID
    base_name: str = ""

    @property
    def table(self) -> Any:
        return self.api.table(self.base_id, self.table_id)

    def rows(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r["fields"] for r in self.table.all()}


def make_items(server: EmulatorServer, count: int) -> Items:
    api = Api(DEV_TOKEN, endpoint_url=server.url, retry_strategy=None)
    name = f"Sync {uuid.uuid4().hex[:8]}"
    base = api.create_base("wspSyncTests", name, [{"name": "Items", "fields": ITEM_FIELDS}])
    schema = base.schema().table("Items")
    items = Items(api, base.id, schema.id, {f.name: f.id for f in schema.fields}, name)
    rows = [
        {
            "Name": f"Item {i:02d}",
            "Qty": i * 1.5,
            "Due": f"2026-03-{i % 28 + 1:02d}",
            "When": f"2026-03-01T{i % 24:02d}:30:00.000Z",
            "Done": i % 2 == 0,
            "Status": "Todo" if i % 2 else "Done",
            "Tags": ["a", "b"] if i % 3 == 0 else ["c"],
        }
        for i in range(count)
    ]
    if rows:
        items.table.batch_create(rows)
    return items


def make_target(engine: sa.Engine, name: str, *, updated_at: bool) -> sa.Table:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("airtable_id", sa.String(20), unique=True),
        sa.Column("name", sa.Text),
        sa.Column("qty", sa.Text),
        sa.Column("due", sa.Date),
        sa.Column("happened", sa.DateTime(timezone=True)),
        sa.Column("done", sa.Boolean),
        sa.Column("status", sa.String(20)),
        sa.Column("tags", sa.Text),
        *([sa.Column("updated_at", sa.DateTime)] if updated_at else []),
    )
    table.create(engine)
    return table


def item_spec(items: Items, table: str, **overrides: Any) -> JobSpec:
    f = items.fields
    mappings = (
        FieldMapping(f["Name"], "name", "text"),
        FieldMapping(f["Qty"], "qty", "number"),
        FieldMapping(f["Due"], "due", "date"),
        FieldMapping(f["When"], "happened", "datetime"),
        FieldMapping(f["Done"], "done", "checkbox"),
        FieldMapping(f["Status"], "status", "select"),
        FieldMapping(f["Tags"], "tags", "multiselect"),
    )
    values: dict[str, Any] = {
        "name": "Items",
        "base_id": items.base_id,
        "table_id": items.table_id,
        "sql_table": table,
        "sql_key_column": "id",
        "mappings": mappings,
        "policy": "manual",
        "delete_rule": "propagate",
        "every_seconds": 60,
        "sql_url": "",
        **overrides,
    }
    return JobSpec(**values)


def make_linked_tasks(emulator: EmulatorServer) -> tuple[Api, str, dict[str, str], dict[str, str]]:
    """People (two of them called Bob) and 30 Tasks linked to them."""
    api = Api(DEV_TOKEN, endpoint_url=emulator.url, retry_strategy=None)
    base = api.create_base(
        "wspSyncTests",
        f"Links {uuid.uuid4().hex[:8]}",
        [
            {"name": "People", "fields": [{"name": "Name", "type": "singleLineText"}]},
            {
                "name": "Tasks",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {
                        "name": "Owners",
                        "type": "multipleRecordLinks",
                        "options": {"linkedTableId": "People"},
                    },
                    {"name": "Qty", "type": "number", "options": {"precision": 0}},
                ],
            },
        ],
    )
    people = api.table(base.id, "People").batch_create(
        [{"Name": n} for n in ("Alice", "Bob", "Bob", "Carla")]
    )
    alice, bob, _bob2, carla = (p["id"] for p in people)
    api.table(base.id, "Tasks").batch_create(
        [
            {
                "Name": f"Task {i:02d}",
                "Owners": [alice, carla] if i % 2 else [bob],
                "Qty": i,
            }
            for i in range(30)
        ]
    )
    schema = base.schema().table("Tasks")
    fields = {f.name: f.id for f in schema.fields}
    return api, base.id, {"Tasks": schema.id, "alice": alice, "carla": carla}, fields


def linked_tasks_spec(base_id: str, table_id: str, fields: dict[str, str], url: str) -> JobSpec:
    return JobSpec(
        name="Tasks by owner name",
        base_id=base_id,
        table_id=table_id,
        sql_table="tasks",
        sql_key_column="id",
        mappings=(
            FieldMapping(fields["Name"], "name", "text"),
            FieldMapping(fields["Owners"], "owners", "link_names"),
            FieldMapping(fields["Qty"], "qty", "number"),
        ),
        policy="manual",
        every_seconds=60,
        sql_url=url,
    )


@pytest.fixture
def sync_services(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    """Services on the session emulator (`services` empties the SQL tables afterwards)."""
    with services_on(settings, emulator.url, sync_full_scan_every_runs=1) as built:
        yield built


@pytest.fixture
def admin(sync_services: Services) -> User:
    return make_user(sync_services, role=Role.ADMIN, name="Admin")


def linked_tasks_table(url: str) -> tuple[sa.Engine, sa.Table]:
    """The SQL side of `make_linked_tasks`: tasks with their owners' names, at `url`."""
    engine = sa.create_engine(url)
    table = sa.Table(
        "tasks",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("airtable_id", sa.String(20), unique=True),
        sa.Column("name", sa.Text),
        sa.Column("owners", sa.Text),
        sa.Column("qty", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )
    table.create(engine)
    return engine, table
