"""Gemini's tool conversion is done once per tool set and gives what the SDK gives."""

from __future__ import annotations

from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_google_genai import ChatGoogleGenerativeAI
from pydantic import BaseModel, Field

from services.llm import tool_cache
from services.llm.tool_cache import cached_format


class CountArgs(BaseModel):
    table: str = Field(description="The table's name.")
    group_by: str | None = Field(default=None, description="A field to group by.")


def _tools(description: str) -> list[dict[str, Any]]:
    tool = convert_to_openai_tool(CountArgs)
    tool["function"]["description"] = description
    return [tool]


def test_cached_format__converts_a_tool_set_once_and_equals_the_sdk() -> None:
    model = ChatGoogleGenerativeAI(model="gemini-2.5-flash", google_api_key="k")
    calls: list[int] = []

    def convert(tools: Any, functions: Any) -> list[Any] | None:
        calls.append(1)
        return model._format_tools(tools, functions)

    tools = _tools("Count the records of a table.")
    first = cached_format(convert, tools, None)
    again = cached_format(convert, _tools("Count the records of a table."), None)
    assert len(calls) == 1
    assert first == again == model._format_tools(tools, None)  # type: ignore[arg-type]
    assert first is not again  # each caller gets its own list

    changed = cached_format(convert, _tools("Count records, by group."), None)
    assert len(calls) == 2
    assert changed != first


def test_cached_format__passes_no_tools_through() -> None:
    calls: list[int] = []

    def convert(tools: Any, functions: Any) -> list[Any] | None:
        calls.append(1)
        return None

    assert cached_format(convert, None, None) is None
    assert cached_format(convert, None, None) is None
    assert len(calls) == 2


def test_cached_format__finds_the_same_schema_objects_without_serialising_them(
    monkeypatch: Any,
) -> None:
    calls: list[int] = []

    def convert(tools: Any, functions: Any) -> list[Any] | None:
        calls.append(1)
        return [len(tools)]

    tools = _tools("Count the records, by identity.")
    assert cached_format(convert, tools, None) == [1]
    serialised: list[int] = []
    real_dumps = tool_cache.json.dumps

    def dumps(*args: Any, **kwargs: Any) -> str:
        serialised.append(1)
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr(tool_cache.json, "dumps", dumps)
    # A new list of the same objects (as each binding makes) is found by identity.
    assert cached_format(convert, list(tools), None) == [1]
    assert (len(calls), len(serialised)) == (1, 0)
    # Equal but new objects are found by their JSON, and converted no more.
    assert cached_format(convert, _tools("Count the records, by identity."), None) == [1]
    assert (len(calls), len(serialised)) == (1, 1)
