"""Plain words for tool steps and aggregate columns in the chat view."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from services.budget.views import CallCost
from services.llm.guarded import LEDGER_REQUEST_ID, OUTPUT_LIMIT
from ui.chat_view import metric_label, tool_failed, tool_label, turn_footer


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


def test_turn_footer__says_when_an_answer_was_limited_to_fit_the_budget() -> None:
    costs = {"a": CallCost(tokens=1200, cost_nusd=11_000_000), "b": CallCost(900, 2_000_000)}
    turn = [
        HumanMessage("How many?"),
        AIMessage("", response_metadata={LEDGER_REQUEST_ID: "a"}),
        AIMessage("Three.", response_metadata={LEDGER_REQUEST_ID: "b", OUTPUT_LIMIT: 1536}),
    ]
    assert turn_footer(costs, turn) == (
        "2,100 tokens · $0.013 · answer limited to 1,536 output tokens to fit what is left of "
        "your budget"
    )
    assert turn_footer(costs, turn[:2]) == "1,200 tokens · $0.011"
