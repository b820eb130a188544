"""What the model reads: compact text tables, never raw record JSON.

Only the fields asked for, long text cut short, linked records by name, the number of
matches and a note when rows are left out. The same results go to the UI as artifacts
(plain JSON: rows, groups, schema) for tables and charts.
"""

from __future__ import annotations

from typing import Any

from services.airtable.aggregate import GroupResult
from services.airtable.cells import plain_text
from services.airtable.connections import BaseInfo
from services.airtable.queries import LINKS_NAMED, Aggregation, RecordPage
from services.airtable.schema import BaseSchema, FieldSchema, TableSchema

CELL_CHARS = 60
LONG_CELL_CHARS = 240  # long text the model asked for in a search
_LONG_TEXT = frozenset({"multilineText", "richText"})
DETAIL_CHARS = 500
LISTED = 10  # linked records or attachments shown per cell of a search
_KINDS = {
    "singleLineText": "text",
    "multilineText": "long text",
    "richText": "long text",
    "multipleRecordLinks": "link",
    "multipleLookupValues": "lookup",
    "singleSelect": "select",
    "multipleSelects": "multi-select",
    "multipleAttachments": "attachments",
    "percent": "percent (0.5 = 50%)",
    "date": "date",
    "dateTime": "date-time",
    "duration": "duration (s)",
}
_MAX_CHOICES = 20


def cell(
    fld: FieldSchema,
    value: Any,
    names: dict[str, str],
    limit: int = CELL_CHARS,
    listed: int = LISTED,
) -> str:
    """One cell as short single-line text (long text cut at `limit`). Linked records (by
    name) and attachments (file name and URL) are each shown whole, `listed` of them and a
    count of the rest: a name or a link cut short is of no use."""
    if isinstance(value, list) and (fld.linked_table_id or fld.type == "multipleAttachments"):
        items = [_item(names.get(v, v) if isinstance(v, str) else v) for v in value]
        more = f" (+{len(items) - listed} more)" if len(items) > listed else ""
        return ", ".join(t for t in items[:listed] if t) + more
    return _cut(_item(value), limit)


def _item(value: Any) -> str:
    if isinstance(value, dict) and "url" in value:
        return _item(f"{value.get('filename') or 'file'} {value['url']}")
    return plain_text(value).replace("\n", " ").replace("|", "/").strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def records_text(page: RecordPage) -> str:
    """A search result: header with the total, one line per row, a note on rows left out
    (with the cursor for the next page)."""
    name = page.table.name
    notes = _notes(page.dates, page.searched)
    if page.total == 0:
        return "\n".join([f"{name}: 0 records match.", *notes])
    shown = len(page.rows)
    order = ", ".join(f"{s.field} {s.direction}" for s in page.sort)
    rows = f"rows {page.offset + 1}-{page.offset + shown}" if page.offset else str(shown)
    head = f"{name}: {page.total} records match; showing {rows}"
    if page.ties:
        head += f" (the last {page.ties} past the limit: they tie with the row before)"
    lines = [head + (f", sorted by {order}." if order else "."), *notes]
    lines.append("|".join(["id", *(f.name for f in page.fields)]))
    limits = [LONG_CELL_CHARS if f.value_type in _LONG_TEXT else CELL_CHARS for f in page.fields]
    for row in page.rows:
        cells = [
            cell(f, row["fields"].get(f.id), page.names, n)
            for f, n in zip(page.fields, limits, strict=True)
        ]
        lines.append("|".join([row["id"], *cells]))
    rest = page.total - page.offset - shown
    if rest > 0:
        following = (
            f"next page: same call with cursor {page.next_cursor}; or " if page.next_cursor else ""
        )
        lines.append(
            f"{rest} more rows not shown: {following}narrow the filters, raise limit (max 100),"
            " or use aggregate_records for totals."
        )
    return "\n".join(lines)


def _notes(dates: str, searched: list[str] | tuple[str, ...]) -> list[str]:
    """The concrete dates relative values stood for, and where a text search looked."""
    notes = [dates] if dates else []
    if searched:
        notes.append(f"Text searched in: {', '.join(searched)}.")
    return notes


def record_text(page: RecordPage) -> str:
    """One record, one field a line."""
    row = page.rows[0]
    lines = [f"{page.table.name} record {row['id']}:"]
    for fld in page.fields:
        value = row["fields"].get(fld.id)
        if value in (None, "", []):
            continue
        more = ""
        if fld.linked_table_id and isinstance(value, list) and len(value) > LINKS_NAMED:
            more = f" (+{len(value) - LINKS_NAMED} more; {len(value)} in all)"
            value = value[:LINKS_NAMED]
        lines.append(f"{fld.name}: {cell(fld, value, page.names, DETAIL_CHARS, LINKS_NAMED)}{more}")
    return "\n".join(lines)


def records_artifact(page: RecordPage, kind: str = "records") -> dict[str, Any]:
    """Rows for `st.dataframe`: field names to values, linked records as names."""
    rows = []
    for row in page.rows:
        values: dict[str, Any] = {"id": row["id"]}
        for fld in page.fields:
            value = row["fields"].get(fld.id)
            if fld.linked_table_id and isinstance(value, list):
                value = [page.names.get(v, v) for v in value]
            values[fld.name] = value
        rows.append(values)
    return {
        "kind": kind,
        "base_id": page.base_id,
        "table_id": page.table.id,
        "table": page.table.name,
        "columns": ["id", *(f.name for f in page.fields)],
        "rows": rows,
        "total": page.total,
        "shown": len(page.rows),
    }


def aggregation_text(agg: Aggregation) -> str:
    """A metric, per group (or pair of groups) when grouped, and over all matching records."""
    what = _metric_label(agg)
    head = f"{agg.table.name}: {what} over {agg.total.records} matching records"
    notes = _notes(agg.dates, agg.searched)
    if agg.group_by is None:
        return "\n".join([f"{head}: {_number(agg.total.value)}.", *notes])
    by = agg.group_by.name + (f" then {agg.then_by.name}" if agg.then_by else "")
    count = f"{len(agg.groups) + agg.hidden_groups} groups"
    if agg.ties:
        count += f"; the last {agg.ties} shown past max_groups tie with the group before"
    lines = [f"{head}, by {by} ({count}):", *notes]
    counting = agg.metric == "count" and agg.field is None and agg.expression is None
    keys = [agg.group_by.name] + ([agg.then_by.name] if agg.then_by else [])
    columns = [*keys, *([] if counting else [_column(agg)]), "records"]
    lines.append("|".join(columns + (["share"] if agg.share else [])))
    for group in agg.groups:
        lines.append(_group_line(group, agg, with_value=not counting))
    overall = GroupResult("all", agg.total.value, agg.total.records, "" if agg.then_by else None)
    lines.append(_group_line(overall, agg, with_value=not counting, overall=True))
    if agg.hidden_groups:
        lines.append(f"{agg.hidden_groups} more groups not shown (raise max_groups or filter).")
    return "\n".join(lines)


def aggregation_artifact(agg: Aggregation) -> dict[str, Any]:
    """Groups and the overall value, for charts."""
    return {
        "kind": "aggregate",
        "base_id": agg.base_id,
        "table": agg.table.name,
        "metric": agg.metric,
        "field": agg.field.name if agg.field else None,
        "group_by": agg.group_by.name if agg.group_by else None,
        "then_by": agg.then_by.name if agg.then_by else None,
        "expression": agg.expression,
        "p": agg.p,
        "groups": [
            {
                "group": g.key,
                **({"subgroup": g.subkey} if agg.then_by else {}),
                "value": g.value,
                "records": g.records,
                **({"share": g.share} if agg.share else {}),
            }
            for g in agg.groups
        ],
        "total": {"value": agg.total.value, "records": agg.total.records},
        "hidden_groups": agg.hidden_groups,
    }


def tables_text(schema: BaseSchema, base: BaseInfo) -> str:
    """Every table of a base with its field names."""
    lines = [f"Base {base.id} ({base.name}) has {len(schema.tables)} tables (name: fields):"]
    for table in schema.tables:
        about = f" ({table.description.rstrip('.')})" if table.description else ""
        lines.append(f"- {table.name}: {', '.join(f.name for f in table.fields)}{about}")
    lines.append("describe_table with a table name gives field types and options.")
    return "\n".join(lines)


def table_text(table: TableSchema, base: BaseInfo, schema: BaseSchema) -> str:
    """One table's fields with types, select options, link targets and views."""
    about = f" {table.description.rstrip('.')}." if table.description else ""
    lines = [f"Table {table.name} ({table.id}) in {base.name} ({base.id}).{about} Fields:"]
    for fld in table.fields:
        lines.append(f"- {fld.name}: {_field_kind(fld, table, schema)}")
    if table.views:
        lines.append(f"Views: {', '.join(table.views)}")
    return "\n".join(lines)


def schema_artifact(base_id: str, tables: list[TableSchema]) -> dict[str, Any]:
    return {
        "kind": "schema",
        "base_id": base_id,
        "tables": [
            {
                "id": t.id,
                "name": t.name,
                "fields": [{"id": f.id, "name": f.name, "type": f.type} for f in t.fields],
            }
            for t in tables
        ],
    }


def bases_text(bases: list[BaseInfo]) -> str:
    if not bases:
        return "Your Airtable connection sees no bases."
    lines = [f"{len(bases)} bases (id|name|permission):"]
    lines += [f"{b.id}|{b.name}|{b.permission_level}" for b in bases]
    return "\n".join(lines)


def _field_kind(fld: FieldSchema, table: TableSchema, schema: BaseSchema) -> str:
    kind = _KINDS.get(fld.type, fld.type)
    notes = []
    if fld.id == table.primary_field_id:
        notes.append("primary")
    if fld.choices:
        shown = fld.choices[:_MAX_CHOICES]
        extra = len(fld.choices) - len(shown)
        kind += " [" + ", ".join(shown) + (f", +{extra} more" if extra > 0 else "") + "]"
    if fld.linked_table_id:
        linked = schema.table_by_id(fld.linked_table_id)
        kind += f" to {linked.name if linked else fld.linked_table_id}"
    if fld.computed:
        kind += _computed_from(fld, table, schema)
        if fld.type in ("formula", "rollup"):
            kind += f" -> {_KINDS.get(fld.value_type, fld.value_type)}"
        notes.append("read-only")
    return kind + (f" ({', '.join(notes)})" if notes else "")


def _computed_from(fld: FieldSchema, table: TableSchema, schema: BaseSchema) -> str:
    """What a computed field is worked out from: a formula's text, or the link (and the
    linked table's field) a count, rollup or lookup reads, so "how is X calculated?" is
    answered from the schema."""
    options = fld.options
    if fld.type == "formula":
        return f" {options['formula']}" if options.get("formula") else ""
    link = table.find_field(str(options.get("recordLinkFieldId") or ""))
    if link is None:
        return ""
    linked = schema.table_by_id(link.linked_table_id or "")
    source = linked.find_field(str(options.get("fieldIdInLinkedTable") or "")) if linked else None
    of = f"{source.name} of " if source else ""
    if fld.type == "rollup" and options.get("formula"):
        return f" {options['formula']} over {of}{link.name}"
    return f" of {of}{link.name}"


def _metric_label(agg: Aggregation) -> str:
    of = agg.expression or (agg.field.name if agg.field else "")
    if agg.metric == "count":
        return f"count of records with {of}" if of else "count"
    if agg.metric == "count_distinct":
        return f"distinct values of {of}"
    if agg.metric == "percentile":
        return f"{_number(agg.p)}th percentile of {of}"
    return f"{agg.metric} of {of}"


def _column(agg: Aggregation) -> str:
    if agg.metric == "percentile":
        return f"p{_number(agg.p)}"
    return "distinct" if agg.metric == "count_distinct" else agg.metric


def _group_line(
    group: GroupResult, agg: Aggregation, *, with_value: bool, overall: bool = False
) -> str:
    cells = [group.key] + ([group.subkey or ""] if agg.then_by else [])
    if with_value:
        cells.append(_number(group.value))
    cells.append(str(group.records))
    if agg.share:
        share = None if overall else group.share
        cells.append(f"{share * 100:.2f}%" if share is not None else "")
    return "|".join(c.replace("|", "/") for c in cells)


def _number(value: float | str | None) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        # Cents for amounts; four places below 1, where percents live as fractions (0.4563).
        return plain_text(round(value, 2 if abs(value) >= 1 else 4))
    return plain_text(value)
