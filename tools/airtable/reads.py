"""Reading tools: bases, tables, searches, aggregations and single records."""

from __future__ import annotations

from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool

from services.airtable.aggregate import DateBucket, GroupOrder, Metric
from services.airtable.filters import Condition, SortKey
from services.container import Services
from tools.airtable import render
from tools.airtable.args import (
    AggregateArgs,
    DescribeTableArgs,
    GetRecordArgs,
    SearchArgs,
)
from tools.airtable.scope import as_tool_errors, scope_of, user_of, validation_message
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Result = tuple[str, dict[str, Any]]


def read_tools(services: Services) -> list[BaseTool]:
    """list_bases, describe_table, search_records, aggregate_records and get_record."""
    gateway, records = services.airtable, services.airtable_records

    def list_bases(runtime: Runtime) -> Result:
        """List the Airtable bases you can use (ID, name, permission); call it when no base is
        in scope or the person names another base."""
        with as_tool_errors():
            bases = gateway.bases(user_of(runtime).user_id)
        artifact = {"kind": "bases", "bases": [b.__dict__ for b in bases]}
        return render.bases_text(bases), artifact

    def describe_table(
        runtime: Runtime, table: str | None = None, base_id: str | None = None
    ) -> Result:
        """List a base's tables with their field names, or show one table's fields with types,
        select options and link targets; call it before filtering on fields you have not seen."""
        scope = scope_of(runtime, base_id)
        with as_tool_errors():
            base = gateway.require_base(scope.user_id, scope.base_id)
            schema = gateway.schema(scope.user_id, scope.base_id)
            if table is None:
                return render.tables_text(schema, base), render.schema_artifact(
                    base.id, schema.tables
                )
            found = gateway.table(scope.user_id, scope.base_id, table)
        text = render.table_text(found, base, schema)
        return text, render.schema_artifact(base.id, [found])

    def search_records(
        runtime: Runtime,
        table: str,
        filters: list[Condition] | None = None,
        match: Literal["all", "any"] = "all",
        fields: list[str] | None = None,
        sort: list[SortKey] | None = None,
        limit: int = 20,
        view: str | None = None,
        base_id: str | None = None,
    ) -> Result:
        """Find records matching filters and show only the fields asked for, with the number of
        matches in the whole table; use aggregate_records instead for counts and totals."""
        scope = scope_of(runtime, base_id)
        with as_tool_errors():
            page = records.search(
                scope.user_id,
                scope.base_id,
                table,
                filters=filters or [],
                match=match,
                fields=fields or [],
                sort=sort or [],
                limit=limit,
                view=view,
            )
        return render.records_text(page), render.records_artifact(page)

    def aggregate_records(
        runtime: Runtime,
        table: str,
        metric: Metric,
        field: str | None = None,
        group_by: str | None = None,
        date_bucket: DateBucket | None = None,
        filters: list[Condition] | None = None,
        match: Literal["all", "any"] = "all",
        order: GroupOrder | None = None,
        max_groups: int = 25,
        base_id: str | None = None,
    ) -> Result:
        """Count records, or sum/average/min/max a field, over ALL matching records of a table,
        optionally one result per group; use it for every how-many / total / average question."""
        scope = scope_of(runtime, base_id)
        with as_tool_errors():
            result = records.aggregate(
                scope.user_id,
                scope.base_id,
                table,
                metric=metric,
                field=field,
                group_by=group_by,
                bucket=date_bucket,
                filters=filters or [],
                match=match,
                order=order,
                max_groups=max_groups,
            )
        return render.aggregation_text(result), render.aggregation_artifact(result)

    def get_record(
        runtime: Runtime,
        table: str,
        record_id: str,
        fields: list[str] | None = None,
        base_id: str | None = None,
    ) -> Result:
        """Show one record's fields by its record ID (long text is shortened)."""
        scope = scope_of(runtime, base_id)
        with as_tool_errors():
            page = records.get_record(
                scope.user_id, scope.base_id, table, record_id, fields=fields or []
            )
        return render.record_text(page), render.records_artifact(page, kind="record")

    specs = [
        (list_bases, None),
        (describe_table, DescribeTableArgs),
        (search_records, SearchArgs),
        (aggregate_records, AggregateArgs),
        (get_record, GetRecordArgs),
    ]
    return [make_tool(func, schema) for func, schema in specs]


def make_tool(func: Any, schema: type | None) -> BaseTool:
    """A structured tool returning (text for the model, artifact for the UI).

    A tool without arguments gets its schema from its signature: an explicit empty schema
    would make LangChain drop the injected runtime.
    """
    return StructuredTool.from_function(
        func,
        args_schema=schema,
        description=" ".join((func.__doc__ or "").split()),
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=validation_message,
    )
