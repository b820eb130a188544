"""The same turn through the real Gemini and Ollama clients, against fake provider servers.

Nothing here is scripted inside Python: the agent's model is what the app builds
(`ChatGoogleGenerativeAI` / `ChatOllama` behind the budget guard), streaming over HTTP to
servers that speak each provider's wire protocol, including function/tool calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from agents.assistant import Assistant, TurnEvent
from config.settings import LLMProvider, Settings
from emulator.testing import EmulatorServer
from services.budget.ledger import totals_for_ref
from services.container import Services
from services.conversations import is_error_entry
from services.errors import ProviderError
from services.llm.errors import ProviderQuotaError, ProviderUnavailableError
from tests.integration.agents.conftest import BASE, PASSWORD
from tests.support.emulated import services_on
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.fake_ollama import FakeOllamaServer
from tests.support.fake_provider_server import FakeProviderServer, ScriptedReply, ScriptedToolCall

pytestmark = pytest.mark.sql

COUNT_PROJECTS = ScriptedToolCall("aggregate_records", {"table": "Projects", "metric": "count"})


@pytest.fixture(params=["gemini", "ollama"])
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeProviderServer]]:
    server: FakeProviderServer = (
        FakeGeminiServer() if request.param == "gemini" else FakeOllamaServer()
    )
    with server:
        yield request.param, server


@pytest.fixture
def real_services(
    settings: Settings,
    services: Services,
    emulator: EmulatorServer,
    provider: tuple[str, FakeProviderServer],
) -> Iterator[Services]:
    name, server = provider
    if name == "gemini":
        update: dict[str, object] = {
            "llm_provider": LLMProvider.GEMINI,
            "google_api_key": SecretStr(FAKE_GEMINI_KEY),
            "gemini_base_url": server.url,
        }
    else:
        update = {"llm_provider": LLMProvider.OLLAMA, "ollama_base_url": server.url}
    with services_on(settings, emulator.url, **update) as built:
        yield built


def threading_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads started from now on (the list fills as they start)."""
    started: list[str] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    return started


def test_turn__streams_calls_a_tool_and_is_charged(
    real_services: Services,
    provider: tuple[str, FakeProviderServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, server = provider
    server.script(
        ScriptedReply(text="", tool_calls=[COUNT_PROJECTS], input_tokens=900, output_tokens=20),
        ScriptedReply(
            text="There are 40 projects in the tracker.",
            chunks=4,
            input_tokens=1000,
            output_tokens=12,
        ),
        ScriptedReply(text="Project count", input_tokens=50, output_tokens=3),
    )
    user = real_services.accounts.register(email="ana@example.com", password=PASSWORD)
    conversation = real_services.conversations.create(user_id=user.id, base_id=BASE)
    events: list[TurnEvent] = []
    assistant = Assistant(real_services)
    started = threading_starts(monkeypatch)
    result = assistant.run_turn(
        user_id=user.id,
        conversation_id=conversation.id,
        text="How many projects are there?",
        on_event=events.append,
    )

    assert result.answer == "There are 40 projects in the tracker."
    tokens = [e.text for e in events if e.kind == "token"]
    assert len(tokens) >= 2  # streamed in pieces
    # The model's steps ran inline in the turn's thread (`agents.token_relay`): the one
    # thread started is the tool node's.
    assert len(started) == 1
    tool_result = next(e for e in events if e.kind == "tool_result")
    assert "40" in tool_result.text
    assert server.request_count == 3  # two agent steps and the title
    assert result.tokens == 900 + 20 + 1000 + 12 + 50 + 3
    since = datetime.fromtimestamp(conversation.created_at, UTC)
    ledger = totals_for_ref(
        real_services.sql, ref_type="conversation", ref_id=conversation.id, since=since
    )
    assert ledger.tokens == result.tokens
    if name == "gemini":
        assert result.cost_nusd > 0
    else:
        assert result.cost_nusd == 0  # local models are free, and still recorded


def test_provider_error__is_a_clear_message_and_costs_nothing(
    real_services: Services, provider: tuple[str, FakeProviderServer]
) -> None:
    _, server = provider
    server.default_reply = ScriptedReply(status=500, error_message="backend exploded")
    user = real_services.accounts.register(email="ana@example.com", password=PASSWORD)
    conversation = real_services.conversations.create(user_id=user.id, base_id=BASE)
    with pytest.raises(ProviderUnavailableError, match=r"failing \(HTTP 500\)") as excinfo:
        Assistant(real_services).run_turn(
            user_id=user.id, conversation_id=conversation.id, text="How many projects?"
        )
    assert "backend exploded" not in str(excinfo.value)
    assert excinfo.value.detail.endswith("backend exploded")
    since = datetime.fromtimestamp(conversation.created_at, UTC)
    ledger = totals_for_ref(
        real_services.sql, ref_type="conversation", ref_id=conversation.id, since=since
    )
    assert ledger.nusd == 0
    stored = real_services.conversations.messages(user_id=user.id, conversation_id=conversation.id)
    assert [m.text for m in stored] == ["How many projects?", str(excinfo.value)]
    assert is_error_entry(stored[-1])


@pytest.mark.parametrize(
    ("reply", "error_type", "words"),
    [
        (
            ScriptedReply(status=429, error_message="Quota exceeded", retry_delay_s=20),
            ProviderQuotaError,
            "try again in 20 seconds",
        ),
        (ScriptedReply(status=503, error_message="overloaded"), ProviderUnavailableError, "503"),
    ],
)
def test_turn_failure__names_the_kind_and_logs_the_providers_words(
    real_services: Services,
    provider: tuple[str, FakeProviderServer],
    caplog: pytest.LogCaptureFixture,
    reply: ScriptedReply,
    error_type: type[ProviderError],
    words: str,
) -> None:
    name, server = provider
    if name == "ollama" and reply.retry_delay_s is not None:
        reply = replace(reply, retry_delay_s=None)  # Ollama gives no retry time
        words = "try again later"
    server.default_reply = reply
    user = real_services.accounts.register(email="ana@example.com", password=PASSWORD)
    conversation = real_services.conversations.create(user_id=user.id, base_id=BASE)
    with (
        caplog.at_level(logging.WARNING, logger="agents.model_calls"),
        pytest.raises(error_type, match=words),
    ):
        Assistant(real_services).run_turn(
            user_id=user.id, conversation_id=conversation.id, text="How many projects?"
        )
    [record] = [r for r in caplog.records if r.name == "agents.model_calls"]
    assert reply.error_message in record.getMessage()
    assert f"kind={error_type.kind}" in record.getMessage()
