"""Reading tools: bases, tables, searches, aggregations and single records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from services.container import Services
from tools.airtable import render
from tools.airtable.args import (
    AggregateArgs,
    DescribeTableArgs,
    GetRecordArgs,
    SearchArgs,
)
from tools.airtable.scope import (
    as_tool_errors,
    dates_of,
    scope_of,
    user_of,
    validation_message,
)
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Result = tuple[str, dict[str, Any]]
ArgsT = TypeVar("ArgsT", bound=BaseModel)


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

    def describe_table(args: DescribeTableArgs, runtime: Runtime) -> Result:
        """List a base's tables with their field names, or show one table's fields with types,
        select options and link targets; call it before filtering on fields you have not seen."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            base = gateway.require_base(scope.user_id, scope.base_id)
            schema = gateway.schema(scope.user_id, scope.base_id)
            if args.table is None:
                return render.tables_text(schema, base), render.schema_artifact(
                    base.id, schema.tables
                )
            found = gateway.table(scope.user_id, scope.base_id, args.table)
        text = render.table_text(found, base, schema)
        return text, render.schema_artifact(base.id, [found])

    def search_records(args: SearchArgs, runtime: Runtime) -> Result:
        """Find records of one table matching filters (nested all/any/not groups, relative
        dates like next_14_days) and/or a full-text search over chosen or all text fields;
        shows only the fields asked for, up to 100 rows a call, with the number of matches in
        the whole table and a cursor for the next page. It cannot join tables (linked records
        show by name) or compute totals: use aggregate_records for counts and totals."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            page = records.search(
                scope.user_id,
                scope.base_id,
                args.table,
                filters=args.filters,
                match=args.match,
                groups=args.groups,
                text=args.text_search,
                fields=args.fields,
                sort=args.sort,
                limit=args.limit,
                view=args.view,
                cursor=args.cursor,
                dates=dates_of(runtime),
            )
        return render.records_text(page), render.records_artifact(page)

    def aggregate_records(args: AggregateArgs, runtime: Runtime) -> Result:
        """Count, count distinct values, or sum/average/median/percentile/min/max a field or a
        per-record expression ({Stock} * {Unit Price}) over ALL matching records of one table,
        optionally per group or per pair of groups (group_by + then_by), with each group's
        share (ratios, win rates); use it for every how-many / total / average question. It
        cannot join tables beyond grouping by a link field, nor divide one aggregate by
        another except through share."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            result = records.aggregate(
                scope.user_id,
                scope.base_id,
                args.table,
                metric=args.metric,
                field=args.field,
                expression=args.expression,
                p=args.p,
                group_by=args.group_by,
                then_by=args.then_by,
                bucket=args.date_bucket,
                filters=args.filters,
                match=args.match,
                groups=args.groups,
                text=args.text_search,
                order=args.order,
                max_groups=args.max_groups,
                share=args.share,
                dates=dates_of(runtime),
            )
        return render.aggregation_text(result), render.aggregation_artifact(result)

    def get_record(args: GetRecordArgs, runtime: Runtime) -> Result:
        """Show one record's fields by its record ID (long text is shortened)."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            page = records.get_record(
                scope.user_id, scope.base_id, args.table, args.record_id, fields=args.fields
            )
        return render.record_text(page), render.records_artifact(page, kind="record")

    return [
        make_tool(list_bases, None),
        args_tool(describe_table, DescribeTableArgs),
        args_tool(search_records, SearchArgs),
        args_tool(aggregate_records, AggregateArgs),
        args_tool(get_record, GetRecordArgs),
    ]


def make_tool(func: Any, schema: type | None) -> BaseTool:
    """A structured tool returning (text for the model, artifact for the UI).

    A tool without arguments gets its schema from its signature: an explicit empty schema
    would make LangChain drop the injected runtime.

    The function's annotations are resolved here, once: LangChain reads them with
    `get_type_hints` on every call of the tool, and this package's annotations are strings
    (`from __future__ import annotations`) that it would otherwise evaluate each time.
    """
    func.__annotations__ = get_type_hints(func)
    return StructuredTool.from_function(
        func,
        args_schema=schema,
        description=" ".join((func.__doc__ or "").split()),
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=validation_message,
    )


def args_tool(body: Callable[[ArgsT, Runtime], Result], schema: type[ArgsT]) -> BaseTool:
    """A tool whose body takes its arguments as one validated `schema` model.

    Each parameter is declared once, in `schema` (name, type, default, the description the
    model reads). LangChain validates a call's arguments against `schema` and passes the
    fields, defaults included, as keyword arguments, with the runtime injected by name
    (langchain-core 1.8: `BaseTool._parse_input`); they are gathered back into the model.
    """

    def call(runtime: Runtime, **fields: Any) -> Result:
        return body(schema.model_validate(fields), runtime)

    call.__name__ = body.__name__
    call.__doc__ = body.__doc__
    return make_tool(call, schema)
