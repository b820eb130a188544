"""Building fields from Meta API definitions ``{name, type, description?, options?}``.

Link fields get an inverse field in the linked table (named after the source table);
formula, rollup, count and lookup fields are checked against the fields they use.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator import errors
from emulator.computed import button_url_formula, compile_cached, field_infos, parse_rollup
from emulator.fieldtypes import PRIMARY_TYPES, SUPPORTED_TYPES, plain_options
from emulator.formula import FormulaError, RecordContext
from emulator.ids import new_id
from emulator.schema import Base, Field, Table

#: Makes an ID from a prefix and a key (random by default; derived for demo data).
IdFactory = Callable[[str, str], str]
LINKED_TYPES = frozenset({"rollup", "count", "multipleLookupValues"})
_NUMBER_ROLLUPS = frozenset({"SUM", "MAX", "MIN", "AVERAGE"})
_COUNT_ROLLUPS = frozenset({"COUNT", "COUNTA", "COUNTALL", "AND", "OR"})


def random_ids(prefix: str, key: str) -> str:
    """The default :data:`IdFactory`: a fresh random ID."""
    del key
    return new_id(prefix)


def check_name(table: Table, name: Any, *, ignore: Field | None = None) -> str:
    """Validate a field name: non-empty and unique in the table (case-insensitive)."""
    if not isinstance(name, str) or not name.strip():
        raise errors.invalid_schema("Field names must be non-empty strings")
    for fld in table.fields:
        if fld is not ignore and fld.name.casefold() == name.strip().casefold():
            raise errors.duplicate_name("field", name)
    return name.strip()


def _unique_name(table: Table, wanted: str) -> str:
    taken = {f.name.casefold() for f in table.fields}
    name, index = wanted, 2
    while name.casefold() in taken:
        name, index = f"{wanted} {index}", index + 1
    return name


def _linked(base: Base, table: Table, fld: Field, key: str) -> tuple[Field, Table, Field]:
    link = table.field(str(fld.option("recordLinkFieldId") or ""))
    if link is None or link.type != "multipleRecordLinks":
        raise errors.invalid_schema(f'Field "{fld.name}": recordLinkFieldId must be a link field')
    linked = base.table_by_id(link.option("linkedTableId"))
    target = linked.field(str(fld.option(key) or ""))
    if key and target is None:
        raise errors.invalid_schema(f'Field "{fld.name}": {key} is not a field of {linked.name}')
    return link, linked, target or link


def _result_of(target: Field) -> dict[str, Any]:
    if target.type in ("formula", "rollup", "multipleLookupValues"):
        return dict(target.option("result") or {"type": "singleLineText"})
    result: dict[str, Any] = {"type": target.type}
    if target.options is not None:
        result["options"] = target.options
    return result


_SAMPLE_NUMBER_TYPES = frozenset(
    {"number", "currency", "percent", "duration", "rating", "count", "autoNumber"}
)


def _sample(fld: Field) -> Any:
    """A plausible non-empty value of a field, for guessing formula result types."""
    kind = fld.type
    if kind in ("formula", "rollup", "multipleLookupValues"):
        kind = (fld.option("result") or {}).get("type", "singleLineText")
    if kind in _SAMPLE_NUMBER_TYPES:
        return 1
    if kind == "checkbox":
        return True
    if kind == "date":
        return "2025-01-01"
    if kind in ("dateTime", "createdTime", "lastModifiedTime"):
        return "2025-01-01T00:00:00.000Z"
    if kind in ("multipleSelects", "multipleRecordLinks", "multipleAttachments"):
        return ["a"]
    return "a"


def _classify(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool | int | float):
        return {"type": "number", "options": {"precision": 0 if isinstance(value, int) else 2}}
    if isinstance(value, datetime):
        # The engine returns its DateOnly subclass for dates without a time of day.
        kind = "date" if type(value).__name__ == "DateOnly" else "dateTime"
        return {"type": kind, "options": plain_options(kind, {}, "")}
    if isinstance(value, str):
        return {"type": "singleLineText"}
    return None


def infer_formula_result(table: Table, text: str, now: datetime) -> dict[str, Any]:
    """Guess a formula's result type by evaluating it on a sample record, then a blank one."""
    formula = compile_cached(text, field_infos(table))
    sample = {f.id: _sample(f) for f in table.fields if f.id in formula.referenced_field_ids}
    for values in (sample, {}):
        context = RecordContext(
            record_id="rec", created_time=now, last_modified_time=now, values=values, now=now
        )
        result = _classify(formula.evaluate(context))
        if result is not None:
            return result
    return {"type": "singleLineText"}


def _formula_options(table: Table, fld: Field, now: datetime) -> dict[str, Any]:
    text = fld.option("formula")
    if not isinstance(text, str) or not text.strip():
        raise errors.invalid_schema(f'Field "{fld.name}": options.formula is required')
    try:
        formula = compile_cached(text, field_infos(table))
    except FormulaError as exc:
        raise errors.invalid_schema(f'Field "{fld.name}": invalid formula ({exc.reason})') from exc
    result = fld.option("result")
    if not isinstance(result, dict) or "type" not in result:
        result = infer_formula_result(table, text, now)
    return {
        "formula": text,
        "isValid": True,
        "referencedFieldIds": sorted(formula.referenced_field_ids),
        "result": result,
    }


def _button_options(table: Table, fld: Field) -> dict[str, Any]:
    """A button's label and the formula of the URL it opens (an emulator extension:
    Airtable's Meta API cannot create buttons and shows no options for them)."""
    label = fld.option("label", fld.name)
    url = fld.option("url")
    if not isinstance(label, str) or not label.strip():
        raise errors.invalid_schema(f'Field "{fld.name}": options.label must be text')
    if url is not None:
        if not isinstance(url, str):
            raise errors.invalid_schema(f'Field "{fld.name}": options.url must be a formula')
        try:
            compile_cached(button_url_formula(url), field_infos(table))
        except FormulaError as exc:
            raise errors.invalid_schema(f'Field "{fld.name}": invalid url ({exc.reason})') from exc
    return {"label": label, "url": url}


def computed_options(base: Base, table: Table, fld: Field, now: datetime) -> dict[str, Any]:
    """Complete the options of a formula, button, rollup, count or lookup field."""
    if fld.type == "formula":
        return _formula_options(table, fld, now)
    if fld.type == "button":
        return _button_options(table, fld)
    if fld.type == "count":
        link, _, _ = _linked(base, table, fld, "")
        return {"isValid": True, "recordLinkFieldId": link.id}
    link, _, target = _linked(base, table, fld, "fieldIdInLinkedTable")
    common = {"isValid": True, "recordLinkFieldId": link.id, "fieldIdInLinkedTable": target.id}
    if fld.type == "multipleLookupValues":
        return {**common, "result": _result_of(target)}
    numeric = target.type in ("number", "currency", "percent", "duration", "count", "autoNumber")
    expression = fld.option("formula") or ("SUM(values)" if numeric else "ARRAYJOIN(values)")
    parsed = parse_rollup(expression)
    if parsed is None:
        raise errors.invalid_schema(f'Field "{fld.name}": unsupported rollup "{expression}"')
    if parsed[0] in _NUMBER_ROLLUPS:
        result = _result_of(target) if numeric else {"type": "number", "options": {"precision": 2}}
    elif parsed[0] in _COUNT_ROLLUPS:
        result = {"type": "number", "options": {"precision": 0}}
    elif parsed[0] in ("ARRAYUNIQUE", "ARRAYCOMPACT"):
        result = _result_of(target)
    else:
        result = {"type": "singleLineText"}
    return {**common, "formula": expression, "referencedFieldIds": [target.id], "result": result}


def build_field(
    base: Base,
    table: Table,
    spec: Any,
    now: datetime,
    ids: IdFactory = random_ids,
    *,
    primary: bool = False,
) -> Field:
    """Create a field from a definition and add it to ``table``.

    Args:
        base: The table's base (links and rollups look into other tables).
        table: Where the field goes.
        spec: ``{"name", "type", "description"?, "options"?}``.
        now: Used to infer formula result types.
        ids: ID factory (keys are ``"<table name>.<field name>"``).
        primary: The field will be the table's primary field.

    Returns:
        The new field (already appended to ``table.fields``).

    Raises:
        ApiError: 422 for an invalid definition.
    """
    if not isinstance(spec, dict):
        raise errors.invalid_schema("A field definition must be an object")
    name = check_name(table, spec.get("name"))
    kind = spec.get("type")
    if kind not in SUPPORTED_TYPES:
        raise errors.invalid_schema(f'Field "{name}": unsupported field type {kind!r}')
    if primary and kind not in PRIMARY_TYPES:
        raise errors.invalid_schema(f'Field "{name}": type {kind} cannot be a primary field')
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise errors.invalid_schema(f'Field "{name}": description must be a string')
    options = spec.get("options")
    if options is not None and not isinstance(options, dict):
        raise errors.invalid_schema(f'Field "{name}": options must be an object')
    fld = Field(ids("fld", f"{table.name}.{name}"), name, kind, dict(options or {}), description)
    if kind == "multipleRecordLinks":
        fld.options = _link_options(base, table, fld, ids)
    elif kind in LINKED_TYPES or kind in ("formula", "button"):
        fld.options = computed_options(base, table, fld, now)
    else:
        fld.options = plain_options(kind, options, name)
    table.fields.append(fld)
    table.reindex()
    return fld


def _link_options(base: Base, table: Table, fld: Field, ids: IdFactory) -> dict[str, Any]:
    linked = base.table(str(fld.option("linkedTableId") or ""))
    if linked is None:
        raise errors.invalid_schema(f'Field "{fld.name}": linkedTableId is not a table')
    options: dict[str, Any] = {
        "linkedTableId": linked.id,
        "isReversed": bool(fld.option("isReversed", False)),
        "prefersSingleRecordLink": bool(fld.option("prefersSingleRecordLink", False)),
    }
    if linked is not table:
        inverse_name = _unique_name(linked, table.name)
        inverse_options = {
            "linkedTableId": table.id,
            "isReversed": False,
            "prefersSingleRecordLink": False,
            "inverseLinkFieldId": fld.id,
        }
        inverse = Field(
            ids("fld", f"{linked.name}.{inverse_name}"),
            inverse_name,
            "multipleRecordLinks",
            inverse_options,
        )
        linked.fields.append(inverse)
        linked.reindex()
        options["inverseLinkFieldId"] = inverse.id
    return options
