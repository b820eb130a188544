"""Budgets used to the end: a call with less room than its worst case is asked for less
output instead of being refused (real Gemini client, fake Gemini server that writes as much
as each request allows); the free pricing tier."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from config.settings import LLMProvider, Settings
from services.budget.alerts import user_alerts
from services.budget.errors import SpendLimitExceededError
from services.budget.pricing import usd_to_nusd
from services.budget.types import Purpose
from services.budget.windows import Metric, Window
from services.container import Services, build_services
from services.llm.factory import ChatModelFactory
from services.llm.guarded import output_limit
from tests.integration.budget.guard_setup import counter, ledger
from tests.integration.llm.conftest import FactoryMaker
from tests.support.fake_gemini import (
    FAKE_GEMINI_KEY,
    FakeGeminiServer,
    requested_thinking_budget,
)
from tests.support.fake_provider_server import ScriptedReply

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"
QUESTION = "How many tasks are overdue?"


def _gemini(
    make_factory: FactoryMaker, server: FakeGeminiServer, **settings: object
) -> ChatModelFactory:
    return make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=server.url,
        **settings,
    )


def _worst_case_reply() -> ScriptedReply:
    """An answer that writes and thinks as much as the request allows."""
    return ScriptedReply(text="A long answer.", input_tokens=10, max_output=True, max_thinking=True)


def _requested_output(server: FakeGeminiServer) -> tuple[int, int | None]:
    body = server.requests[-1].body
    return int(body["generationConfig"]["maxOutputTokens"]), requested_thinking_budget(body)


def test_headroom__ten_cents_spent_to_99_percent_without_overspend_and_one_100_alert(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    budget = usd_to_nusd("0.10")
    factory = _gemini(make_factory, gemini_server, budget_user_day_usd=0.10)
    model = factory.for_user(user_id, Purpose.CHAT, model=FLASH)
    spec = factory.catalog.get(FLASH)
    answers: list[AIMessage] = []
    refusals = 0
    for _ in range(6):
        gemini_server.script(_worst_case_reply())
        try:
            answers.append(model.invoke(QUESTION))
        except SpendLimitExceededError:
            refusals += 1
    spent = sum(row.cost_nusd for row in ledger(services))

    assert spent <= budget  # never over
    assert spent >= budget * 99 // 100  # and used to the end
    # The first call could reserve its worst case; the second was lowered to what was left.
    assert len(answers) == 2
    assert output_limit(answers[0]) is None
    lowered = output_limit(answers[1])
    assert lowered is not None
    assert 512 <= lowered < spec.reserved_output_tokens
    answer_tokens, thinking = _requested_output(gemini_server)
    assert answer_tokens + (thinking or 0) == lowered
    assert thinking == spec.thinking_budget * lowered // spec.reserved_output_tokens
    # Then nothing useful fits: refused, without asking the provider.
    assert refusals == 4
    assert gemini_server.request_count == 2
    hundred = [a for a in user_alerts(services.sql, user_id) if a.threshold_pct == 100]
    assert len(hundred) == 1
    assert [a.threshold_pct for a in user_alerts(services.sql, user_id)].count(100) == 1


def test_headroom__refused_below_the_minimum_useful_output(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    # A budget of $0.0012 leaves room for under 512 output tokens at $2.50/1M.
    factory = _gemini(
        make_factory, gemini_server, budget_user_day_usd=0.0012, budget_min_output_tokens=512
    )
    model = factory.for_user(user_id, Purpose.CHAT, model=FLASH)

    with pytest.raises(SpendLimitExceededError) as refused:
        model.invoke(QUESTION)

    assert gemini_server.request_count == 0
    spec = factory.catalog.get(FLASH)
    # The refusal names what the smallest useful call would need, not the worst case.
    assert refused.value.needed < 600 * spec.rates().output_nusd
    assert ledger(services) == []


def test_headroom__a_lower_minimum_lets_a_short_answer_through(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    factory = _gemini(
        make_factory, gemini_server, budget_user_day_usd=0.0012, budget_min_output_tokens=256
    )
    model = factory.for_user(user_id, Purpose.CHAT, model=FLASH)
    gemini_server.script(_worst_case_reply())

    answer = model.invoke(QUESTION)

    lowered = output_limit(answer)
    assert lowered is not None
    assert 256 <= lowered < 480
    assert sum(row.cost_nusd for row in ledger(services)) <= usd_to_nusd("0.0012")


def test_headroom__token_budgets_lower_the_output_too(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, services: Services, user_id: int
) -> None:
    factory = _gemini(make_factory, gemini_server, budget_user_day_tokens=2_000)
    model = factory.for_user(user_id, Purpose.CHAT, model=FLASH)
    gemini_server.script(_worst_case_reply())

    answer = model.invoke(QUESTION)

    lowered = output_limit(answer)
    assert lowered is not None
    assert lowered < 2_000
    rows = ledger(services)
    assert rows[0].input_tokens + rows[0].output_tokens <= 2_000


def test_free_tier__gemini_calls_cost_nothing_and_token_budgets_still_count(
    settings: Settings, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    # Through the composition root: GEMINI_PRICING_TIER is read where the app builds its
    # services (on the test's stores, so `user_id` exists there too).
    free = settings.model_copy(
        update={
            "llm_provider": LLMProvider.GEMINI,
            "google_api_key": SecretStr(FAKE_GEMINI_KEY),
            "gemini_base_url": gemini_server.url,
            "gemini_pricing_tier": "free",
            "budget_user_day_tokens": 600,
        }
    )
    built = build_services(free)
    try:
        assert built.budget_guard.catalog.get(FLASH).is_free
        model = built.chat_models.for_user(user_id, Purpose.CHAT, model=FLASH)
        gemini_server.script(ScriptedReply(text="Free.", input_tokens=100, output_tokens=7))

        model.invoke(QUESTION)

        row = ledger(built)[0]
        assert (row.cost_nusd, row.input_tokens, row.output_tokens) == (0, 100, 7)
        assert counter(built.budget_guard, user_id, Window.DAY)["stok"] == 107
        # The token budget (600 a day) still bites: 493 left is under a useful answer.
        with pytest.raises(SpendLimitExceededError) as refused:
            model.invoke(QUESTION)
        assert refused.value.metric is Metric.TOKENS
    finally:
        built.close()
