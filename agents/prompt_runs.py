"""Run a saved prompt: validate and render it, answer it, store the run with its cost.

A run that fails once its inputs are good (a budget or rate limit refuses it, the provider
fails) is stored too, as `failed` with what the person was told and what it had cost, so
the run history shows it; bad inputs store nothing.

Plain text generation calls one budget-guarded model with `Purpose.PROMPT_RUN` and the
run's own `CallRef`; the tools mode asks the agent on the prompt's base. Either way the
tokens and cost come from the ledger, not from the model's reply.

A run keeps its own record (`PromptRunStore`); it appears in a chat conversation only
when it was started from that conversation (`/name` in chat passes `conversation_id`).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from sqlalchemy.exc import SQLAlchemyError

from agents.assistant import Assistant, TurnEvent
from agents.model_calls import ModelProvider, guarded_models, provider_errors, raise_if_refused
from services.budget.ledger import totals_for_ref
from services.budget.types import CallRef, Purpose, RefType
from services.container import Services
from services.conversations import error_entry
from services.errors import AppError
from services.prompts.library import PromptLibrary, RunMode
from services.prompts.runs import PromptRunStore, RunStatus

logger = logging.getLogger(__name__)

NEW_CHAT = "new"
"""What Chat passes as the conversation when `/name` was typed with none open."""


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
        self._models: ModelProvider = model_provider or guarded_models(services)
        self._assistant = assistant

    def run(
        self,
        *,
        user_id: int,
        prompt_id: str,
        values: dict[str, Any],
        on_token: Callable[[str], None] | None = None,
        today: date | None = None,
        conversation_id: str | None = None,
    ) -> PromptRunResult:
        """Validate `values` (nothing is stored if they are wrong), answer, store the run.

        Args:
            conversation_id: The chat conversation the run was started from (`NEW_CHAT`:
                a new one): the question and the answer (or the error) are added to it.
                Without one, the run is kept only in the prompt's run history.
        """
        rendered = self._library.render(
            user_id=user_id, prompt_id=prompt_id, values=values, today=today
        )
        run_id = uuid.uuid4().hex
        emit = on_token or (lambda _text: None)
        conversations = self._services.conversations
        if conversation_id == NEW_CHAT:  # made now that the inputs are known to be good
            base = rendered.base_id or None
            conversation_id = conversations.create(user_id=user_id, base_id=base).id
        elif conversation_id:  # fail before the model is called, not after
            conversations.get(user_id=user_id, conversation_id=conversation_id)
        record = functools.partial(
            self._runs.record,
            run_id=run_id,
            user_id=user_id,
            prompt_id=prompt_id,
            version=rendered.version.number,
            inputs=rendered.inputs,
        )
        started = datetime.now(UTC)
        try:
            if rendered.version.mode is RunMode.TOOLS:
                output, tokens, cost = self._with_tools(
                    user_id, rendered.base_id, rendered.text, emit, run_id, conversation_id
                )
            else:
                output, tokens, cost = self._in_chat(
                    user_id,
                    conversation_id,
                    rendered.text,
                    lambda: self._generate(user_id, run_id, rendered.text, emit),
                )
        except AppError as exc:  # a model's failure arrives typed (`provider_errors`)
            self._record_failure(record, run_id, started, exc)
            raise
        record(output=output, tokens=tokens, cost_nusd=cost)
        logger.info("prompt run %s of %s: %s tokens", run_id, prompt_id, tokens)
        return PromptRunResult(run_id, output, tokens, cost, conversation_id or "")

    def _record_failure(
        self, record: Callable[..., None], run_id: str, started: datetime, exc: AppError
    ) -> None:
        """Keep the failed run with what the person is told and what it cost (a call that
        broke mid-answer is charged); never hides `exc`, even if the record cannot be kept."""
        told = str(exc)
        try:
            totals = totals_for_ref(
                self._services.sql, ref_type=RefType.RUN.value, ref_id=run_id, since=started
            )
            record(
                output="",
                tokens=totals.tokens,
                cost_nusd=totals.nusd,
                status=RunStatus.FAILED,
                error=told,
            )
        except SQLAlchemyError:
            logger.exception("failed prompt run %s not recorded", run_id)
            return
        logger.info("prompt run %s failed: %s", run_id, type(exc).__name__)

    def _generate(
        self, user_id: int, run_id: str, text: str, emit: Callable[[str], None]
    ) -> tuple[str, int, int]:
        ref = CallRef(RefType.RUN, run_id)
        started = datetime.now(UTC)
        parts: list[str] = []
        chunks: list[AIMessageChunk] = []
        with provider_errors(f"prompt run {run_id}"):
            model = self._models(user_id, Purpose.PROMPT_RUN, ref, None)
            for chunk in model.stream([HumanMessage(text)]):
                chunks.append(chunk)
                if chunk.text:
                    parts.append(chunk.text)
                    emit(chunk.text)
            if not parts:
                raise_if_refused([_merged(chunks)])
        totals = totals_for_ref(
            self._services.sql, ref_type=ref.type.value, ref_id=ref.id, since=started
        )
        return "".join(parts), totals.tokens, totals.nusd

    def _in_chat(
        self,
        user_id: int,
        conversation_id: str | None,
        text: str,
        generate: Callable[[], tuple[str, int, int]],
    ) -> tuple[str, int, int]:
        """Generate; when started from chat, add the question and the outcome to it."""
        if not conversation_id:
            return generate()
        store = self._services.conversations
        human = HumanMessage(text)
        try:
            output, tokens, cost = generate()
        except AppError as exc:
            failed = [human, error_entry(str(exc), kind=getattr(exc, "kind", "error"))]
            store.append(user_id=user_id, conversation_id=conversation_id, messages=failed)
            store.title_if_untitled(user_id=user_id, conversation_id=conversation_id, text=text)
            raise
        answered = [human, AIMessage(output)]
        store.append(user_id=user_id, conversation_id=conversation_id, messages=answered)
        store.title_if_untitled(user_id=user_id, conversation_id=conversation_id, text=text)
        return output, tokens, cost

    def _with_tools(
        self,
        user_id: int,
        base_id: str,
        text: str,
        emit: Callable[[str], None],
        run_id: str,
        conversation_id: str | None,
    ) -> tuple[str, int, int]:
        assistant = self._assistant or Assistant(self._services, model_provider=self._models)

        def forward(event: TurnEvent) -> None:
            if event.kind == "token":
                emit(event.text)

        ref = CallRef(RefType.RUN, run_id)
        if conversation_id:
            result = assistant.run_turn(
                user_id=user_id,
                conversation_id=conversation_id,
                text=text,
                on_event=forward,
                purpose=Purpose.PROMPT_RUN,
                ref=ref,
            )
        else:
            result = assistant.answer(
                user_id=user_id,
                base_id=base_id or None,
                text=text,
                purpose=Purpose.PROMPT_RUN,
                ref=ref,
                on_event=forward,
            )
        return result.answer, result.tokens, result.cost_nusd


def _merged(chunks: list[AIMessageChunk]) -> BaseMessage:
    """The streamed chunks as one message (their metadata merged), to check for a block."""
    if not chunks:
        return AIMessage("")
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total
