"""Reading records: searches, aggregations and single records, always over whole tables.

Listings follow every page (Airtable stops at 100 records a page) and ask only for the
fields a question needs. Linked records are named by their primary field, fetched for
the records shown only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pyairtable.api.types import RecordDict

from services.airtable.aggregate import (
    DateBucket,
    GroupOrder,
    GroupResult,
    Metric,
    aggregate,
    group_keys,
    order_groups,
)
from services.airtable.cells import check_record_id, plain_text
from services.airtable.filters import Condition, SortKey, build_formula
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups
from services.airtable.schema import (
    DATE_TYPES,
    LONG_TEXT_TYPES,
    NUMBER_TYPES,
    FieldSchema,
    TableSchema,
    suggest,
)
from services.errors import InvalidInputError

Match = Literal["all", "any"]
DEFAULT_COLUMNS = 6
MAX_LIMIT = 100
LINKS_NAMED = 20  # linked records named per cell of a single record; the rest are counted


@dataclass(frozen=True)
class RecordPage:
    """Records shown for a search (or one record), the fields asked for, and the total."""

    base_id: str
    table: TableSchema
    fields: list[FieldSchema]
    rows: list[RecordDict]
    total: int
    names: dict[str, str] = field(default_factory=dict)
    sort: list[SortKey] = field(default_factory=list)


@dataclass(frozen=True)
class Aggregation:
    """A metric over every matching record, per group when grouped."""

    base_id: str
    table: TableSchema
    metric: Metric
    field: FieldSchema | None
    group_by: FieldSchema | None
    groups: list[GroupResult]
    total: GroupResult
    hidden_groups: int = 0


class RecordQueries:
    """Searches, aggregations and record reads for one user at a time, via the gateway."""

    def __init__(self, gateway: AirtableGateway, lookups: RecordLookups) -> None:
        self._gateway = gateway
        self._lookups = lookups

    def search(
        self,
        user_id: int,
        base_id: str,
        table: str,
        *,
        filters: Sequence[Condition] = (),
        match: Match = "all",
        fields: Sequence[str] = (),
        sort: Sequence[SortKey] = (),
        limit: int = 20,
        view: str | None = None,
    ) -> RecordPage:
        """Matching records (the first `limit`) and how many match in the whole table."""
        uses = [*fields, *(c.field for c in filters), *(s.field for s in sort)]
        schema = self._gateway.table(user_id, base_id, table, uses=uses)
        shown = _columns(schema, fields, filters, sort)
        options = self._list_options(schema, filters, match, sort, view)
        limit = max(1, min(limit, MAX_LIMIT))
        rows: list[RecordDict] = []
        listed: list[RecordDict] = []
        for page in self._gateway.pages(
            user_id, base_id, schema.id, fields=[f.id for f in shown], **options
        ):
            listed.extend(page)
            rows.extend(page[: max(0, limit - len(rows))])
        total = len(listed)
        self._lookups.remember(base_id, schema, listed)
        names = self._link_names(user_id, base_id, shown, rows)
        return RecordPage(base_id, schema, shown, rows, total, names, list(sort))

    def aggregate(
        self,
        user_id: int,
        base_id: str,
        table: str,
        *,
        metric: Metric,
        field: str | None = None,
        group_by: str | None = None,
        bucket: DateBucket | None = None,
        filters: Sequence[Condition] = (),
        match: Match = "all",
        order: GroupOrder | None = None,
        max_groups: int = 25,
    ) -> Aggregation:
        """`metric` of `field` over all matching records, per value of `group_by` if given."""
        uses = [n for n in (field, group_by) if n] + [c.field for c in filters]
        schema = self._gateway.table(user_id, base_id, table, uses=uses)
        target = schema.field(field) if field else None
        grouping = schema.field(group_by) if group_by else None
        _check_metric(metric, target, grouping, bucket)
        # The primary field comes along: it names these records for later links to them.
        wanted = [f.id for f in (target, grouping) if f is not None] + [schema.primary_field_id]
        options = self._list_options(schema, filters, match, (), None)
        pairs: list[tuple[Any, list[Any]]] = []
        listed: list[RecordDict] = []
        for page in self._gateway.pages(
            user_id, base_id, schema.id, fields=list(dict.fromkeys(wanted)), **options
        ):
            listed.extend(page)
            for record in page:
                cells = record["fields"]
                value = cells.get(target.id) if target else None
                keys = _raw_keys(grouping, cells.get(grouping.id)) if grouping else []
                pairs.append((value, keys))
        self._lookups.remember(base_id, schema, listed)
        counted = (lambda v: plain_text(v) != "") if target is not None else (lambda _v: True)
        rows = [(v, group_keys(keys, bucket=bucket) if grouping else []) for v, keys in pairs]
        groups, total = aggregate(rows, metric, counted=counted)
        order = order or ("group" if bucket else "value_desc")
        # Linked records are grouped by record (two people may share a name) and named
        # after ordering, so only the groups shown are looked up, unless the order is by name.
        linked = grouping if grouping is not None and grouping.linked_table_id else None
        if linked is not None and order == "group":
            groups = self._name_groups(user_id, base_id, linked, groups)
        ordered = order_groups(groups, order)
        kept = ordered[: max(1, max_groups)]
        if linked is not None and order != "group":
            kept = self._name_groups(user_id, base_id, linked, kept)
        return Aggregation(
            base_id, schema, metric, target, grouping, kept, total, len(ordered) - len(kept)
        )

    def _name_groups(
        self, user_id: int, base_id: str, link: FieldSchema, groups: list[GroupResult]
    ) -> list[GroupResult]:
        """Groups keyed by linked record ID, relabelled with the records' primary field text
        (with the ID too where two records in `groups` share a name)."""
        linked = self._gateway.schema(user_id, base_id).table_by_id(link.linked_table_id or "")
        ids = [g.key for g in groups if g.key.startswith("rec")]
        names = self._lookups.names(user_id, base_id, linked, ids) if linked and ids else {}
        repeated = Counter(names.values())
        return [
            replace(g, key=f"{name} ({g.key})" if repeated[name] > 1 else name)
            if (name := names.get(g.key))
            else g
            for g in groups
        ]

    def get_record(
        self, user_id: int, base_id: str, table: str, record_id: str, *, fields: Sequence[str] = ()
    ) -> RecordPage:
        """One record with the fields asked for (all of them by default)."""
        schema = self._gateway.table(user_id, base_id, table, uses=fields)
        record = self._gateway.get(user_id, base_id, schema.id, check_record_id(record_id))
        self._lookups.remember(base_id, schema, [record])
        shown = [schema.field(n) for n in fields] if fields else list(schema.fields)
        names = self._link_names(user_id, base_id, shown, [record], per_cell=LINKS_NAMED)
        return RecordPage(base_id, schema, shown, [record], 1, names)

    def matching(
        self,
        user_id: int,
        base_id: str,
        table: TableSchema,
        *,
        filters: Sequence[Condition],
        match: Match,
        field_ids: list[str],
    ) -> list[RecordDict]:
        """Every record matching the filters, with these fields."""
        options = self._list_options(table, filters, match, (), None)
        return [
            record
            for page in self._gateway.pages(user_id, base_id, table.id, fields=field_ids, **options)
            for record in page
        ]

    def _list_options(
        self,
        schema: TableSchema,
        filters: Sequence[Condition],
        match: Match,
        sort: Sequence[SortKey],
        view: str | None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        formula = build_formula(schema, filters, match)
        if formula:
            options["formula"] = formula
        if sort:
            options["sort"] = [
                ("-" if s.direction == "desc" else "") + schema.field(s.field).id for s in sort
            ]
        if view:
            if view not in schema.views:
                raise InvalidInputError(
                    f'Unknown view "{view}" in {schema.name}.{suggest(view, schema.views, "Views")}'
                )
            options["view"] = view
        return options

    def _link_names(
        self,
        user_id: int,
        base_id: str,
        shown: list[FieldSchema],
        rows: list[RecordDict],
        per_cell: int | None = None,
    ) -> dict[str, str]:
        names: dict[str, str] = {}
        by_table: dict[str, list[str]] = {}
        for fld in shown:
            if fld.linked_table_id:
                ids = [i for r in rows for i in (r["fields"].get(fld.id) or [])[:per_cell]]
                by_table.setdefault(fld.linked_table_id, []).extend(ids)
        if not any(by_table.values()):
            return names
        schema = self._gateway.schema(user_id, base_id)
        for table_id, ids in by_table.items():
            linked = schema.table_by_id(table_id)
            if linked is not None:
                names.update(self._lookups.names(user_id, base_id, linked, ids))
        return names


def _columns(
    schema: TableSchema,
    fields: Sequence[str],
    filters: Sequence[Condition],
    sort: Sequence[SortKey],
) -> list[FieldSchema]:
    if fields:
        return _unique([schema.field(n) for n in fields])
    chosen = [schema.primary]
    chosen += [schema.field(c.field) for c in filters] + [schema.field(s.field) for s in sort]
    for candidate in schema.fields:
        if len(_unique(chosen)) >= DEFAULT_COLUMNS:
            break
        if candidate.type not in LONG_TEXT_TYPES:
            chosen.append(candidate)
    # Shown in the table's own order, the primary field first.
    position = {f.id: i for i, f in enumerate(schema.fields)}
    position[schema.primary_field_id] = -1
    return sorted(_unique(chosen), key=lambda f: position[f.id])


def _unique(fields: list[FieldSchema]) -> list[FieldSchema]:
    return list({f.id: f for f in fields}.values())


def _raw_keys(grouping: FieldSchema, value: Any) -> list[Any]:
    if grouping.value_type == "checkbox":
        # Airtable leaves an unchecked box empty; say both ways so either word finds it.
        return ["checked (true)" if value else "unchecked (empty)"]
    return value if isinstance(value, list) else [value]


def _check_metric(
    metric: Metric,
    target: FieldSchema | None,
    grouping: FieldSchema | None,
    bucket: DateBucket | None,
) -> None:
    if target is None:
        if metric != "count":
            raise InvalidInputError(f"{metric} needs a field (a number field for sum and avg).")
    elif metric in ("sum", "avg") and not (
        target.value_type in NUMBER_TYPES or target.type in ("multipleLookupValues", "rollup")
    ):
        raise InvalidInputError(f"{metric} needs a number field; {target.name} is {target.type}.")
    if bucket and (grouping is None or grouping.value_type not in DATE_TYPES):
        raise InvalidInputError("date_bucket only applies when grouping by a date field.")
