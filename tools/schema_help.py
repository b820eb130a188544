"""The agent's schema and formula tools: each proposes (a card) and changes nothing.

`propose_table`, `propose_field` and `rename_field` check the change against the base's
schema and return a `schema_proposal` card; `propose_formula_field` first checks the
formula (fields and functions) and previews it on a few records. Only the person's
Confirm applies a proposal. There is no tool that deletes a table or a field.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from services.container import Services
from services.schema_help.changes import FieldSpec
from tools.airtable.reads import args_tool
from tools.airtable.scope import as_tool_errors, scope_of
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Result = tuple[str, dict[str, Any]]
_BASE = "Base ID (starts with app). Leave empty for the base in scope."
FieldType = Literal[
    "singleLineText",
    "multilineText",
    "email",
    "url",
    "phoneNumber",
    "number",
    "percent",
    "currency",
    "rating",
    "checkbox",
    "date",
    "dateTime",
    "singleSelect",
    "multipleSelects",
    "multipleRecordLinks",
]


class FieldArgs(BaseModel):
    name: str = Field(min_length=1, description="The new field's name.")
    type: FieldType = Field(description="Airtable field type.")
    choices: list[str] = Field(
        default_factory=list, description="singleSelect / multipleSelects: the options."
    )
    precision: int | None = Field(
        default=None, ge=0, le=8, description="number / percent / currency: decimal places."
    )
    symbol: str | None = Field(default=None, description="currency: the symbol, e.g. €.")
    linked_table: str | None = Field(
        default=None, description="multipleRecordLinks: the table it links to."
    )
    description: str = Field(default="", description="Optional field description.")

    def spec(self) -> FieldSpec:
        return FieldSpec(**self.model_dump())


class ProposeTableArgs(BaseModel):
    base_id: str | None = Field(default=None, description=_BASE)
    name: str = Field(min_length=1, description="The new table's name.")
    fields: list[FieldArgs] = Field(
        min_length=1, description="Its fields; the first is the primary field (text/number)."
    )


class ProposeFieldArgs(BaseModel):
    base_id: str | None = Field(default=None, description=_BASE)
    table: str = Field(description="Table name as describe_table lists it.")
    field: FieldArgs


class ProposeFormulaArgs(BaseModel):
    base_id: str | None = Field(default=None, description=_BASE)
    table: str = Field(description="Table name as describe_table lists it.")
    name: str = Field(min_length=1, description="The new formula field's name.")
    formula: str = Field(
        min_length=1,
        description=(
            'An Airtable formula; fields in braces, e.g. DATETIME_DIFF({Due}, TODAY(), "days").'
        ),
    )
    description: str = Field(default="", description="What it computes, for the field.")


class RenameFieldArgs(BaseModel):
    base_id: str | None = Field(default=None, description=_BASE)
    table: str = Field(description="Table name as describe_table lists it.")
    field: str = Field(description="The field's current name.")
    new_name: str = Field(min_length=1, description="Its new name.")


def schema_tools(services: Services) -> list[BaseTool]:
    """propose_table, propose_field, propose_formula_field, rename_field (proposal cards)."""
    help_ = services.schema_help

    def propose_table(args: ProposeTableArgs, runtime: Runtime) -> Result:
        """Propose a new table with its fields; nothing changes until the person confirms."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = help_.propose_table(
                scope.user_id, scope.base_id, args.name, [f.spec() for f in args.fields]
            )
        return proposal.describe(), proposal.to_artifact()

    def propose_field(args: ProposeFieldArgs, runtime: Runtime) -> Result:
        """Propose a new field (any common type, with its options) in a table; nothing
        changes until the person confirms. For a formula use propose_formula_field."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = help_.propose_field(
                scope.user_id, scope.base_id, args.table, args.field.spec()
            )
        return proposal.describe(), proposal.to_artifact()

    def propose_formula_field(args: ProposeFormulaArgs, runtime: Runtime) -> Result:
        """Check an Airtable formula against the table's fields, preview it on a few
        records and propose it as a new formula field; an invalid formula is refused."""
        scope = scope_of(runtime, args.base_id)
        spec = FieldSpec(
            name=args.name, type="formula", formula=args.formula, description=args.description
        )
        with as_tool_errors():
            proposal = help_.propose_field(scope.user_id, scope.base_id, args.table, spec)
        return proposal.describe(), proposal.to_artifact()

    def rename_field(args: RenameFieldArgs, runtime: Runtime) -> Result:
        """Propose renaming a field; nothing changes until the person confirms."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = help_.propose_rename(
                scope.user_id, scope.base_id, args.table, args.field, args.new_name
            )
        return proposal.describe(), proposal.to_artifact()

    return [
        args_tool(propose_table, ProposeTableArgs),
        args_tool(propose_field, ProposeFieldArgs),
        args_tool(propose_formula_field, ProposeFormulaArgs),
        args_tool(rename_field, RenameFieldArgs),
    ]
