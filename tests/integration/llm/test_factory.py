"""The model factory: configuration errors, defaults, and guarding a scripted model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import GenericFakeChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import SecretStr

from config.settings import LLMProvider
from services.budget.types import Purpose
from services.container import Services
from services.errors import ConfigurationError
from services.llm.factory import NO_PROVIDER_MESSAGE
from services.llm.guarded import GuardedChatModel
from tests.integration.budget.guard_setup import ledger
from tests.integration.llm.conftest import FactoryMaker

pytestmark = pytest.mark.sql


class ToolFake(GenericFakeChatModel):
    """The scripted model of STACK_NOTES: binds tools so `create_agent` accepts it."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        tool_dicts = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=tool_dicts, **kwargs)


@tool
def lookup(name: str) -> str:
    """Look up a record by name."""
    return f"{name}: found"


def _usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def test_for_user__explains_how_to_connect_a_model_when_none_is_configured(
    make_factory: FactoryMaker, user_id: int
) -> None:
    factory = make_factory()  # the test settings say LLM_PROVIDER=none
    with pytest.raises(ConfigurationError) as refused:
        factory.for_user(user_id, Purpose.CHAT)
    assert str(refused.value) == NO_PROVIDER_MESSAGE
    assert factory.available_models() == []


def test_for_user__asks_for_the_gemini_key(make_factory: FactoryMaker, user_id: int) -> None:
    factory = make_factory(llm_provider=LLMProvider.GEMINI, google_api_key=None)
    with pytest.raises(ConfigurationError, match="GOOGLE_API_KEY is not set"):
        factory.for_user(user_id, Purpose.CHAT)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("gemini-2.5-pro", "Model gemini-2.5-pro is turned off"),
        ("llama3.2", "Model llama3.2 runs on ollama, but LLM_PROVIDER is gemini"),
        ("gpt-4o", "Unknown model 'gpt-4o'"),
    ],
)
def test_for_user__refuses_models_that_cannot_be_used(
    make_factory: FactoryMaker, user_id: int, model: str, message: str
) -> None:
    factory = make_factory(llm_provider=LLMProvider.GEMINI, google_api_key=SecretStr("k"))
    with pytest.raises(ConfigurationError, match=message):
        factory.for_user(user_id, Purpose.CHAT, model=model)


def test_default_model__follows_settings_then_the_table(make_factory: FactoryMaker) -> None:
    gemini = {"llm_provider": LLMProvider.GEMINI, "google_api_key": SecretStr("k")}
    assert make_factory(**gemini).default_model().name == "gemini-2.5-flash"
    chosen = make_factory(**gemini, default_model="gemini-2.5-flash-lite").default_model()
    assert chosen.name == "gemini-2.5-flash-lite"
    assert make_factory(llm_provider=LLMProvider.OLLAMA).default_model().name == "llama3.2"
    assert {m.name for m in make_factory(**gemini).available_models()} == {
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
    }


def test_for_user__shares_one_provider_client_per_model(
    make_factory: FactoryMaker, user_id: int
) -> None:
    factory = make_factory(llm_provider=LLMProvider.GEMINI, google_api_key=SecretStr("k"))
    first = factory.for_user(user_id, Purpose.CHAT)
    second = factory.for_user(user_id, Purpose.TITLE)
    assert first.inner is second.inner
    assert (first.purpose, second.purpose) == (Purpose.CHAT, Purpose.TITLE)


def test_guard__prices_a_scripted_model_under_create_agent(
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

    assert result["messages"][-1].text == "Ana was found."
    assert [(r.model, r.cost_nusd) for r in ledger(services)] == [
        ("gemini-2.5-flash", 100 * 300 + 20 * 2500),
        ("gemini-2.5-flash", 150 * 300 + 10 * 2500),
    ]


def test_bind_tools__counts_the_tools_in_the_estimate(make_factory: FactoryMaker) -> None:
    model = make_factory().guard(
        ToolFake(messages=iter([])), user_id=1, purpose=Purpose.CHAT, model_name="qwen3"
    )
    bound = model.bind_tools([lookup])
    assert isinstance(bound, GuardedChatModel)
    assert [t["function"]["name"] for t in bound.tool_schemas] == ["lookup"]
    assert bound.bound_kwargs["tools"][0]["function"]["name"] == "lookup"
    assert model.tool_schemas == []


@tool
def other(name: str) -> str:
    """Look up another record by name."""
    return f"{name}: other"


def test_bind_tools__the_same_tools_again_give_the_same_model(make_factory: FactoryMaker) -> None:
    model = make_factory().guard(
        ToolFake(messages=iter([])), user_id=1, purpose=Purpose.CHAT, model_name="qwen3"
    )
    bound = model.bind_tools([lookup])
    assert isinstance(bound, GuardedChatModel)

    assert model.bind_tools([lookup]) is bound
    assert bound.bind_tools([lookup]) is not bound  # a model of its own, bound on its own
    changed = model.bind_tools([lookup, other])
    assert isinstance(changed, GuardedChatModel)
    assert [t["function"]["name"] for t in changed.tool_schemas] == ["lookup", "other"]
    forced = model.bind_tools([lookup, other], tool_choice="lookup")
    assert forced is not changed
    assert model.bind_tools([lookup, other], tool_choice="lookup") is forced


def test_bind_tools__refuses_models_whose_binding_cannot_be_unwrapped(
    make_factory: FactoryMaker,
) -> None:
    class Piped(GenericFakeChatModel):
        def bind_tools(
            self,
            tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
            *,
            tool_choice: str | None = None,
            **kwargs: Any,
        ) -> Runnable[LanguageModelInput, AIMessage]:
            return self | (lambda message: message)

    model = make_factory().guard(
        Piped(messages=iter([])), user_id=1, purpose=Purpose.CHAT, model_name="qwen3"
    )
    with pytest.raises(ConfigurationError, match="cannot be guarded"):
        model.bind_tools([lookup])


def test_container__gives_the_factory_the_one_guard(services: Services) -> None:
    factory = services.chat_models
    assert factory.settings is services.settings
    assert factory.budget_guard is services.budget_guard
    assert factory.budget_guard.redis is services.redis
    assert factory.catalog.get("gemini-2.5-flash").provider is LLMProvider.GEMINI
