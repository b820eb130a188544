"""What the chat page and `POST /api/chat` share: the conversation's scope, and the turn.

`ChatTurns.open` finds or starts the conversation and checks its base and model (the page
offers only valid ones in its pickers; the API gets the same rule as an error). `run` runs
the assistant's turn and, around it, counts the turn in metrics and measures how full the
conversation's context is (`services.context_gauge`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agents.assistant import Assistant, TurnEvent, TurnResult
from services.container import Services
from services.context_gauge import ContextReading, measure
from services.conversations import Conversation
from services.errors import AppError, ConfigurationError, InvalidInputError
from services.llm.factory import NO_PROVIDER_MESSAGE


class ChatTurns:
    """One per process, like the assistant it wraps."""

    def __init__(self, services: Services, assistant: Assistant) -> None:
        self._services = services
        self._assistant = assistant

    def open(
        self,
        user_id: int,
        *,
        conversation_id: str | None = None,
        base_id: str | None = None,
        model: str | None = None,
    ) -> Conversation:
        """The conversation to ask in, with `base_id` and `model` when given.

        Without `conversation_id` a new one is started (on the base last picked, or the
        first one reachable, and the default model, unless given).

        Raises:
            NotFoundError: no such conversation of this user.
            InvalidInputError: a base or model this user cannot use.
            ConfigurationError: no language model is configured.
        """
        services = self._services
        if not services.settings.llm_configured:
            raise ConfigurationError(NO_PROVIDER_MESSAGE)
        store = services.conversations
        current = (
            store.get(user_id=user_id, conversation_id=conversation_id) if conversation_id else None
        )
        if base_id is not None or current is None:
            bases = [b.id for b in services.airtable.bases(user_id)]
            if base_id is not None and base_id not in bases:
                raise InvalidInputError(
                    f"No base {base_id[:40]} is reachable with your Airtable connection."
                )
            if base_id is None:
                remembered = services.preferences.last_base(user_id)
                base_id = remembered if remembered in bases else (bases[0] if bases else None)
        if model is not None:
            names = [m.name for m in services.chat_models.available_models()]
            if model not in names:
                raise InvalidInputError(
                    f"Model {model[:60]} cannot be used here; choose one of {', '.join(names)}."
                )
        if current is None:
            model = model or services.chat_models.default_model().name
            return store.create(user_id=user_id, base_id=base_id, model=model)
        scope = (base_id or current.base_id, model or current.model)
        if scope != (current.base_id, current.model):
            store.set_scope(
                user_id=user_id, conversation_id=current.id, base_id=scope[0], model=scope[1]
            )
            current = store.get(user_id=user_id, conversation_id=current.id)
        return current

    def run(
        self,
        user_id: int,
        conversation: Conversation,
        text: str,
        on_event: Callable[[TurnEvent], None] | None = None,
    ) -> tuple[TurnResult, ContextReading]:
        """The assistant's turn, counted and timed, and how full the conversation's context
        is once the turn is saved."""
        metrics = self._services.metrics
        started = time.monotonic()
        try:
            result = self._assistant.run_turn(
                user_id=user_id, conversation_id=conversation.id, text=text, on_event=on_event
            )
        except AppError:
            metrics.turn("error", time.monotonic() - started)
            raise
        metrics.turn("ok", time.monotonic() - started)
        reading = self._measure(user_id, conversation, result)
        metrics.context(
            reading.window_ratio,
            reading.budget_ratio,
            summarised=reading.summarized_messages > conversation.summarized_count,
        )
        return result, reading

    def context(self, conversation_id: str) -> ContextReading | None:
        return self._services.context_gauge.read(conversation_id)

    def _measure(self, user_id: int, before: Conversation, result: TurnResult) -> ContextReading:
        services = self._services
        # One round trip: the conversation after the turn and its messages past the summary
        # (decoded by the turn already).
        after, recent = services.conversations.open(user_id=user_id, conversation_id=before.id)
        model = after.model or services.chat_models.default_model().name
        reading = measure(
            conversation=after,
            recent=recent,
            produced=result.messages,
            context_window=services.budget_guard.catalog.get(model).context_window,
            window_budget=services.settings.conversation_window_tokens,
            summarized_now=after.summarized_count > before.summarized_count,
        )
        return services.context_gauge.record(before.id, reading)
