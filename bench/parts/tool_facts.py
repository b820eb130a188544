"""Facts for `bench/tool_efficiency.py`: computed from the demo data, then looked for in text.

A fact in `questions.yaml` is a literal (a string or number that must appear), or a
computation over one table, done here in plain Python on every record (fetched with
pyairtable, linked records replaced by their primary field text):

    {count: Tasks, where: {Assignee: Ana, Done: false}}
    {sum: Estimate Hours, table: Tasks, by: Assignee}          # one fact per group
    {max: Order Total, table: Orders}
    {values: Name, table: Projects, where: {Status: Active}}   # every matching value
    {values: id, table: Orders, sort: Order Number, offset: 100, limit: 5}  # rows 101-105
    {value: Name, table: Deals, sort: -Amount}                 # the first one's value
    {median: Amount, table: Deals}        {percentile: Amount, p: 90, table: Deals}
    {distinct: Customer, table: Orders}   # how many different values
    {sum_product: [Stock, Unit Price], table: Products, by: Category}
    {ratio: {Stage: Closed Won}, table: Deals, by: Owner}      # percent of each group

`where` is evaluated by `bench/parts/fact_filters.py` (its docstring lists the forms:
nested any_of/all_of/none_of, text_in, dates relative to today). `by` groups (a list of
two fields gives one group per pair, labelled `a|b`; `bucket: day|week|month|quarter|year`
for dates, a week labelled by its Monday, a quarter as 2026-Q1; `top: N` keeps the N
largest groups). Each record also carries `createdTime` (`sort: -createdTime`: the ones
added last first).

Each question lists its facts in two kinds, scored apart: `readable` facts are written in
raw rows or the schema (literals, a cell's `value`/`values`, a `min`/`max`, which is some
row's cell), so a baseline that returns the right rows can hold them; `computed` facts
(`count`, `sum`, `avg`, `median`, `percentile`, `distinct`, `sum_product`, `ratio`) are
written in no row and must be worked out over every matching record. `facts_of` refuses
a count filed as readable, or a cell's value as computed. (A linked record's value is its
name, as our tools show it; raw rows hold its record ID.)
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from pyairtable import Api

from bench.parts.fact_filters import flat as _flat
from bench.parts.fact_filters import where as _where

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")

Kind = Literal["computed", "readable"]
KINDS: tuple[Kind, ...] = ("computed", "readable")
_COMPUTED_ONLY = ("count", "sum", "avg", "median", "percentile", "distinct", "sum_product", "ratio")
_READABLE_ONLY = ("values", "value")


@dataclass(frozen=True)
class Fact:
    """One thing the answer needs: a value, on the same line as `group` when grouped."""

    value: str | float
    group: str | None = None
    kind: Kind = "readable"

    @property
    def label(self) -> str:
        shown = _fmt(self.value)
        return f"{self.group}: {shown}" if self.group is not None else shown


class Linked(str):
    """A linked record as its primary field text, remembering the record's ID: groups are
    per record, since two records may share a name."""

    record_id: str

    def __new__(cls, text: str, record_id: str) -> Linked:
        linked = super().__new__(cls, text)
        linked.record_id = record_id
        return linked


class DemoData:
    """Every record of the tables asked about, links as names, fetched once."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._tables: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def records(self, base_id: str, table: str) -> list[dict[str, Any]]:
        key = (base_id, table)
        if key not in self._tables:
            url = f"{self._api.endpoint_url}/v0/meta/bases/{base_id}/tables"
            tables = {t["id"]: t for t in self._api.request("GET", url)["tables"]}
            wanted = next(t for t in tables.values() if table in (t["id"], t["name"]))
            links = {
                f["name"]: tables[f["options"]["linkedTableId"]]
                for f in wanted["fields"]
                if f["type"] == "multipleRecordLinks"
            }
            names: dict[str, str] = {}
            for linked in {t["id"]: t for t in links.values()}.values():
                primary = next(
                    f["name"] for f in linked["fields"] if f["id"] == linked["primaryFieldId"]
                )
                for record in self._api.table(base_id, linked["id"]).all():
                    names[record["id"]] = _text(record["fields"].get(primary))
            rows = []
            for record in self._api.table(base_id, wanted["id"]).all():
                fields = dict(record["fields"])
                for name in links:
                    fields[name] = [Linked(names.get(i, i), i) for i in fields.get(name, [])]
                rows.append({"id": record["id"], "createdTime": record["createdTime"], **fields})
            self._tables[key] = rows
        return self._tables[key]

    def first(self, base_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        """The first record matching `where`, in `sort` order."""
        rows = _sorted(_where(self.records(base_id, spec["table"]), spec.get("where")), spec)
        return rows[0]


def facts_of(question: dict[str, Any], data: DemoData) -> list[Fact]:
    """Every fact of a question, each of the kind it is filed under.

    Raises:
        ValueError: A fact is filed under a kind its form cannot have, or a kind is unknown.
    """
    entries = question["facts"]
    if not isinstance(entries, dict) or not set(entries) <= set(KINDS):
        raise ValueError(f"{question['id']}: facts must be {{computed: [...], readable: [...]}}")
    facts: list[Fact] = []
    for kind in KINDS:
        for spec in entries.get(kind) or []:
            _check_kind(question["id"], spec, kind)
            facts += [replace(f, kind=kind) for f in expected(spec, question["base"], data)]
    return facts


def _check_kind(question_id: str, spec: Any, kind: Kind) -> None:
    form = next(
        (m for m in (*_COMPUTED_ONLY, *_READABLE_ONLY) if isinstance(spec, dict) and m in spec),
        None,
    )
    if kind == "readable" and form in _COMPUTED_ONLY:
        raise ValueError(f"{question_id}: a {form} is written in no row; file it as computed")
    if kind == "computed" and (form in _READABLE_ONLY or not isinstance(spec, dict)):
        raise ValueError(f"{question_id}: {spec!r} is readable in raw rows; file it as readable")


def expected(spec: Any, base_id: str, data: DemoData) -> list[Fact]:
    """The facts one `facts:` entry stands for."""
    if not isinstance(spec, dict):
        return [Fact(spec if isinstance(spec, str) else float(spec))]
    base = spec.get("base", base_id)
    metric = next(m for m in (*_COMPUTED_ONLY, "min", "max", "values", "value") if m in spec)
    table = spec[metric] if metric == "count" else spec["table"]
    rows = _where(data.records(base, table), spec.get("where"))
    if metric in ("values", "value"):
        ordered = _sorted(rows, spec)
        skip, many = spec.get("offset", 0), spec.get("limit", len(ordered))
        picked = ordered[skip : skip + (1 if metric == "value" else many)]
        return [_value_fact(r.get(spec[metric])) for r in picked]
    if "by" not in spec:
        return [Fact(_metric(metric, rows, spec))]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    by = spec["by"] if isinstance(spec["by"], list) else [spec["by"]]
    for row in rows:
        # A date bucket applies to the first field (Order Date by month, then Status).
        levels = [
            _group_keys(row.get(name), spec.get("bucket") if i == 0 else None)
            for i, name in enumerate(by)
        ]
        for key in _pairs(levels):
            groups[key].append(row)
    facts = [Fact(_metric(metric, g, spec), label) for (label, _), g in groups.items()]
    facts.sort(key=lambda f: (isinstance(f.value, float), f.value), reverse=True)
    return facts[: spec.get("top", len(facts))]


def _value_fact(cell: Any) -> Fact:
    """A cell's value as a fact: a number is found within rounding (a formula's 10137.94 is
    Airtable's 10137.939999999999), anything else as its text."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return Fact(float(cell))
    return Fact(_text(cell))


def present(fact: Fact, text: str) -> bool:
    """Whether the fact is in the text: numbers within rounding, groups on one line."""
    lines = text.splitlines() if fact.group is not None else [text]
    for line in lines:
        if fact.group is not None and fact.group.casefold() not in line.casefold():
            continue
        if isinstance(fact.value, float):
            numbers = (float(n.replace(",", "")) for n in _NUMBER.findall(line))
            if any(abs(n - fact.value) <= max(0.01, abs(fact.value) * 1e-9) for n in numbers):
                return True
        elif str(fact.value).casefold() in line.casefold():
            return True
    return False


def _metric(metric: str, rows: list[dict[str, Any]], spec: dict[str, Any]) -> float | str:
    field: Any = spec.get(metric)
    if metric == "count":
        return float(len(rows))
    if metric == "ratio":  # percent of the rows that also meet the ratio's own `where`
        return 100.0 * len(_where(rows, field)) / len(rows)
    if metric == "sum_product":  # sum over rows of the product of these fields, when all set
        products = [_product(r, field) for r in rows]
        return math.fsum(p for p in products if p is not None)
    cells = [v for r in rows for v in _flat(r.get(field))]
    if metric == "distinct":  # a linked record by its ID: two may share a name
        return float(len({getattr(v, "record_id", _text(v)) for v in cells if v not in (None, "")}))
    numbers = [float(v) for v in cells if isinstance(v, int | float) and not isinstance(v, bool)]
    if metric == "sum":
        return math.fsum(numbers)
    if metric == "avg":
        return math.fsum(numbers) / len(numbers)
    if metric == "median":
        return float(statistics.median(numbers))
    if metric == "percentile":  # the inclusive method: linear between closest ranks
        return statistics.quantiles(numbers, n=100, method="inclusive")[int(spec["p"]) - 1]
    if not numbers:  # dates: ISO text orders like the dates
        texts = [str(v) for v in cells if v not in (None, "")]
        return min(texts) if metric == "min" else max(texts)
    return min(numbers) if metric == "min" else max(numbers)


def _product(row: dict[str, Any], fields: list[str]) -> float | None:
    result = 1.0
    for name in fields:
        items = [v for v in _flat(row.get(name)) if isinstance(v, int | float)]
        if not items:
            return None
        result *= math.fsum(items)
    return result


def _pairs(levels: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """One (label, identity) per group; for two fields, every pair as `a|b`, our column
    layout."""
    if len(levels) == 1:
        return levels[0]
    return [(f"{a}|{b}", f"{ia}|{ib}") for a, ia in levels[0] for b, ib in levels[1]]


def _sorted(rows: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    key = spec.get("sort")
    if not key:
        return rows
    field, reverse = key.lstrip("-"), key.startswith("-")
    present_rows = [r for r in rows if r.get(field) is not None]
    return sorted(present_rows, key=lambda r: r[field], reverse=reverse)


def _group_keys(cell: Any, bucket: str | None) -> list[tuple[str, str]]:
    """(label, identity) of each group the cell falls in; a linked record is its own group."""
    items = [(_text(i), getattr(i, "record_id", _text(i))) for i in _flat(cell)]
    items = items or [("(empty)", "(empty)")]
    if bucket == "week":  # the Monday starting the week
        mondays = [date.fromisoformat(label[:10]) for label, _ in items if label != "(empty)"]
        items = [
            (m.isoformat(), m.isoformat()) for m in (d - timedelta(d.weekday()) for d in mondays)
        ]
    elif bucket == "quarter":  # 2026-Q1
        days = [date.fromisoformat(label[:10]) for label, _ in items if label != "(empty)"]
        items = [(q, q) for q in (f"{d.year}-Q{(d.month + 2) // 3}" for d in days)]
    elif bucket:
        cut = {"day": 10, "month": 7, "year": 4}[bucket]
        items = [(label[:cut], label[:cut]) for label, _ in items]
    return list(dict.fromkeys(items))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _fmt(value: str | float) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return value
