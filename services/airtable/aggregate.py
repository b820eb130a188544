"""Count, sum, average, minimum and maximum over records, optionally per group."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

Metric = Literal["count", "sum", "avg", "min", "max"]
GroupOrder = Literal["value_desc", "value_asc", "group"]
DateBucket = Literal["day", "month", "year"]
EMPTY_GROUP = "(empty)"


@dataclass(frozen=True)
class GroupResult:
    """One group's result: the metric's value and how many records it covers."""

    key: str
    value: float | str | None
    records: int


class Accumulator:
    """Collects one group's values for one metric."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self.records = 0
        self._numbers: list[float] = []
        self._present = 0
        self._extreme: Any = None

    def add(self, value: Any, *, counted: bool) -> None:
        """Add one record's value; `counted` says whether the record counts for `count`."""
        self.records += 1
        if self.metric == "count":
            self._present += 1 if counted else 0
            return
        for item in _flatten(value):
            if isinstance(item, bool):
                continue
            if self.metric in ("sum", "avg") and isinstance(item, int | float):
                if math.isfinite(item):
                    self._numbers.append(float(item))
            elif self.metric in ("min", "max") and isinstance(item, int | float | str):
                better = min if self.metric == "min" else max
                self._extreme = item if self._extreme is None else better(self._extreme, item)

    def result(self, key: str) -> GroupResult:
        value: float | str | None
        if self.metric == "count":
            value = self._present
        elif self.metric == "sum":
            value = _tidy(math.fsum(self._numbers))
        elif self.metric == "avg":
            value = _tidy(math.fsum(self._numbers) / len(self._numbers)) if self._numbers else None
        else:
            value = self._extreme
        return GroupResult(key=key, value=value, records=self.records)


def aggregate(
    rows: Iterable[tuple[Any, list[str]]],
    metric: Metric,
    *,
    counted: Callable[[Any], bool] = lambda _value: True,
) -> tuple[list[GroupResult], GroupResult]:
    """Aggregate `(value, group keys)` pairs; a record in several groups counts in each.

    Args:
        rows: For each record, the metric field's value and the groups it falls in.
        metric: count, sum, avg, min or max.
        counted: For `count`, whether a value counts (e.g. only non-empty ones).

    Returns:
        The groups (in first-seen order) and the result over every record.
    """
    groups: dict[str, Accumulator] = defaultdict(lambda: Accumulator(metric))
    overall = Accumulator(metric)
    for value, keys in rows:
        hit = counted(value)
        overall.add(value, counted=hit)
        for key in keys:
            groups[key].add(value, counted=hit)
    return [acc.result(key) for key, acc in groups.items()], overall.result("Total")


def order_groups(groups: list[GroupResult], order: GroupOrder) -> list[GroupResult]:
    """Groups by value (largest or smallest first; empty values last) or by key."""
    if order == "group":
        return sorted(groups, key=lambda g: (g.key == EMPTY_GROUP, g.key.casefold()))
    present = [g for g in groups if g.value is not None]
    missing = [g for g in groups if g.value is None]
    ranked = sorted(present, key=lambda g: _sortable(g.value), reverse=order == "value_desc")
    return ranked + missing


def group_keys(value: Any, *, bucket: DateBucket | None = None) -> list[str]:
    """The groups a cell value falls in: one per item of a list, `(empty)` for none."""
    items = [item for item in _flatten(value) if item != "" and item is not False]
    if not items:
        return [EMPTY_GROUP]
    keys = []
    for item in items:
        text = _key_text(item)
        if bucket is not None:
            text = text[: {"day": 10, "month": 7, "year": 4}[bucket]]
        keys.append(text)
    return list(dict.fromkeys(keys))


def _key_text(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("name") or item.get("email") or item.get("filename") or item)
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return str(item)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for inner in value for item in _flatten(inner)]
    if isinstance(value, dict) and ("error" in value or "specialValue" in value):
        return []
    return [value] if value is not None else []


def _tidy(number: float) -> float:
    # Float sums carry noise in the last digits (0.1 + 0.2); cents survive rounding to 1e-6.
    return round(number, 6)


def _sortable(value: float | str | None) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))
