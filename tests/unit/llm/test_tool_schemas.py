import gc

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from services.llm import tool_schemas
from services.llm.tool_schemas import openai_tool_schema, openai_tool_schemas


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
