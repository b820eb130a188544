"""A conversation as a Markdown document, and any answer table as CSV, for download.

Both are built from the stored messages and their tool artifacts, the same data the chat
page shows: record tables without their internal record IDs, grouped totals with columns
named after the metric.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

METRIC_NAMES = {
    "count": "Count",
    "sum": "Sum",
    "avg": "Average",
    "min": "Minimum",
    "max": "Maximum",
}
# A spreadsheet runs a cell starting with one of these as a formula; record text is data.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AnswerTable:
    """A table as a reader sees it: headings, rows of text, and a line saying what it is."""

    columns: list[str]
    rows: list[list[str]]
    caption: str


def metric_label(metric: str | None, field: str | None) -> str:
    """What an aggregate's value is, as a column heading: "Count", "Sum of Amount"."""
    verb = METRIC_NAMES.get(metric or "", (metric or "value").capitalize())
    return f"{verb} of {field}" if field else verb


def cell_text(value: Any) -> str:
    """One cell as text: lists joined with commas, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(cell_text(item) for item in value)
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def answer_table(artifact: Any) -> AnswerTable | None:
    """The table a tool result shows (records, one record or grouped totals), if any."""
    if not isinstance(artifact, dict):
        return None
    kind = artifact.get("kind")
    if kind in {"records", "record"} and artifact.get("rows"):
        columns = [c for c in artifact.get("columns") or [] if c != "id"]
        rows = [[cell_text(row.get(c)) for c in columns] for row in artifact["rows"]]
        shown, total = artifact.get("shown", len(rows)), artifact.get("total", len(rows))
        caption = f"{shown} of {total} records in {artifact.get('table', '')}"
        return AnswerTable(columns, rows, caption)
    if kind == "aggregate" and artifact.get("groups"):
        return _aggregate_table(artifact)
    return None


def _aggregate_table(artifact: dict[str, Any]) -> AnswerTable:
    label = artifact.get("group_by") or "Group"
    value = metric_label(artifact.get("metric"), artifact.get("field"))
    plain_count = artifact.get("metric") == "count" and not artifact.get("field")
    columns = [label, value] if plain_count else [label, value, "Records"]
    rows = []
    for group in artifact["groups"]:
        row = [cell_text(group.get("group")), cell_text(group.get("value"))]
        rows.append(row if plain_count else [*row, cell_text(group.get("records"))])
    return AnswerTable(columns, rows, f"{value} by {label} in {artifact.get('table', '')}")


def table_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with a heading row; a cell a spreadsheet would run as a formula is quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_safe_cell(str(c)) for c in columns])
    for row in rows:
        writer.writerow([_safe_cell(cell_text(value)) for value in row])
    return out.getvalue()


def _safe_cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def conversation_markdown(title: str, messages: Sequence[BaseMessage]) -> str:
    """The whole conversation: each question, then the tables its tools found and the answer."""
    lines = [f"# {_one_line(title)}", ""]
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    answered = False
    for message in messages:
        if isinstance(message, HumanMessage):
            lines += ["## You", "", message.text, ""]
            answered = False
        elif isinstance(message, AIMessage):
            found = _answer_lines(message, results)
            if found and not answered:
                lines += ["## Assistant", ""]
                answered = True
            lines += found
    return "\n".join(lines).rstrip() + "\n"


def _answer_lines(message: AIMessage, results: dict[str, ToolMessage]) -> list[str]:
    lines: list[str] = []
    for call in message.tool_calls:
        result = results.get(call.get("id") or "")
        artifact = result.artifact if result is not None else None
        table = answer_table(artifact)
        if table is not None:
            lines += [*markdown_table(table), "", f"*{_one_line(table.caption)}*", ""]
        elif isinstance(artifact, dict) and artifact.get("kind") == "proposal":
            lines += [f"*Proposed a change to {artifact.get('table', '')}.*", ""]
    if message.text:
        lines += [message.text, ""]
    return lines


def markdown_table(table: AnswerTable) -> list[str]:
    """A Markdown (GitHub) table; pipes and line breaks inside cells are escaped."""
    head = "| " + " | ".join(_md_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in table.columns) + "|"
    body = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows]
    return [head, rule, *body]


def _md_cell(text: str) -> str:
    return _one_line(text.replace("\\", "\\\\").replace("|", "\\|"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def download_name(title: str, suffix: str) -> str:
    """A file name from a title: letters, digits and dashes only, never empty."""
    stem = "".join(c if c.isalnum() else "-" for c in title.lower())
    stem = "-".join(part for part in stem.split("-") if part)[:60].strip("-")
    return f"{stem or 'conversation'}.{suffix}"
