"""Number and array functions."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.formula import ErrorValue, FieldInfo, RecordContext, compile_formula

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIELDS = (
    FieldInfo("fldNums", "Nums", "multipleLookupValues", "number"),
    FieldInfo("fldTags", "Tags", "multipleSelects"),
    FieldInfo("fldNum", "Num", "number"),
)


def evaluate(text: str, **values: Any) -> Any:
    record = RecordContext("recA", T0, T0, {f"fld{key}": value for key, value in values.items()})
    return compile_formula(text, FIELDS).evaluate(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ABS(-2.5)", 2.5),
        ("ROUND(2.5, 0)", 3),
        ("ROUND(-2.5, 0)", -2),
        ("ROUND(2.675, 2)", 2.68),
        ("ROUND(1234.5678, -2)", 1200),
        ("ROUND(1.005, 2)", 1.01),
        ("ROUND(7)", 7),
        ("ROUNDUP(1.21, 1)", 1.3),
        ("ROUNDUP(-1.21, 1)", -1.3),
        ("ROUNDDOWN(1.29, 1)", 1.2),
        ("ROUNDDOWN(-1.29, 1)", -1.2),
        ("INT(2.7)", 2),
        ("INT(-2.2)", -3),
        ("MOD(7, 3)", 1),
        ("MOD(-7, 3)", -1),
        ("MOD(7.5, 2)", 1.5),
        ("MIN(3, 1, 2)", 1),
        ("MAX(3, 1, 2)", 3),
        ("MAX(BLANK(), 'x')", 0),
        ("SUM(1, 2, 3.5)", 6.5),
        ("SUM('2', 3)", 5),
        ("SUM(0.1, 0.2)", 0.30000000000000004),
        ("AVERAGE(1, 2, 3, 4)", 2.5),
        ("COUNT(1, 'a', 2, BLANK(), TRUE())", 2),
        ("COUNTA(1, 'a', '', BLANK(), 0)", 3),
        ("COUNTALL(1, BLANK(), '')", 3),
        ("CEILING(2.1)", 3),
        ("CEILING(7, 5)", 10),
        ("FLOOR(2.9)", 2),
        ("FLOOR(7, 5)", 5),
        ("SQRT(16)", 4),
        ("POWER(2, 10)", 1024),
        ("EXP(0)", 1),
        ("LOG(1000)", pytest.approx(3)),
        ("LOG(8, 2)", pytest.approx(3)),
        ("EVEN(1.5)", 2),
        ("EVEN(3)", 4),
        ("ODD(1.5)", 3),
        ("ODD(2)", 3),
        ("ODD(-2)", -3),
        ("POWER(10, 400)", math.inf),
    ],
)
def test_number_functions(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_number_functions__open_multi_value_cells() -> None:
    assert evaluate("SUM({Nums})", Nums=[1, 2, 3]) == 6
    assert evaluate("MAX({Nums}, 10)", Nums=[1, 20]) == 20
    assert evaluate("AVERAGE({Nums})", Nums=[2, 4]) == 3
    assert evaluate("COUNT({Nums})", Nums=[2, None, 4]) == 2
    assert evaluate("COUNTA({Tags})", Tags=["a", "b"]) == 2


def test_min_max__compare_dates_when_there_are_no_numbers() -> None:
    latest = evaluate("MAX(DATETIME_PARSE('2024-01-02'), DATETIME_PARSE('2024-03-04'))")

    assert latest == datetime(2024, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["MOD(1, 0)", "AVERAGE(BLANK())", "ABS('x')", "1 / {Num}", "ROUND('x', 1)"]
)
def test_number_functions__fail_as_error_values(text: str) -> None:
    result = evaluate(text)

    assert isinstance(result, ErrorValue) or (isinstance(result, float) and math.isnan(result))


def test_sqrt__of_a_negative_number_is_nan() -> None:
    assert math.isnan(evaluate("SQRT(-1)"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ARRAYJOIN({Tags})", "a, b, a"),
        ("ARRAYJOIN({Tags}, ' | ')", "a | b | a"),
        ("ARRAYJOIN({Nums}, ';')", "1;2.5;"),
        ("ARRAYUNIQUE({Tags})", ["a", "b"]),
        ("ARRAYCOMPACT({Nums})", [1, 2.5]),
        ("ARRAYFLATTEN({Tags})", ["a", "b", "a"]),
        ("ARRAYSLICE({Tags}, 2)", ["b", "a"]),
        ("ARRAYSLICE({Tags}, 1, 2)", ["a", "b"]),
        ("ARRAYSLICE({Tags}, -2)", ["b", "a"]),
        ("ARRAYJOIN('single')", "single"),
        ("ARRAYJOIN(BLANK())", ""),
    ],
)
def test_array_functions(text: str, expected: Any) -> None:
    assert evaluate(text, Tags=["a", "b", "a"], Nums=[1, None, 2.5, ""]) == expected
