"""A value computed per record from number fields, for aggregates: `{Stock} * {Unit Price}`.

Only `+ - * /`, parentheses, numbers and `{Field}` references: the text is parsed into a
tree of those nodes and evaluated in Python, never executed. A record whose operands are
empty (or that divides by zero) has no value and is left out of sums and averages.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.airtable.schema import NUMBER_TYPES, FieldSchema, TableSchema
from services.errors import InvalidInputError

MAX_CHARS = 300
_REFERENCE = re.compile(r"\{([^{}]+)\}")
_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression and the fields it reads."""

    text: str
    fields: list[FieldSchema]
    _tree: ast.expr

    def value(self, cells: Mapping[str, Any]) -> float | None:
        """The expression over one record's cells (by field ID), or None when it has none."""
        try:
            result = self._eval(self._tree, cells)
        except (ZeroDivisionError, _Missing):
            return None
        return result if math.isfinite(result) else None

    def _eval(self, node: ast.expr, cells: Mapping[str, Any]) -> float:
        if isinstance(node, ast.BinOp):
            apply = _OPERATORS[type(node.op)]
            return apply(self._eval(node.left, cells), self._eval(node.right, cells))
        if isinstance(node, ast.UnaryOp):
            return -self._eval(node.operand, cells)
        if isinstance(node, ast.Name):
            return _number(cells.get(self.fields[int(node.id[1:])].id))
        # `_check` let through only numbers past the cases above.
        value = node.value if isinstance(node, ast.Constant) else None
        return float(value) if isinstance(value, int | float) else math.nan


class _Missing(Exception):
    """An operand is empty."""


def parse_expression(table: TableSchema, text: str) -> Expression:
    """Parse `text` against `table`'s fields.

    Raises:
        InvalidInputError: unknown or non-number fields, or anything beyond + - * / ( ).
    """
    if len(text) > MAX_CHARS:
        raise InvalidInputError(f"The expression is longer than {MAX_CHARS} characters.")
    fields: list[FieldSchema] = []

    def placeholder(match: re.Match[str]) -> str:
        fld = table.field(match.group(1).strip())
        if not _numeric(fld):
            raise InvalidInputError(
                f"{fld.name} is {fld.type}; an expression uses number fields only."
            )
        if fld not in fields:
            fields.append(fld)
        return f" f{fields.index(fld)} "

    source = _REFERENCE.sub(placeholder, text)
    if not fields:
        raise InvalidInputError("The expression names no field; write fields as {Field Name}.")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        raise InvalidInputError(_HELP) from None
    _check(tree, len(fields))
    return Expression(" ".join(text.split()), fields, tree)


_HELP = "Write the expression with {Field} names, numbers, + - * / and parentheses."


def _check(node: ast.expr, count: int) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        _check(node.left, count)
        _check(node.right, count)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check(node.operand, count)
    elif isinstance(node, ast.Name) and re.fullmatch(r"f\d+", node.id):
        if int(node.id[1:]) >= count:
            raise InvalidInputError(_HELP)
    elif not (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        raise InvalidInputError(_HELP)


def _numeric(fld: FieldSchema) -> bool:
    return fld.value_type in NUMBER_TYPES or fld.type in ("multipleLookupValues", "rollup")


def _number(cell: Any) -> float:
    # A lookup through one link holds one number; several are summed.
    items = cell if isinstance(cell, list) else [cell]
    numbers = [float(i) for i in items if isinstance(i, int | float) and not isinstance(i, bool)]
    if not numbers:
        raise _Missing
    return math.fsum(numbers)
