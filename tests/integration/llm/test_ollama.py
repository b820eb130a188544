"""Guarded Ollama calls: ChatOllama over real HTTP to the fake Ollama server."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from config.settings import LLMProvider
from services.budget.errors import SpendLimitExceededError
from services.budget.types import Purpose
from services.budget.windows import Window
from services.container import Services
from services.llm.factory import ChatModelFactory
from tests.integration.budget.guard_setup import (
    counter,
    ledger,
    set_user_budget,
    unreachable_redis,
)
from tests.integration.llm.conftest import FactoryMaker
from tests.support.fake_ollama import FakeOllamaServer
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall

pytestmark = pytest.mark.sql

LLAMA = "llama3.2"


@tool
def list_tables(base: str) -> str:
    """List the tables of an Airtable base."""
    return f"{base}: Deals, Contacts"


def test_invoke__records_prompt_and_eval_counts_at_no_cost(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    ollama_server.script(ScriptedReply(text="Hi there.", input_tokens=26, output_tokens=7))

    assert ollama.for_user(user_id, Purpose.TITLE).invoke("Hello").text == "Hi there."

    (request,) = ollama_server.requests
    assert (request.path, request.body["model"], request.body["stream"]) == (
        "/api/chat", LLAMA, True,
    )  # fmt: skip
    assert request.body["options"]["num_predict"] == 8192
    (row,) = ledger(services)
    assert (row.provider, row.status, row.input_tokens, row.output_tokens, row.cost_nusd) == (
        "ollama", "ok", 26, 7, 0,
    )  # fmt: skip
    assert counter(ollama.budget_guard, user_id, Window.DAY) == {
        "nusd": 0, "tok": 33, "snusd": 0, "stok": 33,
    }  # fmt: skip


def test_invoke__without_streaming_sends_one_json_reply(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    ollama_server.script(ScriptedReply(text="Whole answer.", input_tokens=10, output_tokens=3))

    answer = ollama.for_user(user_id, Purpose.CHAT).invoke("Hello", stream=False)

    assert answer.text == "Whole answer."
    assert ollama_server.requests[0].body["stream"] is False
    assert [(r.input_tokens, r.output_tokens) for r in ledger(services)] == [(10, 3)]


def test_prompt_cache_hit__keeps_the_estimate_and_marks_it(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    ollama_server.script(ScriptedReply(text="From cache.", omit_prompt_count=True))
    estimate = ollama.budget_guard.estimate(LLAMA, [HumanMessage("Hello again")])

    ollama.for_user(user_id, Purpose.CHAT).invoke("Hello again")

    (row,) = ledger(services)
    assert (row.status, row.input_tokens, row.output_tokens) == (
        "estimated", estimate.input_tokens, estimate.output_tokens,
    )  # fmt: skip
    assert counter(ollama.budget_guard, user_id, Window.DAY)["stok"] == estimate.total_tokens


def test_stream__closed_early_charges_the_input_estimate(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    ollama_server.script(ScriptedReply(text="one two three", chunks=3, chunk_delay_s=0.2))
    estimate = ollama.budget_guard.estimate(LLAMA, [HumanMessage("Count slowly")])

    stream = ollama.for_user(user_id, Purpose.CHAT).stream("Count slowly")
    assert next(stream).text == "one t"  # 13 characters in 3 pieces of 5
    stream.close()  # type: ignore[attr-defined]  # a generator, typed as an Iterator

    (row,) = ledger(services)
    assert (row.status, row.input_tokens, row.output_tokens) == (
        "cancelled", estimate.input_tokens, 0,
    )  # fmt: skip


def test_provider_error__refunds_the_tokens(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    ollama_server.script(ScriptedReply(status=404, error_message='model "llama3.2" not found'))

    with pytest.raises(Exception, match="not found"):
        ollama.for_user(user_id, Purpose.CHAT).invoke("Hello")

    assert [(r.status, r.input_tokens) for r in ledger(services)] == [("error", 0)]
    assert counter(ollama.budget_guard, user_id, Window.DAY)["tok"] == 0


def test_token_budget__applies_to_free_models(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, user_id: int
) -> None:
    # Less than the 512-token minimum useful output is left: refused, nothing sent.
    set_user_budget(ollama.budget_guard, user_id, day_tokens=300)
    with pytest.raises(SpendLimitExceededError, match="daily token budget of 300 tokens"):
        ollama.for_user(user_id, Purpose.CHAT).invoke("Hello")
    assert ollama_server.request_count == 0


def test_token_budget__below_num_predict_lowers_num_predict_to_fit(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    set_user_budget(ollama.budget_guard, user_id, day_tokens=1000)  # less than num_predict
    ollama_server.script(ScriptedReply(text="Short.", input_tokens=9, output_tokens=3))

    assert ollama.for_user(user_id, Purpose.CHAT).invoke("Hello").text == "Short."

    num_predict = ollama_server.requests[-1].body["options"]["num_predict"]
    assert 512 <= num_predict < 1000
    row = ledger(services)[0]
    assert row.reserved_nusd == 0  # free, and its tokens counted
    assert (row.input_tokens, row.output_tokens) == (9, 3)


def test_redis_down__free_model_still_answers_and_is_recorded(
    make_factory: FactoryMaker, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.OLLAMA,
        ollama_base_url=ollama_server.url,
        redis_client=unreachable_redis(),
    )
    ollama_server.script(ScriptedReply(text="Still here.", input_tokens=9, output_tokens=3))

    assert factory.for_user(user_id, Purpose.CHAT).invoke("Hello").text == "Still here."
    assert [(r.status, r.input_tokens, r.reserved_nusd) for r in ledger(services)] == [("ok", 9, 0)]


def test_create_agent__runs_a_tool_round_trip(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, services: Services, user_id: int
) -> None:
    ollama_server.script(
        ScriptedReply(
            text="",
            tool_calls=[ScriptedToolCall("list_tables", {"base": "CRM"})],
            input_tokens=40,
            output_tokens=12,
        ),
        ScriptedReply(text="CRM has Deals and Contacts.", input_tokens=70, output_tokens=9),
    )
    agent = create_agent(ollama.for_user(user_id, Purpose.CHAT), tools=[list_tables])

    result = agent.invoke({"messages": [HumanMessage("Which tables are in CRM?")]})

    assert result["messages"][-1].text == "CRM has Deals and Contacts."
    first, second = ollama_server.requests
    assert [t["function"]["name"] for t in first.body["tools"]] == ["list_tables"]
    assert second.body["messages"][-1] == {"role": "tool", "content": "CRM: Deals, Contacts"}
    assert [(r.input_tokens, r.output_tokens) for r in ledger(services)] == [(40, 12), (70, 9)]
