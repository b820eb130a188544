"""Evaluation rules: blanks, coercions in comparisons, multi-value cells, errors, truthiness."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.formula import (
    ErrorValue,
    FieldInfo,
    RecordContext,
    compile_formula,
    is_truthy,
    to_cell_value,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIELDS = (
    FieldInfo("fldText", "Text", "singleLineText"),
    FieldInfo("fldEmail", "Email", "email"),
    FieldInfo("fldNum", "Num", "number"),
    FieldInfo("fldDone", "Done", "checkbox"),
    FieldInfo("fldDue", "Due", "date"),
    FieldInfo("fldAt", "At", "dateTime"),
    FieldInfo("fldTags", "Tags", "multipleSelects"),
    FieldInfo("fldLinks", "Links", "multipleRecordLinks"),
    FieldInfo("fldFiles", "Files", "multipleAttachments"),
    FieldInfo("fldOwner", "Owner", "singleCollaborator"),
    FieldInfo("fldCode", "Code", "barcode"),
    FieldInfo("fldLookupNums", "Lookup Nums", "multipleLookupValues", "number"),
    FieldInfo("fldLookupDates", "Lookup Dates", "multipleLookupValues", "date"),
    FieldInfo("fldCalc", "Calc", "formula", "number"),
    FieldInfo("fldCalcDate", "Calc Date", "formula", "dateTime"),
    FieldInfo("fldRoll", "Roll", "rollup", "number"),
)


def evaluate(text: str, **values: Any) -> Any:
    record = RecordContext("recA", T0, T0, {f"fld{key}": value for key, value in values.items()})
    return compile_formula(text, FIELDS).evaluate(record)


@pytest.mark.parametrize(
    "text",
    [
        "BLANK() = 0",
        "BLANK() = ''",
        "BLANK() = BLANK()",
        "{Num} = 0",
        "{Num} = BLANK()",
        "{Text} = ''",
        "{Text} = BLANK()",
        "{Due} = BLANK()",
        "{Tags} = BLANK()",
        "{Tags} = ''",
        "{Done} = 0",
        "{Done} = FALSE()",
        "{Num} < 1",
        "{Num} >= -1",
    ],
)
def test_blank_cells__equal_zero_and_empty_text(text: str) -> None:
    assert evaluate(text) is True


def test_not_blank__is_true_only_for_filled_cells() -> None:
    assert evaluate("{Email} != BLANK()", Email="a@b.co") is True
    assert evaluate("{Email} != BLANK()") is False
    assert evaluate("{Due} != BLANK()", Due="2024-01-01") is True
    assert evaluate("{Due} = BLANK()", Due="2024-01-01") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{Text} = 'Done'", True),
        ("{Text} = 'done'", False),
        ("{Text} != 'done'", True),
        ("{Text} < 'Zebra'", True),
        ("{Text} > 'Apple'", True),
        ("'Done' = {Text}", True),
    ],
)
def test_text_comparison__is_case_sensitive(text: str, expected: bool) -> None:
    assert evaluate(text, Text="Done") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{Num} = '5'", True),
        ("{Num} = ' 5.0 '", True),
        ("{Num} < '10'", True),
        ("'10' > {Num}", True),
        ("{Num} = 'five'", False),
        ("{Num} != 'five'", True),
        ("{Text} = 5", True),
        ("{Text} & '' = '5'", True),
    ],
)
def test_numbers_and_numeric_text__compare_as_numbers(text: str, expected: bool) -> None:
    assert evaluate(text, Num=5, Text="5") is expected


def test_booleans__act_as_one_and_zero() -> None:
    assert evaluate("TRUE() = 1") is True
    assert evaluate("FALSE() = 0") is True
    assert evaluate("TRUE() + TRUE()") == 2
    assert evaluate("{Done} + 1", Done=True) == 2
    assert evaluate("{Done} + 1") == 1
    assert evaluate("{Done} = TRUE()", Done=True) is True
    assert evaluate("{Done} & ''", Done=True) == "1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{Due} < '2024-04-01'", True),
        ("{Due} > '2024-04-01'", False),
        ("{Due} = '2024-03-01'", True),
        ("{Due} = DATETIME_PARSE('2024-03-01')", True),
        ("{Due} < {At}", True),
        ("{At} = '2024-03-02T10:30:00.000Z'", True),
        ("{At} > '2024-03-02'", True),
        ("'2024-03-02' < {At}", True),
        ("{Due} = 'not a date'", False),
        ("{Due} = 20240301", False),
        ("{Due} != 20240301", True),
    ],
)
def test_dates__compare_with_dates_and_date_text(text: str, expected: bool) -> None:
    assert evaluate(text, Due="2024-03-01", At="2024-03-02T10:30:00.000Z") is expected


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("Tags", ["Red", "Blue"], "Red, Blue"),
        (
            "Links",
            ["recAAAAAAAAAAAAAA", "recBBBBBBBBBBBBBB"],
            "recAAAAAAAAAAAAAA, recBBBBBBBBBBBBBB",
        ),
        (
            "Files",
            [{"id": "att1", "url": "https://x/a.png", "filename": "a.png", "size": 1}],
            "a.png (https://x/a.png)",
        ),
        ("Owner", {"id": "usr1", "email": "ann@x.co", "name": "Ann"}, "Ann"),
        ("Code", {"text": "12345", "type": "upce"}, "12345"),
        ("LookupNums", [1, 2.5], "1, 2.5"),
        ("LookupDates", ["2024-01-02"], "2024-01-02"),
    ],
)
def test_cells__read_as_the_text_airtable_shows(field: str, value: Any, text: str) -> None:
    name = next(info.name for info in FIELDS if info.id == f"fld{field}")

    assert evaluate(f"{{{name}}} & ''", **{field: value}) == text
    assert evaluate(f"{{{name}}} = '{text}'", **{field: value}) is True
    assert evaluate(f"LEN({{{name}}})", **{field: value}) == len(text)


def test_multi_value_cells__search_as_joined_text() -> None:
    assert evaluate("FIND('Blue', {Tags}) > 0", Tags=["Red", "Blue"]) is True
    assert evaluate("SEARCH('blue', {Tags})", Tags=["Red", "Blue"]) == 6
    assert evaluate("{Tags} = 'Red'", Tags=["Red"]) is True
    assert evaluate("{Lookup Nums} = 5", LookupNums=[5]) is True
    assert evaluate("{Lookup Nums} * 2", LookupNums=[5]) == 10


def test_computed_cells__carry_their_errors_and_special_numbers() -> None:
    assert isinstance(evaluate("{Calc} + 1", Calc={"error": "#ERROR!"}), ErrorValue)
    assert evaluate("ISERROR({Calc})", Calc={"error": "#ERROR!"}) is True
    assert math.isnan(evaluate("{Calc}", Calc={"specialValue": "NaN"}))
    assert evaluate("{Roll} > 2", Roll=3) is True
    assert evaluate("YEAR({Calc Date})", CalcDate="2023-05-06T07:08:09.000Z") == 2023


@pytest.mark.parametrize(
    "text",
    [
        "1/0",
        "ERROR()",
        "ERROR() + 1",
        "'a' & ERROR()",
        "ERROR() = 1",
        "1 = ERROR()",
        "-ERROR()",
        "LEN(ERROR())",
        "AND(1, ERROR())",
        "SUM(1, ERROR())",
        "DATETIME_PARSE('not a date')",
        "DATEADD('garbage', 1, 'days')",
        "DATETIME_DIFF('2024-01-01', '2024-01-02', 'fortnights')",
        "YEAR(BLANK())",
        "REGEX_MATCH('a', '(')",
    ],
)
def test_errors__are_values_that_spread_and_are_falsy(text: str) -> None:
    result = evaluate(text)

    assert isinstance(result, ErrorValue)
    assert result.code == "#ERROR!"
    assert is_truthy(result) is False
    assert evaluate(f"ISERROR({text})") is True


def test_errors__in_an_if_condition_count_as_false() -> None:
    assert evaluate("IF(1/0, 'yes', 'no')") == "no"
    assert evaluate("IF(ISERROR(1/0), 'caught', 'no')") == "caught"


def test_arithmetic__coerces_text_like_javascript() -> None:
    assert evaluate("'3' * 2") == 6
    assert evaluate("'3' - 1") == 2
    assert evaluate("'3' + 1") == "31"
    assert evaluate("{Num} + {Num}") == 0
    assert math.isnan(evaluate("'abc' * 2"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, False),
        (0.0, False),
        (math.nan, False),
        ("", False),
        ([], False),
        ([None, ""], False),
        (None, False),
        (False, False),
        (ErrorValue(), False),
        (1, True),
        (-0.5, True),
        ("0", True),
        (["a"], True),
        (True, True),
        (T0, True),
    ],
)
def test_is_truthy__keeps_records_as_airtable_does(value: Any, expected: bool) -> None:
    assert is_truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "result_type", "expected"),
    [
        (3.0, "number", 3),
        (2.5, None, 2.5),
        (True, None, 1),
        (False, "number", 0),
        (True, "checkbox", True),
        (0, "checkbox", None),
        (None, "number", None),
        ("", "singleLineText", None),
        (12, "singleLineText", "12"),
        (["a", None, "b"], None, ["a", "b"]),
        ([], None, None),
        (ErrorValue(), "number", {"error": "#ERROR!"}),
        (math.nan, None, {"specialValue": "NaN"}),
        (math.inf, None, {"specialValue": "Infinity"}),
        (datetime(2024, 3, 4, 5, 6, 7, 891000, tzinfo=UTC), None, "2024-03-04T05:06:07.891Z"),
        (datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC), "date", "2024-03-04"),
    ],
)
def test_to_cell_value__gives_api_json(value: Any, result_type: str | None, expected: Any) -> None:
    assert to_cell_value(value, result_type) == expected


def test_to_cell_value__keeps_date_only_results_short() -> None:
    due = evaluate("{Due}", Due="2024-03-01")

    assert to_cell_value(due, None) == "2024-03-01"
    assert to_cell_value(due, "dateTime") == "2024-03-01T00:00:00.000Z"
    assert to_cell_value(evaluate("DATEADD({Due}, 1, 'days')", Due="2024-03-01"), None) == (
        "2024-03-02T00:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1 + 0.2 & ''", "0.30000000000000004"),
        ("1e21 & ''", "1e+21"),
        ("123456789012345678 & ''", "123456789012345680"),
        ("0.000001 & ''", "0.000001"),
        ("0.0000001 & ''", "1e-7"),
        ("-2.50 & ''", "-2.5"),
        ("1/3 & ''", "0.3333333333333333"),
    ],
)
def test_numbers__print_like_javascript(text: str, expected: str) -> None:
    assert evaluate(text) == expected


class _LazyValues(Mapping[str, Any]):
    """Computes cells on demand, as the server does for computed fields."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        if key != "fldNum":
            raise KeyError(key)
        return 2

    def __iter__(self) -> Iterator[str]:
        return iter(["fldNum"])

    def __len__(self) -> int:
        return 1


def test_evaluate__reads_only_the_cells_it_needs_from_a_lazy_mapping() -> None:
    values = _LazyValues()
    formula = compile_formula("IF({Num} > 1, 'big', {Text})", FIELDS)

    assert formula.evaluate(RecordContext("recA", T0, T0, values)) == "big"
    assert values.reads == ["fldNum"]
