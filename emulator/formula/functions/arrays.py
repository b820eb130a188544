"""Array functions for multi-value cells: ARRAYJOIN ARRAYUNIQUE ARRAYCOMPACT ARRAYFLATTEN
ARRAYSLICE."""

from __future__ import annotations

from typing import Any

from ..values import to_text
from .coerce import as_int, items_of
from .spec import FunctionSpec


def arrayjoin(values: Any, separator: Any = ", ") -> str:
    """ARRAYJOIN(values[, separator]): the items as text, joined (", " by default)."""
    glue = to_text(separator)
    return glue.join(to_text(item) for item in items_of(values) if item is not None)


def arrayunique(values: Any) -> list[Any]:
    """ARRAYUNIQUE(values): the items without repeats, first occurrence kept."""
    seen: set[tuple[bool, str]] = set()
    unique = []
    for item in items_of(values):
        key = (item.__class__ is str, to_text(item))
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def arraycompact(values: Any) -> list[Any]:
    """ARRAYCOMPACT(values): the items without blanks and empty text."""
    return [item for item in items_of(values) if item is not None and item != ""]


def arrayslice(values: Any, start: Any, end: Any = None) -> list[Any]:
    """ARRAYSLICE(values, start[, end]): items start..end, 1-based and inclusive;
    negative positions count from the end."""
    items = items_of(values)
    first = as_int(start)
    begin = first - 1 if first > 0 else max(len(items) + first, 0)
    if end is None:
        return items[begin:]
    last = as_int(end)
    stop = last if last > 0 else len(items) + last + 1
    return items[begin:stop]


FUNCTIONS: dict[str, FunctionSpec] = {
    "ARRAYJOIN": FunctionSpec(arrayjoin, 1, 2),
    "ARRAYUNIQUE": FunctionSpec(arrayunique, 1, 1),
    "ARRAYCOMPACT": FunctionSpec(arraycompact, 1, 1),
    "ARRAYFLATTEN": FunctionSpec(items_of, 1, 1),
    "ARRAYSLICE": FunctionSpec(arrayslice, 2, 3),
}
