"""Each way a provider fails, raised by the real Gemini and Ollama clients against the fake
servers (which answer as the real services do), becomes its own typed `ProviderError`."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr

from config.settings import LLMProvider
from services.budget.types import Purpose
from services.budget.windows import Window
from services.container import Services
from services.errors import ProviderError
from services.llm.errors import (
    ProviderAuthError,
    ProviderModelNotFoundError,
    ProviderQuotaError,
    ProviderSafetyError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    refusal_of,
    translate_provider_error,
)
from services.llm.factory import ChatModelFactory
from tests.integration.budget.guard_setup import counter, ledger
from tests.integration.llm.conftest import FactoryMaker
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_ollama import FakeOllamaServer
from tests.support.fake_provider_server import ScriptedReply
from tests.support.net import free_port

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"
WRONG_KEY = "AIzaSyWrongWrongWrongWrongWrongWrong123"


def _failure(factory: ChatModelFactory, user_id: int, model: str | None = None) -> ProviderError:
    """What the provider's client raised on one streamed call, translated."""
    guarded = factory.for_user(user_id, Purpose.CHAT, model=model)
    try:
        list(guarded.stream([HumanMessage("How many deals?")]))
    except Exception as exc:  # whatever the client raises: the translation is under test
        return translate_provider_error(exc, model=model or guarded.model_name)
    raise AssertionError("the call did not fail")


def test_gemini_bad_key__is_an_auth_error_and_the_key_is_not_in_the_detail(
    make_factory: FactoryMaker, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(WRONG_KEY),
        gemini_base_url=gemini_server.url,
    )
    error = _failure(factory, user_id)
    assert isinstance(error, ProviderAuthError)
    assert error.status == 400
    assert "API key not valid" in error.detail
    assert "try again in a moment" not in str(error)
    assert "GOOGLE_API_KEY" in str(error)
    assert WRONG_KEY not in error.detail


def test_gemini_quota__is_a_quota_error_with_the_retry_time(
    gemini: ChatModelFactory,
    gemini_server: FakeGeminiServer,
    services: Services,
    user_id: int,
) -> None:
    gemini_server.script(
        ScriptedReply(status=429, error_message="You exceeded your current quota", retry_delay_s=37)
    )
    error = _failure(gemini, user_id)
    assert isinstance(error, ProviderQuotaError)
    assert error.retry_after_s == 37
    assert "try again in 37 seconds" in str(error)
    assert "You exceeded your current quota" in error.detail
    # Refused before any output: the call costs nothing.
    assert [(r.status, r.cost_nusd) for r in ledger(services)] == [("error", 0)]


def test_gemini_rate_limit_without_retry_info__says_later(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    gemini_server.script(ScriptedReply(status=429, error_message="Resource exhausted"))
    error = _failure(gemini, user_id)
    assert isinstance(error, ProviderQuotaError)
    assert (error.retry_after_s, str(error).endswith("try again later.")) == (None, True)


def test_gemini_unknown_model__is_model_not_found_naming_it(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    gemini_server.models = [FLASH]
    error = _failure(gemini, user_id, model="gemini-2.5-flash-lite")
    assert isinstance(error, ProviderModelNotFoundError)
    assert error.status == 404
    assert "gemini-2.5-flash-lite" in str(error)
    assert "is not found for API version v1beta" in error.detail


@pytest.mark.parametrize("status", [500, 503])
def test_gemini_server_error__is_provider_unavailable(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int, status: int
) -> None:
    gemini_server.script(ScriptedReply(status=status, error_message="The model is overloaded."))
    error = _failure(gemini, user_id)
    assert isinstance(error, ProviderUnavailableError)
    assert (error.status, f"HTTP {status}" in str(error)) == (status, True)


def test_gemini_connection_refused__is_provider_unavailable(
    make_factory: FactoryMaker, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr("any-key-for-a-closed-port"),
        gemini_base_url=f"http://127.0.0.1:{free_port()}",
    )
    error = _failure(factory, user_id)
    assert isinstance(error, ProviderUnavailableError)
    assert "cannot be reached" in str(error)


def test_gemini_timeout__is_a_timeout_and_charges_the_input(
    make_factory: FactoryMaker,
    gemini_server: FakeGeminiServer,
    services: Services,
    user_id: int,
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(gemini_server.api_key),
        gemini_base_url=gemini_server.url,
        llm_request_timeout_seconds=0.5,
    )
    gemini_server.script(ScriptedReply(text="too late", delay_s=3))
    estimate = factory.budget_guard.estimate(FLASH, [HumanMessage("How many deals?")])
    error = _failure(factory, user_id)
    assert isinstance(error, ProviderTimeoutError)
    # The provider may bill what it read: a timeout is charged the input estimate.
    [row] = ledger(services)
    assert (row.status, row.cost_nusd) == ("error", estimate.input_nusd)
    assert counter(factory.budget_guard, user_id, Window.DAY)["nusd"] == estimate.input_nusd


def test_gemini_safety_block__is_reported_as_a_safety_error(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    gemini_server.script(ScriptedReply(block_reason="SAFETY"))
    reply = gemini.for_user(user_id, Purpose.CHAT).invoke([HumanMessage("Something harmful")])
    assert reply.text == ""
    assert isinstance(refusal_of(reply), ProviderSafetyError)


def test_gemini_ordinary_answer__is_no_refusal(
    gemini: ChatModelFactory, gemini_server: FakeGeminiServer, user_id: int
) -> None:
    gemini_server.script(ScriptedReply(text="Three deals."))
    reply = gemini.for_user(user_id, Purpose.CHAT).invoke([HumanMessage("How many deals?")])
    assert refusal_of(reply) is None


def test_ollama_model_not_pulled__is_model_not_found(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, user_id: int
) -> None:
    ollama_server.models = ["qwen3"]
    error = _failure(ollama, user_id, model="llama3.2")
    assert isinstance(error, ProviderModelNotFoundError)
    assert 'model "llama3.2" not found, try pulling it first' in error.detail
    assert "ollama pull" in str(error)


def test_ollama_server_error__is_provider_unavailable(
    ollama: ChatModelFactory, ollama_server: FakeOllamaServer, user_id: int
) -> None:
    ollama_server.script(ScriptedReply(status=500, error_message="model runner crashed"))
    error = _failure(ollama, user_id)
    assert isinstance(error, ProviderUnavailableError)
    assert error.detail == "model runner crashed"


def test_ollama_not_running__is_provider_unavailable(
    make_factory: FactoryMaker, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.OLLAMA, ollama_base_url=f"http://127.0.0.1:{free_port()}"
    )
    assert isinstance(_failure(factory, user_id), ProviderUnavailableError)


def test_ollama_timeout__is_a_timeout(
    make_factory: FactoryMaker, ollama_server: FakeOllamaServer, user_id: int
) -> None:
    factory = make_factory(
        llm_provider=LLMProvider.OLLAMA,
        ollama_base_url=ollama_server.url,
        llm_request_timeout_seconds=0.5,
    )
    ollama_server.script(ScriptedReply(text="too late", delay_s=3))
    assert isinstance(_failure(factory, user_id), ProviderTimeoutError)
