"""A saved prompt run for each record: its variables become the record's fields."""

from __future__ import annotations

import pytest

from services.bulk.prompts import prompt_fill_request
from services.errors import InvalidInputError
from services.prompts.library import RunMode, VersionInfo
from services.prompts.variables import Variable, VariableType

VERSION = VersionInfo(
    prompt_id="p1",
    number=2,
    template="Rate the mood of {{ notes }} by {{who}} from 1 to 5.",
    variables=[Variable("notes", VariableType.LONG_TEXT), Variable("who", VariableType.TEXT)],
    mode=RunMode.TEXT,
    base_id="app1",
)


def test_prompt_fill_request__maps_variables_to_fields() -> None:
    request = prompt_fill_request(
        VERSION,
        base_id="app1",
        table="Contacts",
        field="Score",
        mapping={"notes": "Notes", "who": "Name"},
        view="Open",
    )
    assert (
        request.instruction
        == "Rate the mood of the record's Notes by the record's Name from 1 to 5."
    )
    assert request.sources == ["Notes", "Name"]
    assert request.view == "Open"
    assert not request.overwrite


def test_prompt_fill_request__a_variable_without_a_field_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="Choose a field for who"):
        prompt_fill_request(
            VERSION, base_id="app1", table="Contacts", field="Score", mapping={"notes": "Notes"}
        )
