"""Per-record expressions: + - * / over number fields, parsed, never executed."""

from __future__ import annotations

import pytest

from services.airtable.expressions import parse_expression
from services.errors import InvalidInputError
from tests.unit.airtable.schemas import TASKS


def test_expression__computes_per_record_and_skips_empty_operands() -> None:
    expr = parse_expression(TASKS, "({Estimate Hours} + 1) * -2 / {Overdue}")
    hours, overdue = TASKS.field("Estimate Hours").id, TASKS.field("Overdue").id
    assert [f.name for f in expr.fields] == ["Estimate Hours", "Overdue"]
    assert expr.value({hours: 3, overdue: 2}) == -4
    assert expr.value({hours: 3}) is None
    assert expr.value({hours: 3, overdue: 0}) is None  # divided by zero


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{Estimate Hours} ** 2", "Write the expression"),
        ("__import__('os')", "names no field"),
        ("{Estimate Hours}.real", "Write the expression"),
        ("max({Estimate Hours}, 1)", "Write the expression"),
        ("{Estimate Hours} + f9", "Write the expression"),
        ("{Name} * 2", "number fields only"),
        ("{Nope} * 2", "Nope"),
        ("{Estimate Hours} * True", "Write the expression"),
    ],
)
def test_expression__refuses_anything_but_arithmetic_on_number_fields(
    text: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_expression(TASKS, text)
