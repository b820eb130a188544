"""Every guarded answer names its ledger row, so its cost is read back, never recomputed."""

from __future__ import annotations

import asyncio

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from services.budget.types import Purpose
from services.budget.views import CallCost, call_costs, total_cost
from services.container import Services
from services.llm.factory import ChatModelFactory
from services.llm.guarded import ledger_request_id
from tests.integration.budget.guard_setup import ledger
from tests.integration.llm.conftest import FactoryMaker
from tests.integration.llm.test_factory import ToolFake, _usage, lookup
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply

pytestmark = pytest.mark.sql


def test_agent_answers__carry_the_request_ids_of_their_ledger_rows(
    make_factory: FactoryMaker, services: Services, user_id: int
) -> None:
    scripted = ToolFake(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[{"name": "lookup", "args": {"name": "Ana"}, "id": "call-1"}],
                    usage_metadata=_usage(100, 20),
                ),
                AIMessage("Ana was found.", usage_metadata=_usage(150, 10)),
            ]
        )
    )
    model = make_factory().guard(
        scripted, user_id=user_id, purpose=Purpose.CHAT, model_name="gemini-2.5-flash"
    )

    result = create_agent(model, tools=[lookup]).invoke({"messages": [HumanMessage("Find Ana")]})

    answers = [m for m in result["messages"] if isinstance(m, AIMessage)]
    ids = [ledger_request_id(m) for m in answers]
    assert ids == [row.request_id for row in ledger(services)]
    found = [i for i in ids if i]
    assert total_cost(call_costs(services.sql, found), found) == CallCost(
        tokens=100 + 20 + 150 + 10, cost_nusd=(100 + 150) * 300 + (20 + 10) * 2500
    )


def test_stream__the_whole_answer_carries_its_request_id_once(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(text="one two three four", input_tokens=40, output_tokens=20, chunks=4),
        ScriptedReply(text="async stream", input_tokens=10, output_tokens=4),
    )
    model = gemini.for_user(user_id, Purpose.CHAT)

    chunks = list(model.stream("Count"))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk

    async def astream() -> AIMessageChunk:
        pieces = [c async for c in model.astream("Hi")]
        total = pieces[0]
        for piece in pieces[1:]:
            total += piece
        return total

    streamed = asyncio.run(astream())
    assert [ledger_request_id(whole), ledger_request_id(streamed)] == [
        row.request_id for row in ledger(services)
    ]


def test_call_costs__only_calls_with_a_ledger_row(services: Services) -> None:
    assert call_costs(services.sql, []) == {}
    assert call_costs(services.sql, ["no-such-request"]) == {}
    assert total_cost({}, ["no-such-request"]) is None
