"""Guarded Gemini calls: ChatGoogleGenerativeAI over real HTTP to the fake Gemini server."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, SecretStr

from config.settings import LLMProvider
from services.budget.alerts import user_alerts
from services.budget.errors import BudgetStoreUnavailableError, SpendLimitExceededError
from services.budget.orm import LedgerEntry
from services.budget.types import CallRef, Purpose, RefType
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
from tests.support.fake_gemini import (
    FAKE_GEMINI_KEY,
    FakeGeminiServer,
    requested_thinking_budget,
)
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"


@tool
def count_records(table: str) -> str:
    """Count the records of a table."""
    return f"{table} has 42 records."


def _wait_for_ledger(services: Services, count: int = 1) -> list[LedgerEntry]:
    # Async settles finish in a worker thread after the caller's task was cancelled.
    deadline = time.monotonic() + 5
    while len(rows := ledger(services)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return rows


def test_invoke__charges_reported_usage_with_cached_and_thinking_tokens(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(
            text="Ana owns 3 deals.",
            input_tokens=1200,
            cached_tokens=200,
            output_tokens=300,
            thinking_tokens=100,
        )
    )
    model = gemini.for_user(user_id, Purpose.CHAT, ref=CallRef(RefType.CONVERSATION, "c1"))

    answer = model.invoke("Who owns the most deals?")

    assert answer.text == "Ana owns 3 deals."
    (row,) = ledger(services)
    # 1000 uncached x 300 + 200 cached x 30 + (300 + 100 thinking) x 2500 nano-USD
    assert row.cost_nusd == 1_306_000
    assert (row.input_tokens, row.cached_tokens, row.output_tokens, row.reasoning_tokens) == (
        1200, 200, 400, 100,
    )  # fmt: skip
    assert (row.status, row.provider, row.model, row.ref_id) == ("ok", "gemini", FLASH, "c1")
    assert counter(gemini.budget_guard, user_id, Window.DAY)["nusd"] == 1_306_000
    (request,) = gemini_server.requests
    assert request.path == f"/v1beta/models/{FLASH}:generateContent"
    assert request.headers["x-goog-api-key"] == FAKE_GEMINI_KEY
    assert request.body["generationConfig"]["maxOutputTokens"] == 16_384


def test_api_version__v1_reaches_the_v1_endpoint(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini_server.url,
        gemini_api_version="v1",
    )
    gemini_server.script(ScriptedReply(text="ok"))
    factory.for_user(user_id, Purpose.TITLE).invoke("Title this")
    assert gemini_server.requests[0].path == f"/v1/models/{FLASH}:generateContent"


def test_stream__counts_streamed_usage_once(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(text="one two three four", input_tokens=40, output_tokens=20, chunks=4)
    )

    pieces = [chunk.text for chunk in gemini.for_user(user_id, Purpose.CHAT).stream("Count")]

    assert "".join(pieces) == "one two three four"
    assert gemini_server.requests[0].query == {"alt": "sse"}
    (row,) = ledger(services)
    assert (row.input_tokens, row.output_tokens, row.cost_nusd) == (40, 20, 40 * 300 + 20 * 2500)


def test_ainvoke_and_astream__are_guarded(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(text="async answer", input_tokens=10, output_tokens=2),
        ScriptedReply(text="async stream", input_tokens=10, output_tokens=4),
    )
    model = gemini.for_user(user_id, Purpose.PROMPT_RUN)

    async def run() -> tuple[str, str]:
        answer = await model.ainvoke("Hi")
        streamed = "".join([c.text async for c in model.astream("Hi")])
        return answer.text, streamed

    assert asyncio.run(run()) == ("async answer", "async stream")
    costs = [r.cost_nusd for r in _wait_for_ledger(services, 2)]
    assert costs == [10 * 300 + 2 * 2500, 10 * 300 + 4 * 2500]


@pytest.mark.parametrize("status", [400, 429, 500])
def test_provider_error__refunds_the_reservation(
    gemini: ChatModelFactory,
    gemini_server: FakeGeminiServer,
    services: Services,
    user_id: int,
    status: int,
) -> None:
    gemini_server.script(ScriptedReply(status=status, error_message="scripted failure"))

    with pytest.raises(Exception, match="scripted failure"):
        gemini.for_user(user_id, Purpose.CHAT).invoke("Hello")

    assert gemini_server.request_count == 1
    assert [(r.status, r.cost_nusd) for r in ledger(services)] == [("error", 0)]
    assert counter(gemini.budget_guard, user_id, Window.DAY) == {
        "nusd": 0, "tok": 0, "snusd": 0, "stok": 0,
    }  # fmt: skip


def test_stream_closed_early__charges_input_or_what_was_reported(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(
            text="a long story in four parts",
            input_tokens=3,
            output_tokens=8,
            chunks=4,
            chunk_delay_s=0.2,
        )
    )
    model = gemini.for_user(user_id, Purpose.CHAT)
    estimate = gemini.budget_guard.estimate(FLASH, [HumanMessage("Tell me a story")])

    stream = model.stream("Tell me a story")
    next(stream)
    stream.close()  # type: ignore[attr-defined]  # a generator, typed as an Iterator

    (row,) = ledger(services)
    # The first event already reported 3 input and 2 output tokens: more than the estimate.
    reported = 3 * 300 + 2 * 2500
    assert row.status == "cancelled"
    assert row.cost_nusd == max(estimate.input_nusd, reported)
    assert counter(gemini.budget_guard, user_id, Window.DAY)["nusd"] == row.cost_nusd


def test_cancelled_call__charges_the_input_estimate(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(ScriptedReply(text="too late", delay_s=3))
    model = gemini.for_user(user_id, Purpose.CHAT)
    estimate = gemini.budget_guard.estimate(FLASH, [HumanMessage("Slow question")])

    async def cancel_midway() -> None:
        task = asyncio.create_task(model.ainvoke("Slow question"))
        while gemini_server.request_count == 0:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())

    (row,) = _wait_for_ledger(services)
    assert (row.status, row.cost_nusd, row.input_tokens) == (
        "cancelled", estimate.input_nusd, estimate.input_tokens,
    )  # fmt: skip
    assert counter(gemini.budget_guard, user_id, Window.DAY)["nusd"] == estimate.input_nusd


def test_concurrent_calls__never_exceed_a_budget_that_fits_ten(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini_server.url,
        rate_user_requests_per_minute=1000,
        rate_user_tokens_per_minute=10**9,
    )
    question = "Sum the Amount field of Deals"
    worst = factory.budget_guard.estimate(FLASH, [HumanMessage(question)])
    set_user_budget(factory.budget_guard, user_id, day_nusd=10 * worst.total_nusd)
    # Each answer costs exactly its worst case, so no settle frees room for an 11th call.
    gemini_server.default_reply = ScriptedReply(
        text="42", input_tokens=worst.input_tokens, output_tokens=worst.output_tokens, delay_s=0.05
    )

    def call(_: int) -> str:
        try:
            factory.for_user(user_id, Purpose.CHAT).invoke(question)
        except SpendLimitExceededError:
            return "refused"
        return "answered"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(call, range(50)))

    assert outcomes.count("answered") == gemini_server.request_count <= 10
    charged = sum(r.cost_nusd for r in ledger(services))
    assert charged <= 10 * worst.total_nusd
    day = counter(factory.budget_guard, user_id, Window.DAY)
    assert day["snusd"] == day["nusd"] == charged
    assert counter(factory.budget_guard, None, Window.MONTH)["snusd"] == charged


def test_invoke__asks_gemini_for_the_thinking_budget_of_the_model_table(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    gemini_server.script(ScriptedReply(text="ok"), ScriptedReply(text="ok"))
    model = gemini.for_user(user_id, Purpose.CHAT)

    model.invoke("Hello")
    "".join(chunk.text for chunk in model.stream("Hello"))

    assert len(gemini_server.requests) == 2
    for request in gemini_server.requests:
        assert requested_thinking_budget(request.body) == 8192
        assert request.body["generationConfig"]["maxOutputTokens"] == 16_384


def test_concurrent_calls__thinking_to_the_limit_stays_within_the_budget(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    # Issue 11, item 4: every answer writes its whole output cap and thinks as much as the
    # request allows; 50 at once against a budget that fits ten worst cases.
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini_server.url,
        rate_user_requests_per_minute=1000,
        rate_user_tokens_per_minute=10**9,
    )
    question = "Sum the Amount field of Deals"
    worst = factory.budget_guard.estimate(FLASH, [HumanMessage(question)])
    budget = 10 * worst.total_nusd
    set_user_budget(factory.budget_guard, user_id, day_nusd=budget)
    gemini_server.default_reply = ScriptedReply(
        text="42",
        input_tokens=worst.input_tokens,
        output_tokens=factory.catalog.get(FLASH).output_cap,
        max_thinking=True,
        delay_s=0.05,
    )

    def call(_: int) -> str:
        try:
            factory.for_user(user_id, Purpose.CHAT).invoke(question)
        except SpendLimitExceededError:
            return "refused"
        return "answered"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(call, range(50)))

    rows = ledger(services)
    spent = sum(r.cost_nusd for r in rows)
    assert outcomes.count("answered") == len(rows) >= 1
    assert spent <= budget + worst.total_nusd, f"{100 * spent // budget}% of the budget"
    day = counter(factory.budget_guard, user_id, Window.DAY)
    assert day["snusd"] == day["nusd"] == spent


def test_overrun__is_charged_alerted_and_refuses_calls_until_the_window_has_room(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    # A provider that thinks past the budget it was given: four times over.
    question = "Plan the quarter"
    worst = gemini.budget_guard.estimate(FLASH, [HumanMessage(question)])
    set_user_budget(gemini.budget_guard, user_id, day_nusd=worst.total_nusd)
    gemini_server.script(
        ScriptedReply(
            text="A plan.",
            input_tokens=worst.input_tokens,
            output_tokens=100,
            thinking_tokens=4 * 8192,
        )
    )
    model = gemini.for_user(user_id, Purpose.CHAT)

    model.invoke(question)

    (row,) = ledger(services)
    actual = worst.input_tokens * 300 + (100 + 4 * 8192) * 2500
    assert (row.cost_nusd, row.reserved_nusd, row.reasoning_tokens) == (
        actual, worst.total_nusd, 4 * 8192,
    )  # fmt: skip
    assert counter(gemini.budget_guard, user_id, Window.DAY)["snusd"] == actual
    over = -(-actual * 100 // worst.total_nusd)
    alerts = user_alerts(services.sql, user_id)
    assert {(a.window, a.metric, a.threshold_pct) for a in alerts} >= {
        ("day", "usd", 100), ("day", "usd", over),
    }  # fmt: skip
    with pytest.raises(SpendLimitExceededError, match="daily budget"):
        model.invoke(question)
    assert gemini_server.request_count == 1


def test_budget_refusal__never_reaches_the_provider(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    set_user_budget(gemini.budget_guard, user_id, day_nusd=1000)
    with pytest.raises(SpendLimitExceededError, match="daily budget"):
        gemini.for_user(user_id, Purpose.CHAT).invoke("Hello")
    assert gemini_server.request_count == 0


def test_redis_down__refuses_paid_calls_before_the_provider(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini_server.url,
        redis_client=unreachable_redis(),
    )
    with pytest.raises(BudgetStoreUnavailableError, match="Redis, which tracks budgets"):
        factory.for_user(user_id, Purpose.CHAT).invoke("Hello")
    assert gemini_server.request_count == 0


def test_create_agent__runs_a_tool_round_trip_with_every_call_guarded(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(
            text="",
            tool_calls=[ScriptedToolCall("count_records", {"table": "Deals"})],
            input_tokens=60,
            output_tokens=10,
        ),
        ScriptedReply(text="Deals has 42 records.", input_tokens=90, output_tokens=8),
    )
    agent = create_agent(gemini.for_user(user_id, Purpose.CHAT), tools=[count_records])

    result = agent.invoke({"messages": [HumanMessage("How many deals are there?")]})

    assert result["messages"][-1].text == "Deals has 42 records."
    first, second = gemini_server.requests
    declared = first.body["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declared] == ["count_records"]
    # Declared as JSON Schema, which the SDK passes through as it is (not as its `Schema`
    # objects); it keeps the field's proto name, which Google's JSON parsing accepts as it
    # does the camel-case one.
    assert "parameters" not in declared[0]
    assert declared[0]["parameters_json_schema"] == {
        "type": "object",
        "properties": {"table": {"type": "string"}},
        "required": ["table"],
    }
    assert declared[0]["description"] == "Count the records of a table."
    answered = [p for c in second.body["contents"] for p in c["parts"] if "functionResponse" in p]
    assert answered[0]["functionResponse"]["name"] == "count_records"
    assert [(r.status, r.cost_nusd) for r in ledger(services)] == [
        ("ok", 60 * 300 + 10 * 2500),
        ("ok", 90 * 300 + 8 * 2500),
    ]


def test_create_agent__streamed_messages_are_charged_once(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    gemini_server.script(
        ScriptedReply(text="", tool_calls=[ScriptedToolCall("count_records", {"table": "Tasks"})]),
        ScriptedReply(text="Tasks has 42 records.", input_tokens=30, output_tokens=6, chunks=3),
    )
    agent = create_agent(gemini.for_user(user_id, Purpose.CHAT), tools=[count_records])

    async def run() -> str:
        text = ""
        async for message, _ in agent.astream(
            {"messages": [HumanMessage("How many tasks?")]}, stream_mode="messages"
        ):
            if isinstance(message, AIMessageChunk):
                text += message.text
        return text

    assert asyncio.run(run()) == "Tasks has 42 records."
    rows = _wait_for_ledger(services, 2)
    assert [r.cost_nusd for r in rows] == [12 * 300 + 3 * 2500, 30 * 300 + 6 * 2500]


def test_with_structured_output__returns_the_schema_through_tool_calling(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    class Total(BaseModel):
        """The total of a field."""

        total: int

    gemini_server.script(
        ScriptedReply(text="", tool_calls=[ScriptedToolCall("Total", {"total": 42})])
    )
    model = gemini.for_user(user_id, Purpose.WORKFLOW_RUN).with_structured_output(Total)

    assert model.invoke("What is the total?") == Total(total=42)
    assert [r.purpose for r in ledger(services)] == ["workflow_run"]
