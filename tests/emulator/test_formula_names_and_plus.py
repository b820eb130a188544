"""Bare single-word field names and the ``+`` rules with dates, text and blanks (over HTTP)."""

import pytest
import requests
from pyairtable.api.types import RecordDict
from pyairtable.models.schema import FormulaFieldSchema

from .bases import FreshBase, field_schema
from .http_errors import error_of


def _names(records: list[RecordDict]) -> list[str]:
    return sorted(str(r["fields"].get("Name", "")) for r in records)


@pytest.fixture
def people(fresh_base: FreshBase) -> FreshBase:
    fresh_base.people.batch_create(
        [
            {"Name": "Ada", "Age": 36, "Notes": "x"},
            {"Name": "Bo", "Age": 20},
            {"Name": "Cy", "Birthday": "2001-02-03"},
        ]
    )
    return fresh_base


def test_filter__bare_single_word_names_read_the_field(people: FreshBase) -> None:
    table = people.people
    assert _names(table.all(formula="Age = 36")) == ["Ada"]
    assert _names(table.all(formula="Notes != 'x'")) == ["Bo", "Cy"]
    assert _names(table.all(formula="AND(Age > 10, Name != 'Ada')")) == ["Bo"]
    assert _names(table.all(formula="Age * 2 >= 40")) == ["Ada", "Bo"]
    # a bare name that is also a function name is the field when not called
    assert _names(table.all(formula="LEN(Name) = 2")) == ["Bo", "Cy"]


def test_filter__bare_unknown_name_is_an_unknown_field(people: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        people.people.all(formula="Nobody = 1")
    status, body = error_of(exc)
    assert status == 422
    assert body["error"]["type"] == "INVALID_FILTER_BY_FORMULA"
    assert "Unknown field names: Nobody" in body["error"]["message"]


def test_filter__names_with_spaces_still_need_braces(people: FreshBase) -> None:
    table = people.people
    assert _names(table.all(formula="{Age Next Year} = 37")) == ["Ada"]
    with pytest.raises(requests.HTTPError) as exc:
        table.all(formula="Age Next Year = 37")
    assert error_of(exc)[0] == 422


def test_formula_field__bare_names_are_references(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field("Greeting", "formula", options={"formula": "'Hi ' & Name"})
    record = people.create({"Name": "Ada"})
    assert record["fields"]["Greeting"] == "Hi Ada"
    schema = field_schema(people.schema(force=True), "Greeting", FormulaFieldSchema)
    assert schema.options.referenced_field_ids == [fresh_base.field_id(people, "Name")]


def test_plus__date_and_text_is_nan_typed_as_number(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field("Date Plus", "formula", options={"formula": '{Birthday} + "FOO"'})
    schema = field_schema(people.schema(force=True), "Date Plus", FormulaFieldSchema)
    assert schema.options.result is not None
    assert schema.options.result.type == "number"
    blank = people.create({"Name": "blank date"})
    dated = people.create({"Name": "dated", "Birthday": "2020-05-06"})
    assert blank["fields"]["Date Plus"] == {"specialValue": "NaN"}
    assert dated["fields"]["Date Plus"] == {"specialValue": "NaN"}
    assert people.all(formula='{Birthday} + "FOO"') == []  # NaN keeps no record


def test_plus__text_joins_and_blank_adds_nothing(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field("Plus Text", "formula", options={"formula": "Name + '!'"})
    people.create_field("Plus Blank", "formula", options={"formula": "Age + BLANK()"})
    people.create_field("Blank Plus Text", "formula", options={"formula": "Notes + 'z'"})
    record = people.create({"Name": "Ada", "Age": 5})
    fields = record["fields"]
    assert fields["Plus Text"] == "Ada!"
    assert fields["Plus Blank"] == 5
    assert fields["Blank Plus Text"] == "z"
    assert fields["Age Next Year"] == 6
    assert people.create({})["fields"]["Age Next Year"] == 1  # blank + 1 = 1


def test_plus__a_date_function_on_either_side_is_nan(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field("Now Plus", "formula", options={"formula": "1 + NOW()"})
    people.create_field(
        "Parsed Plus", "formula", options={"formula": "DATETIME_PARSE('2024-01-01') + 'x'"}
    )
    fields = people.create({"Name": "Ada"})["fields"]
    assert fields["Now Plus"] == {"specialValue": "NaN"}
    assert fields["Parsed Plus"] == {"specialValue": "NaN"}


def test_table_names__resolve_ignoring_case(fresh_base: FreshBase) -> None:
    api = fresh_base.api
    shouted = api.table(fresh_base.id, "PEOPLE")
    created = shouted.create({"Name": "Ada"})
    assert api.table(fresh_base.id, "people").get(created["id"]) == created
    assert [r["id"] for r in fresh_base.people.all()] == [created["id"]]
    with pytest.raises(requests.HTTPError) as exc:
        api.table(fresh_base.id, "Peoples").all()
    status, body = error_of(exc)
    assert status == 404
    assert body["error"]["type"] == "TABLE_NOT_FOUND"
