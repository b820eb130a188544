"""Run a saved prompt: validate and render it, answer it, store the run with its cost.

Plain text generation calls one budget-guarded model with `Purpose.PROMPT_RUN` and the
run's own `CallRef`; the tools mode asks the agent in a new conversation on the prompt's
base. Either way the tokens and cost come from the ledger, not from the model's reply.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from agents.assistant import Assistant, ModelProvider, TurnEvent
from services.budget.ledger import totals_for_ref
from services.budget.types import CallRef, Purpose, RefType
from services.container import Services
from services.errors import AppError, ProviderError
from services.prompts.library import PromptLibrary, RunMode
from services.prompts.runs import PromptRunStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptRunResult:
    run_id: str
    output: str
    tokens: int
    cost_nusd: int
    conversation_id: str = ""


class PromptRunner:
    """Runs prompts for any user; `model_provider` and `assistant` are injectable for tests."""

    def __init__(
        self,
        services: Services,
        library: PromptLibrary,
        runs: PromptRunStore,
        *,
        model_provider: ModelProvider | None = None,
        assistant: Assistant | None = None,
    ) -> None:
        self._services = services
        self._library = library
        self._runs = runs
        self._models: ModelProvider = model_provider or self._guarded_model
        self._assistant = assistant

    def _guarded_model(
        self, user_id: int, purpose: Purpose, ref: CallRef, model: str | None
    ) -> BaseChatModel:
        return self._services.models.for_user(user_id, purpose, model=model, ref=ref)

    def run(
        self,
        *,
        user_id: int,
        prompt_id: str,
        values: dict[str, Any],
        on_token: Callable[[str], None] | None = None,
        today: date | None = None,
    ) -> PromptRunResult:
        """Validate `values` (nothing is stored if they are wrong), answer, store the run."""
        rendered = self._library.render(
            user_id=user_id, prompt_id=prompt_id, values=values, today=today
        )
        run_id = uuid.uuid4().hex
        emit = on_token or (lambda _text: None)
        if rendered.version.mode is RunMode.TOOLS:
            output, tokens, cost, conversation_id = self._with_tools(
                user_id, rendered.base_id, rendered.text, emit, run_id
            )
        else:
            conversation_id = ""
            output, tokens, cost = self._generate(user_id, run_id, rendered.text, emit)
        self._runs.record(
            run_id=run_id,
            user_id=user_id,
            prompt_id=prompt_id,
            version=rendered.version.number,
            inputs=rendered.inputs,
            output=output,
            tokens=tokens,
            cost_nusd=cost,
        )
        logger.info("prompt run %s of %s: %s tokens", run_id, prompt_id, tokens)
        return PromptRunResult(run_id, output, tokens, cost, conversation_id)

    def _generate(
        self, user_id: int, run_id: str, text: str, emit: Callable[[str], None]
    ) -> tuple[str, int, int]:
        ref = CallRef(RefType.RUN, run_id)
        started = datetime.now(UTC)
        model = self._models(user_id, Purpose.PROMPT_RUN, ref, None)
        parts: list[str] = []
        try:
            for chunk in model.stream([HumanMessage(text)]):
                if chunk.text:
                    parts.append(chunk.text)
                    emit(chunk.text)
        except AppError:
            raise
        except Exception as exc:
            logger.warning("prompt run %s failed: %s", run_id, type(exc).__name__)
            raise ProviderError(
                "The language model failed to answer (the provider returned an error); "
                "try again in a moment."
            ) from exc
        totals = totals_for_ref(
            self._services.sessions, ref_type=ref.type.value, ref_id=ref.id, since=started
        )
        return "".join(parts), totals.tokens, totals.nusd

    def _with_tools(
        self, user_id: int, base_id: str, text: str, emit: Callable[[str], None], run_id: str
    ) -> tuple[str, int, int, str]:
        assistant = self._assistant or Assistant(self._services, model_provider=self._models)
        conversation = self._services.conversations.create(user_id=user_id, base_id=base_id or None)

        def forward(event: TurnEvent) -> None:
            if event.kind == "token":
                emit(event.text)

        result = assistant.run_turn(
            user_id=user_id,
            conversation_id=conversation.id,
            text=text,
            on_event=forward,
            purpose=Purpose.PROMPT_RUN,
            ref=CallRef(RefType.RUN, run_id),
        )
        return result.answer, result.tokens, result.cost_nusd, conversation.id
