"""Prompt tests: real SQL, Redis, gateway (on the emulator), guard and ledger; a scripted model."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from agents.prompt_runs import PromptRunner
from config.settings import Settings
from emulator.testing import EmulatorServer
from services.budget.types import CallRef, Purpose
from services.container import Services
from services.orm import User
from services.prompts.library import PromptLibrary
from services.prompts.runs import PromptRunStore
from tests.support.emulated import services_on
from tests.support.scripted_model import ScriptedChatModel

PASSWORD = "correct horse battery staple"
MODEL = "gemini-2.5-flash"
MakeRunner = Callable[..., tuple[PromptRunner, ScriptedChatModel]]


@pytest.fixture
def prompt_services(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    """Services on the emulator, with Gemini configured so a paid model is priced."""
    with services_on(
        settings, emulator.url, llm_provider="gemini", google_api_key=SecretStr("not-used")
    ) as built:
        yield built


@pytest.fixture
def library(prompt_services: Services) -> PromptLibrary:
    return PromptLibrary(prompt_services.sql, prompt_services.airtable)


@pytest.fixture
def runs(prompt_services: Services) -> PromptRunStore:
    return PromptRunStore(prompt_services.sql)


@pytest.fixture
def ana(prompt_services: Services) -> User:
    return prompt_services.accounts.register(email="ana@example.com", password=PASSWORD)


@pytest.fixture
def ben(prompt_services: Services) -> User:
    return prompt_services.accounts.register(email="ben@example.com", password=PASSWORD)


@pytest.fixture
def make_runner(
    prompt_services: Services, library: PromptLibrary, runs: PromptRunStore
) -> MakeRunner:
    """A PromptRunner whose every model is budget-guarded and scripted."""

    def make(*replies: object) -> tuple[PromptRunner, ScriptedChatModel]:
        scripted = ScriptedChatModel(script=list(replies))
        purposes: list[Purpose] = []

        def provider(
            user_id: int, purpose: Purpose, ref: CallRef, model: str | None
        ) -> BaseChatModel:
            purposes.append(purpose)
            return prompt_services.chat_models.guard(
                scripted, user_id=user_id, purpose=purpose, model_name=MODEL, ref=ref
            )

        runner = PromptRunner(prompt_services, library, runs, model_provider=provider)
        return runner, scripted

    return make
