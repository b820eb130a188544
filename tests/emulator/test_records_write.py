"""Creating, updating, upserting and deleting records, with validation and links."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from pyairtable.models.schema import MultipleSelectsFieldSchema, SingleSelectFieldSchema

from .bases import FreshBase, field_schema
from .http_errors import error_of, error_type


def test_create__returns_the_record_with_computed_fields(fresh_base: FreshBase) -> None:
    record = fresh_base.people.create({"Name": "Ada", "Age": 36, "Active": True})
    assert record["id"].startswith("rec")
    assert len(record["id"]) == 17
    fields = record["fields"]
    assert fields["Name"] == "Ada"
    assert fields["Age"] == 36
    assert fields["Active"] is True
    assert fields["Age Next Year"] == 37
    assert fields["No"] == 1
    assert fields["Created"] == record["createdTime"] == fields["Modified"]


def test_create__batch_of_ten_and_field_ids(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    name_id = fresh_base.field_id(people, "Name")
    created = people.batch_create([{name_id: f"P{i}"} for i in range(23)], use_field_ids=True)
    assert [r["fields"][name_id] for r in created] == [f"P{i}" for i in range(23)]
    assert [r["fields"]["Name"] for r in people.all()] == [f"P{i}" for i in range(23)]


def test_create__more_than_ten_is_rejected(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.api.request(
            "POST", fresh_base.people.urls.records, json={"records": [{"fields": {}}] * 11}
        )
    assert error_of(exc)[0] == 422
    assert error_type(exc) == "INVALID_RECORDS"
    assert fresh_base.people.all() == []


def test_create__body_without_fields_is_rejected(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.api.request("POST", fresh_base.people.urls.records, json={"typecast": True})
    assert error_type(exc) == "INVALID_REQUEST_MISSING_FIELDS"


def test_create__unknown_field_is_rejected(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.people.create({"Nmae": "x"})
    assert error_of(exc) == (
        422,
        {"error": {"type": "UNKNOWN_FIELD_NAME", "message": 'Unknown field name: "Nmae"'}},
    )


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"Age": "forty"}, "Age"),
        ({"Name": 12}, "Name"),
        ({"Active": "yes"}, "Active"),
        ({"Birthday": "05/09/2022"}, "Birthday"),
        ({"Tags": "a"}, "Tags"),
        ({"Stars": 9}, "Stars"),
        ({"Photos": [{"filename": "x.png"}]}, "Photos"),
        ({"Team": ["rec00000000000000"]}, "Team"),
    ],
)
def test_create__bad_values_are_rejected(
    fresh_base: FreshBase, fields: dict[str, Any], field_name: str
) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.people.create(fields)
    status, body = error_of(exc)
    assert status == 422
    assert body["error"]["type"] == "INVALID_VALUE_FOR_COLUMN"
    assert body["error"]["message"].startswith(f'Field "{field_name}" cannot accept')


def test_create__computed_fields_cannot_be_written(fresh_base: FreshBase) -> None:
    for name in ("Age Next Year", "No", "Created", "Modified"):
        with pytest.raises(requests.HTTPError) as exc:
            fresh_base.people.create({name: 1})
        assert error_of(exc) == (
            422,
            {
                "error": {
                    "type": "INVALID_VALUE_FOR_COLUMN",
                    "message": f'Field "{name}" cannot accept a value because the field is '
                    "computed",
                }
            },
        )


def test_create__unknown_select_option_needs_typecast(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.people.create({"Status": "Retired"})
    assert error_of(exc) == (
        422,
        {
            "error": {
                "type": "INVALID_MULTIPLE_CHOICE_OPTIONS",
                "message": 'Insufficient permissions to create new select option ""Retired""',
            }
        },
    )
    record = fresh_base.people.create({"Status": "Retired", "Tags": ["a", "z"]}, typecast=True)
    assert record["fields"]["Status"] == "Retired"
    schema = fresh_base.people.schema(force=True)
    status = field_schema(schema, "Status", SingleSelectFieldSchema)
    assert "Retired" in [c.name for c in status.options.choices]
    tags = field_schema(schema, "Tags", MultipleSelectsFieldSchema)
    assert "z" in [c.name for c in tags.options.choices]


def test_create__typecast_converts_strings(fresh_base: FreshBase) -> None:
    record = fresh_base.people.create(
        {
            "Age": "42",
            "Salary": "$1,250.50",
            "Active": "true",
            "Birthday": "9/5/2022",
            "Seen": "2024-03-01T10:30:00+02:00",
            "Tags": "a, b",
            "Name": 7,
            "Team": "Platform",
        },
        typecast=True,
    )
    fields = record["fields"]
    assert fields["Age"] == 42
    assert fields["Salary"] == 1250.5
    assert fields["Active"] is True
    assert fields["Birthday"] == "2022-09-05"
    assert fields["Seen"] == "2024-03-01T08:30:00.000Z"
    assert fields["Tags"] == ["a", "b"]
    assert fields["Name"] == "7"
    team = fresh_base.teams.get(fields["Team"][0])
    assert team["fields"]["Name"] == "Platform"
    again = fresh_base.people.create({"Team": ["Platform"]}, typecast=True)
    assert again["fields"]["Team"] == fields["Team"]


def test_create__attachments_get_ids_and_metadata(fresh_base: FreshBase) -> None:
    uploads: list[Any] = [
        {"url": "https://example.com/a/cat.png"},
        {"url": "https://example.com/b", "filename": "dog.jpg"},
    ]
    record = fresh_base.people.create({"Photos": uploads})
    photos = record["fields"]["Photos"]
    assert [p["filename"] for p in photos] == ["cat.png", "dog.jpg"]
    assert all(p["id"].startswith("att") for p in photos)
    assert [p["type"] for p in photos] == ["image/png", "image/jpeg"]
    keep: list[Any] = [{"id": photos[1]["id"]}]
    kept = fresh_base.people.update(record["id"], {"Photos": keep})
    assert kept["fields"]["Photos"] == [photos[1]]


def test_update__patch_merges_and_put_clears(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    record = people.create({"Name": "Bo", "Age": 20, "Notes": "hi"})
    patched = people.update(record["id"], {"Age": 21})
    assert patched["fields"]["Name"] == "Bo"
    assert patched["fields"]["Age"] == 21
    assert patched["fields"]["Notes"] == "hi"
    replaced = people.update(record["id"], {"Age": 22}, replace=True)
    assert replaced["fields"]["Age"] == 22
    assert "Name" not in replaced["fields"]
    assert "Notes" not in replaced["fields"]
    assert replaced["fields"]["No"] == patched["fields"]["No"]
    cleared = people.update(record["id"], {"Age": None})
    assert "Age" not in cleared["fields"]
    assert "Age Next Year" in cleared["fields"]


def test_update__zero_is_kept_but_false_is_empty(fresh_base: FreshBase) -> None:
    record = fresh_base.people.create({"Age": 0, "Active": False, "Notes": ""})
    assert record["fields"]["Age"] == 0
    assert "Active" not in record["fields"]
    assert "Notes" not in record["fields"]


def test_update__batch_with_unknown_id_changes_nothing(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    record = people.create({"Name": "Cy"})
    with pytest.raises(requests.HTTPError) as exc:
        people.batch_update(
            [
                {"id": record["id"], "fields": {"Name": "Changed"}},
                {"id": "rec00000000000000", "fields": {"Name": "X"}},
            ]
        )
    assert error_of(exc) == (
        422,
        {
            "error": {
                "type": "ROW_DOES_NOT_EXIST",
                "message": "Record ID rec00000000000000 does not exist in this table",
            }
        },
    )
    assert people.get(record["id"])["fields"]["Name"] == "Cy"


def test_update__batch_put_replaces_each_record(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    a, b = people.batch_create([{"Name": "A", "Age": 1}, {"Name": "B", "Age": 2}])
    updated = people.batch_update(
        [{"id": a["id"], "fields": {"Age": 10}}, {"id": b["id"], "fields": {"Name": "BB"}}],
        replace=True,
    )
    assert updated[0]["fields"].get("Name") is None
    assert updated[0]["fields"]["Age"] == 10
    assert updated[1]["fields"]["Name"] == "BB"
    assert "Age" not in updated[1]["fields"]


def test_update__missing_record_is_bare_404(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.people.update("rec00000000000000", {"Name": "x"})
    assert error_of(exc) == (404, {"error": "NOT_FOUND"})


def test_update__last_modified_time_moves(fresh_base: FreshBase) -> None:
    record = fresh_base.people.create({"Name": "Dee"})
    updated = fresh_base.people.update(record["id"], {"Name": "Dee 2"})
    assert updated["fields"]["Modified"] >= record["fields"]["Modified"]
    assert updated["fields"]["Created"] == record["fields"]["Created"]


def test_upsert__creates_and_updates_by_merge_fields(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    existing = people.create({"Email": "a@example.com", "Name": "Old"})
    result = people.batch_upsert(
        [
            {"fields": {"Email": "a@example.com", "Name": "New"}},
            {"fields": {"Email": "b@example.com", "Name": "Bee"}},
        ],
        key_fields=["Email"],
    )
    assert result["updatedRecords"] == [existing["id"]]
    assert len(result["createdRecords"]) == 1
    assert [r["fields"]["Name"] for r in result["records"]] == ["New", "Bee"]
    assert len(people.all()) == 2


def test_upsert__several_matches_fail_the_whole_request(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.batch_create([{"Email": "dup@example.com"}, {"Email": "dup@example.com"}])
    with pytest.raises(requests.HTTPError) as exc:
        people.batch_upsert(
            [{"fields": {"Email": "new@example.com"}}, {"fields": {"Email": "dup@example.com"}}],
            key_fields=["Email"],
        )
    assert error_of(exc)[0] == 422
    assert len(people.all()) == 2


def test_upsert__put_replaces_matched_records(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create({"Email": "c@example.com", "Name": "Cee", "Age": 5})
    result = people.batch_upsert(
        [{"fields": {"Email": "c@example.com", "Age": 6}}], key_fields=["Email"], replace=True
    )
    fields = result["records"][0]["fields"]
    assert fields["Age"] == 6
    assert fields["Email"] == "c@example.com"
    assert "Name" not in fields


def test_delete__single_and_batch(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    records = people.batch_create([{"Name": str(i)} for i in range(12)])
    assert people.delete(records[0]["id"]) == {"deleted": True, "id": records[0]["id"]}
    deleted = people.batch_delete([r["id"] for r in records[1:]])
    assert [d["id"] for d in deleted] == [r["id"] for r in records[1:]]
    assert people.all() == []


def test_delete__unknown_id_in_batch_is_404_with_message(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    record = people.create({"Name": "keep"})
    with pytest.raises(requests.HTTPError) as exc:
        people.batch_delete([record["id"], "rec00000000000000"])
    assert error_of(exc) == (
        404,
        {
            "error": {
                "type": "NOT_FOUND",
                "message": 'Could not find a record with ID "rec00000000000000".',
            }
        },
    )
    assert people.get(record["id"])["id"] == record["id"]
    with pytest.raises(requests.HTTPError) as exc:
        people.delete("rec00000000000000")
    assert error_of(exc) == (404, {"error": "NOT_FOUND"})


def test_links__are_two_way_and_feed_rollups(fresh_base: FreshBase) -> None:
    people, teams = fresh_base.people, fresh_base.teams
    team = teams.create({"Name": "Core"})
    a = people.create({"Name": "A", "Age": 30, "Team": [team["id"]]})
    b = people.create({"Name": "B", "Age": 12, "Team": [team["id"]]})
    fields = teams.get(team["id"])["fields"]
    assert fields["People"] == [a["id"], b["id"]]
    assert fields["Member Count"] == 2
    assert fields["Total Age"] == 42
    assert fields["Member Ages"] == [30, 12]
    people.update(a["id"], {"Team": []})
    fields = teams.get(team["id"])["fields"]
    assert fields["People"] == [b["id"]]
    assert fields["Total Age"] == 12
    teams.update(team["id"], {"People": [a["id"]]})
    assert people.get(a["id"])["fields"]["Team"] == [team["id"]]
    assert "Team" not in people.get(b["id"])["fields"]
    people.delete(a["id"])
    fields = teams.get(team["id"])["fields"]
    assert "People" not in fields
    assert fields["Member Count"] == 0


def test_links__formula_sees_primary_names(fresh_base: FreshBase) -> None:
    team = fresh_base.teams.create({"Name": "Search"})
    fresh_base.people.create({"Name": "E", "Team": [team["id"]]})
    found = fresh_base.people.all(formula="{Team} = 'Search'")
    assert [r["fields"]["Name"] for r in found] == ["E"]


def test_writes__concurrent_clients_do_not_lose_records(fresh_base: FreshBase) -> None:
    people = fresh_base.people

    def create_many(worker: int) -> list[str]:
        return [
            r["id"] for r in people.batch_create([{"Name": f"{worker}-{i}"} for i in range(20)])
        ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        created = [rec_id for ids in pool.map(create_many, range(4)) for rec_id in ids]
    records = people.all(fields=["No"])
    assert len(records) == len(created) == 80
    assert sorted(r["fields"]["No"] for r in records) == list(range(1, 81))
