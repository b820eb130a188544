"""Guarded models through the real LangChain clients, against fake provider servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from config.settings import LLMProvider, Settings
from services.budget.guard import BudgetGuard
from services.container import Services
from services.llm.catalog import load_model_catalog
from services.llm.factory import ChatModelFactory
from tests.integration.budget.guard_setup import ManualClock, add_user
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.fake_ollama import FakeOllamaServer

FactoryMaker = Callable[..., ChatModelFactory]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0))


@pytest.fixture
def user_id(services: Services) -> int:
    return add_user(services)


@pytest.fixture
def gemini_server() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as server:
        yield server


@pytest.fixture
def make_factory(services: Services, settings: Settings, clock: ManualClock) -> FactoryMaker:
    """A factory on the test's stores; keyword arguments override settings."""

    def make(**overrides: object) -> ChatModelFactory:
        redis_client = overrides.pop("redis_client", services.redis)
        changed = settings.model_copy(update={"llm_max_retries": 0, **overrides})
        guard = BudgetGuard(
            redis_client=redis_client,  # type: ignore[arg-type]
            sessions=services.sql,
            settings=changed,
            catalog=load_model_catalog(changed.model_table_path),
            clock=clock,
        )
        return ChatModelFactory(changed, guard)

    return make


@pytest.fixture
def gemini(make_factory: FactoryMaker, gemini_server: FakeGeminiServer) -> ChatModelFactory:
    return make_factory(
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini_server.url,
    )


@pytest.fixture
def ollama(make_factory: FactoryMaker, ollama_server: FakeOllamaServer) -> ChatModelFactory:
    return make_factory(llm_provider=LLMProvider.OLLAMA, ollama_base_url=ollama_server.url)
