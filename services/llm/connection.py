"""Test connection: is the provider reachable, is the key good, is the model there?

It lists the provider's models (free: no tokens are spent, nothing reaches the budget
guard) and reports the outcome in the same terms as a failed model call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from config.settings import LLMProvider, Settings
from services.errors import ConfigurationError, ProviderError
from services.llm.errors import (
    AUTH_MESSAGE,
    ProviderAuthError,
    ProviderModelNotFoundError,
    translate_provider_error,
)
from services.llm.providers import list_provider_models

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of a connection test: `kind` is "ok" or the `ProviderError` kind."""

    ok: bool
    kind: str
    message: str
    models: int = 0


def check_llm_connection(settings: Settings, *, model: str | None) -> ConnectionCheck:
    """List the provider's models with the configured key; check `model` is among them.

    Args:
        settings: Provider, key and endpoint.
        model: The model the app uses by default, which must be served.
    """
    provider = settings.llm_provider
    if provider is LLMProvider.NONE:
        return ConnectionCheck(False, "not_configured", "No language model is configured.")
    if provider is LLMProvider.GEMINI and settings.google_api_key is None:
        return ConnectionCheck(False, ProviderAuthError.kind, AUTH_MESSAGE)
    try:
        names = list_provider_models(settings)
    except ConfigurationError as exc:
        return ConnectionCheck(False, "not_configured", str(exc))
    except Exception as exc:  # the provider client's own errors, translated below
        error = translate_provider_error(exc)
        logger.warning(
            "connection test failed: kind=%s status=%s provider said: %s",
            error.kind,
            error.status,
            error.detail or "-",
        )
        return _failed(error)
    if model and not _served(model, names):
        error = ProviderModelNotFoundError(
            f"Connected, but the provider does not serve {model} (it serves {len(names)} "
            "models). Pick another in config/models.toml, or for Ollama run "
            f"`ollama pull {model}`."
        )
        return _failed(error)
    logger.info("connection test ok: provider=%s models=%s", provider.value, len(names))
    where = "Gemini" if provider is LLMProvider.GEMINI else "Ollama"
    serving = f" and {model} is available" if model else ""
    message = f"Connected to {where}: the key works{serving} ({len(names)} models listed)."
    if provider is LLMProvider.OLLAMA:
        message = f"Connected to Ollama{serving} ({len(names)} models pulled)."
    return ConnectionCheck(True, "ok", message, models=len(names))


def _failed(error: ProviderError) -> ConnectionCheck:
    return ConnectionCheck(False, error.kind, str(error))


def _served(model: str, names: list[str]) -> bool:
    # Ollama lists "llama3.2:latest" for "llama3.2".
    return model in names or f"{model}:latest" in names
