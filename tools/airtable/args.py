"""Argument schemas of the Airtable tools: each parameter's one declaration (name, type,
default and the description the model reads). Each tool's body takes its model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.airtable.aggregate import DateBucket, GroupOrder, Metric
from services.airtable.aliases import DATE_BUCKETS, GROUP_ORDERS, METRICS, taking
from services.airtable.filters import Condition, SortKey, Text
from services.airtable.where import FilterGroup, MatchArg, TextSearch

_BASE = "Base ID (starts with app). Leave empty for the base in scope."
_TABLE = "Table name (or ID) as describe_table lists it."
_FILTERS = "Conditions on fields; empty means every record."
_MATCH = "all: every condition must hold (AND); any: at least one (OR)."
_GROUPS = (
    "Nested logic, combined with `filters` by `match`: each group is all/any/not (none "
    "holds) of its conditions and subgroups; e.g. (A or B) and C: filters [C], groups "
    "[{match: any, conditions: [A, B]}]."
)
_TEXT = "Full-text search: records whose text fields contain this text (ANDed with filters)."


class BaseArgs(BaseModel):
    base_id: str | None = Field(default=None, description=_BASE)


class DescribeTableArgs(BaseArgs):
    table: str | None = Field(
        default=None,
        description="Table to describe in full; empty lists every table with its field names.",
    )


class SearchArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    filters: list[Condition] = Field(default_factory=list, description=_FILTERS)
    match: MatchArg = Field(default="all", description=_MATCH)
    groups: list[FilterGroup] = Field(default_factory=list, description=_GROUPS)
    text_search: TextSearch | None = Field(default=None, description=_TEXT)
    fields: list[str] = Field(
        default_factory=list,
        description="Only the fields the answer needs; empty: the primary field and a few more.",
    )
    sort: list[SortKey] = Field(
        default_factory=list, description="Sort keys, most important first."
    )
    limit: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Rows to show (1-100; sorted, up to 10 more that tie with the last). The "
        "total number of matches is always reported.",
    )
    view: str | None = Field(default=None, description="Only records in this view, in its order.")
    cursor: str | None = Field(
        default=None,
        description="For the next page: the cursor the previous search returned, with the same "
        "table, filters, groups, text_search, sort and view.",
    )


class AggregateArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    metric: Annotated[Metric, taking(Metric, METRICS)] = Field(
        description="count records; count_distinct: how many different values `field` takes; "
        "sum/avg/median/percentile (numbers) or min/max (numbers, dates) of `field` or of "
        "`expression`."
    )
    field: str | None = Field(
        default=None,
        description="Field to aggregate; with count, counts records where it is not empty.",
    )
    expression: str | None = Field(
        default=None,
        description="Instead of field, a value computed per record from number fields: "
        "{Field} names, numbers, + - * / and parentheses, e.g. {Stock} * {Unit Price}. "
        "Records with an empty operand are left out.",
    )
    p: float | None = Field(
        default=None, ge=0, le=100, description="For percentile: 0-100 (90 = 90th percentile)."
    )
    group_by: str | None = Field(default=None, description="One result per value of this field.")
    then_by: str | None = Field(
        default=None,
        description="Second grouping field: one result per (group_by, then_by) pair, e.g. "
        "Owner then Stage.",
    )
    date_bucket: Annotated[DateBucket, taking(DateBucket, DATE_BUCKETS)] | None = Field(
        default=None,
        description="When grouping by a date field: group by day, week (labelled by its "
        "Monday), month, quarter (2026-Q1) or year.",
    )
    share: bool = Field(
        default=False,
        description="count/sum only: add each group's share of the whole (with then_by, of "
        "its group_by group: Won deals' share per Owner is each owner's win rate).",
    )
    filters: list[Condition] = Field(default_factory=list, description=_FILTERS)
    match: MatchArg = Field(default="all", description=_MATCH)
    groups: list[FilterGroup] = Field(default_factory=list, description=_GROUPS)
    text_search: TextSearch | None = Field(default=None, description=_TEXT)
    order: Annotated[GroupOrder, taking(GroupOrder, GROUP_ORDERS)] | None = Field(
        default=None,
        description="Group order: largest value first (default), smallest first, or by group name "
        "(default with date_bucket or then_by).",
    )
    max_groups: int = Field(default=25, ge=1, le=200, description="Groups to show (1-200).")


class GetRecordArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    record_id: str = Field(description="Record ID (starts with rec).")
    fields: list[str] = Field(default_factory=list, description="Only these fields; empty for all.")


class FieldValue(BaseModel):
    """One field's new value."""

    field: str = Field(description="Field name.")
    value: Text | None = Field(
        default=None,
        description="The value as text: an option name, a number (0.5 for 50%), true/false, "
        "a date YYYY-MM-DD. Null clears the field.",
    )
    values: list[Text] | None = Field(
        default=None,
        description="Instead of value, for fields holding several: multiple-select options, "
        "or linked records by record ID or by name.",
    )


class NewRecord(BaseModel):
    fields: list[FieldValue] = Field(description="The record's field values.")


class RecordEdit(BaseModel):
    id: str = Field(description="Record ID (starts with rec).")
    fields: list[FieldValue] = Field(description="The fields to change.")


class CreateArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    records: list[NewRecord] = Field(description="The new records.")


class UpdateArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    records: list[RecordEdit] = Field(
        default_factory=list, description="Records by ID with their new values."
    )
    filters: list[Condition] = Field(
        default_factory=list,
        description="Instead of IDs: change every record matching these conditions.",
    )
    match: MatchArg = Field(default="all", description=_MATCH)
    set_fields: list[FieldValue] = Field(
        default_factory=list, description="With filters: the values to set on every match."
    )


class UpsertArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    records: list[NewRecord] = Field(description="The records to update or create.")
    merge_on: list[str] = Field(
        description="1-3 fields that identify a record: a match is updated, no match is created."
    )


class DeleteArgs(BaseArgs):
    table: str = Field(description=_TABLE)
    record_ids: list[str] = Field(default_factory=list, description="Record IDs to delete.")
    filters: list[Condition] = Field(
        default_factory=list, description="Instead of IDs: delete every record matching these."
    )
    match: MatchArg = Field(default="all", description=_MATCH)


def field_values(values: list[FieldValue]) -> dict[str, Any]:
    """Field name -> value, as the proposal planner takes them."""
    return {v.field: v.values if v.values is not None else v.value for v in values}
