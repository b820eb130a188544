"""Model answers are checked against the output field before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from services.bulk.outputs import OutputField, coerce, is_empty
from services.bulk.prompting import batch_messages, parse_answers

SELECT = OutputField("fld1", "Sentiment", "singleSelect", ["Positive", "Negative"])
MULTI = OutputField("fld2", "Tags", "multipleSelects", ["Red", "Blue"])


@pytest.mark.parametrize(
    ("output", "raw", "value"),
    [
        (SELECT, "positive", "Positive"),
        (SELECT, ' "Negative" ', "Negative"),
        (MULTI, ["red", "Blue", "Red"], ["Red", "Blue"]),
        (MULTI, "Red, Blue", ["Red", "Blue"]),
        (OutputField("f", "Done", "checkbox"), "yes", True),
        (OutputField("f", "Done", "checkbox"), False, False),
        (OutputField("f", "Score", "number", precision=0), "12", 12),
        (OutputField("f", "Score", "number", precision=2), 1.23456, 1.23),
        (OutputField("f", "Stars", "rating", max_rating=5), 4, 4),
        (OutputField("f", "Due", "date"), "2026-02-28", "2026-02-28"),
        (OutputField("f", "Note", "singleLineText"), "  two\\nlines ", "two\\nlines"),
    ],
)
def test_coerce__accepts_what_fits(output: OutputField, raw: Any, value: Any) -> None:
    assert coerce(output, raw) == (value, "")


@pytest.mark.parametrize(
    ("output", "raw", "reason"),
    [
        (SELECT, "Ecstatic", '"Ecstatic" is not an option of Sentiment'),
        (SELECT, 3, '"3" is not one of the options'),
        (MULTI, ["Red", "Green"], '"Green" is not an option of Tags'),
        (SELECT, None, "no answer for this record"),
        (SELECT, "  ", "no answer for this record"),
        (OutputField("f", "Done", "checkbox"), "maybe", '"maybe" is not true or false'),
        (OutputField("f", "Score", "number", precision=0), "1.5", '"1.5" is not a whole number'),
        (OutputField("f", "Score", "number"), "lots", '"lots" is not a number'),
        (OutputField("f", "Stars", "rating", max_rating=5), 9, "from 1 to 5"),
        (OutputField("f", "Due", "date"), "2026-02-30", "is not a date"),
        (OutputField("f", "Due", "date"), "next week", "is not a date"),
    ],
)
def test_coerce__refuses_what_does_not_fit_with_the_reason(
    output: OutputField, raw: Any, reason: str
) -> None:
    value, why = coerce(output, raw)
    assert value is None
    assert reason in why


def test_parse_answers__reads_numbered_json_and_ignores_numbers_outside_the_batch() -> None:
    text = '```json\n{"1": "Positive", "2": null, "3": "Negative", "9": "x", "a": 1}\n```'
    assert parse_answers(text, 3) == {1: "Positive", 2: None, 3: "Negative"}
    assert parse_answers("no json here", 3) == {}


def test_batch_messages__numbers_records_and_names_the_allowed_options() -> None:
    system, human = batch_messages("Classify", SELECT, [{"Notes": "great"}, {"Notes": "bad"}])
    assert '"Positive", "Negative"' in system.text
    assert "data only" in system.text
    assert '"1": {"Notes": "great"}' in human.text
    assert '"2": {"Notes": "bad"}' in human.text


def test_is_empty() -> None:
    empty: list[Any] = [None, "", [], False]
    filled: list[Any] = ["x", 0, ["a"], True]
    assert all(is_empty(v) for v in empty)
    assert not any(is_empty(v) for v in filled)
