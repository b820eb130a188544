"""Services pointed at an emulator of their own, users, and throw-away bases.

These suites run their own demo-seeded emulator (not the session-wide one), because
tests that write create bases through the Meta API and other suites count the bases
there. Tests that only read use the demo bases; tests that write make their own base.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from langchain.tools import ToolRuntime
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import User
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tools.context import AssistantContext

WORKSPACE = "wspAssistantTests"
TASKS = [
    {"name": "Name", "type": "singleLineText"},
    {
        "name": "Status",
        "type": "singleSelect",
        "options": {"choices": [{"name": "Todo"}, {"name": "Doing"}, {"name": "Done"}]},
    },
    {"name": "Hours", "type": "number", "options": {"precision": 1}},
    {"name": "Due", "type": "date", "options": {"dateFormat": {"name": "iso"}}},
    {"name": "Done", "type": "checkbox", "options": {"icon": "check", "color": "greenBright"}},
    {"name": "Notes", "type": "multilineText"},
    {"name": "Owner", "type": "multipleRecordLinks", "options": {"linkedTableId": "People"}},
    {"name": "Double", "type": "formula", "options": {"formula": "{Hours} * 2"}},
]


@dataclass
class FreshBase:
    """A base made for one test: People, and 25 Tasks linked to them."""

    id: str
    api: Api
    people: dict[str, str]  # name -> record ID

    def snapshot(self, table: str = "Tasks") -> dict[str, dict[str, Any]]:
        """Every record of `table`, by ID (read straight from the emulator)."""
        return {r["id"]: r["fields"] for r in self.api.table(self.id, table).all()}


def create_fresh_base(server: EmulatorServer) -> FreshBase:
    api = Api(DEV_TOKEN, endpoint_url=server.url, retry_strategy=None)
    base = api.create_base(
        WORKSPACE,
        f"Test {uuid.uuid4().hex[:8]}",
        [
            {"name": "People", "fields": [{"name": "Name", "type": "singleLineText"}]},
            {"name": "Tasks", "fields": TASKS},
        ],
    )
    people = api.table(base.id, "People").batch_create(
        [{"Name": n} for n in ("Ana", "Ben", "Carla")]
    )
    ids = {p["fields"]["Name"]: p["id"] for p in people}
    statuses = ["Todo", "Doing", "Done"]
    api.table(base.id, "Tasks").batch_create(
        [
            {
                "Name": f"Task {i:02d}",
                "Status": statuses[i % 3],
                "Hours": i / 2,
                "Due": f"2026-05-{i + 1:02d}",
                "Done": i % 3 == 2,
                "Notes": f"note {i}" if i % 4 == 0 else None,
                "Owner": [ids[("Ana", "Ben", "Carla")[i % 3]]],
            }
            for i in range(25)
        ]
    )
    return FreshBase(base.id, api, ids)


def emulator_stats(server: EmulatorServer) -> dict[str, Any]:
    return requests.get(f"{server.url}/_emulator/stats", timeout=10).json()


def runtime_for(user_id: int, base_id: str | None = None) -> ToolRuntime[AssistantContext, Any]:
    """What the agent's tool node injects: here built by hand to call a tool directly."""
    return ToolRuntime(
        state={},
        context=AssistantContext(user_id=user_id, base_id=base_id, conversation_id="conv-test"),
        config={},
        stream_writer=lambda _chunk: None,
        tool_call_id="call-test",
        store=None,
    )


def call_tool(tool: BaseTool, user_id: int, base_id: str | None, **args: Any) -> ToolMessage:
    """`tool` called as the agent's tool node calls it: a tool call with the runtime."""
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "call-1",
            "name": tool.name,
            "args": {**args, "runtime": runtime_for(user_id, base_id)},
        }
    )
    assert isinstance(message, ToolMessage)
    return message


@pytest.fixture(scope="session")
def airtable_emulator(emulator: EmulatorServer) -> EmulatorServer:
    """The session's emulator: the demo bases plus whatever bases tests create."""
    return emulator


@pytest.fixture
def airtable_services(
    settings: Settings, services: Services, airtable_emulator: EmulatorServer
) -> Iterator[Services]:
    """Services on that emulator, with an org token; no rate limit there, so pacing is open."""
    with services_on(settings, airtable_emulator.url) as built:
        yield built


@pytest.fixture
def member(airtable_services: Services) -> User:
    return make_user(airtable_services, name="Member")


@pytest.fixture
def fresh_base(airtable_emulator: EmulatorServer) -> FreshBase:
    return create_fresh_base(airtable_emulator)
