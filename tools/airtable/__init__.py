"""The agent's Airtable tools: reads answer from whole tables, writes only propose.

Usage::

    tools = airtable_tools(services)
    agent = create_agent(model, tools=tools, context_schema=AssistantContext)
    agent.invoke({"messages": [...]}, context=AssistantContext(user_id=7, base_id="app..."))

Every tool returns `(text, artifact)` (`response_format="content_and_artifact"`): compact
text for the model, JSON for the UI (`artifact["kind"]`: bases, schema, records, record,
aggregate, proposal).
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from services.container import Services
from tools.airtable.reads import read_tools
from tools.airtable.writes import write_tools


def airtable_tools(services: Services) -> list[BaseTool]:
    """Every Airtable tool, bound to these services; identity comes per call from the context."""
    return [*read_tools(services), *write_tools(services)]
