"""A conversation as Markdown and answer tables as CSV, from stored messages."""

from __future__ import annotations

import csv
import io
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from services.chat_export import (
    answer_table,
    conversation_markdown,
    download_name,
    table_csv,
)

RECORDS: dict[str, Any] = {
    "kind": "records",
    "base_id": "appX",
    "table_id": "tblX",
    "table": "Tasks",
    "columns": ["id", "Name", "Tags", "Hours"],
    "rows": [
        {"id": "rec1", "Name": "Plan | review", "Tags": ["a", "b"], "Hours": 1.5},
        {"id": "rec2", "Name": "=HYPERLINK(1)", "Tags": None, "Hours": 3},
    ],
    "total": 40,
    "shown": 2,
}
COUNTS: dict[str, Any] = {
    "kind": "aggregate",
    "table": "Tasks",
    "metric": "count",
    "field": None,
    "group_by": "Status",
    "groups": [{"group": "Done", "value": 3, "records": 3}],
}


def test_answer_table__records_without_ids_and_lists_as_text() -> None:
    table = answer_table(RECORDS)
    assert table is not None
    assert table.columns == ["Name", "Tags", "Hours"]
    assert table.rows == [["Plan | review", "a, b", "1.5"], ["=HYPERLINK(1)", "", "3"]]
    assert table.caption == "2 of 40 records in Tasks"


def test_answer_table__grouped_totals_named_after_the_metric() -> None:
    counted = answer_table(COUNTS)
    assert counted is not None
    assert counted.columns == ["Status", "Count"]
    summed = answer_table({**COUNTS, "metric": "sum", "field": "Hours"})
    assert summed is not None
    assert summed.columns == ["Status", "Sum of Hours", "Records"]
    assert answer_table({"kind": "proposal"}) is None


def test_table_csv__a_cell_a_spreadsheet_would_run_is_quoted() -> None:
    table = answer_table(RECORDS)
    assert table is not None
    rows = list(csv.reader(io.StringIO(table_csv(table.columns, table.rows))))
    assert rows == [
        ["Name", "Tags", "Hours"],
        ["Plan | review", "a, b", "1.5"],
        ["'=HYPERLINK(1)", "", "3"],
    ]


def test_conversation_markdown__questions_tables_and_answers_in_order() -> None:
    messages = [
        HumanMessage("Show two tasks"),
        AIMessage("", tool_calls=[{"name": "search_records", "args": {}, "id": "c1"}]),
        ToolMessage("Tasks: 2 rows", tool_call_id="c1", artifact=RECORDS),
        AIMessage("Here they are."),
        HumanMessage("Thanks"),
        AIMessage("You are welcome."),
    ]
    assert conversation_markdown("Two  tasks\n", messages) == (
        "# Two tasks\n\n"
        "## You\n\nShow two tasks\n\n"
        "## Assistant\n\n"
        "| Name | Tags | Hours |\n"
        "| --- | --- | --- |\n"
        "| Plan \\| review | a, b | 1.5 |\n"
        "| =HYPERLINK(1) |  | 3 |\n\n"
        "*2 of 40 records in Tasks*\n\n"
        "Here they are.\n\n"
        "## You\n\nThanks\n\n"
        "## Assistant\n\nYou are welcome.\n"
    )


def test_download_name__safe_file_names_from_titles() -> None:
    assert download_name("Tasks by status?", "md") == "tasks-by-status.md"
    assert download_name("../../etc", "csv") == "etc.csv"
    assert download_name("???", "md") == "conversation.md"
