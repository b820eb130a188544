"""Cell values on read: stored cells plus computed fields.

:class:`Evaluator` answers "what is field F of record R" for one base at one moment,
computing formula, rollup, count, lookup, autoNumber and time fields on demand and
caching each answer for its lifetime (one request).
"""

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from emulator.cellstring import format_cell, load_zone
from emulator.formula import FieldInfo, Formula, RecordContext, compile_formula, to_cell_value
from emulator.ids import format_time, utc_now
from emulator.schema import Base, Field, Record, Table

ERROR_CELL = {"error": "#ERROR!"}
_ROLLUP_RE = re.compile(r"^\s*([A-Za-z]+)\(\s*values\s*(?:,\s*(['\"])(.*?)\2\s*)?\)\s*$", re.DOTALL)
ROLLUP_FUNCTIONS = frozenset(
    {"SUM", "COUNT", "COUNTA", "COUNTALL", "MAX", "MIN", "AVERAGE", "ARRAYJOIN",
     "ARRAYUNIQUE", "ARRAYCOMPACT", "CONCATENATE", "AND", "OR"}
)  # fmt: skip
_UTC = load_zone("utc")


def parse_rollup(expression: str) -> tuple[str, str] | None:
    """Split a rollup expression such as ``SUM(values)`` into (function, separator)."""
    match = _ROLLUP_RE.match(expression or "")
    if not match or match.group(1).upper() not in ROLLUP_FUNCTIONS:
        return None
    return match.group(1).upper(), match.group(3) if match.group(3) is not None else ", "


def field_infos(table: Table) -> tuple[FieldInfo, ...]:
    """Describe a table's fields for the formula engine."""
    infos = []
    for fld in table.fields:
        result = fld.option("result")
        result_type = result.get("type") if isinstance(result, dict) else None
        infos.append(FieldInfo(id=fld.id, name=fld.name, type=fld.type, result_type=result_type))
    return tuple(infos)


@lru_cache(maxsize=512)
def compile_cached(text: str, fields: tuple[FieldInfo, ...]) -> Formula:
    """Compile a formula once per (text, table schema)."""
    return compile_formula(text, fields)


def button_url_formula(url: str) -> str:
    """The formula a button's ``url`` option stands for: a plain ``http(s)://`` URL is a
    text constant, anything else is a formula such as ``"https://x/" & RECORD_ID()``."""
    if url.lower().startswith(("http://", "https://")):
        return '"' + url.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return url


_NUMERIC_ROLLUPS = frozenset({"SUM", "MAX", "MIN", "AVERAGE"})
NAN_CELL = {"specialValue": "NaN"}


def _is_error_cell(value: Any) -> bool:
    return isinstance(value, dict) and "error" in value


def _aggregate(function: str, separator: str, values: list[Any]) -> Any:
    if function in _NUMERIC_ROLLUPS and any(_is_error_cell(v) for v in values):
        # Airtable answers NaN for a number rollup over #ERROR! values (pyairtable's
        # ORM docs show a rollup of an erroring field as {"specialValue": "NaN"}).
        return NAN_CELL
    values = [v["error"] if _is_error_cell(v) else v for v in values]
    present = [v for v in values if v is not None and v != ""]
    numbers = [v for v in present if isinstance(v, int | float) and not isinstance(v, bool)]
    if function == "SUM":
        return sum(numbers)
    if function == "COUNT":
        return len(numbers)
    if function == "COUNTA":
        return len(present)
    if function == "COUNTALL":
        return len(values)
    if function in ("MAX", "MIN"):
        return (max if function == "MAX" else min)(numbers) if numbers else None
    if function == "AVERAGE":
        return sum(numbers) / len(numbers) if numbers else None
    if function == "AND":
        return all(bool(v) for v in present)
    if function == "OR":
        return any(bool(v) for v in present)
    texts = [str(v) for v in present]
    if function == "ARRAYUNIQUE":
        return list(dict.fromkeys(present))
    if function == "ARRAYCOMPACT":
        return present
    if function == "CONCATENATE":
        return "".join(texts)
    return separator.join(texts)


class _Values(Mapping[str, Any]):
    """Field ID -> value of one record, computed lazily for the formula engine."""

    def __init__(self, evaluator: "Evaluator", table: Table, record: Record) -> None:
        self._evaluator = evaluator
        self._table = table
        self._record = record

    def __getitem__(self, field_id: str) -> Any:
        fld = self._table.field(field_id)
        if fld is None:
            raise KeyError(field_id)
        return self._evaluator.formula_input(self._table, self._record, fld)

    def __iter__(self) -> Iterator[str]:
        return (f.id for f in self._table.fields)

    def __len__(self) -> int:
        return len(self._table.fields)


class Evaluator:
    """Computes cell values of one base; create one per request.

    Args:
        base: The base whose records are read.
        user: The collaborator that ``createdBy``/``lastModifiedBy`` report.
        now: The moment ``NOW()``/``TODAY()`` see (defaults to the current time).
    """

    def __init__(self, base: Base, user: dict[str, str], now: datetime | None = None) -> None:
        self.base = base
        self.user = user
        self.now = now or utc_now()
        self._cache: dict[tuple[str, str], Any] = {}
        self._busy: set[tuple[str, str]] = set()
        self._names: dict[str, str] = {}
        self._infos: dict[str, tuple[FieldInfo, ...]] = {}
        self._formulas: dict[tuple[str, str], Formula] = {}

    def infos(self, table: Table) -> tuple[FieldInfo, ...]:
        """The formula engine's view of a table's fields (cached)."""
        if table.id not in self._infos:
            self._infos[table.id] = field_infos(table)
        return self._infos[table.id]

    def compile(self, table: Table, text: str) -> Formula:
        """Compile a formula against a table (raises the engine's FormulaError)."""
        key = (table.id, text)
        formula = self._formulas.get(key)
        if formula is None:
            formula = self._formulas[key] = compile_cached(text, self.infos(table))
        return formula

    def context(self, table: Table, record: Record) -> RecordContext:
        """The formula engine's context for one record."""
        return RecordContext(
            record_id=record.id,
            created_time=record.created,
            last_modified_time=record.modified,
            values=_Values(self, table, record),
            now=self.now,
        )

    def value(self, table: Table, record: Record, fld: Field) -> Any:
        """Return the API JSON value of a cell (``None`` when empty)."""
        if not fld.computed:
            return record.cells.get(fld.id)
        key = (record.id, fld.id)
        if key in self._cache:
            return self._cache[key]
        if key in self._busy:  # a formula that depends on itself
            return ERROR_CELL
        self._busy.add(key)
        try:
            result = self._compute(table, record, fld)
        except Exception:  # a broken computed field must never break a read
            result = ERROR_CELL
        finally:
            self._busy.discard(key)
        self._cache[key] = result
        return result

    def formula_input(self, table: Table, record: Record, fld: Field) -> Any:
        """The value a formula sees: like :meth:`value`, but links read as names."""
        value = self.value(table, record, fld)
        if value and fld.type == "multipleRecordLinks":
            return self.link_names(fld, value)
        if value and fld.type == "multipleLookupValues":
            target = self._lookup_target(table, fld)
            if target is not None and target[1].type == "multipleRecordLinks":
                return self.link_names(target[1], value)
        return value

    def link_names(self, fld: Field, record_ids: Sequence[str]) -> list[str]:
        """Primary field text of linked records (the link field's target table)."""
        linked = self.base.table_by_id(fld.option("linkedTableId"))
        return [self.display(linked, rec_id) for rec_id in record_ids]

    def display(self, table: Table, record_id: str) -> str:
        """The primary field of a record as text (its name in links and formulas)."""
        if record_id in self._names:
            return self._names[record_id]
        record = table.records.get(record_id)
        text = ""
        if record is not None:
            primary = table.primary_field
            value = self.value(table, record, primary)
            assert _UTC is not None
            text = format_cell(primary, value, zone=_UTC, link_names=self.link_names) or ""
        self._names[record_id] = text
        return text

    def _lookup_target(self, table: Table, fld: Field) -> tuple[Table, Field] | None:
        link = table.field(fld.option("recordLinkFieldId") or "")
        if link is None or link.type != "multipleRecordLinks":
            return None
        linked = self.base.table_by_id(link.option("linkedTableId"))
        target = linked.field(fld.option("fieldIdInLinkedTable") or "")
        return None if target is None else (linked, target)

    def _linked_values(self, table: Table, record: Record, fld: Field) -> list[Any]:
        link = table.field(fld.option("recordLinkFieldId") or "")
        found = self._lookup_target(table, fld)
        if link is None or found is None:
            return []
        linked, target = found
        values: list[Any] = []
        for rec_id in record.cells.get(link.id) or []:
            other = linked.records.get(rec_id)
            if other is None:
                continue
            value = self.value(linked, other, target)
            if isinstance(value, list):
                values.extend(value)
            elif value is not None:
                values.append(value)
        return values

    def _button(self, table: Table, record: Record, fld: Field) -> dict[str, Any]:
        """``{"label", "url"}``; ``url`` is null when the button opens no URL."""
        url = fld.option("url")
        text = None
        if isinstance(url, str) and url:
            result = self.compile(table, button_url_formula(url)).evaluate(
                self.context(table, record)
            )
            cell = to_cell_value(result, "singleLineText")
            text = cell if isinstance(cell, str) and cell else None
        return {"label": str(fld.option("label", fld.name)), "url": text}

    def _compute(self, table: Table, record: Record, fld: Field) -> Any:
        kind = fld.type
        if kind == "formula":
            formula = self.compile(table, fld.option("formula", ""))
            result = formula.evaluate(self.context(table, record))
            result_type = (fld.option("result") or {}).get("type")
            cell = to_cell_value(result, result_type)
            if isinstance(cell, float) and (math.isnan(cell) or math.isinf(cell)):
                return {"specialValue": "NaN" if math.isnan(cell) else "Infinity"}
            return cell
        if kind == "button":
            return self._button(table, record, fld)
        if kind == "rollup":
            parsed = parse_rollup(fld.option("formula", "ARRAYJOIN(values)"))
            if parsed is None:
                return ERROR_CELL
            return _aggregate(*parsed, self._linked_values(table, record, fld))
        if kind == "multipleLookupValues":
            return self._linked_values(table, record, fld) or None
        if kind == "count":
            link = table.field(fld.option("recordLinkFieldId") or "")
            return len(record.cells.get(link.id) or []) if link else 0
        if kind == "autoNumber":
            return record.auto_number
        if kind == "createdTime":
            return record.created_time
        if kind == "lastModifiedTime":
            return format_time(record.modified)
        if kind in ("createdBy", "lastModifiedBy"):
            return dict(self.user)
        return None
