"""Checking an Airtable formula against a table's fields, and previewing it on records.

Airtable has no endpoint that evaluates a formula without creating a field, so the
checker parses the formula itself (with `formula.lark`, see the note there), refuses
unknown fields and functions, and evaluates it over a few real records for a preview.
The evaluator covers the common functions; a formula using others is still checked and
proposed, and its preview says which function it could not show.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from services.errors import InvalidInputError

# Every function Airtable formulas know (the checker refuses others).
KNOWN_FUNCTIONS = frozenset(
    [
        "ABS",
        "AND",
        "ARRAYCOMPACT",
        "ARRAYFLATTEN",
        "ARRAYJOIN",
        "ARRAYUNIQUE",
        "AVERAGE",
        "BLANK",
        "CEILING",
        "CONCATENATE",
        "COUNT",
        "COUNTA",
        "COUNTALL",
        "CREATED_TIME",
        "DATEADD",
        "DATESTR",
        "DATETIME_DIFF",
        "DATETIME_FORMAT",
        "DATETIME_PARSE",
        "DAY",
        "ENCODE_URL_COMPONENT",
        "ERROR",
        "EVEN",
        "EXP",
        "FALSE",
        "FIND",
        "FLOOR",
        "FROMNOW",
        "HOUR",
        "IF",
        "INT",
        "ISERROR",
        "IS_AFTER",
        "IS_BEFORE",
        "IS_SAME",
        "LAST_MODIFIED_TIME",
        "LEFT",
        "LEN",
        "LN",
        "LOG",
        "LOWER",
        "MAX",
        "MID",
        "MIN",
        "MINUTE",
        "MOD",
        "MONTH",
        "NOT",
        "NOW",
        "ODD",
        "OR",
        "POWER",
        "RECORD_ID",
        "REGEX_EXTRACT",
        "REGEX_MATCH",
        "REGEX_REPLACE",
        "REPLACE",
        "REPT",
        "RIGHT",
        "ROUND",
        "ROUNDDOWN",
        "ROUNDUP",
        "SEARCH",
        "SECOND",
        "SET_LOCALE",
        "SET_TIMEZONE",
        "SQRT",
        "SUBSTITUTE",
        "SUM",
        "SWITCH",
        "T",
        "TIMESTR",
        "TODAY",
        "TONOW",
        "TRIM",
        "TRUE",
        "UPPER",
        "VALUE",
        "WEEKDAY",
        "WEEKNUM",
        "WORKDAY",
        "WORKDAY_DIFF",
        "XOR",
        "YEAR",
    ]
)
_UNITS = {
    "days": 86_400,
    "day": 86_400,
    "d": 86_400,
    "hours": 3600,
    "hour": 3600,
    "h": 3600,
    "minutes": 60,
    "minute": 60,
    "seconds": 1,
    "second": 1,
    "weeks": 604_800,
    "week": 604_800,
    "w": 604_800,
}


class FormulaCheckError(InvalidInputError):
    """The formula does not parse, or names a field or function that does not exist."""


class NotPreviewedError(Exception):
    """The preview's evaluator does not know a function the formula uses."""


@dataclass(frozen=True)
class CheckedFormula:
    text: str
    fields: list[str]  # field names it reads, in order of first use
    functions: list[str]


@cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("formula.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=False)


def _tree(text: str) -> Tree[Token]:
    try:
        return _parser().parse(text)
    except LarkError as exc:
        where = getattr(exc, "column", None)
        at = f" near column {where}" if isinstance(where, int) and where > 0 else ""
        raise FormulaCheckError(f"The formula does not parse{at}: {text}") from exc


def check_formula(text: str, field_names: Sequence[str]) -> CheckedFormula:
    """Parse `text` and check its field references and functions.

    Raises:
        FormulaCheckError: a syntax error, an unknown field (with the closest names), or
            an unknown function.
    """
    if not text.strip():
        raise FormulaCheckError("The formula is empty.")
    tree = _tree(text.strip())
    known = {n.casefold(): n for n in field_names}
    used: list[str] = []
    functions: list[str] = []
    for node in tree.iter_subtrees_topdown():
        if node.data in ("field", "bare"):
            token = str(node.children[0])
            name = (
                token[1:-1].replace("\\}", "}").replace("\\\\", "\\")
                if node.data == "field"
                else token
            )
            if name.upper() in ("TRUE", "FALSE") and node.data == "bare":
                continue
            if name.casefold() not in known:
                from services.airtable.schema import suggest

                raise FormulaCheckError(
                    f'The formula reads the field "{name}", which the table does not have.'
                    + suggest(name, list(field_names), "Fields")
                )
            if known[name.casefold()] not in used:
                used.append(known[name.casefold()])
        elif node.data == "call":
            function = str(node.children[0]).upper()
            if function not in KNOWN_FUNCTIONS:
                raise FormulaCheckError(f"{function}() is not an Airtable formula function.")
            if function not in functions:
                functions.append(function)
    return CheckedFormula(text.strip(), used, functions)


def _reference(token: str) -> str:
    """The field name inside a `{...}` reference."""
    return re.sub(r"\\([\\}])", r"\1", token[1:-1])


def preview(text: str, record: Mapping[str, Any], *, today: date | None = None) -> Any:
    """The formula's value for one record (cells by field name).

    Raises:
        NotPreviewedError: it uses a function the preview cannot evaluate.
    """
    evaluator = _Evaluator(record, today or datetime.now(UTC).date())
    return evaluator.value(_tree(text.strip()).children[0])


class _Evaluator:
    def __init__(self, record: Mapping[str, Any], today: date) -> None:
        self._record = {k.casefold(): v for k, v in record.items()}
        self._today = today

    def value(self, node: Tree[Token] | Token) -> Any:
        if isinstance(node, Token):
            return str(node)
        kind = node.data
        if kind == "number":
            return float(str(node.children[0]))
        if kind == "string":
            raw = str(node.children[0])[1:-1]
            return re.sub(r"\\(.)", r"\1", raw)
        if kind in ("field", "bare"):
            token = str(node.children[0])
            if kind == "bare" and token.upper() in ("TRUE", "FALSE"):
                return token.upper() == "TRUE"
            name = _reference(token) if kind == "field" else token
            return self._record.get(name.casefold())
        if kind == "paren":
            return self.value(node.children[0])
        if kind == "signed":
            sign, operand = node.children
            number = _number(self.value(operand))
            return -number if str(sign) == "-" else number
        if kind == "call":
            return self._call(str(node.children[0]).upper(), node.children[1:])
        return self._binary(kind, node.children)

    def _binary(self, kind: str, children: Sequence[Any]) -> Any:
        result = self.value(children[0])
        rest = list(children[1:])
        if kind == "concat":
            return "".join(_text(self.value(c)) for c in [children[0], *rest])
        while rest:
            operator, operand = str(rest[0]), self.value(rest[1])
            rest = rest[2:]
            result = _apply(operator, result, operand)
        return result

    def _call(self, name: str, args: Sequence[Any]) -> Any:
        if name == "IF":
            condition = self.value(args[0])
            if _truthy(condition):
                return self.value(args[1]) if len(args) > 1 else None
            return self.value(args[2]) if len(args) > 2 else None
        values = [self.value(a) for a in args]
        function = _FUNCTIONS.get(name)
        if function is None:
            raise NotPreviewedError(name)
        if name in ("TODAY", "NOW"):
            return self._today
        return function(values)


def _apply(operator: str, left: Any, right: Any) -> Any:
    dated = isinstance(left, date | str) and _as_date(left) is not None
    if operator in ("+", "-") and dated and isinstance(right, int | float):
        raise NotPreviewedError("date arithmetic")
    if operator in ("+", "-", "*", "/"):
        a, b = _number(left), _number(right)
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        if operator == "*":
            return a * b
        return a / b if b else math.nan
    a, b = _comparable(left), _comparable(right)
    try:
        return {
            "=": a == b,
            "!=": a != b,
            "<": a < b,
            ">": a > b,
            "<=": a <= b,
            ">=": a >= b,
        }[operator]
    except TypeError:
        return False


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return "" if value is None else value


def _number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return math.nan


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None


def _diff(values: list[Any]) -> Any:
    first, second = _as_date(values[0]), _as_date(values[1])
    if first is None or second is None:
        return None
    unit = str(values[2]).casefold() if len(values) > 2 else "seconds"
    if unit not in _UNITS:
        raise NotPreviewedError(f"DATETIME_DIFF unit {unit}")
    return float(((first - second).total_seconds()) // _UNITS[unit])


def _round(values: list[Any]) -> float:
    places = int(_number(values[1])) if len(values) > 1 else 0
    return float(round(_number(values[0]), places))


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "AND": lambda v: all(_truthy(x) for x in v),
    "OR": lambda v: any(_truthy(x) for x in v),
    "NOT": lambda v: not _truthy(v[0]),
    "XOR": lambda v: sum(_truthy(x) for x in v) % 2 == 1,
    "BLANK": lambda v: None,
    "TRUE": lambda v: True,
    "FALSE": lambda v: False,
    "TODAY": lambda v: None,
    "NOW": lambda v: None,
    "ABS": lambda v: abs(_number(v[0])),
    "ROUND": _round,
    "INT": lambda v: float(math.floor(_number(v[0]))),
    "SUM": lambda v: sum(_number(x) for x in v),
    "MAX": lambda v: max(_number(x) for x in v),
    "MIN": lambda v: min(_number(x) for x in v),
    "UPPER": lambda v: _text(v[0]).upper(),
    "LOWER": lambda v: _text(v[0]).lower(),
    "TRIM": lambda v: _text(v[0]).strip(),
    "LEN": lambda v: float(len(_text(v[0]))),
    "LEFT": lambda v: _text(v[0])[: int(_number(v[1]))],
    "RIGHT": lambda v: _text(v[0])[-int(_number(v[1])) :] if int(_number(v[1])) else "",
    "CONCATENATE": lambda v: "".join(_text(x) for x in v),
    "DATETIME_DIFF": _diff,
    "IS_BEFORE": lambda v: (_as_date(v[0]) or date.max) < (_as_date(v[1]) or date.min),
    "IS_AFTER": lambda v: (_as_date(v[0]) or date.min) > (_as_date(v[1]) or date.max),
    "YEAR": lambda v: float(d.year) if (d := _as_date(v[0])) else None,
    "MONTH": lambda v: float(d.month) if (d := _as_date(v[0])) else None,
    "DAY": lambda v: float(d.day) if (d := _as_date(v[0])) else None,
}


def shown(value: Any) -> str:
    """A preview value as the card shows it."""
    if isinstance(value, float):
        if math.isnan(value):
            return "#ERROR"
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)
