"""Compiling formula text into a ``Formula``: a tree of closures built once per text.

Evaluating a filter over thousands of records then costs a few closure calls per
record instead of a tree walk.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from lark import Token, Tree

from . import operators
from .calls import call
from .cells import reader_for
from .errors import FormulaError, UnknownFieldError
from .functions import FUNCTIONS
from .model import FieldInfo, RecordContext
from .nodes import Node, Runner, constant
from .parser import parse, reference_name
from .values import ERROR

_STRING_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED_CHARS = {"n": "\n", "t": "\t", "r": "\r"}
# Integers longer than this lose precision as JavaScript numbers; read them as floats.
_MAX_INT_DIGITS = 15
# Field types and result types whose values are dates, and functions that return dates:
# "+" with one of these on either side is date arithmetic (see operators.add).
_DATE_TYPES = frozenset({"date", "dateTime", "createdTime", "lastModifiedTime"})
_DATE_FUNCTIONS = frozenset(
    {"TODAY", "NOW", "DATEADD", "DATETIME_PARSE", "SET_TIMEZONE", "SET_LOCALE", "WORKDAY",
     "CREATED_TIME", "LAST_MODIFIED_TIME"}
)  # fmt: skip


class Formula:
    """A compiled formula, safe to share between threads and requests.

    Attributes:
        text: the formula as written.
        referenced_field_ids: IDs of the fields the formula reads.
    """

    __slots__ = ("_run", "referenced_field_ids", "text")

    def __init__(self, text: str, referenced_field_ids: frozenset[str], run: Runner) -> None:
        self.text = text
        self.referenced_field_ids = referenced_field_ids
        self._run = run

    def evaluate(self, record: RecordContext) -> Any:
        """Compute the formula for one record.

        Args:
            record: the record's values and metadata.

        Returns:
            The result (see values.py for the types); data problems give ``#ERROR!``
            rather than raising.
        """
        try:
            return self._run(record)
        except Exception:
            return ERROR

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"


def compile_formula(text: str, fields: Sequence[FieldInfo]) -> Formula:
    """Compile formula text against a table's fields.

    Field references ``{Name}`` or ``{fldXXXX}`` resolve by exact name first, then by
    ID. Results are cached per text and field set.

    Args:
        text: the formula, e.g. ``AND({Status}='Done', {Hours}>=3)``.
        fields: the fields of the table the formula runs on.

    Returns:
        The compiled formula.

    Raises:
        UnknownFieldError: the formula references fields the table does not have.
        FormulaError: the text is not a valid formula.
    """
    if not isinstance(text, str):
        raise FormulaError(reason="formula is not text")
    return _compile_cached(text, tuple(fields))


@lru_cache(maxsize=1024)
def _compile_cached(text: str, fields: tuple[FieldInfo, ...]) -> Formula:
    tree = parse(text, fields)
    compiler = _Compiler(fields)
    try:
        node = compiler.compile(tree.children[0])
    except RecursionError:
        raise FormulaError(reason="formula nested too deeply") from None
    if compiler.unknown:
        raise UnknownFieldError(compiler.unknown)
    return Formula(text, frozenset(compiler.referenced), node.run)


class _Compiler:
    """Turns one lark tree into nodes, recording the fields it references."""

    def __init__(self, fields: tuple[FieldInfo, ...]) -> None:
        self._by_name = {field.name: field for field in fields}
        self._by_id = {field.id: field for field in fields}
        self.unknown: list[str] = []
        self.referenced: set[str] = set()
        self._rules: dict[str, Callable[[list[Any]], Node]] = {
            "number": self._number,
            "string": self._string,
            "field": lambda children: self._reference(reference_name(str(children[0]))),
            "bare": lambda children: self._reference(str(children[0])),
            "call": self._call,
            "paren": lambda children: self.compile(children[0]),
            "signed": lambda children: operators.signed(
                str(children[0]), self.compile(children[1])
            ),
            "comparison": self._comparison,
            "concat": lambda children: operators.concat([self.compile(c) for c in children]),
            "sum": self._arithmetic,
            "product": self._arithmetic,
        }

    def compile(self, tree: Tree | Token) -> Node:
        """Compile one subtree."""
        if not isinstance(tree, Tree):
            raise FormulaError(reason=f"unexpected token {tree!r}")
        return self._rules[str(tree.data)](tree.children)

    def _number(self, children: list[Any]) -> Node:
        literal = str(children[0])
        if literal.isdigit() and len(literal) <= _MAX_INT_DIGITS:
            return constant(int(literal))
        return constant(float(literal))

    def _string(self, children: list[Any]) -> Node:
        body = str(children[0])[1:-1]
        return constant(
            _STRING_ESCAPE.sub(lambda found: _ESCAPED_CHARS.get(found[1], found[1]), body)
        )

    def _reference(self, name: str) -> Node:
        """A field read: ``{Name}``, ``{fldID}`` or a bare single-word ``Name``."""
        field = self._by_name.get(name) or self._by_id.get(name)
        if field is None:
            self.unknown.append(name)
            return constant(None)
        self.referenced.add(field.id)
        field_id, reader = field.id, reader_for(field)
        is_date = field.type in _DATE_TYPES or field.result_type in _DATE_TYPES
        if reader is None:

            def read_raw(ctx: RecordContext) -> Any:
                return ctx.values.get(field_id)

            return Node(read_raw, field_id=field_id, is_date=is_date)

        def read(ctx: RecordContext) -> Any:
            return reader(ctx.values.get(field_id))

        return Node(read, is_date=is_date)

    def _call(self, children: list[Any]) -> Node:
        name = str(children[0]).upper()
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise FormulaError(reason=f"unknown function {name}")
        if not spec.accepts(len(children) - 1):
            raise FormulaError(reason=f"{name} does not take {len(children) - 1} arguments")
        node = call(spec, [self.compile(child) for child in children[1:]])
        return dataclasses.replace(node, is_date=True) if name in _DATE_FUNCTIONS else node

    def _comparison(self, children: list[Any]) -> Node:
        node = self.compile(children[0])
        for index in range(1, len(children), 2):
            node = operators.comparison(
                str(children[index]), node, self.compile(children[index + 1])
            )
        return node

    def _arithmetic(self, children: list[Any]) -> Node:
        rest = [
            (str(children[index]), self.compile(children[index + 1]))
            for index in range(1, len(children), 2)
        ]
        return operators.arithmetic(self.compile(children[0]), rest)
