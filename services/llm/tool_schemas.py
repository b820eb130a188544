"""The OpenAI-format schema of a tool, converted once per tool object.

`create_agent` binds its tools on every model call, and converting a tool (a pydantic
schema, dereferenced and deep-copied) costs far more than the call's bookkeeping: with two
dozen tools it was most of a turn's overhead. The tools of an agent live as long as the
agent, so each tool's schema is kept for as long as the tool object lives (a weak
reference per tool; the entry goes with the tool). The schemas are shared: callers read
them and never change them.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool

_schemas: dict[int, tuple[weakref.ref[BaseTool], dict[str, Any]]] = {}
_lock = threading.Lock()


def openai_tool_schemas(
    tools: Sequence[ToolLike],
) -> list[dict[str, Any]]:
    """Each of `tools` in OpenAI tool format (dicts are taken as given)."""
    return [openai_tool_schema(t) for t in tools]


def openai_tool_schema(tool: ToolLike) -> dict[str, Any]:
    """`tool` in OpenAI tool format; a `BaseTool`'s conversion is done once per object."""
    if isinstance(tool, dict):
        return tool
    if not isinstance(tool, BaseTool):
        return convert_to_openai_tool(tool)
    key = id(tool)
    entry = _schemas.get(key)
    if entry is not None and entry[0]() is tool:
        return entry[1]
    schema = convert_to_openai_tool(tool)
    with _lock:
        _schemas[key] = (weakref.ref(tool, _forget(key)), schema)
    return schema


def _forget(key: int) -> Callable[[weakref.ref[BaseTool]], None]:
    def forget(ref: weakref.ref[BaseTool]) -> None:
        with _lock:
            entry = _schemas.get(key)
            if entry is not None and entry[0] is ref:
                del _schemas[key]

    return forget
