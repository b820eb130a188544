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
from langchain.agents.middleware import (
    AgentMiddleware,
    ModelCallLimitMiddleware,
    ToolCallLimitMiddleware,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool

from agents.middleware import TurnContext, TurnModelMiddleware
from agents.prompt import system_prompt
from services.budget.ledger import totals_for_ref
from services.budget.types import CallRef, Purpose, RefType
from services.container import Services
from services.conversations import Conversation
from services.errors import AppError, InvalidInputError, ProviderError
from services.questions import question_problem
from tools.airtable import airtable_tools
from tools.spend import spend_tools

logger = logging.getLogger(__name__)

MAX_MODEL_CALLS_PER_TURN = 8
MAX_TOOL_CALLS_PER_TURN = 16
DEFAULT_TITLE = "New conversation"

ModelProvider = Callable[[int, Purpose, CallRef, "str | None"], BaseChatModel]


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
        self._models: ModelProvider = model_provider or self._guarded_model
        default = [*airtable_tools(services), *spend_tools(services)]
        self._agent = _compile(list(tools) if tools is not None else default)

    def _guarded_model(
        self, user_id: int, purpose: Purpose, ref: CallRef, model: str | None
    ) -> BaseChatModel:
        return self._services.models.for_user(user_id, purpose, model=model, ref=ref)

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

        `purpose` and `ref` say what the ledger charges the answer to (a prompt run passes
        its own); by default the conversation's chat.
        """
        problem = question_problem(text)
        if problem:
            raise InvalidInputError(problem)
        text = text.strip()
        store = self._services.conversations
        conversation = store.get(user_id=user_id, conversation_id=conversation_id)
        ref = ref or CallRef(RefType.CONVERSATION, conversation.id)
        started = datetime.now(UTC)
        window = store.window(
            user_id=user_id,
            conversation_id=conversation.id,
            max_tokens=self._services.settings.conversation_window_tokens,
            summarize=self._summarizer(user_id, ref, conversation.model),
        )
        human = HumanMessage(text)
        produced: list[BaseMessage] = []
        try:
            context = TurnContext(
                user_id,
                conversation.base_id,
                conversation.id,
                model=self._models(user_id, purpose, ref, conversation.model),
                system_prompt=self._prompt(user_id, conversation, window.summary),
            )
            stream = self._agent.stream(
                {"messages": [*window.messages, human]},
                context=context,
                stream_mode=["messages", "updates"],
            )
            for mode, chunk in stream:
                _dispatch(mode, chunk, produced, on_event)
        except AppError:
            raise
        except Exception as exc:
            # A provider's own error (HTTP 4xx/5xx, timeout): the guard has already settled
            # the call (refund or input charge); the person gets a message, not a traceback.
            logger.warning("turn failed in %s: %s", conversation.id, type(exc).__name__)
            raise ProviderError(
                "The language model failed to answer (the provider returned an error). "
                "Nothing you asked was lost; try again in a moment."
            ) from exc
        finally:
            store.append(
                user_id=user_id, conversation_id=conversation.id, messages=[human, *produced]
            )
        if conversation.title == DEFAULT_TITLE:
            self._name(user_id, conversation, ref, text)
        totals = totals_for_ref(
            self._services.sessions, ref_type=ref.type.value, ref_id=ref.id, since=started
        )
        answer = next(
            (m.text for m in reversed(produced) if isinstance(m, AIMessage) and m.text), ""
        )
        return TurnResult(answer, produced, totals.tokens, totals.nusd)

    def _prompt(self, user_id: int, conversation: Conversation, summary: str) -> str:
        schema, base_name = None, ""
        if conversation.base_id:
            gateway = self._services.airtable
            base = gateway.require_base(user_id, conversation.base_id)
            schema, base_name = gateway.schema(user_id, base.id), base.name
        return system_prompt(
            schema=schema, base_name=base_name, summary=summary, today=datetime.now(UTC).date()
        )

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
        title = " ".join(text.split())[:60]
        try:
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


def _compile(tools: list[BaseTool]) -> Any:
    """The agent graph, once per process; each turn's model and prompt come via context.

    The placeholder model is never called: `TurnModelMiddleware` replaces it on every
    request with the turn's budget-guarded model.
    """
    middleware: list[AgentMiddleware[Any, Any, Any]] = [
        TurnModelMiddleware(),
        ModelCallLimitMiddleware(run_limit=MAX_MODEL_CALLS_PER_TURN, exit_behavior="end"),
        ToolCallLimitMiddleware(run_limit=MAX_TOOL_CALLS_PER_TURN),
    ]
    return create_agent(_Unset(), tools, middleware=middleware, context_schema=TurnContext)


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
    mode: str,
    chunk: Any,
    produced: list[BaseMessage],
    on_event: Callable[[TurnEvent], None] | None,
) -> None:
    emit = on_event or (lambda _event: None)
    if mode == "messages":
        message, metadata = chunk
        from_model = metadata.get("langgraph_node") == "model"
        if isinstance(message, AIMessageChunk) and from_model and message.text:
            emit(TurnEvent("token", text=message.text))
        return
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
