"""The agent's `query_records` tool: one read-only SQL SELECT over the mirrored tables of
the base in scope. Thin over `services.mirrors` (checking, rewriting, limits, freshness)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from services.container import Services
from services.mirrors.queries import QueryAnswer
from tools.airtable.reads import args_tool
from tools.airtable.scope import as_tool_errors, scope_of
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
CELL_CHARS = 80


class QueryArgs(BaseModel):
    sql: str = Field(
        description=(
            "One SELECT. Tables and fields by their Airtable names in double quotes: SELECT "
            '"Status", COUNT(*) FROM "Tasks" GROUP BY "Status". Every table has an "id" '
            'column (the record ID) and "_created" (when the record was added, UTC: ORDER BY '
            '"_created" DESC for the newest); a link field holds the linked record IDs, '
            "comma-separated "
            '(join a single link with JOIN "Projects" p ON p.id = t."Project"); select and '
            'multi-select fields are text (multi-selects joined with ", "); checkboxes are '
            "true/false; dates are ISO text (YYYY-MM-DD) and take EXTRACT(MONTH FROM x), "
            "DATE_TRUNC('month', x) and x - INTERVAL '30 days' in either dialect; LIKE "
            "ignores case."
        )
    )
    base_id: str | None = Field(default=None, description="Base ID; omit to use the base in scope.")
    max_rows: int = Field(default=50, ge=1, le=200, description="Rows to show (max 200).")


def query_tools(services: Services) -> list[BaseTool]:
    """query_records, bound to these services; identity comes per call from the context."""
    queries = services.mirror_queries
    dialect = "PostgreSQL" if queries.dialect == "postgres" else "SQLite"

    def query_records(args: QueryArgs, runtime: Runtime) -> tuple[str, dict[str, Any]]:
        """Run one read-only SQL SELECT over the base's mirrored tables (a copy refreshed
        every minute and on every change made in this app) for analytics the other tools
        cannot express: joins across tables, several group-bys, ratios, median(x),
        percentile_cont(0.9) WITHIN GROUP (ORDER BY x), COUNT(DISTINCT), CASE, subqueries,
        window functions, more than 100 rows. The answer says how fresh the mirror is. Use
        search_records/get_record for records changed outside this app a moment ago; writes
        go through the create/update tools."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            answer = queries.run(scope.user_id, scope.base_id, args.sql, max_rows=args.max_rows)
        return answer_text(answer), answer_artifact(answer)

    query_records.__doc__ = (query_records.__doc__ or "") + f" SQL dialect: {dialect}."
    return [args_tool(query_records, QueryArgs)]


def answer_text(answer: QueryAnswer) -> str:
    """Compact rows for the model: freshness first, one line per row, a note when cut."""
    shown = len(answer.rows)
    head = f"{shown} row{'s' if shown != 1 else ''}"
    if answer.truncated:
        head = f"first {shown} rows (more not shown: aggregate, filter or raise max_rows)"
    lines = [f"query_records: {head}; mirror {answer.freshness.text()}."]
    if answer.columns:
        lines.append("|".join(answer.columns))
    lines.extend("|".join(_cell(v) for v in row) for row in answer.rows)
    return "\n".join(lines)


def answer_artifact(answer: QueryAnswer) -> dict[str, Any]:
    fresh = answer.freshness
    return {
        "kind": "query",
        "base_id": answer.base_id,
        "columns": answer.columns,
        "rows": [[_json(v) for v in row] for row in answer.rows],
        "truncated": answer.truncated,
        "as_of": fresh.as_of.isoformat() if fresh.as_of else None,
        "behind_seconds": fresh.behind_seconds,
        "behind": fresh.behind,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else str(round(value, 4))
    else:
        text = str(_json(value))
    text = text.replace("\n", " ").replace("|", "/")
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
