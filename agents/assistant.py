"""One assistant turn: context window in, agent run streamed out, conversation saved.

`Assistant.run_turn` is what the chat page calls. It builds the agent with
`langchain.agents.create_agent` over a budget-guarded model, the Airtable tools and
middleware that caps model and tool calls, streams events (answer tokens, tool calls and
their results) to a callback, and stores the new messages in the conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool

from agents.middleware import TurnContext, TurnModelMiddleware
from agents.model_calls import ModelProvider, guarded_models, provider_errors, raise_if_refused
from agents.prompt import system_prompt
from agents.token_relay import TokenRelay
from services.airtable.schema import BaseSchema
from services.budget.settlement import Settlement
from services.budget.types import CallRef, Purpose, RefType
from services.container import Services
from services.conversations import (
    DEFAULT_TITLE,
    Conversation,
    ConversationStore,
    error_entry,
    title_from_question,
)
from services.errors import AppError, InvalidInputError
from services.llm.calls import tallied
from services.questions import question_problem
from tools.airtable import airtable_tools
from tools.bulk import bulk_tools
from tools.query import query_tools
from tools.schema_help import schema_tools
from tools.spend import spend_tools
from tools.workflows import workflow_tools

logger = logging.getLogger(__name__)

MAX_MODEL_CALLS_PER_TURN = 8
MAX_TOOL_CALLS_PER_TURN = 16
MAX_KEPT_PROMPTS = 256
"""System prompts an assistant keeps built (per base, summary and day; then it starts over)."""

__all__ = ["DEFAULT_TITLE", "Assistant", "ModelProvider", "TurnEvent", "TurnResult"]


@dataclass(frozen=True)
class TurnEvent:
    """Something the page shows while a turn runs."""

    kind: Literal["token", "tool_call", "tool_result"]
    text: str = ""
    name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    artifact: Any = None
    call_id: str = ""


@dataclass(frozen=True)
class TurnResult:
    answer: str
    messages: list[BaseMessage]
    tokens: int
    cost_nusd: int


class Assistant:
    """Runs turns for any user; holds no per-user state (identity travels in the context)."""

    def __init__(
        self,
        services: Services,
        *,
        model_provider: ModelProvider | None = None,
        tools: Sequence[BaseTool] | None = None,
    ) -> None:
        self._services = services
        self._models: ModelProvider = model_provider or guarded_models(services)
        default = [
            *airtable_tools(services),
            *query_tools(services),
            *spend_tools(services),
            *workflow_tools(services),
            *bulk_tools(services),
            *schema_tools(services),
        ]
        self._agent = _compile(list(tools) if tools is not None else default)
        self._prompts: dict[tuple[Any, ...], tuple[BaseSchema | None, str]] = {}

    def run_turn(
        self,
        *,
        user_id: int,
        conversation_id: str,
        text: str,
        on_event: Callable[[TurnEvent], None] | None = None,
        purpose: Purpose = Purpose.CHAT,
        ref: CallRef | None = None,
    ) -> TurnResult:
        """Answer `text` in the conversation; the question is kept even if the turn fails.

        A failed turn keeps its question, what the tools did, and an error entry that says
        what went wrong; an untitled conversation is then titled from the question (with no
        model call). `purpose` and `ref` say what the ledger charges the answer to (a prompt
        run passes its own); by default the conversation's chat.
        """
        text = _checked(text)
        store = self._services.conversations
        with tallied() as settlements:
            produced = self._turn(user_id, store, conversation_id, text, purpose, ref, on_event)
        return _result(produced, settlements)

    def _turn(
        self,
        user_id: int,
        store: ConversationStore,
        conversation_id: str,
        text: str,
        purpose: Purpose,
        ref: CallRef | None,
        on_event: Callable[[TurnEvent], None] | None,
    ) -> list[BaseMessage]:
        # One Redis round trip: the conversation, and its messages not yet decoded here.
        conversation, recent = store.open(user_id=user_id, conversation_id=conversation_id)
        ref = ref or CallRef(RefType.CONVERSATION, conversation.id)
        human = HumanMessage(text)
        produced: list[BaseMessage] = []
        failure: AppError | None = None
        try:
            with provider_errors(f"turn in {conversation.id}", model=conversation.model):
                window = store.window(
                    user_id=user_id,
                    conversation_id=conversation.id,
                    max_tokens=self._services.settings.conversation_window_tokens,
                    summarize=self._summarizer(user_id, ref, conversation.model),
                    conversation=conversation,
                    recent=recent,
                )
                history, state = _history_and_state(window.messages, human)
                context = TurnContext(
                    user_id,
                    conversation.base_id,
                    conversation.id,
                    model=self._models(user_id, purpose, ref, conversation.model),
                    system_prompt=self._prompt(user_id, conversation.base_id, window.summary),
                    history=history,
                )
                self._stream(context, state, produced, on_event)
        except AppError as exc:
            failure = exc
            raise
        finally:
            kept = [human, *_answered(produced)]
            if failure is not None:
                kept.append(error_entry(str(failure), kind=getattr(failure, "kind", "error")))
            store.append(user_id=user_id, conversation_id=conversation.id, messages=kept)
            if failure is not None:
                store.title_if_untitled(user_id=user_id, conversation_id=conversation.id, text=text)
        if conversation.title == DEFAULT_TITLE:
            self._name(user_id, conversation, ref, text)
        return produced

    def answer(
        self,
        *,
        user_id: int,
        base_id: str | None,
        text: str,
        purpose: Purpose,
        ref: CallRef,
        on_event: Callable[[TurnEvent], None] | None = None,
        model: str | None = None,
    ) -> TurnResult:
        """Answer one question outside any conversation; nothing is stored here (a saved
        prompt's run keeps its own record)."""
        text = _checked(text)
        produced: list[BaseMessage] = []
        with tallied() as settlements, provider_errors(f"{ref.type.value} {ref.id}", model=model):
            context = TurnContext(
                user_id,
                base_id,
                None,
                model=self._models(user_id, purpose, ref, model),
                system_prompt=self._prompt(user_id, base_id, ""),
            )
            self._stream(context, [HumanMessage(text)], produced, on_event)
        return _result(produced, settlements)

    def _stream(
        self,
        context: TurnContext,
        messages: list[BaseMessage],
        produced: list[BaseMessage],
        on_event: Callable[[TurnEvent], None] | None,
    ) -> None:
        # Answer tokens go, as the model writes them, only to someone listening; the graph
        # runs each step in this thread (`agents.token_relay`).
        config: RunnableConfig | None = None
        if on_event is not None:
            relay = TokenRelay(lambda text: on_event(TurnEvent("token", text=text)))
            config = {"callbacks": [relay]}
        stream = self._agent.stream(
            {"messages": messages}, config, context=context, stream_mode="updates"
        )
        for chunk in stream:
            _dispatch(chunk, produced, on_event)
        raise_if_refused(produced)

    def _prompt(self, user_id: int, base_id: str | None, summary: str) -> str:
        schema, base_name = None, ""
        if base_id:
            base, schema = self._services.airtable.base_and_schema(user_id, base_id)
            base_name = base.name
        today = datetime.now(UTC).date()
        # The same schema object comes back while the cached schema is unchanged
        # (`base_and_schema`), so the text is built once per schema, summary and day.
        key = (base_id, base_name, summary, today)
        kept = self._prompts.get(key)
        if kept is not None and kept[0] is schema:
            return kept[1]
        text = system_prompt(schema=schema, base_name=base_name, summary=summary, today=today)
        if len(self._prompts) >= MAX_KEPT_PROMPTS:
            self._prompts.clear()
        self._prompts[key] = (schema, text)
        return text

    def _summarizer(
        self, user_id: int, ref: CallRef, model: str | None
    ) -> Callable[[str, Sequence[BaseMessage]], str]:
        def summarize(previous: str, dropped: Sequence[BaseMessage]) -> str:
            transcript = "\n".join(f"{m.type}: {m.text[:2000]}" for m in dropped if m.text)
            instruction = (
                "Summarise this earlier part of a conversation about Airtable data in at most "
                "120 words: questions asked, facts found (with numbers), changes proposed or "
                "made. Do not add anything."
            )
            body = f"Summary so far:\n{previous}\n\nNew turns:\n{transcript}"
            summarizer = self._models(user_id, Purpose.SUMMARY, ref, model)
            reply = summarizer.invoke([SystemMessage(instruction), HumanMessage(body)])
            return reply.text.strip()

        return summarize

    def _name(self, user_id: int, conversation: Conversation, ref: CallRef, text: str) -> None:
        """Title the conversation from its first question; the question itself if that fails."""
        title = title_from_question(text)
        try:
            with provider_errors(f"title of {conversation.id}", model=conversation.model):
                model = self._models(user_id, Purpose.TITLE, ref, conversation.model)
                reply = model.invoke(
                    [
                        SystemMessage("Reply with a title of at most 6 words for this request."),
                        HumanMessage(text[:500]),
                    ]
                ).text
            title = " ".join(reply.strip().strip('"').split())[:80] or title
        except AppError as exc:
            logger.info("title not generated for %s: %s", conversation.id, type(exc).__name__)
        self._services.conversations.rename(
            user_id=user_id, conversation_id=conversation.id, title=title
        )


def _result(produced: list[BaseMessage], settlements: Sequence[Settlement]) -> TurnResult:
    """The answer, and what every model call of the turn cost (summary and title included):
    the sum of the turn's own settlements, each the figures of its ledger row."""
    answer = next((m.text for m in reversed(produced) if isinstance(m, AIMessage) and m.text), "")
    tokens = sum(s.tokens for s in settlements)
    return TurnResult(answer, produced, tokens, sum(s.cost_nusd for s in settlements))


def _history_and_state(
    window: Sequence[BaseMessage], question: HumanMessage
) -> tuple[tuple[BaseMessage, ...], list[BaseMessage]]:
    """The earlier messages the middleware sends ahead of the turn's (`TurnContext.history`),
    and the graph's starting state: the question alone.

    A window with a malformed tool call of the model's goes into the state instead: the
    agent answers such calls with an error result before each model call, which it does
    only for messages in its state.
    """
    if any(isinstance(m, AIMessage) and m.invalid_tool_calls for m in window):
        return (), [*window, question]
    return tuple(window), [question]


def _checked(text: str) -> str:
    problem = question_problem(text)
    if problem:
        raise InvalidInputError(problem)
    return text.strip()


def _answered(produced: list[BaseMessage]) -> list[BaseMessage]:
    """What a turn produced, less empty answers (a blocked reply has no text and no calls)."""
    return [
        m for m in produced if not (isinstance(m, AIMessage) and not m.text and not m.tool_calls)
    ]


def _compile(tools: list[BaseTool]) -> Any:
    """The agent graph, once per process; each turn's model and prompt come via context.

    The placeholder model is never called: `TurnModelMiddleware` replaces it on every
    request with the turn's budget-guarded model, and caps the turn's model and tool calls.
    """
    turn = TurnModelMiddleware(
        max_model_calls=MAX_MODEL_CALLS_PER_TURN, max_tool_calls=MAX_TOOL_CALLS_PER_TURN
    )
    return create_agent(_Unset(), tools, middleware=[turn], context_schema=TurnContext)


class _Unset(BaseChatModel):
    """Stands in for the model at compile time; reaching it is a wiring error."""

    @property
    def _llm_type(self) -> str:
        return "unset"

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the turn's model was not set (TurnModelMiddleware missing)")

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _dispatch(
    chunk: Any,
    produced: list[BaseMessage],
    on_event: Callable[[TurnEvent], None] | None,
) -> None:
    emit = on_event or (lambda _event: None)
    for update in chunk.values():
        for message in (update or {}).get("messages", []):
            produced.append(message)
            if isinstance(message, AIMessage):
                for call in message.tool_calls:
                    emit(
                        TurnEvent(
                            "tool_call",
                            name=call["name"],
                            args=call["args"],
                            call_id=call.get("id") or "",
                        )
                    )
            elif isinstance(message, ToolMessage):
                emit(
                    TurnEvent(
                        "tool_result",
                        text=message.text,
                        name=message.name or "",
                        artifact=message.artifact,
                        call_id=message.tool_call_id,
                    )
                )
