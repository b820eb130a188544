"""Reading records: searches, aggregations and single records, always over whole tables.

Listings follow every page (Airtable stops at 100 records a page) and ask only for the
fields a question needs. Linked records are named by their primary field, fetched for
the records shown only.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from pyairtable.api.types import RecordDict

from services.airtable.aggregate import (
    DateBucket,
    GroupKey,
    GroupOrder,
    GroupResult,
    Metric,
    aggregate,
    check_metric,
    order_groups,
    record_keys,
    record_value,
    with_shares,
)
from services.airtable.cells import check_record_id, plain_text
from services.airtable.cursors import (
    Position,
    decode_cursor,
    encode_cursor,
    fingerprint,
    page_start,
)
from services.airtable.dates import DateResolver, today_in
from services.airtable.expressions import parse_expression
from services.airtable.filters import Condition, SortKey
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups
from services.airtable.schema import (
    LONG_TEXT_TYPES,
    FieldSchema,
    TableSchema,
    suggest,
)
from services.airtable.where import FilterGroup, TextSearch, Where, compile_where
from services.errors import InvalidInputError

T = TypeVar("T")
Match = Literal["all", "any"]
DEFAULT_COLUMNS = 6
MAX_LIMIT = 100
MAX_TIES = 10  # rows (or groups) past a limit shown because they tie with the last
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
    offset: int = 0  # rows before this page (a cursor's page)
    next_cursor: str | None = None
    dates: str = ""  # the relative dates used, as concrete dates
    searched: list[str] = field(default_factory=list)  # fields a text search looked in
    ties: int = 0  # rows past the limit shown because they tie with the last on the sort


@dataclass(frozen=True)
class Aggregation:
    """A metric over every matching record, per group (or pair of groups) when grouped."""

    base_id: str
    table: TableSchema
    metric: Metric
    field: FieldSchema | None
    group_by: FieldSchema | None
    groups: list[GroupResult]
    total: GroupResult
    hidden_groups: int = 0
    then_by: FieldSchema | None = None
    expression: str | None = None
    p: float | None = None
    share: bool = False  # groups carry their part of the whole
    dates: str = ""
    searched: tuple[str, ...] = ()
    ties: int = 0  # groups past max_groups shown because they tie with the last on value


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
        groups: Sequence[FilterGroup] = (),
        text: TextSearch | None = None,
        fields: Sequence[str] = (),
        sort: Sequence[SortKey] = (),
        limit: int = 20,
        view: str | None = None,
        cursor: str | None = None,
        dates: DateResolver | None = None,
    ) -> RecordPage:
        """Matching records (`limit` of them, after `cursor` if given) and how many match
        in the whole table, with a cursor for the next page when more remain.

        Raises:
            InvalidInputError: bad filters, or a cursor of another query.
        """
        where = Where(filters, match, groups, text)
        uses = [*fields, *where.field_names(), *(s.field for s in sort)]
        schema = self._gateway.table(user_id, base_id, table, uses=uses)
        shown = _columns(schema, fields, where.field_names(), sort)
        dates = dates or DateResolver(today_in(None))
        compiled = compile_where(schema, where, dates)
        options = self._list_options(schema, compiled.formula, sort, view)
        query = fingerprint(base_id, schema.id, compiled.formula, options.get("sort"), view)
        position = decode_cursor(cursor, query) if cursor else None
        limit = max(1, min(limit, MAX_LIMIT))
        listed: list[RecordDict] = []
        keys = [schema.field(s.field).id for s in sort]
        reads = list(dict.fromkeys([*(f.id for f in shown), *keys]))
        for page in self._gateway.pages(user_id, base_id, schema.id, fields=reads, **options):
            listed.extend(page)
        start = page_start([r["id"] for r in listed], position) if position else 0
        rows = listed[start : start + limit]
        last = rows[-1] if rows and keys else None
        ties = _ties(listed[start + limit :], last, lambda r: [r["fields"].get(k) for k in keys])
        rows += ties
        following = None
        if rows and start + len(rows) < len(listed):
            following = encode_cursor(query, Position(start + len(rows), rows[-1]["id"]))
        self._lookups.remember(base_id, schema, listed)
        names = self._link_names(user_id, base_id, shown, rows)
        return RecordPage(
            base_id, schema, shown, rows, len(listed), names, list(sort),
            offset=start, next_cursor=following, dates=dates.echo(), searched=compiled.searched,
            ties=len(ties),
        )  # fmt: skip

    def aggregate(
        self,
        user_id: int,
        base_id: str,
        table: str,
        *,
        metric: Metric,
        field: str | None = None,
        expression: str | None = None,
        p: float | None = None,
        group_by: str | None = None,
        then_by: str | None = None,
        bucket: DateBucket | None = None,
        filters: Sequence[Condition] = (),
        match: Match = "all",
        groups: Sequence[FilterGroup] = (),
        text: TextSearch | None = None,
        order: GroupOrder | None = None,
        max_groups: int = 25,
        share: bool = False,
        dates: DateResolver | None = None,
    ) -> Aggregation:
        """`metric` of `field` (or of `expression`, computed per record) over all matching
        records, per value of `group_by` (and of `then_by` within it) if given.

        Raises:
            InvalidInputError: a metric that does not suit the field, bad filters.
        """
        where = Where(filters, match, groups, text)
        uses = [n for n in (field, group_by, then_by) if n] + where.field_names()
        schema = self._gateway.table(user_id, base_id, table, uses=uses)
        target = schema.field(field) if field else None
        computed = parse_expression(schema, expression) if expression else None
        grouping = [schema.field(n) for n in (group_by, then_by) if n]
        check_metric(metric, target, computed, grouping, bucket, p, share=share)
        dates = dates or DateResolver(today_in(None))
        compiled = compile_where(schema, where, dates)
        # The primary field comes along: it names these records for later links to them.
        reads = [target, *grouping, *(computed.fields if computed else [])]
        wanted = [f.id for f in reads if f is not None] + [schema.primary_field_id]
        options = self._list_options(schema, compiled.formula, (), None)
        rows: list[tuple[Any, list[GroupKey]]] = []
        listed: list[RecordDict] = []
        for page in self._gateway.pages(
            user_id, base_id, schema.id, fields=list(dict.fromkeys(wanted)), **options
        ):
            listed.extend(page)
            for record in page:
                cells = record["fields"]
                value = record_value(cells, target, computed)
                rows.append((value, record_keys(grouping, cells, bucket)))
        self._lookups.remember(base_id, schema, listed)
        counted = (
            (lambda v: plain_text(v) != "")
            if target is not None or computed is not None
            else (lambda _v: True)
        )
        found, total = aggregate(rows, metric, counted=counted, p=p if p is not None else 50.0)
        if share:
            found = with_shares(rows, metric, counted, found, total)
        order = order or ("group" if bucket or then_by else "value_desc")
        found = self._named(user_id, base_id, grouping, found, before_order=order == "group")
        ordered = order_groups(found, order)
        kept = ordered[: max(1, max_groups)]
        last_kept = kept[-1] if kept and order != "group" and kept[-1].value is not None else None
        ties = _ties(ordered[len(kept) :], last_kept, lambda g: g.value)
        kept = self._named(user_id, base_id, grouping, kept + ties, before_order=order != "group")
        return Aggregation(
            base_id, schema, metric, target, grouping[0] if grouping else None, kept, total,
            len(ordered) - len(kept), then_by=grouping[1] if len(grouping) > 1 else None,
            expression=computed.text if computed else None,
            p=p if metric == "percentile" else None, share=share, dates=dates.echo(),
            searched=tuple(compiled.searched), ties=len(ties),
        )  # fmt: skip

    def _named(
        self,
        user_id: int,
        base_id: str,
        grouping: list[FieldSchema],
        groups: list[GroupResult],
        *,
        before_order: bool,
    ) -> list[GroupResult]:
        """Groups of linked records relabelled by name. Linked records are grouped by
        record (two people may share a name) and named after ordering, so only the groups
        shown are looked up, unless the order is by name (`before_order`)."""
        if not before_order:
            return groups
        for level, link in enumerate(grouping):
            if link.linked_table_id:
                groups = self._name_groups(user_id, base_id, link, groups, level)
        return groups

    def _name_groups(
        self,
        user_id: int,
        base_id: str,
        link: FieldSchema,
        groups: list[GroupResult],
        level: int = 0,
    ) -> list[GroupResult]:
        """Groups keyed by linked record ID (at `level` 0: key, 1: subkey), relabelled with
        the records' primary field text (with the ID too where two share a name)."""
        linked = self._gateway.schema(user_id, base_id).table_by_id(link.linked_table_id or "")
        keys = [g.subkey if level else g.key for g in groups]
        ids = [k for k in keys if k and k.startswith("rec")]
        names = self._lookups.names(user_id, base_id, linked, ids) if linked and ids else {}
        repeated = Counter(names.values())

        def label(key: str | None) -> str | None:
            name = names.get(key or "")
            if not name:
                return key
            return f"{name} ({key})" if repeated[name] > 1 else name

        if level:
            return [replace(g, subkey=label(g.subkey)) for g in groups]
        return [replace(g, key=label(g.key) or g.key) for g in groups]

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
        dates: DateResolver | None = None,
    ) -> list[RecordDict]:
        """Every record matching the filters, with these fields (relative dates resolved by
        `dates`, else in UTC)."""
        dates = dates or DateResolver(today_in(None))
        compiled = compile_where(table, Where(filters, match), dates)
        options = self._list_options(table, compiled.formula, (), None)
        return [
            record
            for page in self._gateway.pages(user_id, base_id, table.id, fields=field_ids, **options)
            for record in page
        ]

    def _list_options(
        self,
        schema: TableSchema,
        formula: str | None,
        sort: Sequence[SortKey],
        view: str | None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
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


def _ties(after: Sequence[T], last: T | None, key: Callable[[T], Any]) -> list[T]:
    """The items after a cut list that tie with its `last` on `key` (up to `MAX_TIES`): a
    top five cut in the middle of a tie would leave equals out unsaid."""
    if last is None:
        return []
    return list(itertools.takewhile(lambda item: key(item) == key(last), after[:MAX_TIES]))


def _columns(
    schema: TableSchema,
    fields: Sequence[str],
    filtered: Sequence[str],
    sort: Sequence[SortKey],
) -> list[FieldSchema]:
    if fields:
        return _unique([schema.field(n) for n in fields])
    chosen = [schema.primary]
    chosen += [schema.field(n) for n in filtered] + [schema.field(s.field) for s in sort]
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
