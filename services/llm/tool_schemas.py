"""The OpenAI-format schema of a tool, converted once per tool object.

`create_agent` binds its tools on every model call, and converting a tool (a pydantic
schema, dereferenced and deep-copied) costs far more than the call's bookkeeping: with two
dozen tools it was most of a turn's overhead. The tools of an agent live as long as the
agent, so each tool's schema is kept for as long as the tool object lives (a weak
reference per tool; the entry goes with the tool). The schemas are shared: callers read
them and never change them.

A sub-schema that appears more than once in a tool (a filter condition inside the tool's
`filters`, inside each group and each subgroup) is sent described the first time only:
the later copies keep their structure (names, types, enums, required) without repeating
the same descriptions, which were a third of `search_records` and `aggregate_records` and
are paid for as input tokens on every model call.
"""

from __future__ import annotations

import json
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
    schema = described_once(convert_to_openai_tool(tool))
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


def described_once(tool_schema: dict[str, Any]) -> dict[str, Any]:
    """`tool_schema` (OpenAI format) with each repeated object sub-schema of its parameters
    described only where it first appears (see the module's docstring)."""
    function = tool_schema.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("parameters"), dict):
        return tool_schema
    seen: set[str] = set()
    parameters = _first_described(function["parameters"], seen)
    return {**tool_schema, "function": {**function, "parameters": parameters}}


def _first_described(node: Any, seen: set[str], *, names: bool = False) -> Any:
    """`node` with repeats stripped; `names`: `node` maps property names to schemas."""
    if isinstance(node, list):
        return [_first_described(item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _first_described(sub, seen) for name, sub in node.items()}
    if "properties" in node:
        key = json.dumps(node, sort_keys=True, default=str)
        if key in seen:
            return _undescribed(node)
        seen.add(key)
    return {k: _first_described(v, seen, names=k == "properties") for k, v in node.items()}


def _undescribed(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_undescribed(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _undescribed(sub) for name, sub in node.items()}
    return {
        k: _undescribed(v, names=k == "properties") for k, v in node.items() if k != "description"
    }
