"""Other spellings a model sends for an option (`>=` for gte, `DESC`, `average`), each
taken as the option's one name before validation, so the tool schemas list the names only.

A spelling with more than one reading (`like`: contains or equals?) is not taken: the
refusal lists the names to send instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BeforeValidator

OPERATORS = {
    "=": "equals", "==": "equals", "eq": "equals", "is": "equals", "equal": "equals",
    "equal_to": "equals", "is_equal_to": "equals",
    "!=": "not_equals", "<>": "not_equals", "ne": "not_equals", "neq": "not_equals",
    "is_not": "not_equals", "not_equal": "not_equals", "not_equal_to": "not_equals",
    ">": "gt", "greater_than": "gt", ">=": "gte", "=>": "gte", "ge": "gte",
    "greater_than_or_equal": "gte", "greater_than_or_equal_to": "gte", "on_or_after": "gte",
    "<": "lt", "less_than": "lt", "<=": "lte", "=<": "lte", "le": "lte",
    "less_than_or_equal": "lte", "less_than_or_equal_to": "lte", "on_or_before": "lte",
    "includes": "contains", "has": "contains",
    "does_not_contain": "not_contains", "doesnt_contain": "not_contains",
    "not_includes": "not_contains", "excludes": "not_contains",
    "in": "is_any_of", "any_of": "is_any_of", "one_of": "is_any_of", "is_one_of": "is_any_of",
    "not_in": "is_none_of", "nin": "is_none_of", "none_of": "is_none_of",
    "not_any_of": "is_none_of", "is_not_any_of": "is_none_of",
    "empty": "is_empty", "is_blank": "is_empty", "blank": "is_empty", "is_null": "is_empty",
    "not_empty": "is_not_empty", "is_not_blank": "is_not_empty", "not_blank": "is_not_empty",
    "is_not_null": "is_not_empty", "exists": "is_not_empty",
    "range": "between",
}  # fmt: skip
DIRECTIONS = {"ascending": "asc", "descending": "desc"}
METRICS = {
    "average": "avg", "mean": "avg", "total": "sum",
    "number": "count", "count_records": "count",
    "maximum": "max", "minimum": "min",
    "unique": "count_distinct", "distinct": "count_distinct", "count_unique": "count_distinct",
    "distinct_count": "count_distinct", "unique_count": "count_distinct",
    "nunique": "count_distinct",
}  # fmt: skip
GROUP_ORDERS = {
    "desc": "value_desc", "descending": "value_desc",
    "asc": "value_asc", "ascending": "value_asc",
    "name": "group", "alphabetical": "group", "chronological": "group",
}  # fmt: skip
DATE_BUCKETS = {
    "daily": "day", "days": "day", "weekly": "week", "weeks": "week",
    "monthly": "month", "months": "month", "quarterly": "quarter", "quarters": "quarter",
    "yearly": "year", "annual": "year", "annually": "year", "years": "year",
}  # fmt: skip
MATCHES = {"and": "all", "every": "all", "or": "any", "some": "any"}
GROUP_MATCHES = {**MATCHES, "none": "not", "nor": "not"}
TEXT_MATCHES = {"exact": "phrase", "all": "all_words", "and": "all_words", "any": "any_word",
                "or": "any_word"}  # fmt: skip


def taking(literal: Any, aliases: Mapping[str, str]) -> BeforeValidator:
    """A validator that turns a spelling of one of `literal`'s options (any case; spaces or
    hyphens for underscores) into the option, and refuses an unknown one naming them all."""
    names: tuple[str, ...] = get_args(literal)

    def normalise(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        key = "_".join(value.strip().lower().replace("-", " ").split())
        if key in names:
            return key
        if key in aliases:
            return aliases[key]
        raise ValueError(f'"{value}" is not one of: {", ".join(names)}')

    return BeforeValidator(normalise)
