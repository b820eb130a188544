"""Agent scenarios: the real agent, tools, gateway, guard and stores; only the model is scripted."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from agents.assistant import Assistant
from config.settings import Settings
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.budget.types import CallRef, Purpose
from services.container import Services
from services.orm import User
from tests.support.emulated import services_on
from tests.support.scripted_model import ScriptedChatModel, answer

PASSWORD = "correct horse battery staple"
BASE = PROJECT_TRACKER_ID
MODEL = "gemini-2.5-flash"
Make = Callable[..., tuple[Assistant, ScriptedChatModel]]


@pytest.fixture
def airtable(emulator: EmulatorServer) -> EmulatorServer:
    """The Airtable a scenario talks to; scenarios that write override it with their own."""
    return emulator


@pytest.fixture
def agent_services(
    settings: Settings, services: Services, airtable: EmulatorServer
) -> Iterator[Services]:
    """Services on the emulator, with Gemini configured so a paid model is priced."""
    with services_on(
        settings,
        airtable.url,
        llm_provider="gemini",
        google_api_key=SecretStr("not-used-scripted-model"),
        airtable_retry_max_wait_seconds=3.0,
    ) as built:
        yield built


@pytest.fixture
def own_airtable() -> Iterator[EmulatorServer]:
    """A private seeded emulator for scenarios that write."""
    with EmulatorServer(seed="demo") as server:
        yield server


@pytest.fixture
def user(agent_services: Services) -> User:
    return agent_services.accounts.register(email="ana@example.com", password=PASSWORD)


@pytest.fixture
def scripted(agent_services: Services) -> Make:
    """An Assistant whose every model (chat, title, summary) is guarded and scripted."""

    def make(
        *replies: object, title: str = "Scripted title"
    ) -> tuple[Assistant, ScriptedChatModel]:
        chat = ScriptedChatModel(script=list(replies))
        others = ScriptedChatModel(script=[answer(title) for _ in range(10)])

        def provider(
            user_id: int, purpose: Purpose, ref: CallRef, model: str | None
        ) -> BaseChatModel:
            inner = chat if purpose is Purpose.CHAT else others
            return agent_services.chat_models.guard(
                inner, user_id=user_id, purpose=purpose, model_name=MODEL, ref=ref
            )

        return Assistant(agent_services, model_provider=provider), chat

    return make
