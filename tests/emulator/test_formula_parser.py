"""Parsing and compiling formulas: syntax, precedence, literals, field references, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.formula import (
    FieldInfo,
    FormulaError,
    RecordContext,
    UnknownFieldError,
    compile_formula,
)
from emulator.formula.parser import MAX_NESTING

INVALID = (
    "The formula for filtering records is invalid: Invalid formula. Please check your formula text."
)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIELDS = (
    FieldInfo("fldName0000000001", "Name", "singleLineText"),
    FieldInfo("fldHours000000001", "Hours", "number"),
    FieldInfo("fldQuote000000001", 'Guest\'s "Name"', "singleLineText"),
    FieldInfo("fldBrace000000001", "a}b", "singleLineText"),
    FieldInfo("fldSlash000000001", "back\\slash", "singleLineText"),
    FieldInfo("fldTrail000000001", "ends\\", "singleLineText"),
    FieldInfo("fldUni0000000001", "Città ✓ 名前", "singleLineText"),
)


def evaluate(text: str, values: dict[str, Any] | None = None) -> Any:
    record = RecordContext("recA", T0, T0, values or {})
    return compile_formula(text, FIELDS).evaluate(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("12 / 3 / 2", 2),
        ("-2 * -3", 6),
        ("- (1 + 2)", -3),
        ("+5", 5),
        ("2 + 3 = 5", True),
        ("'a' & 'b' = 'ab'", True),
        ("1 + 1 & 'x'", "2x"),
        ("'n' & 2 * 3", "n6"),
        ("1 < 2 = TRUE()", True),
        ("4/19", 4 / 19),
        ("2e3", 2000),
        (".5 + 1.", 1.5),
        ("  1\n+\t2  ", 3),
    ],
)
def test_operators__follow_spreadsheet_precedence(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'line\nbreak\ttab'", "line\nbreak\ttab"),
        ("'{not a field}'", "{not a field}"),
        ("'ünïcødé ✓'", "ünïcødé ✓"),
        ("''", ""),
    ],
)
def test_string_literals__decode_escapes(text: str, expected: str) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "field_id"),
    [
        ("{Name}", "fldName0000000001"),
        ("{fldName0000000001}", "fldName0000000001"),
        ('{Guest\'s "Name"}', "fldQuote000000001"),
        (r"{a\}b}", "fldBrace000000001"),
        ("{back\\slash}", "fldSlash000000001"),
        ("{back\\\\slash}", "fldSlash000000001"),
        ("{ends\\}", "fldTrail000000001"),
        ("{ends\\\\}", "fldTrail000000001"),
        ("{Città ✓ 名前}", "fldUni0000000001"),
    ],
)
def test_field_references__resolve_pyairtable_and_canonical_spellings(
    text: str, field_id: str
) -> None:
    formula = compile_formula(text + " = 'v'", FIELDS)

    assert formula.referenced_field_ids == frozenset({field_id})
    assert formula.evaluate(RecordContext("recA", T0, T0, {field_id: "v"})) is True


def test_field_references__prefer_name_over_id() -> None:
    fields = (
        FieldInfo("fldAAAAAAAAAAAAAA", "fldBBBBBBBBBBBBBB", "singleLineText"),
        FieldInfo("fldBBBBBBBBBBBBBB", "Other", "singleLineText"),
    )

    formula = compile_formula("{fldBBBBBBBBBBBBBB}", fields)

    assert formula.referenced_field_ids == frozenset({"fldAAAAAAAAAAAAAA"})


def test_field_references__brace_inside_a_string_is_text() -> None:
    assert evaluate("'{Name}' & {Name}", {"fldName0000000001": "x"}) == "{Name}x"


def test_function_names__are_case_insensitive() -> None:
    assert evaluate("lower('AB') & Upper('cd') & len('abc')") == "abCD3"


def test_referenced_field_ids__list_every_field_read() -> None:
    formula = compile_formula("IF({Name}, {Hours}, {Name})", FIELDS)

    assert formula.referenced_field_ids == frozenset({"fldName0000000001", "fldHours000000001"})
    assert formula.text == "IF({Name}, {Hours}, {Name})"


def test_compile__caches_per_text_and_fields() -> None:
    assert compile_formula("{Hours} > 1", FIELDS) is compile_formula("{Hours} > 1", list(FIELDS))
    assert compile_formula("{Hours} > 1", FIELDS) is not compile_formula("{Hours} > 1", FIELDS[:2])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "AND(",
        "1 +",
        "{Name",
        "'unterminated",
        '"unterminated',
        "1 2",
        "()",
        "AND(1,,2)",
        "AND(1,)",
        "1 == 1",
        "1 <> 2",
        "%",
        "{Name} = 'a' )",
        "NOSUCHFUNCTION(1)",
        "NOT(1, 2)",
        "IF(1)",
        "TODAY(1)",
        "MID('abc', 1)",
        "(" * 1000 + "1" + ")" * 1000,
        "-" * 5000 + "1",
        "NOT(" * 200 + "1" + ")" * 200,
    ],
)
def test_compile__rejects_invalid_text_with_airtables_message(text: str) -> None:
    with pytest.raises(FormulaError) as caught:
        compile_formula(text, FIELDS)

    assert str(caught.value) == INVALID
    assert not isinstance(caught.value, UnknownFieldError)


def test_compile__accepts_nesting_up_to_the_limit() -> None:
    depth = MAX_NESTING // 2 - 1
    text = "NOT(" * depth + "0" + ")" * depth

    assert evaluate(text) is (depth % 2 == 1)


def test_compile__reads_huge_numbers_without_failing() -> None:
    assert evaluate("9" * 5000 + " > 1") is True
    assert evaluate("1e999 > 1") is True


def test_unknown_fields__are_named_as_written() -> None:
    with pytest.raises(UnknownFieldError) as caught:
        compile_formula("AND({Nope} = 1, {Also Nope} = 2, {Nope} = 3, {Name} = 'x')", FIELDS)

    assert caught.value.names == ["Nope", "Also Nope"]
    assert str(caught.value) == (
        "The formula for filtering records is invalid: Unknown field names: Nope, Also Nope"
    )


def test_unknown_fields__are_a_formula_error() -> None:
    with pytest.raises(FormulaError):
        compile_formula("{name} = 'x'", FIELDS)  # names are case-sensitive


def test_compile__rejects_non_text() -> None:
    with pytest.raises(FormulaError):
        compile_formula(None, FIELDS)  # type: ignore[arg-type]
