"""Which rows a fact is about: `where` evaluated in plain Python over raw records.

A `where` maps a field to a value (equals; text ignores case; a list cell matches when it
holds the value) or to {ne|gt|gte|lt|lte|contains|in|between|empty: ...}. Three keys nest
logic: `any_of: [where, ...]`, `all_of: [where, ...]`, `none_of: [where, ...]`; and
`text_in: {fields: [...], has: "words", words: phrase|all|any}` finds text (ignoring case)
in any of those fields. A date may be written relative to today (UTC): `@today`,
`@today+14`, `@today-30`, `@week_start` (Monday), `@week_end`, `@month_start`,
`@month_end`, `@quarter_start`, `@quarter_end`, `@last_quarter_start`,
`@last_quarter_end`. This is written apart from the tools' own filter code on purpose:
the bench checks one against the other.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from typing import Any

_RELATIVE = re.compile(r"^@today([+-]\d+)?$")


def where(rows: list[dict[str, Any]], spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [r for r in rows if holds(r, spec or {})]


def holds(row: dict[str, Any], spec: dict[str, Any]) -> bool:
    for key, condition in spec.items():
        if key == "any_of":
            ok = any(holds(row, s) for s in condition)
        elif key == "all_of":
            ok = all(holds(row, s) for s in condition)
        elif key == "none_of":
            ok = not any(holds(row, s) for s in condition)
        elif key == "text_in":
            ok = _text_in(row, condition)
        else:
            ok = _test(row.get(key), _dated(condition))
        if not ok:
            return False
    return True


def flat(cell: Any) -> list[Any]:
    if cell is None:
        return []
    return cell if isinstance(cell, list) else [cell]


def _text_in(row: dict[str, Any], spec: dict[str, Any]) -> bool:
    texts = [" ".join(str(i) for i in flat(row.get(f))).casefold() for f in spec["fields"]]
    wanted = " ".join(str(spec["has"]).split()).casefold()
    mode = spec.get("words", "phrase")
    if mode == "phrase":
        return any(wanted in t for t in texts)
    found = [any(word in t for t in texts) for word in wanted.split()]
    return all(found) if mode == "all" else any(found)


def _dated(condition: Any) -> Any:
    if isinstance(condition, str):
        return _day(condition)
    if isinstance(condition, dict):
        return {op: _dated(v) for op, v in condition.items()}
    if isinstance(condition, list):
        return [_dated(v) for v in condition]
    return condition


def _day(text: str) -> str:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    if text in ("@week_start", "@week_end"):
        return (monday + timedelta(days=0 if text == "@week_start" else 6)).isoformat()
    if text.endswith(("quarter_start", "quarter_end")):  # @quarter_*, @last_quarter_*
        first = today.replace(day=1, month=(today.month - 1) // 3 * 3 + 1)
        if text.startswith("@last_"):
            first = (first - timedelta(days=1)).replace(day=1)
            first = first.replace(month=(first.month - 1) // 3 * 3 + 1)
        if text.endswith("_start"):
            return first.isoformat()
        end = first.replace(month=first.month + 2)
        return end.replace(day=calendar.monthrange(end.year, end.month)[1]).isoformat()
    if text == "@month_start":
        return today.replace(day=1).isoformat()
    if text == "@month_end":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1]).isoformat()
    match = _RELATIVE.match(text)
    if match is None:
        return text
    return (today + timedelta(days=int(match.group(1) or 0))).isoformat()


def _test(cell: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return _equals(cell, condition)
    op, wanted = next(iter(condition.items()))
    items = flat(cell)
    if op == "empty":
        return (not items) is bool(wanted)
    if op == "ne":
        return not _equals(cell, wanted)
    if op == "in":
        return any(_equals(cell, w) for w in wanted)
    if op == "contains":
        return any(str(wanted).casefold() in str(i).casefold() for i in items)
    if not items:
        return False
    value = items[0]
    if op == "between":
        return bool(wanted[0] <= value <= wanted[1])
    compare = {
        "gt": lambda: value > wanted,
        "gte": lambda: value >= wanted,
        "lt": lambda: value < wanted,
        "lte": lambda: value <= wanted,
    }
    return bool(compare[op]())


def _equals(cell: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):
        return bool(cell) is wanted
    return any(str(i).casefold() == str(wanted).casefold() for i in flat(cell)) or (
        isinstance(wanted, int | float) and cell == wanted
    )
