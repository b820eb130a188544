"""Test connection: the real clients list models from the fake servers, spending nothing."""

from __future__ import annotations

from pydantic import SecretStr

from config.settings import LLMProvider, Settings
from services.llm.connection import check_llm_connection
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.fake_ollama import FakeOllamaServer
from tests.support.net import free_port

FLASH = "gemini-2.5-flash"


def _gemini(settings: Settings, url: str, key: str | None = FAKE_GEMINI_KEY) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": LLMProvider.GEMINI,
            "google_api_key": SecretStr(key) if key else None,
            "gemini_base_url": url,
        }
    )


def _ollama(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"llm_provider": LLMProvider.OLLAMA, "ollama_base_url": url})


def test_gemini__good_key_lists_models_and_calls_no_model(
    settings: Settings, gemini_server: FakeGeminiServer
) -> None:
    check = check_llm_connection(_gemini(settings, gemini_server.url), model=FLASH)
    assert (check.ok, check.kind) == (True, "ok")
    assert check.models == len(gemini_server.models)
    assert f"{FLASH} is available" in check.message
    assert [(r.method, r.path) for r in gemini_server.requests] == [("GET", "/v1beta/models")]


def test_gemini__bad_key_is_an_auth_failure(
    settings: Settings, gemini_server: FakeGeminiServer
) -> None:
    check = check_llm_connection(_gemini(settings, gemini_server.url, "wrong-key"), model=FLASH)
    assert (check.ok, check.kind) == (False, "auth")
    assert "API key" in check.message


def test_gemini__missing_key_is_an_auth_failure_without_a_request(
    settings: Settings, gemini_server: FakeGeminiServer
) -> None:
    check = check_llm_connection(_gemini(settings, gemini_server.url, None), model=FLASH)
    assert (check.ok, check.kind) == (False, "auth")
    assert gemini_server.request_count == 0


def test_gemini__a_model_it_does_not_serve_is_named(
    settings: Settings, gemini_server: FakeGeminiServer
) -> None:
    gemini_server.models = ["gemini-2.5-pro"]
    check = check_llm_connection(_gemini(settings, gemini_server.url), model=FLASH)
    assert (check.ok, check.kind) == (False, "model_not_found")
    assert FLASH in check.message


def test_gemini__nothing_listening_is_unavailable(settings: Settings) -> None:
    check = check_llm_connection(_gemini(settings, f"http://127.0.0.1:{free_port()}"), model=FLASH)
    assert (check.ok, check.kind) == (False, "unavailable")


def test_ollama__lists_pulled_models(settings: Settings, ollama_server: FakeOllamaServer) -> None:
    check = check_llm_connection(_ollama(settings, ollama_server.url), model="llama3.2")
    assert (check.ok, check.kind) == (True, "ok")
    assert [(r.method, r.path) for r in ollama_server.requests] == [("GET", "/api/tags")]


def test_ollama__model_not_pulled_and_not_running(
    settings: Settings, ollama_server: FakeOllamaServer
) -> None:
    ollama_server.models = ["qwen3"]
    missing = check_llm_connection(_ollama(settings, ollama_server.url), model="llama3.2")
    assert (missing.ok, missing.kind) == (False, "model_not_found")
    assert "ollama pull llama3.2" in missing.message
    down = check_llm_connection(
        _ollama(settings, f"http://127.0.0.1:{free_port()}"), model="llama3.2"
    )
    assert (down.ok, down.kind) == (False, "unavailable")
