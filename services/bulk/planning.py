"""Before a fill runs: which records, which fields, what the model will cost, refusals.

The cost preview counts the prompt of a sample of the records offline (the same
approximate count the budget guard reserves by), scales it to every record, and prices it
with the model table: min (input a little under the count, shortest answers), expected
(the count, typical answers) and max (input at the guard's safety factor, longest answers).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from langchain_core.messages.utils import count_tokens_approximately

from services.airtable.cells import plain_text
from services.airtable.dates import DateResolver, today_in
from services.airtable.filters import Condition
from services.airtable.gateway import AirtableGateway
from services.airtable.schema import FieldSchema, TableSchema
from services.airtable.where import Match, Where, compile_where
from services.budget.pricing import format_usd
from services.bulk.outputs import SUPPORTED, OutputField, is_empty
from services.bulk.prompting import batch_messages
from services.errors import InvalidInputError
from services.llm.catalog import ModelSpec

SAMPLE_RECORDS = 20
MIN_INPUT_SHARE = 0.8
TYPE_NAMES = {
    "singleLineText": "text",
    "multilineText": "long text",
    "number": "number",
    "percent": "percent",
    "currency": "currency",
    "rating": "rating",
    "singleSelect": "single select",
    "multipleSelects": "multiple select",
    "checkbox": "checkbox",
    "date": "date",
}


@dataclass(frozen=True)
class FillRequest:
    """What to fill: `field` of `table` from `sources`, for every record (of `view`, or
    matching `where`), following `instruction`."""

    base_id: str
    table: str
    field: str
    sources: list[str]
    instruction: str
    view: str | None = None
    where: list[Condition] = dataclass_field(default_factory=list)
    match: Match = "all"
    overwrite: bool = False


@dataclass(frozen=True)
class CostPreview:
    """What the fill will cost, in nano-USD, and the tokens behind it."""

    calls: int
    input_tokens: int
    output_tokens: int
    min_nusd: int
    expected_nusd: int
    max_nusd: int

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "min_nusd": self.min_nusd,
            "expected_nusd": self.expected_nusd,
            "max_nusd": self.max_nusd,
            "min": format_usd(self.min_nusd),
            "expected": format_usd(self.expected_nusd),
            "max": format_usd(self.max_nusd),
        }


@dataclass(frozen=True)
class FillTarget:
    """The records a fill reads, as found now."""

    table: TableSchema
    output: OutputField
    sources: list[FieldSchema]
    matching: int
    todo: list[dict[str, Any]]  # {"id", "label", "inputs", "before"}

    @property
    def already_filled(self) -> int:
        return self.matching - len(self.todo)


def output_field(table: TableSchema, name: str) -> OutputField:
    """The field to fill, or `InvalidInputError` when a fill cannot write its type."""
    found = table.field(name)
    if found.type not in SUPPORTED or found.computed:
        kinds = ", ".join(sorted(set(TYPE_NAMES.values())))
        raise InvalidInputError(
            f"{found.name} is a {found.type} field, which a fill cannot write. "
            f"A fill writes these field types: {kinds}."
        )
    if found.type in ("singleSelect", "multipleSelects") and not found.choices:
        raise InvalidInputError(f"{found.name} has no options to choose from; add some first.")
    options = found.options or {}
    precision = options.get("precision")
    return OutputField(
        id=found.id,
        name=found.name,
        type=found.type,
        options=found.choices,
        precision=int(precision) if isinstance(precision, int) else None,
        max_rating=int(options["max"]) if isinstance(options.get("max"), int) else None,
    )


def read_target(gateway: AirtableGateway, user_id: int, request: FillRequest) -> FillTarget:
    """The table, the fields and every record still to fill (all of them with overwrite).

    Raises:
        InvalidInputError: unknown table, field or view; an unsupported output field; no
            source field; or a source that is the output field itself.
    """
    if not request.sources:
        raise InvalidInputError("Name at least one field the model should read.")
    table = gateway.table(
        user_id, request.base_id, request.table, uses=[request.field, *request.sources]
    )
    output = output_field(table, request.field)
    sources = _unique([table.field(name) for name in request.sources])
    if any(s.id == output.id for s in sources):
        raise InvalidInputError(f"{output.name} cannot be both read and filled.")
    options: dict[str, Any] = {}
    if request.where:
        compiled = compile_where(
            table, Where(request.where, request.match), DateResolver(today_in(None))
        )
        if compiled.formula:
            options["formula"] = compiled.formula
    if request.view:
        if request.view not in table.views:
            raise InvalidInputError(f'Unknown view "{request.view}" in {table.name}.')
        options["view"] = request.view
    wanted = _unique([table.primary, *sources, table.field_by_id(output.id)])
    matching, todo = 0, []
    for page in gateway.pages(
        user_id, request.base_id, table.id, fields=[f.id for f in wanted], **options
    ):
        for record in page:
            matching += 1
            cells = record["fields"]
            before = cells.get(output.id)
            if not request.overwrite and not is_empty(before):
                continue
            todo.append(
                {
                    "id": record["id"],
                    "label": plain_text(cells.get(table.primary.id))[:255] or record["id"],
                    "inputs": {s.name: cells.get(s.id) for s in sources},
                    "before": before,
                }
            )
    return FillTarget(table, output, sources, matching, todo)


def filled_since(gateway: AirtableGateway, user_id: int, request: FillRequest) -> set[str]:
    """IDs of the fill's records whose output cell is no longer empty (someone filled it
    after the preview read them): one filtered listing, usually a single request."""
    table = gateway.table(user_id, request.base_id, request.table, uses=[request.field])
    output = table.field(request.field)
    reference = "{" + output.name.replace("}", "\\}") + "}"
    filled = reference if output.type == "checkbox" else f'LEN({reference}&"")>0'
    options: dict[str, Any] = {}
    if request.where:
        compiled = compile_where(
            table, Where(request.where, request.match), DateResolver(today_in(None))
        )
        if compiled.formula:
            filled = f"AND({compiled.formula},{filled})"
    if request.view:
        options["view"] = request.view
    return {
        record["id"]
        for page in gateway.pages(
            user_id, request.base_id, table.id, fields=[output.id], formula=filled, **options
        )
        for record in page
    }


def preview_cost(
    spec: ModelSpec,
    instruction: str,
    output: OutputField,
    todo: Sequence[dict[str, Any]],
    *,
    safety_factor: float,
) -> CostPreview:
    """The min/expected/max cost of asking `spec` about every record of `todo`."""
    count = len(todo)
    if count == 0:
        return CostPreview(0, 0, 0, 0, 0, 0)
    calls = math.ceil(count / output.per_call)
    sample = [r["inputs"] for r in todo[:SAMPLE_RECORDS]]
    overhead = count_tokens_approximately(batch_messages(instruction, output, []))
    per_record = [
        count_tokens_approximately(batch_messages(instruction, output, [r])) - overhead
        for r in sample
    ]
    input_tokens = calls * overhead + math.ceil(statistics.fmean(per_record) * count)
    expected_out, most_out = output.output_tokens
    per_call_input = input_tokens // calls
    rates = spec.rates_for(math.ceil(per_call_input * safety_factor))

    def price(tokens_in: int, tokens_out: int) -> int:
        return tokens_in * rates.input_nusd + tokens_out * rates.output_nusd

    least_out = 2 * count  # the shortest answer line a record can have
    return CostPreview(
        calls=calls,
        input_tokens=input_tokens,
        output_tokens=expected_out * count,
        min_nusd=price(math.floor(input_tokens * MIN_INPUT_SHARE), least_out),
        expected_nusd=price(input_tokens, expected_out * count),
        max_nusd=price(math.ceil(input_tokens * safety_factor), most_out * count),
    )


def _unique(fields: list[FieldSchema]) -> list[FieldSchema]:
    seen: dict[str, FieldSchema] = {}
    for item in fields:
        seen.setdefault(item.id, item)
    return list(seen.values())
