"""Building tables and bases from Meta API definitions.

Fields are created in two passes (plain and link fields first, then formula, rollup,
count and lookup fields) so a computed field may use a table defined later in the same
request; the declared order is restored afterwards, with inverse link fields last.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from emulator import errors
from emulator.fielddefs import LINKED_TYPES, IdFactory, build_field, random_ids
from emulator.schema import Base, Table, View


def _check_table_name(base: Base, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.invalid_schema("Table names must be non-empty strings")
    if any(t.name.casefold() == name.strip().casefold() for t in base.tables):
        raise errors.duplicate_name("table", name)
    return name.strip()


def _new_table(base: Base, spec: Any, ids: IdFactory) -> tuple[Table, list[Any]]:
    if not isinstance(spec, dict):
        raise errors.invalid_schema("A table definition must be an object")
    name = _check_table_name(base, spec.get("name"))
    fields = spec.get("fields")
    if not isinstance(fields, list) or not fields:
        raise errors.invalid_schema(f'Table "{name}" needs at least one field')
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise errors.invalid_schema(f'Table "{name}": description must be a string')
    table = Table(
        id=ids("tbl", name),
        name=name,
        description=description,
        primary_field_id="",
        fields=[],
        views=[View(id=ids("viw", f"{name}.Grid view"), name="Grid view")],
    )
    base.tables.append(table)
    return table, fields


def add_tables(
    base: Base, specs: Sequence[Any], now: datetime, ids: IdFactory = random_ids
) -> list[Table]:
    """Create tables (with their fields) in ``base``.

    Args:
        base: The base to add to (changed in place; the caller persists it).
        specs: ``[{"name", "description"?, "fields": [...]}]``; link fields may name
            their ``linkedTableId`` by ID or by the name of a table in the same request.
        now: Used to infer formula result types.
        ids: ID factory (random by default).

    Returns:
        The new tables.

    Raises:
        ApiError: 422 for an invalid definition (``base`` is then left half-built; callers
            work on a copy or discard it).
    """
    created = [_new_table(base, spec, ids) for spec in specs]
    for computed_pass in (False, True):
        for table, fields in created:
            for index, spec in enumerate(fields):
                kind = spec.get("type") if isinstance(spec, dict) else None
                if (kind in LINKED_TYPES or kind in ("formula", "button")) == computed_pass:
                    build_field(base, table, spec, now, ids, primary=index == 0)
    for table, fields in created:
        order = {spec["name"].strip(): i for i, spec in enumerate(fields)}
        table.fields.sort(key=lambda f: order.get(f.name, len(order)))
        table.primary_field_id = table.fields[0].id
        table.reindex()
    return [table for table, _ in created]
