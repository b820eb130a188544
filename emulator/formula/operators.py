"""The infix operators: comparison, ``&`` and arithmetic, compiled to closures.

The closures check for the common case (same plain type on both sides) before
falling back to the general coercion, because a filter runs them for every record.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .compare import OPERATORS, Comparator, compare
from .model import RecordContext
from .nodes import Node, fold
from .values import ERROR, ErrorValue, to_number, to_text

Arithmetic = Callable[[Any, Any], Any]
_PLAIN_NUMBERS: frozenset[Any] = frozenset({int, float, bool})
# Classes whose Python comparison already is Airtable's when both sides share one.
_SAME_CLASS_FAST = frozenset({str, int, float})


def comparison(symbol: str, left: Node, right: Node) -> Node:
    """Compile ``left <symbol> right`` for one of ``= != < > <= >=``."""
    op = OPERATORS[symbol]
    if right.is_constant and not left.is_constant:
        return _compare_with_constant(op, left, right.const)
    left_run, right_run = left.run, right.run

    def run(ctx: RecordContext) -> Any:
        a = left_run(ctx)
        b = right_run(ctx)
        if a.__class__ is b.__class__ and a.__class__ in _SAME_CLASS_FAST:
            return op(a, b)
        return compare(op, a, b)

    return fold(Node(run), [left, right])


def _compare_with_constant(op: Comparator, left: Node, value: Any) -> Node:
    # Specialised for `{Field} = 'text'` and `{Field} >= 3`: the shapes filters use.
    fast_classes: frozenset[type] = frozenset()
    if value.__class__ is str and value != "":
        fast_classes = frozenset({str})
    elif value.__class__ in (int, float):
        fast_classes = frozenset({int, float})
    field_id, left_run = left.field_id, left.run
    if field_id is not None:

        def run(ctx: RecordContext) -> Any:
            a = ctx.values.get(field_id)
            if a.__class__ in fast_classes:
                return op(a, value)
            return compare(op, a, value)

    else:

        def run(ctx: RecordContext) -> Any:
            a = left_run(ctx)
            if a.__class__ in fast_classes:
                return op(a, value)
            return compare(op, a, value)

    return Node(run)


def concat(operands: list[Node]) -> Node:
    """Compile ``a & b & ...``: the operands as text, joined."""
    runs = [operand.run for operand in operands]

    def run(ctx: RecordContext) -> Any:
        parts = []
        for part_run in runs:
            value = part_run(ctx)
            if value.__class__ is ErrorValue:
                return value
            parts.append(value if value.__class__ is str else to_text(value))
        return "".join(parts)

    return fold(Node(run), operands)


def _number_pair(a: Any, b: Any) -> tuple[Any, Any] | ErrorValue:
    a = to_number(a)
    if a.__class__ is ErrorValue:
        return a
    b = to_number(b)
    if b.__class__ is ErrorValue:
        return b
    return a, b


def add_date(a: Any, b: Any) -> Any:
    """``a + b`` where one side is typed as a date: a number, NaN (errors still spread).

    Airtable types ``{Date} + "x"`` as a number and answers NaN, whether the date is
    set or blank; dates move with DATEADD, not ``+``.
    """
    for value in (a, b):
        if value.__class__ is ErrorValue:
            return value
    return math.nan


def add(a: Any, b: Any) -> Any:
    """``a + b``; text on either side joins as text, as JavaScript's ``+`` does.

    Blank reads as 0 next to a number and as "" next to text; a date on either side
    gives NaN (:func:`add_date`).
    """
    if a.__class__ in _PLAIN_NUMBERS and b.__class__ in _PLAIN_NUMBERS:
        return a + b
    if isinstance(a, datetime) or isinstance(b, datetime):
        return add_date(a, b)
    for value in (a, b):
        if value.__class__ is ErrorValue:
            return value
    if a.__class__ is str or b.__class__ is str:
        return to_text(a) + to_text(b)
    pair = _number_pair(a, b)
    return pair if pair.__class__ is ErrorValue else pair[0] + pair[1]  # type: ignore[index]


def _numeric(op: Arithmetic, guard_zero: bool = False) -> Arithmetic:
    def apply(a: Any, b: Any) -> Any:
        pair = _number_pair(a, b)
        if pair.__class__ is ErrorValue:
            return pair
        left, right = pair  # type: ignore[misc]
        if guard_zero and right == 0:
            return ERROR
        return op(left, right)

    return apply


ARITHMETIC: dict[str, Arithmetic] = {
    "+": add,
    "-": _numeric(operator.sub),
    "*": _numeric(operator.mul),
    "/": _numeric(operator.truediv, guard_zero=True),
}


def arithmetic(first: Node, rest: list[tuple[str, Node]]) -> Node:
    """Compile a left-to-right chain such as ``a + b - c`` or ``a * b / c``.

    ``+`` next to an operand typed as a date (even a blank one) is :func:`add_date`.
    """
    first_run = first.run
    steps = []
    for index, (symbol, node) in enumerate(rest):
        apply = ARITHMETIC[symbol]
        if symbol == "+" and (node.is_date or (index == 0 and first.is_date)):
            apply = add_date
        steps.append((apply, node.run))
    if len(steps) == 1:
        (apply, second_run) = steps[0]

        def run(ctx: RecordContext) -> Any:
            return apply(first_run(ctx), second_run(ctx))

    else:

        def run(ctx: RecordContext) -> Any:
            total = first_run(ctx)
            for step, step_run in steps:
                total = step(total, step_run(ctx))
            return total

    return fold(Node(run), [first, *(node for _, node in rest)])


def signed(symbol: str, operand: Node) -> Node:
    """Compile unary ``-x`` or ``+x``."""
    operand_run = operand.run
    negate = symbol == "-"

    def run(ctx: RecordContext) -> Any:
        number = to_number(operand_run(ctx))
        if number.__class__ is ErrorValue or not negate:
            return number
        return -number

    return fold(Node(run), [operand])
