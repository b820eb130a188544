"""The only code that constructs provider chat models (a test walks the repo to enforce it).

Everything else receives a guarded model from `ChatModelFactory`; a provider model built
anywhere else would reach the provider without a budget check.
"""

from __future__ import annotations

import functools
from typing import Any

from langchain_core.language_models import BaseChatModel

from config.settings import LLMProvider, Settings
from services.errors import ConfigurationError
from services.llm.catalog import ModelSpec
from services.llm.gemini_tools import gemini_declarations, is_function_schema
from services.llm.tool_cache import cached_format


def build_provider_model(spec: ModelSpec, settings: Settings) -> BaseChatModel:
    """A raw (unguarded) chat model for `spec`, configured from `settings`.

    The output cap (and for Gemini the thinking budget) of the model table is sent with
    every request, so the provider never writes more than the guard reserved for.

    Raises:
        ConfigurationError: The provider of `spec` is not configured.
    """
    if spec.provider is LLMProvider.GEMINI:
        return _gemini(spec, settings)
    if spec.provider is LLMProvider.OLLAMA:
        return _ollama(spec, settings)
    raise ConfigurationError(f"Model {spec.name} has no provider.")


def output_limit_kwargs(spec: ModelSpec, output_tokens: int) -> dict[str, Any]:
    """Call options that hold one call of `spec` to `output_tokens` of output, thinking
    included (a budget's last room): the thinking budget keeps its share of the table's
    output cap plus thinking budget, the answer gets the rest."""
    if spec.provider is LLMProvider.OLLAMA:
        # Ollama takes options whole; num_predict is the only one the app sets.
        return {"options": {"num_predict": output_tokens}}
    thinking = spec.thinking_budget * output_tokens // spec.reserved_output_tokens
    return {"max_output_tokens": output_tokens - thinking, "thinking_budget": thinking}


def preload_provider(settings: Settings) -> None:
    """Import what the first call to the configured provider would (its client library),
    so that a process can do it before it serves (`services.runtime`)."""
    if settings.llm_provider is LLMProvider.GEMINI:
        _gemini_class()
        from services.llm import gemini_wire  # noqa: F401 - imported for its side: loaded
    elif settings.llm_provider is LLMProvider.OLLAMA:
        import langchain_ollama  # noqa: F401


@functools.cache
def _gemini_class() -> type[BaseChatModel]:
    """`ChatGoogleGenerativeAI` declaring function tools as JSON Schema
    (`services.llm.gemini_tools`), each tool set converted once (`services.llm.tool_cache`);
    defined on first use, so that importing this module does not import the SDK."""
    from google.genai import _common
    from langchain_google_genai import ChatGoogleGenerativeAI

    _answer_membership_directly(_common.BaseModel)

    class ChatGemini(ChatGoogleGenerativeAI):
        def _format_tools(self, tools: Any = None, functions: Any = None) -> list[Any] | None:
            if tools and not functions and all(is_function_schema(t) for t in tools):
                return cached_format(_declared, tools, functions)
            return cached_format(super()._format_tools, tools, functions)

    return ChatGemini


def _answer_membership_directly(model_class: type) -> None:
    """Give google-genai's pydantic base model the `in` answer it already gives, directly.

    The SDK builds every request with `get_value_by_path`, which asks `key in data` of the
    request's pydantic objects before reading an attribute. A pydantic model has no
    `__contains__`, so Python answers by iterating the model (its `(name, value)` pairs,
    every field) and comparing each pair to the key: never equal to a string, so the
    answer is always False, after building the whole list. That was 8% of the web
    process's CPU under load (py-spy, `bench/load.py`). The same answer, without the walk:
    False for a string; anything else is compared to the pairs as before.
    """
    if "__contains__" in vars(model_class):
        return

    def contains(self: Any, item: object) -> bool:
        if isinstance(item, str):
            return False
        return any(item is pair or item == pair for pair in self)

    setattr(model_class, "__contains__", contains)  # noqa: B010 - a dunder mypy cannot see


def _declared(tools: Any, _functions: Any) -> list[Any]:
    from google.genai import types

    declarations = [types.FunctionDeclaration(**d) for d in gemini_declarations(tools)]
    return [types.Tool(function_declarations=declarations)]


def _gemini(spec: ModelSpec, settings: Settings) -> BaseChatModel:
    if settings.google_api_key is None:
        raise ConfigurationError(
            "Gemini needs an API key: set GOOGLE_API_KEY (from https://aistudio.google.com)."
        )
    options: dict[str, Any] = {
        "model": spec.name,
        "google_api_key": settings.google_api_key,
        "base_url": settings.gemini_base_url,
        "api_version": settings.gemini_api_version,
        "vertexai": False,
        "max_output_tokens": spec.output_cap,
        "thinking_budget": spec.thinking_budget,
        # The SDK counts the first attempt: 1 means no retry.
        "max_retries": settings.llm_max_retries + 1,
        "timeout": settings.llm_request_timeout_seconds,
    }
    # The subclass's pydantic-generated signature hides the parent's aliased options.
    model = _gemini_class()(**options)
    from services.llm import gemini_wire

    gemini_wire.install(model.client)  # type: ignore[attr-defined]
    return model


def _ollama(spec: ModelSpec, settings: Settings) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=spec.name,
        base_url=settings.ollama_base_url,
        num_predict=spec.output_cap,
        client_kwargs={"timeout": settings.llm_request_timeout_seconds},
    )


def list_provider_models(settings: Settings) -> list[str]:
    """The names of the models the configured provider serves, asked without spending:
    Gemini `GET /{version}/models` (one page), Ollama `GET /api/tags`.

    Raises:
        ConfigurationError: No provider, or Gemini without an API key.
        Exception: Whatever the provider's client raises (see `services.llm.errors`).
    """
    timeout = settings.llm_request_timeout_seconds
    if settings.llm_provider is LLMProvider.GEMINI:
        from google import genai
        from google.genai import types

        if settings.google_api_key is None:
            raise ConfigurationError("Gemini needs an API key: set GOOGLE_API_KEY.")
        client = genai.Client(
            api_key=settings.google_api_key.get_secret_value(),
            http_options=types.HttpOptions(
                base_url=settings.gemini_base_url,
                api_version=settings.gemini_api_version,
                timeout=int(timeout * 1000),  # milliseconds
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        with client:
            pager = client.models.list(config=types.ListModelsConfig(page_size=100))
            return [str(m.name).removeprefix("models/") for m in pager.page]
    if settings.llm_provider is LLMProvider.OLLAMA:
        import ollama

        listed = ollama.Client(host=settings.ollama_base_url, timeout=timeout).list()
        return [str(m.model) for m in listed.models]
    raise ConfigurationError("No language model provider is configured (LLM_PROVIDER).")
