"""Name lookups with suggestions, and checking values before they are proposed."""

from __future__ import annotations

from typing import Any

import pytest

from services.airtable.cells import (
    check_record_id,
    plain_text,
    restorable_value,
    same_value,
    writable_value,
)
from services.airtable.schema import FieldSchema
from services.errors import InvalidInputError
from tests.unit.airtable.schemas import BASE, TASKS


def test_lookups__accept_ids_exact_and_case_insensitive_names() -> None:
    assert BASE.table("tblTasks") is BASE.table("tasks")
    assert TASKS.field("fldHours").name == "Estimate Hours"
    assert TASKS.field(" due date ").id == "fldDue"


@pytest.mark.parametrize(
    ("wanted", "hint"),
    [("Estimate Hour", '"Estimate Hours"'), ("hours", '"Estimate Hours"'), ("Sttaus", '"Status"')],
)
def test_unknown_field__suggests_close_names(wanted: str, hint: str) -> None:
    with pytest.raises(InvalidInputError, match=f"Did you mean {hint}") as caught:
        TASKS.field(wanted)
    assert "Fields: Name, Status" in str(caught.value)


def test_unknown_table__lists_the_tables() -> None:
    with pytest.raises(InvalidInputError, match='Did you mean "Projects"'):
        BASE.table("Project")


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("Status", "done", "Done"),
        ("Tags", "qa", ["QA"]),
        ("Estimate Hours", "1,250.5", 1250.5),
        ("Progress", "40%", 0.4),
        ("Done", "yes", True),
        ("Due Date", "2026-05-01T10:00:00Z", "2026-05-01"),
        ("Project", "Website", ["Website"]),
        ("Notes", None, None),
        ("Name", 42, "42"),
    ],
)
def test_writable_value__normalises_what_fits(field: str, value: Any, stored: Any) -> None:
    assert writable_value(TASKS.field(field), value) == stored


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Overdue", 1, "computed"),
        ("Status", "Blocked", "not an option"),
        ("Estimate Hours", "many", "takes a number"),
        ("Due Date", "tomorrow", "YYYY-MM-DD"),
        ("Done", "maybe", "checkbox"),
        ("Name", {"a": 1}, "takes text"),
    ],
)
def test_writable_value__refuses_what_does_not(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        writable_value(TASKS.field(field), value)


def test_values__compare_empties_alike_and_attachments_by_id() -> None:
    assert same_value(None, [])
    assert same_value("", False)
    assert not same_value(0, None)
    first = [{"id": "att1", "url": "https://a/1?sig=x", "filename": "a.png"}]
    assert same_value(first, [{"id": "att1", "url": "https://a/1?sig=y", "filename": "a.png"}])


def test_restorable_value__turns_read_attachments_into_writable_ones() -> None:
    field = FieldSchema("fldP", "Photos", "multipleAttachments")
    read = [{"id": "att1", "url": "https://x/a.png", "filename": "a.png", "size": 3}]
    assert restorable_value(field, read) == [{"url": "https://x/a.png", "filename": "a.png"}]


def test_plain_text_and_record_ids() -> None:
    assert plain_text([1.0, 2.5, None, {"name": "Ana"}]) == "1, 2.5, Ana"
    assert check_record_id(" recAAAAAAAAAAAAAA ") == "recAAAAAAAAAAAAAA"
    with pytest.raises(InvalidInputError, match="not a record ID"):
        check_record_id("rec') OR TRUE() OR ('")
