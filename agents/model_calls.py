"""What the assistant and prompt runs share about model calls: where their guarded models
come from, and how a provider's failure reaches the person (typed) and the log (redacted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from services.budget.types import CallRef, Purpose
from services.container import Services
from services.errors import AppError, ProviderError
from services.llm.errors import refusal_of, translate_provider_error

logger = logging.getLogger(__name__)

ModelProvider = Callable[[int, Purpose, CallRef, "str | None"], BaseChatModel]


def guarded_models(services: Services) -> ModelProvider:
    """The app's budget-guarded models, as a `ModelProvider` (tests pass scripted ones)."""

    def provide(user_id: int, purpose: Purpose, ref: CallRef, model: str | None) -> BaseChatModel:
        return services.chat_models.for_user(user_id, purpose, model=model, ref=ref)

    return provide


@contextmanager
def provider_errors(what: str, *, model: str | None = None) -> Iterator[None]:
    """Run model calls; a provider's failure leaves as a typed `ProviderError`.

    The app's own errors (budget refusals, bad input) pass through unchanged. The guard has
    already settled the failed call (refund or input charge) by the time this sees it.

    Args:
        what: What was being done, for the log ("turn in 3f2a…", "prompt run 9c1d…").
        model: The model called, named when the provider does not serve it.
    """
    try:
        yield
    except AppError as exc:
        if isinstance(exc, ProviderError):
            log_failure(what, exc)
        raise
    except Exception as exc:
        error = translate_provider_error(exc, model=model)
        log_failure(what, error)
        raise error from exc


def log_failure(what: str, error: ProviderError) -> None:
    """One line per failed call: the kind, the HTTP status and the provider's own words."""
    logger.warning(
        "%s failed: kind=%s status=%s provider said: %s",
        what,
        error.kind,
        error.status,
        error.detail or "-",
    )


def raise_if_refused(messages: Sequence[BaseMessage]) -> None:
    """Raise the safety block reported on the last answer, if the provider blocked it."""
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is None or last.text or last.tool_calls:
        return
    refusal = refusal_of(last)
    if refusal is not None:
        raise refusal
