"""Per-message token counts: the same as LangChain's, each message object counted once."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately

from services.llm import token_counts
from services.llm.token_counts import message_tokens


def _messages() -> list[Any]:
    return [
        SystemMessage("Rules " * 200),
        HumanMessage("Describe the tasks table", name="ana"),
        AIMessage("", tool_calls=[{"name": "describe_table", "args": {"t": "Tasks"}, "id": "c1"}]),
        ToolMessage("Tasks: Name (text), Estimate Hours (number)", tool_call_id="c1"),
        AIMessage("Done."),
    ]


def test_message_tokens__equal_langchains_count() -> None:
    messages = _messages()

    assert message_tokens(messages) == count_tokens_approximately(messages)
    assert message_tokens(messages) == count_tokens_approximately(messages)  # from the cache
    assert message_tokens([]) == 0


def test_message_tokens__counts_each_message_object_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[Any] = []

    def counting(messages: Any) -> int:
        counted.extend(messages)
        return count_tokens_approximately(messages)

    monkeypatch.setattr(token_counts, "count_tokens_approximately", counting)
    messages = _messages()
    message_tokens(messages)
    message_tokens(messages[:3])
    message_tokens([*messages, HumanMessage("next")])

    assert len(counted) == len(messages) + 1


def test_message_tokens__counts_a_message_changed_in_place_again() -> None:
    message = HumanMessage("short")
    message_tokens([message])
    message.content = "a much longer question than before " * 10
    ai = AIMessage("", tool_calls=[{"name": "a", "args": {}, "id": "c1"}])
    message_tokens([ai])
    ai.tool_calls = [{"name": "a_longer_tool_name", "args": {"x": "y" * 80}, "id": "c1"}]

    assert message_tokens([message]) == count_tokens_approximately([message])
    assert message_tokens([ai]) == count_tokens_approximately([ai])


def test_message_tokens__forgets_a_message_when_it_is_gone() -> None:
    message = HumanMessage("a message of a conversation that ended")
    message_tokens([message])
    key = id(message)
    assert key in token_counts._kept._entries
    del message
    gc.collect()
    assert key not in token_counts._kept._entries
