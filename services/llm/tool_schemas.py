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

Pydantic's schema keywords that tell a model nothing are left out (`compact`): `title`
(the property's own name, again) and, for an optional argument whose default is None,
`"default": null` and the `{"type": "null"}` branch of its `anyOf` (leaving the argument
out already means None). That is a tenth of the declarations, for every provider.

For providers that take JSON Schema with references (Gemini's `parametersJsonSchema`),
`shared_definitions` sends a sub-schema used more than once a single time, under `$defs`,
and points to it from each place it is used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from services.llm.identity_cache import IdentityCache

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool

_schemas: IdentityCache[BaseTool, dict[str, Any]] = IdentityCache()


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
    kept = _schemas.get(tool)
    if kept is not None:
        return kept
    schema = described_once(compact(convert_to_openai_tool(tool)))
    _schemas.put(tool, schema)
    return schema


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


def compact(tool_schema: dict[str, Any]) -> dict[str, Any]:
    """`tool_schema` (OpenAI format) without the keywords that tell a model nothing (see
    the module's docstring); what the arguments accept is unchanged."""
    function = tool_schema.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("parameters"), dict):
        return tool_schema
    parameters = _compact(function["parameters"])
    return {**tool_schema, "function": {**function, "parameters": parameters}}


_NULL = {"type": "null"}


def _compact(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _compact(sub) for name, sub in node.items()}
    branches = node.get("anyOf")
    if "default" in node and node["default"] is None and isinstance(branches, list):
        kept = [b for b in branches if b != _NULL]
        if len(kept) < len(branches):
            rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
            if len(kept) == 1 and isinstance(kept[0], dict):
                # The one branch left takes the argument's place; the argument's own
                # keywords (its description) win over the branch's.
                return _compact({**kept[0], **rest})
            return _compact({**rest, "anyOf": kept})
    return {
        key: _compact(value, names=key == "properties")
        for key, value in node.items()
        if key != "title" and not (key == "default" and value is None)
    }


SHARED_MIN_CHARS = 200
"""A repeated sub-schema shorter than this (as JSON) is repeated: a reference would save
little and make the declaration harder to read."""


def shared_definitions(parameters: dict[str, Any]) -> dict[str, Any]:
    """`parameters` (a JSON Schema object) with each object sub-schema that appears more
    than once (alike but for descriptions, see `described_once`) defined once under
    `$defs`, with its descriptions, and referenced (`{"$ref": "#/$defs/<name>"}`) from
    every place it appears. The name is the property it first appears under (`_item`
    added for an array's items). A schema with nothing repeated is returned as it is.
    """
    found: dict[str, int] = {}
    _count_objects(parameters, found, root=True)
    repeated = {key for key, times in found.items() if times > 1 and len(key) >= SHARED_MIN_CHARS}
    if not repeated:
        return parameters
    defs: dict[str, Any] = {}
    names: dict[str, str] = {}

    def shared(node: Any, name: str, *, root: bool = False) -> Any:
        if isinstance(node, list):
            return [shared(item, name) for item in node]
        if not isinstance(node, dict):
            return node
        if "properties" in node and not root:
            key = _shape(node)
            if key in repeated:
                if key not in names:
                    names[key] = _free_name(name, defs)
                    defs[names[key]] = {}  # taken before its body refers back
                    defs[names[key]] = _shared_children(node, shared)
                return {"$ref": f"#/$defs/{names[key]}"}
        return _shared_children(node, shared, name=name)

    body = shared(parameters, "", root=True)
    return {**body, "$defs": {**body.get("$defs", {}), **defs}}


def _shared_children(
    node: dict[str, Any], shared: Callable[..., Any], *, name: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {prop: shared(sub, prop) for prop, sub in value.items()}
        elif key == "items":
            out[key] = shared(value, f"{name}_item" if name else "item")
        else:
            out[key] = shared(value, name)
    return out


def _count_objects(node: Any, found: dict[str, int], *, root: bool = False) -> None:
    if isinstance(node, list):
        for item in node:
            _count_objects(item, found)
        return
    if not isinstance(node, dict):
        return
    if "properties" in node and not root:
        key = _shape(node)
        found[key] = found.get(key, 0) + 1
    for value in node.values():
        _count_objects(value, found)


def _shape(node: dict[str, Any]) -> str:
    """What makes two sub-schemas the same: everything but their descriptions."""
    return json.dumps(_undescribed(node), sort_keys=True, default=str)


def _free_name(name: str, taken: dict[str, Any]) -> str:
    base = name or "shared"
    found, n = base, 2
    while found in taken:
        found, n = f"{base}_{n}", n + 1
    return found
