"""The agent's bulk fill tool: proposes a fill and returns a card; it runs nothing.

`fill_field` reads the records, checks the output field and prices the fill; the card
(artifact `bulk_fill_proposal`) shows the count, the fields read, the output field with
its options and the cost preview. Only the person's Confirm on it starts the durable run.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from services.airtable.filters import Condition
from services.bulk.planning import FillRequest
from services.bulk.runs import describe
from services.container import Services
from tools.airtable.reads import args_tool
from tools.airtable.scope import as_tool_errors, scope_of
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Result = tuple[str, dict[str, Any]]


class FillFieldArgs(BaseModel):
    base_id: str | None = Field(
        default=None, description="Base ID (starts with app). Leave empty for the base in scope."
    )
    table: str = Field(description="Table name (or ID) as describe_table lists it.")
    field: str = Field(
        description=(
            "The field to fill: text, long text, number, percent, currency, rating, single "
            "or multiple select, checkbox or date. It must exist (select options are never "
            "invented)."
        )
    )
    read_fields: list[str] = Field(
        min_length=1, description="The fields the model reads for each record, e.g. [Notes]."
    )
    instruction: str = Field(
        min_length=3,
        description="What to do for each record, e.g. 'Classify the sentiment of the notes'.",
    )
    view: str | None = Field(default=None, description="Only the records of this view.")
    filters: list[Condition] = Field(
        default_factory=list, description="Only records matching these conditions."
    )
    match: Literal["all", "any"] = Field(
        default="all", description="all: every condition must hold; any: at least one."
    )
    overwrite: bool = Field(
        default=False,
        description="Also replace values already there (only when the person asks for it).",
    )


def bulk_tools(services: Services) -> list[BaseTool]:
    """fill_field (a proposal card)."""

    def fill_field(args: FillFieldArgs, runtime: Runtime) -> Result:
        """Propose filling one field for every record of a table (or view or filter) with the
        model, from other fields; shows the count and a cost preview, and runs only when
        the person confirms it in the app."""
        scope = scope_of(runtime, args.base_id)
        request = FillRequest(
            base_id=scope.base_id,
            table=args.table,
            field=args.field,
            sources=list(args.read_fields),
            instruction=args.instruction,
            view=args.view,
            where=list(args.filters),
            match=args.match,
            overwrite=args.overwrite,
        )
        with as_tool_errors():
            card = services.bulk_fills.propose(scope.user_id, request)
        return describe(card), card

    return [args_tool(fill_field, FillFieldArgs)]
