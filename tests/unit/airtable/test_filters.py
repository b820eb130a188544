"""Structured filters become formulas built by pyairtable.formulas, escaped, typed per field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.formula import FieldInfo, RecordContext, compile_formula, is_truthy
from services.airtable.filters import Condition, build_formula
from services.errors import InvalidInputError
from tests.unit.airtable.schemas import TASKS


def formula(*conditions: Condition, match: str = "all") -> str | None:
    return build_formula(TASKS, conditions, match)  # type: ignore[arg-type]


def c(field: str, op: str, value: object = None, **extra: object) -> Condition:
    return Condition(field=field, op=op, value=value, **extra)  # type: ignore[arg-type]


def test_no_conditions__no_formula() -> None:
    assert formula() is None


def test_select_equals__uses_the_options_exact_name() -> None:
    assert formula(c("status", "equals", "in progress")) == "{Status}='In Progress'"


def test_text_equals_and_contains__ignore_case() -> None:
    assert formula(c("Name", "equals", "Ana")) == "LOWER({Name})='ana'"
    assert formula(c("Name", "contains", "QA")) == "FIND('qa', LOWER({Name}))>0"
    assert formula(c("Name", "not_contains", "x")) == "FIND('x', LOWER({Name}))=0"


def test_numbers__compare_only_non_empty_cells() -> None:
    assert formula(c("Estimate Hours", "gte", "1,000")) == (
        "AND(LEN(CONCATENATE({Estimate Hours}, ''))>0, {Estimate Hours}>=1000)"
    )
    assert formula(c("Estimate Hours", "between", 1, value_to=2.5)) == (
        "AND(LEN(CONCATENATE({Estimate Hours}, ''))>0, {Estimate Hours}>=1, {Estimate Hours}<=2.5)"
    )
    assert "{Progress}<0.5" in str(formula(c("Progress", "lt", "50%")))


def test_dates__count_whole_days() -> None:
    on = str(formula(c("Due Date", "on", "2026-05-01")))
    assert "NOT(IS_BEFORE({Due Date}, DATETIME_PARSE('2026-05-01')))" in on
    assert "IS_BEFORE({Due Date}, DATETIME_PARSE('2026-05-02'))" in on
    after = str(formula(c("Due Date", "after", "2026-05-31")))
    assert "NOT(IS_BEFORE({Due Date}, DATETIME_PARSE('2026-06-01')))" in after
    between = str(formula(c("Due Date", "between", "2026-01-01", value_to="2026-01-31")))
    assert "DATETIME_PARSE('2026-02-01')" in between


def test_checkbox_and_emptiness() -> None:
    assert formula(c("Done", "equals", False)) == "NOT({Done})"
    assert formula(c("Done", "equals", "yes")) == "{Done}"
    assert formula(c("Notes", "is_empty")) == "LEN(CONCATENATE({Notes}, ''))=0"
    assert formula(c("Done", "is_not_empty")) == "{Done}"


def test_multiple_values__match_whole_items() -> None:
    tags = str(formula(c("Tags", "equals", "qa")))
    assert tags == "FIND('|qa|', CONCATENATE('|', LOWER(ARRAYJOIN({Tags}, '|')), '|'))>0"
    project = str(formula(c("Project", "contains", "Web")))
    assert project == "FIND('web', LOWER(ARRAYJOIN({Project}, '|')))>0"


def test_any_and_all__combine_conditions() -> None:
    both = formula(c("Status", "equals", "Done"), c("Done", "equals", True))
    either = formula(c("Status", "equals", "Done"), c("Done", "equals", True), match="any")
    assert both == "AND({Status}='Done', {Done})"
    assert either == "OR({Status}='Done', {Done})"
    assert formula(c("Status", "is_none_of", values=["Done", "Todo"])) == (
        "NOT(OR({Status}='Done', {Status}='Todo'))"
    )


def test_field_names__are_escaped() -> None:
    assert formula(c("Odd {name}", "equals", "x")) == "LOWER({Odd {name\\}})='x'"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (c("Stauts", "equals", "Done"), 'Did you mean "Status"'),
        (c("Status", "equals", "Donee"), 'Did you mean "Done"'),
        (c("Name", "gt", "a"), "is text"),
        (c("Due Date", "on", "May 1st"), "YYYY-MM-DD"),
        (c("Estimate Hours", "equals", "lots"), "not a number"),
        (c("Done", "contains", True), "checkbox"),
        (c("Name", "equals"), "needs a value"),
        (c("Status", "is_any_of"), "values list"),
    ],
)
def test_bad_filters__are_refused_with_a_hint(condition: Condition, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        formula(condition)


def _matches(built: str, name: str) -> bool:
    fields = tuple(FieldInfo(f.id, f.name, f.type) for f in TASKS.fields)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    record = RecordContext("recA", moment, moment, {"fldName": name})
    return bool(is_truthy(compile_formula(built, fields).evaluate(record)))


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda s: s.strip()))
def test_any_text__is_only_ever_a_value_in_the_formula(text: str) -> None:
    # Quotes, braces, backslashes and formula syntax in model text stay one string value:
    # the formula matches exactly the records whose name contains that text.
    built = str(formula(c("Name", "contains", text)))
    assert _matches(built, f"<{text}>") is (text.strip().lower() in f"<{text}>".lower())
    assert _matches(built, "") is False
