"""Count, count of distinct values, sum, average, median, percentile, minimum and maximum
over records, optionally per group or per pair of groups."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from services.airtable.expressions import Expression
from services.airtable.schema import DATE_TYPES, NUMBER_TYPES, FieldSchema
from services.errors import InvalidInputError

Metric = Literal["count", "count_distinct", "sum", "avg", "median", "percentile", "min", "max"]
NUMERIC_METRICS = frozenset({"sum", "avg", "median", "percentile"})
GroupKey = str | tuple[str, str]
GroupOrder = Literal["value_desc", "value_asc", "group"]
DateBucket = Literal["day", "week", "month", "quarter", "year"]
EMPTY_GROUP = "(empty)"


@dataclass(frozen=True)
class GroupResult:
    """One group's result: the metric's value and how many records it covers."""

    key: str
    value: float | str | None
    records: int
    subkey: str | None = None  # the second field's group, when grouped by two fields
    share: float | None = None  # its part of the whole (0..1), when asked for


class Accumulator:
    """Collects one group's values for one metric."""

    def __init__(self, metric: Metric, p: float = 50.0) -> None:
        self.metric = metric
        self.p = p
        self.records = 0
        self._numbers: list[float] = []
        self._present = 0
        self._extreme: Any = None
        self._distinct: set[str] = set()

    def add(self, value: Any, *, counted: bool) -> None:
        """Add one record's value; `counted` says whether the record counts for `count`."""
        self.records += 1
        if self.metric == "count":
            self._present += 1 if counted else 0
            return
        if self.metric == "count_distinct":
            if counted:
                self._distinct.update(group_keys(value))
            return
        for item in _flatten(value):
            if isinstance(item, bool):
                continue
            if self.metric in NUMERIC_METRICS and isinstance(item, int | float):
                if math.isfinite(item):
                    self._numbers.append(float(item))
            elif self.metric in ("min", "max") and isinstance(item, int | float | str):
                better = min if self.metric == "min" else max
                self._extreme = item if self._extreme is None else better(self._extreme, item)

    def result(self, key: GroupKey) -> GroupResult:
        value: float | str | None
        if self.metric == "count":
            value = self._present
        elif self.metric == "count_distinct":
            value = len(self._distinct - {EMPTY_GROUP})
        elif self.metric == "sum":
            value = _tidy(math.fsum(self._numbers))
        elif self.metric == "avg":
            value = _tidy(math.fsum(self._numbers) / len(self._numbers)) if self._numbers else None
        elif self.metric in ("median", "percentile"):
            p = 50.0 if self.metric == "median" else self.p
            value = _tidy(percentile(self._numbers, p)) if self._numbers else None
        else:
            value = self._extreme
        if isinstance(key, tuple):
            return GroupResult(key=key[0], value=value, records=self.records, subkey=key[1])
        return GroupResult(key=key, value=value, records=self.records)


def percentile(numbers: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between the closest ranks, as
    Excel's PERCENTILE.INC, numpy's default and SQL's PERCENTILE_CONT compute it."""
    ordered = sorted(numbers)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def aggregate(
    rows: Iterable[tuple[Any, Sequence[GroupKey]]],
    metric: Metric,
    *,
    counted: Callable[[Any], bool] = lambda _value: True,
    p: float = 50.0,
) -> tuple[list[GroupResult], GroupResult]:
    """Aggregate `(value, group keys)` pairs; a record in several groups counts in each.

    Args:
        rows: For each record, the metric field's value and the groups it falls in (a
            key, or a pair of keys when grouped by two fields).
        metric: One of `Metric`.
        counted: For `count` and `count_distinct`, whether a value counts (e.g. only
            non-empty ones).
        p: The percentile (0-100) for `percentile`.

    Returns:
        The groups (in first-seen order) and the result over every record.
    """
    groups: dict[GroupKey, Accumulator] = defaultdict(lambda: Accumulator(metric, p))
    overall = Accumulator(metric, p)
    for value, keys in rows:
        hit = counted(value)
        overall.add(value, counted=hit)
        for key in keys:
            groups[key].add(value, counted=hit)
    return [acc.result(key) for key, acc in groups.items()], overall.result("Total")


def order_groups(groups: list[GroupResult], order: GroupOrder) -> list[GroupResult]:
    """Groups by value (largest or smallest first; empty values last) or by key."""
    if order == "group":
        return sorted(groups, key=lambda g: (_name_order(g.key), _name_order(g.subkey or "")))
    present = [g for g in groups if g.value is not None]
    missing = [g for g in groups if g.value is None]
    ranked = sorted(present, key=lambda g: _sortable(g.value), reverse=order == "value_desc")
    return ranked + missing


def _name_order(key: str) -> tuple[bool, str]:
    return key == EMPTY_GROUP, key.casefold()


def group_keys(value: Any, *, bucket: DateBucket | None = None) -> list[str]:
    """The groups a cell value falls in: one per item of a list, `(empty)` for none."""
    items = [item for item in _flatten(value) if item != "" and item is not False]
    if not items:
        return [EMPTY_GROUP]
    keys = []
    for item in items:
        text = _key_text(item)
        keys.append(_bucket(text, bucket) if bucket is not None else text)
    return list(dict.fromkeys(keys))


def _bucket(text: str, bucket: DateBucket) -> str:
    """A date's (or a timestamp's, by its first ten characters) day, week (its Monday),
    month, quarter (`2026-Q1`) or year."""
    if bucket in ("day", "month", "year"):
        return text[: {"day": 10, "month": 7, "year": 4}[bucket]]
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return text
    if bucket == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


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


def record_value(
    cells: dict[str, Any], target: FieldSchema | None, computed: Expression | None
) -> Any:
    """What a record adds to the metric: the field's cell, or the expression's value."""
    if computed is not None:
        return computed.value(cells)
    return cells.get(target.id) if target else None


def record_keys(
    grouping: list[FieldSchema], cells: dict[str, Any], bucket: DateBucket | None
) -> list[GroupKey]:
    """The groups a record falls in: one key per item, or every pair for two fields."""
    if not grouping:
        return []
    levels = [
        group_keys(
            _raw_keys(g, cells.get(g.id)), bucket=bucket if g.value_type in DATE_TYPES else None
        )
        for g in grouping
    ]
    if len(levels) == 1:
        return list(levels[0])
    return [(a, b) for a in levels[0] for b in levels[1]]


def with_shares(
    rows: list[tuple[Any, list[GroupKey]]],
    metric: Metric,
    counted: Callable[[Any], bool],
    groups: list[GroupResult],
    total: GroupResult,
) -> list[GroupResult]:
    """The groups with their part of the whole: of the overall total for one field, of
    their first field's group for two (Won deals among Ana's: her win rate)."""
    wholes: dict[str, float | str | None] = {}
    if groups and groups[0].subkey is not None:
        firsts: list[tuple[Any, list[GroupKey]]] = [
            (v, list(dict.fromkeys(k[0] for k in keys if isinstance(k, tuple)))) for v, keys in rows
        ]
        wholes = {g.key: g.value for g in aggregate(firsts, metric, counted=counted)[0]}
    shared = []
    for g in groups:
        whole = wholes.get(g.key) if g.subkey is not None else total.value
        if isinstance(whole, int | float) and whole and isinstance(g.value, int | float):
            g = replace(g, share=g.value / whole)
        shared.append(g)
    return shared


def _raw_keys(grouping: FieldSchema, value: Any) -> list[Any]:
    if grouping.value_type == "checkbox":
        # Airtable leaves an unchecked box empty; say both ways so either word finds it.
        return ["checked (true)" if value else "unchecked (empty)"]
    return value if isinstance(value, list) else [value]


def check_metric(
    metric: Metric,
    target: FieldSchema | None,
    computed: Expression | None,
    grouping: list[FieldSchema],
    bucket: DateBucket | None,
    p: float | None,
    *,
    share: bool,
) -> None:
    if target is not None and computed is not None:
        raise InvalidInputError("Give either a field or an expression, not both.")
    if target is None and computed is None:
        if metric != "count":
            raise InvalidInputError(f"{metric} needs a field (a number field for {metric}).")
    elif (
        target is not None
        and metric in NUMERIC_METRICS
        and not (
            target.value_type in NUMBER_TYPES or target.type in ("multipleLookupValues", "rollup")
        )
    ):
        raise InvalidInputError(f"{metric} needs a number field; {target.name} is {target.type}.")
    if metric == "percentile" and (p is None or not 0 <= p <= 100):
        raise InvalidInputError("percentile needs p, from 0 to 100 (90 for the 90th percentile).")
    if bucket and not any(g.value_type in DATE_TYPES for g in grouping):
        raise InvalidInputError("date_bucket only applies when grouping by a date field.")
    if share and metric not in ("count", "sum"):
        raise InvalidInputError("share applies to count and sum only.")
    if len(grouping) == 2 and grouping[0].id == grouping[1].id:
        raise InvalidInputError("then_by needs a different field from group_by.")
