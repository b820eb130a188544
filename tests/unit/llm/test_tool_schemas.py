import gc
import json
from typing import Literal

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from services.llm import tool_schemas
from services.llm.tool_schemas import described_once, openai_tool_schema, openai_tool_schemas


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
    assert key in tool_schemas._schemas
    del tool
    gc.collect()
    assert key not in tool_schemas._schemas


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
