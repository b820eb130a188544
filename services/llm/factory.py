"""`ChatModelFactory`: the one source of chat models in the app, every one of them guarded."""

from __future__ import annotations

import logging
import threading

from langchain_core.language_models import BaseChatModel

from config.settings import LLMProvider, Settings
from services.budget.guard import BudgetGuard
from services.budget.types import CallRef, Purpose
from services.errors import ConfigurationError
from services.llm.catalog import ModelSpec
from services.llm.guarded import GuardedChatModel
from services.llm.providers import build_provider_model
from services.metrics import Metrics

logger = logging.getLogger(__name__)

# How to connect a model: the one text the chat page, the Status page and errors all show.
CONNECT_MODEL_HELP = (
    "For Google Gemini, create an API key in Google AI Studio and set `LLM_PROVIDER=gemini` "
    "and `GOOGLE_API_KEY=…`. For a local Ollama (free), run `ollama pull llama3.2` and set "
    "`LLM_PROVIDER=ollama` (and `OLLAMA_BASE_URL=http://host:11434` if Ollama is not on this "
    "machine). Then restart the app, e.g. with `make run`."
)
NO_PROVIDER_MESSAGE = f"No language model is configured. {CONNECT_MODEL_HELP}"


class ChatModelFactory:
    """Builds the chat models of the app: for a user and a purpose, always guarded.

    Provider models are built once per model name and shared (their HTTP clients are
    thread-safe); the guarded wrapper is cheap and made per request.

    Args:
        settings: Provider, keys, endpoints.
        budget_guard: Prices and limits every call (it holds the model table).
    """

    def __init__(
        self, settings: Settings, budget_guard: BudgetGuard, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.budget_guard = budget_guard
        self.catalog = budget_guard.catalog
        self._providers: dict[str, BaseChatModel] = {}
        self._lock = threading.Lock()

    def available_models(self) -> list[ModelSpec]:
        """The enabled models of the configured provider (empty with no provider)."""
        if self.settings.llm_provider is LLMProvider.NONE:
            return []
        return self.catalog.enabled(self.settings.llm_provider)

    def default_model(self) -> ModelSpec:
        """`DEFAULT_MODEL`, else the table's default for the configured provider.

        Raises:
            ConfigurationError: No provider is configured, or the model cannot be used.
        """
        provider = self._provider()
        name = self.settings.default_model or self.catalog.default_name(provider)
        if name is None:
            raise ConfigurationError(
                f"No default {provider.value} model: set DEFAULT_MODEL or add one to "
                "[defaults] in config/models.toml."
            )
        return self._usable(name)

    def for_user(
        self,
        user_id: int,
        purpose: Purpose,
        *,
        model: str | None = None,
        ref: CallRef | None = None,
    ) -> GuardedChatModel:
        """A guarded provider model for `user_id`'s calls for `purpose`.

        Args:
            user_id: Whose budgets the calls count against.
            purpose: Why the calls are made (recorded in the ledger).
            model: A model of the table; default: `default_model()`.
            ref: The conversation, prompt or run the calls belong to.

        Raises:
            ConfigurationError: No provider is configured, the model is unknown, disabled
                or served by another provider, or the provider lacks a setting.
        """
        spec = self._usable(model) if model else self.default_model()
        inner = self._provider_model(spec)
        return self.guard(inner, user_id=user_id, purpose=purpose, model_name=spec.name, ref=ref)

    def guard(
        self,
        inner: BaseChatModel,
        *,
        user_id: int,
        purpose: Purpose,
        model_name: str,
        ref: CallRef | None = None,
    ) -> GuardedChatModel:
        """Guard any chat model (a scripted one in tests), priced as `model_name`.

        Raises:
            ConfigurationError: `model_name` is not in the model table.
        """
        spec = self.catalog.get(model_name)
        return GuardedChatModel(
            inner=inner,
            budget_guard=self.budget_guard,
            user_id=user_id,
            purpose=purpose,
            model_name=spec.name,
            ref=ref,
            metrics=self.metrics,
            profile=inner.profile,
        )

    def _provider(self) -> LLMProvider:
        provider = self.settings.llm_provider
        if provider is LLMProvider.NONE:
            raise ConfigurationError(NO_PROVIDER_MESSAGE)
        if not self.settings.llm_configured:
            raise ConfigurationError(
                "LLM_PROVIDER is gemini but GOOGLE_API_KEY is not set "
                "(create a key at https://aistudio.google.com)."
            )
        return provider

    def _usable(self, name: str) -> ModelSpec:
        provider = self._provider()
        spec = self.catalog.get(name)
        if spec.provider is not provider:
            raise ConfigurationError(
                f"Model {name} runs on {spec.provider.value}, but LLM_PROVIDER is {provider.value}."
            )
        if not spec.enabled:
            raise ConfigurationError(
                f"Model {name} is turned off: an admin can enable it in config/models.toml."
            )
        return spec

    def _provider_model(self, spec: ModelSpec) -> BaseChatModel:
        with self._lock:
            if spec.name not in self._providers:
                self._providers[spec.name] = build_provider_model(spec, self.settings)
                logger.info("provider model built model=%s", spec.name)
            return self._providers[spec.name]
