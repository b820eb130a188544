"""Run in a separate process: many concurrent tool calls on one base, one shared limiter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from langchain_core.messages import ToolMessage

from config.settings import load_settings
from services.container import build_services
from tests.integration.airtable.fixtures import runtime_for
from tools.airtable import airtable_tools

BASE = "appDemoProjects00"


def run_calls(config: dict[str, object], user_id: int, count: int) -> list[tuple[str, str]]:
    """Make `count` tool calls at once; return each call's (status, first line)."""
    services = build_services(load_settings(**config))
    tools = {t.name: t for t in airtable_tools(services)}

    def call(index: int) -> tuple[str, str]:
        name = ("search_records", "aggregate_records")[index % 2]
        args: dict[str, object] = {"table": "Projects"}
        if name == "search_records":
            args.update(filters=[{"field": "Status", "op": "equals", "value": "Active"}], limit=3)
        else:
            args.update(metric="sum", field="Budget", group_by="Owner")
        message = tools[name].invoke(
            {
                "type": "tool_call",
                "id": f"call-{index}",
                "name": name,
                "args": {**args, "runtime": runtime_for(user_id, BASE)},
            }
        )
        assert isinstance(message, ToolMessage)
        return message.status, str(message.content).splitlines()[0]

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(call, range(count)))
    finally:
        services.close()


if __name__ == "__main__":
    import json
    import sys

    request = json.loads(sys.argv[1])
    print(json.dumps(run_calls(request["config"], request["user_id"], request["count"])))
