"""Compiled formula pieces: closures over the record, plus what is known at compile time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .model import RecordContext
from .values import ERROR

Runner = Callable[[RecordContext], Any]


class _NotConstant:
    """Marks a node whose value depends on the record."""

    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT: Any = _NotConstant()

# Constant folding runs closures that never read the record; this stands in for one.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FOLD_CONTEXT = RecordContext(
    record_id="", created_time=_EPOCH, last_modified_time=_EPOCH, values={}, now=_EPOCH
)


@dataclass(frozen=True, slots=True)
class Node:
    """One compiled expression.

    Attributes:
        run: computes the value for a record.
        const: the value when it does not depend on the record, else ``NOT_CONSTANT``.
        field_id: set when ``run`` only reads this field's raw cell, so operators
            can read the cell inline instead of calling ``run``.
        is_date: the expression's type is a date even when a value is blank (a date
            field or a date function), which decides what ``+`` does.
    """

    run: Runner
    const: Any = NOT_CONSTANT
    field_id: str | None = None
    is_date: bool = False

    @property
    def is_constant(self) -> bool:
        """Whether the value is known at compile time."""
        return self.const is not NOT_CONSTANT


def constant(value: Any) -> Node:
    """A node that always yields ``value``."""

    def run(ctx: RecordContext) -> Any:
        return value

    return Node(run, const=value)


def fold(node: Node, operands: list[Node]) -> Node:
    """Replace a node by its value when every operand is constant.

    Only for nodes that do not read the record themselves; operands that do are
    never constant, so the check covers them.
    """
    if not all(operand.is_constant for operand in operands):
        return node
    try:
        return constant(node.run(FOLD_CONTEXT))
    except Exception:
        return constant(ERROR)
