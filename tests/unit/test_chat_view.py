"""Plain words for tool steps and aggregate columns in the chat view."""

from __future__ import annotations

from langchain_core.messages import ToolMessage

from ui.chat_view import metric_label, tool_failed, tool_label


def test_tool_label__names_the_step_and_its_table() -> None:
    assert tool_label("search_records", {"table": "Tasks"}) == "Searched records in Tasks"
    assert tool_label("aggregate_records", {"table": "Tasks"}, running=True) == (
        "Calculating totals in Tasks"
    )
    assert tool_label("list_bases", {}) == "Listed bases"


def test_tool_label__describe_table_with_and_without_a_table() -> None:
    assert tool_label("describe_table", {"table": "Tasks"}) == "Read the fields of Tasks"
    assert tool_label("describe_table", {}) == "Read the base's tables"


def test_tool_label__unknown_tool_is_shown_as_words() -> None:
    assert tool_label("list_records", {}) == "List records"


def test_metric_label__count_sum_and_average() -> None:
    assert metric_label("count", None) == "Count"
    assert metric_label("sum", "Amount") == "Sum of Amount"
    assert metric_label("avg", "Estimate Hours") == "Average of Estimate Hours"


def test_tool_failed__by_status_or_by_error_text() -> None:
    assert tool_failed(ToolMessage("Unknown table", tool_call_id="1", status="error"))
    assert tool_failed(ToolMessage("Error: list_records is not a valid tool", tool_call_id="2"))
    assert not tool_failed(ToolMessage("Tasks: 3 records match", tool_call_id="3"))
