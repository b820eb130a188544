"""Number functions: ABS ROUND ROUNDUP ROUNDDOWN INT MOD MIN MAX SUM AVERAGE COUNT
COUNTA COUNTALL CEILING FLOOR SQRT POWER EXP LOG EVEN ODD."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from functools import reduce
from operator import add
from typing import Any

from ..values import ERROR, ErrorValue, flatten, parse_number
from .coerce import as_int, as_number
from .spec import FunctionSpec

# Doubles carry about 17 significant digits; rounding to more places changes nothing.
_MAX_PLACES = 20


def _numbers(values: tuple[Any, ...]) -> list[Any] | ErrorValue:
    """The numbers among the arguments (multi-value cells open up; text that spells a
    number counts; blanks and other text are skipped)."""
    numbers: list[Any] = []
    for value in flatten(values):
        cls = value.__class__
        if cls is int or cls is float or cls is bool:
            numbers.append(int(value) if cls is bool else value)
        elif cls is str:
            number = parse_number(value)
            if number is not None:
                numbers.append(number)
        elif cls is ErrorValue:
            return value
    return numbers


def _round(value: Any, places: Any, positive_mode: str, negative_mode: str) -> Any:
    number, digits = as_number(value), as_int(places)
    if not math.isfinite(number) or digits > _MAX_PLACES:
        return number
    if digits < -400:
        return 0
    exact = Decimal(repr(float(number)))
    with localcontext() as context:
        context.prec = 800
        rounded = exact.quantize(
            Decimal(1).scaleb(-digits), rounding=positive_mode if number >= 0 else negative_mode
        )
    result = float(rounded)
    return int(result) if digits <= 0 and abs(result) < 2**53 else result


def round_(value: Any, places: Any = 0) -> Any:
    """ROUND(n, places): nearest, ties toward positive infinity (Airtable's documented rule)."""
    return _round(value, places, ROUND_HALF_UP, ROUND_HALF_DOWN)


def roundup(value: Any, places: Any = 0) -> Any:
    """ROUNDUP(n, places): away from zero."""
    return _round(value, places, ROUND_UP, ROUND_UP)


def rounddown(value: Any, places: Any = 0) -> Any:
    """ROUNDDOWN(n, places): toward zero."""
    return _round(value, places, ROUND_DOWN, ROUND_DOWN)


def mod(value: Any, divisor: Any) -> Any:
    """MOD(n, d): remainder with the sign of n (JavaScript's ``%``); error when d is 0."""
    number, by = as_number(value), as_number(divisor)
    return ERROR if by == 0 else math.fmod(number, by)


def _extreme(values: tuple[Any, ...], pick: Any) -> Any:
    numbers = _numbers(values)
    if numbers.__class__ is ErrorValue:
        return numbers
    if numbers:
        return pick(numbers)
    dates = [value for value in flatten(values) if isinstance(value, datetime)]
    return pick(dates) if dates else 0


def sum_(*values: Any) -> Any:
    """SUM(a, b, ...): the numbers added left to right, as JavaScript does."""
    numbers = _numbers(values)
    if numbers.__class__ is ErrorValue:
        return numbers
    return reduce(add, numbers, 0)  # type: ignore[arg-type]


def average(*values: Any) -> Any:
    """AVERAGE(a, b, ...): the mean of the numbers; an error when there are none."""
    numbers = _numbers(values)
    if numbers.__class__ is ErrorValue:
        return numbers
    if not numbers:
        return ERROR
    return reduce(add, numbers, 0) / len(numbers)  # type: ignore[arg-type]


def count(*values: Any) -> int:
    """COUNT(a, b, ...): how many arguments are numbers."""
    return sum(1 for value in flatten(values) if value.__class__ in (int, float))


def counta(*values: Any) -> int:
    """COUNTA(a, b, ...): how many arguments are not empty."""
    return sum(1 for value in flatten(values) if value is not None and value != "")


def countall(*values: Any) -> int:
    """COUNTALL(a, b, ...): how many items, blanks included."""
    return sum(1 for _ in flatten(values))


def _to_multiple(value: Any, significance: Any, step: Any) -> Any:
    number, size = as_number(value), as_number(significance)
    if size == 0:
        return 0
    return step(number / size) * size


def sqrt(value: Any) -> float:
    """SQRT(n): square root; NaN for negative n."""
    number = as_number(value)
    return math.nan if number < 0 else math.sqrt(number)


def power(base: Any, exponent: Any) -> float:
    """POWER(base, exponent), with JavaScript's Infinity and NaN instead of exceptions."""
    try:
        return math.pow(as_number(base), as_number(exponent))
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


def exp(value: Any) -> float:
    """EXP(n): e to the n."""
    try:
        return math.exp(as_number(value))
    except OverflowError:
        return math.inf


def log(value: Any, base: Any = 10) -> Any:
    """LOG(n[, base]): logarithm, base 10 by default."""
    number, radix = as_number(value), as_number(base)
    if number <= 0 or radix <= 0 or radix == 1:
        return math.nan if number < 0 or radix <= 0 else ERROR
    return math.log(number) / math.log(radix)


def even(value: Any) -> int:
    """EVEN(n): the smallest even integer not below n."""
    return math.ceil(as_number(value) / 2) * 2


def odd(value: Any) -> int:
    """ODD(n): n rounded away from zero to an odd integer."""
    number = as_number(value)
    whole = math.ceil(number) if number >= 0 else math.floor(number)
    if whole % 2 == 0:
        whole += 1 if number >= 0 else -1
    return whole


FUNCTIONS: dict[str, FunctionSpec] = {
    "ABS": FunctionSpec(lambda value: abs(as_number(value)), 1, 1),
    "ROUND": FunctionSpec(round_, 1, 2),
    "ROUNDUP": FunctionSpec(roundup, 1, 2),
    "ROUNDDOWN": FunctionSpec(rounddown, 1, 2),
    "INT": FunctionSpec(lambda value: math.floor(as_number(value)), 1, 1),
    "MOD": FunctionSpec(mod, 2, 2),
    "MIN": FunctionSpec(lambda *values: _extreme(values, min), 1, None),
    "MAX": FunctionSpec(lambda *values: _extreme(values, max), 1, None),
    "SUM": FunctionSpec(sum_, 1, None),
    "AVERAGE": FunctionSpec(average, 1, None),
    "COUNT": FunctionSpec(count, 1, None),
    "COUNTA": FunctionSpec(counta, 1, None),
    "COUNTALL": FunctionSpec(countall, 1, None),
    "CEILING": FunctionSpec(lambda v, s=1: _to_multiple(v, s, math.ceil), 1, 2),
    "FLOOR": FunctionSpec(lambda v, s=1: _to_multiple(v, s, math.floor), 1, 2),
    "SQRT": FunctionSpec(sqrt, 1, 1),
    "POWER": FunctionSpec(power, 2, 2),
    "EXP": FunctionSpec(exp, 1, 1),
    "LOG": FunctionSpec(log, 1, 2),
    "EVEN": FunctionSpec(even, 1, 1),
    "ODD": FunctionSpec(odd, 1, 1),
}
