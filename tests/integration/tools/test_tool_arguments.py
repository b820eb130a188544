"""Each tool parameter is declared once, in its args model, and reaches the tool's body."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from services.orm import User
from tests.integration.airtable.fixtures import call_tool
from tools.airtable.args import SearchArgs

pytestmark = pytest.mark.sql
PROJECTS = "appDemoProjects00"


def test_tools__declare_parameters_only_in_their_args_models(
    tools: dict[str, BaseTool],
) -> None:
    for name, tool in tools.items():
        if tool.args_schema is None or name == "list_bases":
            continue
        parameters = inspect.signature(tool.func).parameters.values()  # type: ignore[attr-defined]
        declared = [
            p.name for p in parameters if p.name != "runtime" and p.kind is not p.VAR_KEYWORD
        ]
        assert declared == [], f"{name} declares {declared} outside its args model"


def test_search__a_default_declared_only_in_the_model_reaches_the_body(
    tools: dict[str, BaseTool], member: User
) -> None:
    default_limit = SearchArgs.model_fields["limit"].default
    message = _call(tools["search_records"], member.id, table="Tasks", fields=["Name"])
    assert f"showing {default_limit}" in message.text
    assert message.artifact["shown"] == default_limit


def _call(tool: BaseTool, user_id: int, **args: Any) -> ToolMessage:
    return call_tool(tool, user_id, PROJECTS, **args)
