"""The formula checker of formula help: fields and functions checked by parsing; values
previewed by the app's evaluator."""

from __future__ import annotations

import re
from datetime import date

import pytest

from services.schema_help.formula import (
    FormulaCheckError,
    NotPreviewedError,
    check_formula,
    preview,
    shown,
)

FIELDS = ["Name", "Due", "Hours", "Due Date"]


def test_check_formula__lists_fields_and_functions() -> None:
    checked = check_formula('IF({Hours} > 2, UPPER(Name), "") & {due date}', FIELDS)
    assert checked.fields == ["Hours", "Name", "Due Date"]
    assert checked.functions == ["IF", "UPPER"]


@pytest.mark.parametrize(
    ("formula", "error"),
    [
        ("{Deadline} + 1", 'reads the field "Deadline"'),
        ("DAYS_UNTIL({Due})", "DAYS_UNTIL() is not an Airtable formula function"),
        ("IF({Hours} > 2,", "does not parse"),
        ("   ", "empty"),
    ],
)
def test_check_formula__refuses_invalid_formulas(formula: str, error: str) -> None:
    with pytest.raises(FormulaCheckError, match=re.escape(error)):
        check_formula(formula, FIELDS)


def test_preview__days_until_due_negative_when_overdue() -> None:
    formula = 'DATETIME_DIFF({Due}, TODAY(), "days")'
    today = date(2026, 12, 7)
    assert shown(preview(formula, {"Due": "2026-12-10"}, today=today)) == "3"
    assert shown(preview(formula, {"Due": "2026-12-01"}, today=today)) == "-6"


def test_preview__text_logic_and_arithmetic() -> None:
    assert preview('IF({Hours} >= 2, "long", "short") & "!"', {"Hours": 2}) == "long!"
    assert shown(preview("ROUND({Hours} * 1.5, 1)", {"Hours": 3})) == "4.5"
    assert shown(preview("AND({Hours}, NOT(BLANK()))", {"Hours": 1})) == "1"


def test_preview__says_which_function_it_cannot_show() -> None:
    with pytest.raises(NotPreviewedError, match="REGEX_MATCH"):
        preview('REGEX_MATCH({Name}, "a")', {"Name": "abc"})
