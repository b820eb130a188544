"""The Meta API: whoami, bases, table schemas, creating tables and fields."""

import pytest
import requests
from pyairtable import Api
from pyairtable.models.schema import (
    CountFieldSchema,
    FormulaFieldSchema,
    MultipleRecordLinksFieldSchema,
    RollupFieldSchema,
    SingleSelectFieldSchema,
)

from .bases import WORKSPACE, FreshBase, field_schema
from .http_errors import error_of, error_type

DEMO_BASES = {
    "appDemoSalesCRM00": ("Sales CRM", ["Companies", "Contacts", "Deals"]),
    "appDemoProjects00": ("Project Tracker", ["Projects", "Tasks"]),
    "appDemoInventory0": ("Inventory", ["Suppliers", "Products", "Orders"]),
}


def test_whoami__returns_a_user_id(demo_api: Api) -> None:
    assert demo_api.whoami()["id"].startswith("usr")


def test_bases__lists_the_demo_bases(demo_api: Api) -> None:
    bases = {b.id: b for b in demo_api.bases()}
    assert set(DEMO_BASES) <= set(bases)
    for base_id, (name, tables) in DEMO_BASES.items():
        assert bases[base_id].name == name
        assert bases[base_id].permission_level == "create"
        assert [t.name for t in bases[base_id].tables()] == tables


def test_schema__tables_fields_and_views_parse_in_pyairtable(demo_api: Api) -> None:
    schema = demo_api.base("appDemoProjects00").schema()
    tasks = schema.table("Tasks")
    assert tasks.primary_field_id == tasks.fields[0].id
    status = field_schema(tasks, "Status", SingleSelectFieldSchema)
    assert [c.name for c in status.options.choices] == [
        "Todo",
        "In Progress",
        "Blocked",
        "Done",
    ]
    link = field_schema(tasks, "Project", MultipleRecordLinksFieldSchema)
    assert field_schema(tasks, "Overdue", FormulaFieldSchema).options.is_valid
    projects = schema.table("Projects")
    field_schema(projects, "Total Hours", RollupFieldSchema)
    field_schema(projects, "Task Count", CountFieldSchema)
    assert link.options.linked_table_id == projects.id
    assert link.options.inverse_link_field_id == projects.field("Tasks").id
    grid = tasks.view("Grid view")
    assert grid.type == "grid"
    assert grid.visible_field_ids == [f.id for f in tasks.fields]
    assert {v.name for v in tasks.views} >= {"Grid view", "Open tasks", "Overdue"}


def test_create_base__returns_tables_and_appears_in_list(api: Api) -> None:
    base = api.create_base(
        WORKSPACE,
        "Hiring",
        [
            {
                "name": "Candidates",
                "description": "People we talk to",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {
                        "name": "Stage",
                        "type": "singleSelect",
                        "options": {"choices": [{"name": "Applied"}, {"name": "Hired"}]},
                    },
                ],
            },
        ],
    )
    assert base.id.startswith("app")
    assert base.name == "Hiring"
    table = base.schema().table("Candidates")
    assert table.description == "People we talk to"
    assert [v.name for v in table.views] == ["Grid view"]
    assert base.id in [b.id for b in api.bases(force=True)]


def test_create_base__rejects_bad_definitions(api: Api) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        api.create_base(
            WORKSPACE, "Bad", [{"name": "T", "fields": [{"name": "X", "type": "nope"}]}]
        )
    assert error_of(exc)[0] == 422
    with pytest.raises(requests.HTTPError) as exc:
        api.create_base(WORKSPACE, "Bad", [{"name": "T", "fields": []}])
    assert error_of(exc)[0] == 422


def test_create_table__gets_a_grid_view_and_unique_name(fresh_base: FreshBase) -> None:
    base = fresh_base.api.base(fresh_base.id)
    table = base.create_table(
        "Rooms",
        [
            {"name": "Name", "type": "singleLineText"},
            {"name": "Seats", "type": "number", "options": {"precision": 0}},
        ],
    )
    schema = table.schema()
    assert [v.name for v in schema.views] == ["Grid view"]
    assert [f.name for f in schema.fields] == ["Name", "Seats"]
    with pytest.raises(requests.HTTPError) as exc:
        base.create_table("rooms", [{"name": "Name", "type": "singleLineText"}])
    assert error_type(exc) == "DUPLICATE_TABLE_NAME"


def test_create_field__link_makes_an_inverse_field(fresh_base: FreshBase) -> None:
    teams = fresh_base.teams.schema(force=True)
    people = fresh_base.people.schema(force=True)
    link = field_schema(people, "Team", MultipleRecordLinksFieldSchema)
    inverse = field_schema(teams, "People", MultipleRecordLinksFieldSchema)
    assert link.options.inverse_link_field_id == inverse.id
    assert inverse.options.linked_table_id == people.id
    assert inverse.options.inverse_link_field_id == link.id


def test_update_field__renames_and_keeps_formulas_working(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    field = people.schema().field("Age")
    field.name = "Years"
    field.description = "Age in whole years"
    field.save()
    record = people.create({"Years": 40})
    assert record["fields"]["Age Next Year"] == 41
    schema = people.schema(force=True)
    assert schema.field("Years").description == "Age in whole years"
    formula = field_schema(schema, "Age Next Year", FormulaFieldSchema)
    assert "{Years}" in formula.options.formula


def test_update_field__only_name_description_options(fresh_base: FreshBase) -> None:
    url = fresh_base.people.urls.fields / fresh_base.field_id(fresh_base.people, "Age")
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.api.request("PATCH", url, json={"type": "singleLineText"})
    assert error_of(exc)[0] == 422
    updated = fresh_base.api.request(
        "PATCH", url, json={"options": {"precision": 2}, "description": "d"}
    )
    assert updated["options"] == {"precision": 2}
    assert updated["description"] == "d"


def test_update_field__select_choices_can_be_added(fresh_base: FreshBase) -> None:
    url = fresh_base.people.urls.fields / fresh_base.field_id(fresh_base.people, "Status")
    schema = fresh_base.people.schema(force=True)
    current = field_schema(schema, "Status", SingleSelectFieldSchema).options.choices
    choices = [{"id": c.id, "name": c.name} for c in current] + [{"name": "On leave"}]
    updated = fresh_base.api.request("PATCH", url, json={"options": {"choices": choices}})
    assert [c["name"] for c in updated["options"]["choices"]] == ["Active", "Inactive", "On leave"]
    assert updated["options"]["choices"][0]["id"] == current[0].id
    assert fresh_base.people.create({"Status": "On leave"})["fields"]["Status"] == "On leave"


def test_create_field__duplicate_name_is_rejected(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.people.create_field("name", "singleLineText")
    assert error_type(exc) == "DUPLICATE_FIELD_NAME"


def test_update_table__renames_and_describes(fresh_base: FreshBase) -> None:
    schema = fresh_base.teams.schema(force=True)
    schema.name = "Squads"
    schema.description = "Small teams"
    schema.save()
    renamed = fresh_base.api.base(fresh_base.id).schema(force=True).table(schema.id)
    assert (renamed.name, renamed.description) == ("Squads", "Small teams")
    assert fresh_base.api.table(fresh_base.id, "Squads").all() == []


def test_table__name_with_slash_and_spaces_is_url_decoded(fresh_base: FreshBase) -> None:
    base = fresh_base.api.base(fresh_base.id)
    base.create_table("Plans/2026 Q1", [{"name": "Goal", "type": "singleLineText"}])
    table = fresh_base.api.table(fresh_base.id, "Plans/2026 Q1")
    table.create({"Goal": "Ship"})
    assert [r["fields"] for r in table.all()] == [{"Goal": "Ship"}]
