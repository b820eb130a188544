"""Listing records: pages, offsets, fields, sort, views, formulas and cell formats."""

import time

import pytest
import requests
from pyairtable import Api, Table
from pyairtable.formulas import AND, EQ, GT, Field, match

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer

from .bases import FreshBase
from .http_errors import error_of, error_type

PROJECTS = "appDemoProjects00"


def test_all__pages_through_exactly_5000_tasks(tasks: Table) -> None:
    records = tasks.all()
    assert len(records) == 5000
    assert len({r["id"] for r in records}) == 5000
    created = [r["createdTime"] for r in records]
    assert created == sorted(created)  # creation order


def test_iterate__pages_hold_page_size_records(tasks: Table) -> None:
    pages = list(tasks.iterate(page_size=40, max_records=100))
    assert [len(p) for p in pages] == [40, 40, 20]


def test_list__empty_cells_are_left_out(tasks: Table) -> None:
    for record in tasks.all(max_records=200):
        assert set(record) >= {"id", "createdTime", "fields"}
        assert all(v is not False and v not in ("", [], None) for v in record["fields"].values())
        if not record["fields"].get("Done"):
            assert "Done" not in record["fields"]


def test_list__fields_limits_returned_fields(tasks: Table) -> None:
    records = tasks.all(fields=["Name", "Status"], max_records=5)
    assert all(set(r["fields"]) <= {"Name", "Status"} for r in records)


def test_list__returns_fields_by_id(demo_api: Api, tasks: Table) -> None:
    schema = tasks.schema()
    record = tasks.first(use_field_ids=True)
    assert record is not None
    assert set(record["fields"]) <= {f.id for f in schema.fields}
    assert schema.field("Name").id in record["fields"]


def test_list__sorts_by_several_fields(tasks: Table) -> None:
    records = tasks.all(sort=["Assignee", "-Estimate Hours"], fields=["Assignee", "Estimate Hours"])
    keys = [(r["fields"]["Assignee"], -r["fields"]["Estimate Hours"]) for r in records]
    assert keys == sorted(keys)


def test_list__sort_by_select_follows_option_order(tasks: Table) -> None:
    records = tasks.all(sort=["Priority"], fields=["Priority"])
    order = ["Low", "Medium", "High", "Urgent"]
    ranks = [order.index(r["fields"]["Priority"]) for r in records]
    assert ranks == sorted(ranks)


def test_list__filter_by_formula_from_pyairtable_builders(tasks: Table) -> None:
    formula = AND(EQ(Field("Assignee"), "Ana"), GT(Field("Estimate Hours"), 8))
    records = tasks.all(formula=formula)
    assert records
    assert all(r["fields"]["Assignee"] == "Ana" for r in records)
    assert all(r["fields"]["Estimate Hours"] > 8 for r in records)
    same = tasks.all(formula=match({"Assignee": "Ana"}))
    assert len(same) == sum(
        1 for r in tasks.all(fields=["Assignee"]) if r["fields"].get("Assignee") == "Ana"
    )


def test_list__formula_sees_computed_fields(tasks: Table) -> None:
    overdue = tasks.all(formula="{Overdue} = 1", fields=["Done", "Due Date", "Overdue"])
    assert overdue
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert all(not r["fields"].get("Done") and r["fields"]["Due Date"] < today for r in overdue)


def test_list__invalid_formula_is_422(tasks: Table) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        tasks.all(formula="AND({Status}='Done'")
    status, body = error_of(exc)
    assert status == 422
    assert body["error"]["type"] == "INVALID_FILTER_BY_FORMULA"
    assert body["error"]["message"].startswith("The formula for filtering records is invalid")


def test_list__unknown_field_in_formula_is_named(tasks: Table) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        tasks.all(formula="{Nope} = 1")
    status, body = error_of(exc)
    assert status == 422
    assert body["error"] == {
        "type": "INVALID_FILTER_BY_FORMULA",
        "message": "The formula for filtering records is invalid: Unknown field names: Nope",
    }


def test_list__view_filters_and_sorts(tasks: Table) -> None:
    records = tasks.all(view="Open tasks", fields=["Done", "Due Date"])
    assert records
    assert not any(r["fields"].get("Done") for r in records)
    dues = [r["fields"]["Due Date"] for r in records]
    assert dues == sorted(dues)
    by_id = tasks.all(view=tasks.schema().view("Open tasks").id, fields=["Done"])
    assert [r["id"] for r in by_id] == [r["id"] for r in records]


def test_list__sort_overrides_view_order(tasks: Table) -> None:
    records = tasks.all(view="Open tasks", sort=["-Due Date"], fields=["Due Date"])
    dues = [r["fields"]["Due Date"] for r in records]
    assert dues == sorted(dues, reverse=True)


def test_list__unknown_view_is_422(tasks: Table) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        tasks.first(view="No such view")
    assert error_of(exc) == (
        422,
        {"error": {"type": "VIEW_NAME_NOT_FOUND", "message": "View No such view not found"}},
    )


def test_list__unknown_field_in_fields_is_422(tasks: Table) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        tasks.first(fields=["Nope"])
    assert error_of(exc) == (
        422,
        {"error": {"type": "UNKNOWN_FIELD_NAME", "message": 'Unknown field name: "Nope"'}},
    )


@pytest.mark.parametrize("size", [-1, 101, "x"])
def test_list__page_size_out_of_range_is_422(tasks: Table, size: object) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        next(tasks.iterate(page_size=size))
    assert error_type(exc) == "INVALID_PAGE_SIZE_ARGUMENT"


def test_list__max_records_caps_the_total(tasks: Table) -> None:
    assert len(tasks.all(max_records=250)) == 250


def test_list__post_list_records_matches_get(demo: EmulatorServer, tasks: Table) -> None:
    headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
    url = f"{demo.url}/v0/{PROJECTS}/Tasks/listRecords"
    body = {
        "fields": ["Name", "Assignee"],
        "sort": [{"field": "Name", "direction": "desc"}],
        "filterByFormula": "{Assignee}='Ana'",
        "pageSize": 50,
        "returnFieldsByFieldId": False,
    }
    first = requests.post(url, json=body, headers=headers, timeout=10).json()
    assert len(first["records"]) == 50
    assert first["offset"]
    second = requests.post(
        url, json={**body, "offset": first["offset"]}, headers=headers, timeout=10
    ).json()
    expected = tasks.all(fields=["Name", "Assignee"], sort=["-Name"], formula="{Assignee}='Ana'")
    got = first["records"] + second["records"]
    assert [r["id"] for r in got] == [r["id"] for r in expected[:100]]


def test_list__long_formula_makes_pyairtable_switch_to_post(demo: EmulatorServer) -> None:
    api = Api(DEV_TOKEN, endpoint_url=demo.url, retry_strategy=None)
    table = api.table(PROJECTS, "Tasks")
    demo.app.state.emulator.stats.reset()
    names = " , ".join(f"RECORD_ID()='rec{i:014d}'" for i in range(460))
    records = table.all(formula=f"OR({names}, {{Assignee}}='Ana')", fields=["Assignee"])
    assert records
    assert all(r["fields"]["Assignee"] == "Ana" for r in records)
    routes = demo.app.state.emulator.stats.snapshot()["routes"]
    assert routes.get("POST /v0/{baseId}/{tableIdOrName}/listRecords", 0) >= 1


def test_offset__garbled_value_is_invalid(demo: EmulatorServer) -> None:
    url = f"{demo.url}/v0/{PROJECTS}/Tasks"
    headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
    response = requests.get(url, params={"offset": "garbage"}, headers=headers, timeout=10)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "INVALID_OFFSET_VALUE"


def test_offset__unknown_iterator_is_not_available(demo: EmulatorServer) -> None:
    url = f"{demo.url}/v0/{PROJECTS}/Tasks"
    headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
    offset = "itr00000000000000/rec00000000000000"
    response = requests.get(url, params={"offset": offset}, headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (
        422,
        {"error": {"type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}},
    )


def test_offset__expires_after_its_lifetime(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.batch_create([{"Name": f"P{i}"} for i in range(5)])
    pages = people.iterate(page_size=2)
    next(pages)
    time.sleep(1.3)  # the `server` fixture keeps iterators for 1 s
    with pytest.raises(requests.HTTPError) as exc:
        next(pages)
    assert error_type(exc) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"


def test_cell_format__string_needs_time_zone_and_locale(tasks: Table) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        tasks.first(cell_format="string")
    assert error_of(exc)[0] == 422
    record = tasks.first(
        cell_format="string", time_zone="Europe/Paris", user_locale="en-gb", sort=["Name"]
    )
    assert record is not None
    assert all(isinstance(v, str) for v in record["fields"].values())
    assert isinstance(record["fields"]["Project"], str)
    assert not record["fields"]["Project"].startswith("rec")


def test_comment_count__is_reported_when_asked(tasks: Table) -> None:
    record = tasks.first(count_comments=True)
    assert record is not None
    assert record["commentCount"] == 0
    plain = tasks.first()
    assert plain is not None
    assert "commentCount" not in plain


def test_get__returns_one_record_with_computed_fields(demo_api: Api) -> None:
    projects = demo_api.table(PROJECTS, "Projects")
    project = projects.first(formula="{Name}='Website Redesign'")
    assert project is not None
    fetched = projects.get(project["id"])
    assert fetched == project
    tasks = demo_api.table(PROJECTS, "Tasks").all(
        formula="FIND('Website Redesign', {Project})", fields=["Estimate Hours"]
    )
    assert fetched["fields"]["Task Count"] == len(tasks)
    total = sum(t["fields"].get("Estimate Hours", 0) for t in tasks)
    assert fetched["fields"]["Total Hours"] == pytest.approx(total)


def test_get__missing_record_is_bare_404(tasks: Table) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        tasks.get("rec00000000000000")
    assert error_of(exc) == (404, {"error": "NOT_FOUND"})


def test_table__by_url_encoded_name_and_by_id(demo_api: Api, tasks: Table) -> None:
    by_id = demo_api.table(PROJECTS, tasks.schema().id)
    assert by_id.first() == tasks.first()
    with pytest.raises(requests.HTTPError) as exc:
        demo_api.table(PROJECTS, "Taskz").first()
    assert error_of(exc)[0] == 404


def test_cell_format__string_formats_money_lookups_and_dates(demo_api: Api) -> None:
    orders = demo_api.table("appDemoInventory0", "Orders")
    raw = orders.first(sort=["Order Number"])
    text = orders.first(
        sort=["Order Number"], cell_format="string", time_zone="UTC", user_locale="en-us"
    )
    assert raw is not None
    assert text is not None
    assert text["fields"]["Unit Price"] == f"${raw['fields']['Unit Price'][0]:,.2f}"
    assert text["fields"]["Order Date"] == raw["fields"]["Order Date"]
    assert text["fields"]["Quantity"] == str(raw["fields"]["Quantity"])
