"""Logical functions: AND OR XOR NOT IF SWITCH ISERROR BLANK TRUE FALSE ERROR."""

from __future__ import annotations

import operator
from typing import Any

from ..compare import compare
from ..model import RecordContext
from ..nodes import Runner
from ..values import ERROR, ErrorValue, flatten, is_error, is_truthy
from .spec import FunctionSpec


def _truth_values(values: tuple[Any, ...]) -> list[bool] | ErrorValue:
    truths = []
    for value in flatten(values):
        if value.__class__ is ErrorValue:
            return value
        truths.append(is_truthy(value))
    return truths


def and_(*values: Any) -> Any:
    """AND(a, b, ...): true when every argument is true (multi-value cells open up)."""
    if len(values) == 2 and values[0] is True and values[1] is True:
        return True  # the common `AND(cond, cond)` filter, without building lists
    truths = _truth_values(values)
    return truths if truths.__class__ is ErrorValue else all(truths)  # type: ignore[arg-type]


def or_(*values: Any) -> Any:
    """OR(a, b, ...): true when any argument is true."""
    truths = _truth_values(values)
    return truths if truths.__class__ is ErrorValue else any(truths)  # type: ignore[arg-type]


def xor(*values: Any) -> Any:
    """XOR(a, b, ...): true when an odd number of arguments are true."""
    truths = _truth_values(values)
    if truths.__class__ is ErrorValue:
        return truths
    return sum(truths) % 2 == 1  # type: ignore[arg-type]


def not_(value: Any) -> bool:
    """NOT(a): the opposite truth value."""
    return not is_truthy(value)


def if_(
    ctx: RecordContext, condition: Runner, then: Runner, otherwise: Runner | None = None
) -> Any:
    """IF(cond, a[, b]): only the chosen branch is evaluated; an error condition is false."""
    try:
        chosen = is_truthy(condition(ctx))
    except Exception:
        chosen = False
    if chosen:
        return then(ctx)
    return None if otherwise is None else otherwise(ctx)


def switch(ctx: RecordContext, expression: Runner, *cases: Runner) -> Any:
    """SWITCH(expr, pattern, result, ..., [default]): the result of the first pattern equal
    to ``expr`` (compared like ``=``), else the default or blank."""
    value = expression(ctx)
    if value.__class__ is ErrorValue:
        return value
    default = cases[-1] if len(cases) % 2 == 1 else None
    for index in range(0, len(cases) - 1, 2):
        if compare(operator.eq, value, cases[index](ctx)) is True:
            return cases[index + 1](ctx)
    return None if default is None else default(ctx)


def iserror(ctx: RecordContext, expression: Runner) -> bool:
    """ISERROR(expr): whether the expression is an error (or NaN)."""
    try:
        return is_error(expression(ctx))
    except Exception:
        return True


FUNCTIONS: dict[str, FunctionSpec] = {
    "AND": FunctionSpec(and_, 1, None),
    "OR": FunctionSpec(or_, 1, None),
    "XOR": FunctionSpec(xor, 1, None),
    "NOT": FunctionSpec(not_, 1, 1),
    "IF": FunctionSpec(if_, 2, 3, "lazy"),
    "SWITCH": FunctionSpec(switch, 2, None, "lazy"),
    "ISERROR": FunctionSpec(iserror, 1, 1, "lazy"),
    "BLANK": FunctionSpec(lambda: None, 0, 0),
    "TRUE": FunctionSpec(lambda: True, 0, 0),
    "FALSE": FunctionSpec(lambda: False, 0, 0),
    "ERROR": FunctionSpec(lambda: ERROR, 0, 0),
}
