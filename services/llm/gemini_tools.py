"""Tools declared to Gemini as JSON Schema (`parametersJsonSchema`), not as SDK `Schema`s.

langchain-google-genai turns each tool's JSON schema into google-genai `Schema` objects
(pydantic models of some 25 fields each, nested as deep as the schema), and the SDK turns
them back into a dict (`model_dump` of every node) on every request: with the assistant's
twenty tools that was a third of the web process's CPU under load (py-spy, `bench/load.py`).
Gemini also takes a function's parameters as plain JSON Schema, `$defs` and `$ref`
included (the SDK's own automatic function calling sends them so), which the SDK passes
through as the dict it is. So the declarations are built here from the OpenAI-format
schemas (`tool_schemas`), with each repeated sub-schema sent once (`shared_definitions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.llm.tool_schemas import shared_definitions

_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def is_function_schema(tool: Any) -> bool:
    """`tool` is an OpenAI-format function declaration (what `GuardedChatModel` binds)."""
    return (
        isinstance(tool, dict)
        and tool.get("type") == "function"
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    )


def gemini_declarations(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The keyword arguments of a google-genai `FunctionDeclaration` for each of `tools`
    (OpenAI-format function schemas); `providers.py` builds the SDK objects."""
    return [
        {
            "name": tool["function"]["name"],
            "description": tool["function"].get("description") or "",
            "parameters_json_schema": shared_definitions(
                tool["function"].get("parameters") or _EMPTY_PARAMETERS
            ),
        }
        for tool in tools
    ]
