"""List records: view filter, then ``filterByFormula``, then sort, then pages.

Order is the view's when ``view`` is given, otherwise creation order; ``sort`` overrides
both. The first page snapshots the ordered IDs in an :class:`IteratorStore`.
"""

from collections.abc import Callable
from typing import Any

from emulator import errors
from emulator.cellstring import load_zone
from emulator.computed import Evaluator
from emulator.formula import FormulaError, UnknownFieldError, is_truthy
from emulator.iterators import IteratorStore
from emulator.query import ListQuery
from emulator.render import RenderOptions, render_record
from emulator.schema import Field, Record, Table, View, is_empty

_NUMERIC = frozenset({"number", "currency", "percent", "duration", "rating", "autoNumber", "count"})


def render_options(
    table: Table, query: ListQuery, comment_counts: dict[str, int] | None = None
) -> RenderOptions:
    """Validate ``fields``, ``cellFormat``, ``timeZone`` and build render options."""
    fields = None
    if query.fields is not None:
        fields = tuple(_field(table, name) for name in dict.fromkeys(query.fields))
    zone = None
    if query.cell_format == "string" and (not query.time_zone or not query.user_locale):
        raise errors.invalid_request(
            'The "string" cellFormat requires the timeZone and userLocale parameters'
        )
    if query.time_zone is not None:
        zone = load_zone(query.time_zone)
        if zone is None:
            raise errors.invalid_request(f"Invalid timeZone: {query.time_zone!r}")
        if query.cell_format != "string":
            zone = None
    return RenderOptions(by_id=query.by_id, fields=fields, zone=zone, comment_counts=comment_counts)


def _field(table: Table, name: str) -> Field:
    found = table.field(name)
    if found is None:
        raise errors.unknown_field(name)
    return found


def _filter(evaluator: Evaluator, table: Table, records: list[Record], text: str) -> list[Record]:
    try:
        formula = evaluator.compile(table, text)
    except UnknownFieldError as exc:
        raise errors.unknown_formula_fields(exc.names) from exc
    except FormulaError as exc:
        raise errors.invalid_formula(str(exc)) from exc
    except Exception as exc:  # the engine must never turn a bad formula into a 500
        raise errors.invalid_formula(str(FormulaError())) from exc
    kept = []
    for record in records:
        try:
            keep = is_truthy(formula.evaluate(evaluator.context(table, record)))
        except Exception:  # an evaluation error is falsy, as in Airtable
            keep = False
        if keep:
            kept.append(record)
    return kept


def sort_key(evaluator: Evaluator, table: Table, fld: Field) -> Callable[[Record], Any]:
    """Key that orders records by one field; empty cells sort first."""
    kind = fld.type
    if kind in ("formula", "rollup"):
        kind = (fld.option("result") or {}).get("type", "singleLineText")
    choices = {c["name"]: i for i, c in enumerate(fld.option("choices") or [])}

    def key(record: Record) -> Any:
        value = evaluator.value(table, record, fld)
        if kind == "checkbox":
            return (1, 0, 1 if value is True else 0)
        if is_empty(value) or (isinstance(value, dict) and "error" in value):
            return (0,)
        if kind in _NUMERIC and isinstance(value, int | float):
            return (1, 0, value)
        if kind == "singleSelect":
            return (1, 0, choices.get(value, len(choices)))
        if kind == "multipleSelects":
            return (1, 1, tuple(choices.get(v, len(choices)) for v in value))
        if kind == "multipleRecordLinks":
            return (1, 2, ", ".join(evaluator.link_names(fld, value)).casefold())
        if isinstance(value, int | float):
            return (1, 0, value)
        if isinstance(value, str):
            return (1, 2, value.casefold())
        if isinstance(value, list):
            return (1, 2, ", ".join(str(v) for v in value).casefold())
        return (1, 2, str(value).casefold())

    return key


def _sort(
    evaluator: Evaluator, table: Table, records: list[Record], sort: list[tuple[Field, str]]
) -> list[Record]:
    for fld, direction in reversed(sort):
        records.sort(key=sort_key(evaluator, table, fld), reverse=direction == "desc")
    return records


def select_ids(evaluator: Evaluator, table: Table, query: ListQuery) -> list[str]:
    """Apply view, formula, sort and ``maxRecords``; return the ordered record IDs."""
    view: View | None = None
    if query.view is not None:
        view = table.view(query.view)
        if view is None:
            raise errors.view_not_found(query.view)
    sort = [(_field(table, name), direction) for name, direction in query.sort]
    records = list(table.records.values())
    if view is not None and view.filter_formula:
        records = _filter(evaluator, table, records, view.filter_formula)
    if query.formula:
        records = _filter(evaluator, table, records, query.formula)
    if not sort and view is not None:
        sort = [(f, d) for fid, d in view.sort if (f := table.field(fid)) is not None]
    if sort:
        records = _sort(evaluator, table, records, sort)
    ids = [r.id for r in records]
    return ids if query.max_records is None else ids[: query.max_records]


def list_page(
    evaluator: Evaluator,
    table: Table,
    query: ListQuery,
    iterators: IteratorStore,
    comments: dict[str, list[Any]],
) -> dict[str, Any]:
    """Return one page of a listing: ``{"records": [...], "offset"?}``.

    Args:
        evaluator: Computes values for the table's base.
        table: The listed table.
        query: Parsed list parameters.
        iterators: Where offsets are issued and resolved.
        comments: Record ID -> comments (for ``commentCount``).
    """
    token = ""
    if query.offset:
        token, ids, position = iterators.resume(query.offset, table.id)
        render_opts = render_options(table, query)
        if query.view is not None and table.view(query.view) is None:
            raise errors.view_not_found(query.view)
    else:
        render_opts = render_options(table, query)
        ids = select_ids(evaluator, table, query)
        position = 0
    page: list[Record] = []
    records = table.records
    while position < len(ids) and len(page) < query.page_size:
        record = records.get(ids[position])
        position += 1
        if record is not None:
            page.append(record)
    if query.comment_count:
        counts = {r.id: len(comments.get(r.id, ())) for r in page}
        render_opts = RenderOptions(
            by_id=render_opts.by_id,
            fields=render_opts.fields,
            zone=render_opts.zone,
            comment_counts=counts,
        )
    body: dict[str, Any] = {
        "records": [render_record(evaluator, table, r, render_opts) for r in page]
    }
    if position < len(ids):
        body["offset"] = iterators.issue(table.id, ids, position, token)
    return body
