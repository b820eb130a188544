import gc
import json
from typing import Any, Literal

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from services.llm import tool_schemas
from services.llm.tool_schemas import (
    compact,
    described_once,
    openai_tool_schema,
    openai_tool_schemas,
    shared_definitions,
)


def _tool(name: str) -> StructuredTool:
    def body(table: str, limit: int = 10) -> str:
        return table

    return StructuredTool.from_function(body, name=name, description=f"{name} a table")


def test_openai_tool_schema__converts_once_per_tool_object() -> None:
    tool = _tool("describe")
    first = openai_tool_schema(tool)
    assert first == convert_to_openai_tool(tool)
    assert openai_tool_schema(tool) is first


def test_openai_tool_schema__gives_each_tool_its_own_schema() -> None:
    schemas = openai_tool_schemas([_tool("one"), _tool("two"), {"type": "function", "x": 1}])
    assert [s.get("function", {}).get("name") for s in schemas] == ["one", "two", None]
    assert schemas[2] == {"type": "function", "x": 1}


def test_openai_tool_schema__forgets_a_tool_when_it_is_gone() -> None:
    tool = _tool("short_lived")
    openai_tool_schema(tool)
    key = id(tool)
    assert key in tool_schemas._schemas._entries
    del tool
    gc.collect()
    assert key not in tool_schemas._schemas._entries


class _Condition(BaseModel):
    field: str = Field(description="Field name exactly as describe_table lists it.")
    op: Literal["equals", "contains"] = Field(description="How to compare.")


class _Group(BaseModel):
    conditions: list[_Condition] = Field(description="The conditions.")


class _Search(BaseModel):
    """Find records."""

    description: str = Field(description="A property that happens to be called description.")
    filters: list[_Condition] = Field(description="All must hold.")
    groups: list[_Group] = Field(default=[], description="Each group is OR-ed.")


def test_described_once__describes_a_repeated_sub_schema_only_where_it_first_appears() -> None:
    full = convert_to_openai_tool(_Search)
    slim = described_once(full)
    params = slim["function"]["parameters"]
    first = params["properties"]["filters"]["items"]
    repeat = params["properties"]["groups"]["items"]["properties"]["conditions"]["items"]
    assert first["properties"]["field"]["description"].startswith("Field name")
    assert "description" not in repeat["properties"]["field"]
    # The repeat keeps its structure: names, types, enums and what is required.
    assert repeat["properties"]["op"]["enum"] == ["equals", "contains"]
    assert repeat["required"] == first["required"]
    # A property named "description" is a name, not a keyword: it stays, described.
    assert params["properties"]["description"]["description"].startswith("A property")
    assert slim["function"]["description"] == full["function"]["description"]
    assert len(json.dumps(slim)) < len(json.dumps(full))


class _Optional(BaseModel):
    title: str = Field(description="A property that happens to be called title.")
    note: str | None = Field(default=None, description="Left out means none.")
    either: str | int | None = Field(default=None, description="Text or a number.")
    cleared: str | None = Field(description="Required: null here means clear it.")
    limit: int | None = Field(default=5, description="Null is not the default here.")


def test_compact__drops_only_what_tells_a_model_nothing() -> None:
    full = convert_to_openai_tool(_Optional)
    params = compact(full)["function"]["parameters"]
    props = params["properties"]
    # An optional argument whose default is None: its null branch and default go.
    assert props["note"] == {"type": "string", "description": "Left out means none."}
    assert props["either"]["anyOf"] == [{"type": "string"}, {"type": "integer"}]
    assert "default" not in props["either"]
    # Where null means something (required, or not the default), it stays.
    assert {"type": "null"} in props["cleared"]["anyOf"]
    assert {"type": "null"} in props["limit"]["anyOf"]
    assert props["limit"]["default"] == 5
    # A property named "title" is a name, not the keyword.
    assert props["title"]["description"].startswith("A property")
    assert "title" not in json.dumps({k: v for k, v in props.items() if k != "title"})
    assert params["required"] == full["function"]["parameters"]["required"]


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _resolve(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    return {k: _resolve(v, defs) for k, v in node.items()}


def _shapes(node: Any) -> Any:
    return json.loads(json.dumps(tool_schemas._undescribed(node)))


def test_shared_definitions__sends_a_repeated_sub_schema_once_and_means_the_same() -> None:
    params = openai_tool_schema(
        StructuredTool.from_function(
            lambda **_: "", name="search", description="Find records.", args_schema=_Search
        )
    )["function"]["parameters"]
    tool_schemas.SHARED_MIN_CHARS, saved = 0, tool_schemas.SHARED_MIN_CHARS
    try:
        shared = shared_definitions(params)
    finally:
        tool_schemas.SHARED_MIN_CHARS = saved
    defs = shared["$defs"]
    # The condition is defined once, under the property it first appears in, described.
    assert list(defs) == ["filters_item"]
    assert defs["filters_item"]["properties"]["field"]["description"].startswith("Field name")
    assert shared["properties"]["filters"]["items"] == {"$ref": "#/$defs/filters_item"}
    groups = shared["properties"]["groups"]["items"]["properties"]
    assert groups["conditions"]["items"] == {"$ref": "#/$defs/filters_item"}
    # Resolving the references gives back what was there, descriptions aside.
    resolved = _resolve({k: v for k, v in shared.items() if k != "$defs"}, defs)
    assert _shapes(resolved) == _shapes(params)
    assert len(json.dumps(shared)) < len(json.dumps(params)) + 40


def test_shared_definitions__leaves_a_schema_without_repeats_alone() -> None:
    params = convert_to_openai_tool(CountOnly)["function"]["parameters"]
    assert shared_definitions(params) is params


class CountOnly(BaseModel):
    table: str = Field(description="The table.")
