"""Text functions and the text side of logic functions."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.formula import ErrorValue, FieldInfo, RecordContext, compile_formula

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIELDS = (
    FieldInfo("fldText", "Text", "singleLineText"),
    FieldInfo("fldNum", "Num", "number"),
    FieldInfo("fldTags", "Tags", "multipleSelects"),
)


def evaluate(text: str, **values: Any) -> Any:
    record = RecordContext("recA", T0, T0, {f"fld{key}": value for key, value in values.items()})
    return compile_formula(text, FIELDS).evaluate(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FIND('b', 'abcb')", 2),
        ("FIND('z', 'abc')", 0),
        ("FIND('B', 'abc')", 0),
        ("FIND('b', 'abcb', 2)", 4),
        ("FIND('a', BLANK())", 0),
        ("SEARCH('B', 'abcb')", 2),
        ("SEARCH('b', 'abcb', 2)", 4),
        ("SEARCH('z', 'abc')", None),
        ("LOWER('AbC')", "abc"),
        ("UPPER('AbC')", "ABC"),
        ("LEN('héllo')", 5),
        ("LEN(BLANK())", 0),
        ("LEN(12.5)", 4),
        ("TRIM('  a b  ')", "a b"),
        ("LEFT('abcdef', 2)", "ab"),
        ("LEFT('ab', 5)", "ab"),
        ("LEFT('ab', -1)", ""),
        ("RIGHT('abcdef', 2)", "ef"),
        ("RIGHT('abcdef', 0)", ""),
        ("MID('abcdef', 2, 3)", "bcd"),
        ("MID('abcdef', 5, 10)", "ef"),
        ("SUBSTITUTE('a-b-c', '-', '+')", "a+b+c"),
        ("SUBSTITUTE('a-b-c', '-', '+', 2)", "a-b+c"),
        ("SUBSTITUTE('a-b-c', '-', '+', 3)", "a-b-c"),
        ("SUBSTITUTE('abc', '', 'x')", "abc"),
        ("REPLACE('abcdef', 2, 3, 'XY')", "aXYef"),
        ("REPLACE('abc', 10, 1, 'Z')", "abcZ"),
        ("CONCATENATE('a', 1, TRUE(), BLANK(), 'b')", "a11b"),
        ("T('text')", "text"),
        ("T(12)", None),
        ("VALUE('42')", 42),
        ("VALUE(' -3.5 ')", -3.5),
        ("VALUE('$1,000')", 1000),
        ("VALUE('50%')", 0.5),
        ("VALUE(7)", 7),
        ("REPT('ab', 3)", "ababab"),
        ("REPT('ab', 0)", ""),
        ("ENCODE_URL_COMPONENT('a b&c/d?é')", "a%20b%26c%2Fd%3F%C3%A9"),
        ('ENCODE_URL_COMPONENT("-_.!~*\'()")', "-_.!~*'()"),
        ("REGEX_MATCH('abc123', '[0-9]+')", True),
        ("REGEX_MATCH('abc', '^b')", False),
        ("REGEX_EXTRACT('abc123def', '[0-9]+')", "123"),
        ("REGEX_REPLACE('a1b22', '[0-9]+', '#')", "a#b#"),
        ("REGEX_REPLACE('John Smith', '(\\\\w+) (\\\\w+)', '$2, $1')", "Smith, John"),
        ("REGEX_REPLACE('ab', 'a', '$$&$&')", "$&ab"),
    ],
)
def test_text_functions(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_text_functions__read_multi_value_cells_as_joined_text() -> None:
    assert evaluate("LOWER({Tags})", Tags=["A", "B"]) == "a, b"
    assert evaluate("CONCATENATE({Tags}, '!')", Tags=["A", "B"]) == "A, B!"
    assert evaluate("T({Tags})", Tags=["A", "B"]) == "A, B"


@pytest.mark.parametrize(
    "text",
    [
        "REGEX_EXTRACT('abc', '[0-9]')",
        "REGEX_REPLACE('abc', '(', 'x')",
        "LEFT('abc', 'many')",
        "REPT('abc', 10000000)",
    ],
)
def test_text_functions__fail_as_error_values(text: str) -> None:
    assert isinstance(evaluate(text), ErrorValue)


def test_value__of_non_numbers_is_nan() -> None:
    assert math.isnan(evaluate("VALUE('abc')"))
    assert evaluate("ISERROR(VALUE('abc'))") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AND(1, 'x', TRUE())", True),
        ("AND(1, 0)", False),
        ("AND({Tags})", True),
        ("OR(0, '', BLANK())", False),
        ("OR(0, 2)", True),
        ("XOR(1, 1)", False),
        ("XOR(1, 1, 1)", True),
        ("NOT(0)", True),
        ("NOT('x')", False),
        ("IF({Num} > 2, 'big', 'small')", "big"),
        ("IF(0, 'yes')", None),
        ("IF('', 1, 2)", 2),
        ("SWITCH({Text}, 'a', 1, 'b', 2, 0)", 2),
        ("SWITCH({Text}, 'a', 1, 'c', 3)", None),
        ("SWITCH({Text}, 'x', 1, 'default')", "default"),
        ("SWITCH({Num}, 3, 'three', 'other')", "three"),
        ("SWITCH(BLANK(), BLANK(), 'empty', 'full')", "empty"),
        ("ISERROR(1)", False),
        ("ISERROR(ERROR())", True),
        ("BLANK()", None),
        ("TRUE()", True),
        ("FALSE()", False),
    ],
)
def test_logic_functions(text: str, expected: Any) -> None:
    assert evaluate(text, Num=3, Text="b", Tags=["x"]) == expected


def test_if__evaluates_only_the_chosen_branch() -> None:
    assert evaluate("IF(1, 'ok', 1/0)") == "ok"
    assert evaluate("IF(0, 1/0, 'ok')") == "ok"
    assert evaluate("SWITCH(1, 1, 'ok', 2, ERROR())") == "ok"
