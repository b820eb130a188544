"""What a turn puts in the agent's state, and what travels beside it to the model."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage

from agents.assistant import _history_and_state


def test_history_and_state__the_state_starts_with_the_question_alone() -> None:
    window = [HumanMessage("Earlier"), AIMessage("Answer")]
    question = HumanMessage("Now")

    history, state = _history_and_state(window, question)

    assert history == tuple(window)
    assert state == [question]


def test_history_and_state__a_malformed_call_keeps_the_window_in_the_state() -> None:
    malformed = AIMessage(
        "Let me look.",
        invalid_tool_calls=[{"name": "t", "args": "{", "id": "bad1", "error": "not JSON"}],
    )
    window = [HumanMessage("Earlier"), malformed]
    question = HumanMessage("Now")

    assert _history_and_state(window, question) == ((), [*window, question])
