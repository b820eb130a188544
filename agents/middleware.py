"""Per-turn model and system prompt, chosen from the runtime context, and the turn's limits.

The agent graph is compiled once per process; what differs between turns (the user's
budget-guarded model, the base's schema in the prompt, the conversation's earlier
messages) travels in `TurnContext`, and this middleware puts it on each model request.
Instances hold no per-user state.

It also caps a turn's model and tool calls. The caps are checked inside the model and tool
calls it wraps (counting what the turn's messages already hold), not by hook nodes of
their own: each hook node would be one more step of the graph on every model call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.types import Command

from tools.context import AssistantContext

TOOL_LIMIT_MESSAGE = "Tool call limit exceeded. Do not make additional tool calls."


@dataclass(frozen=True)
class TurnContext(AssistantContext):
    """The tools' identity plus this turn's guarded model and system prompt."""

    model: BaseChatModel | None = None
    system_prompt: str = ""
    history: Sequence[BaseMessage] = ()
    """The conversation's earlier messages, sent to the model before the turn's own. They
    stay out of the graph's state: its reducer and checks go over every message in the
    state at each step, and the window holds far more messages than a turn adds."""


def _this_turn(messages: Sequence[BaseMessage]) -> Sequence[BaseMessage]:
    """What the turn added so far: the messages after its question (the last human one)."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index + 1 :]
    return messages


def _model_calls(messages: Sequence[BaseMessage]) -> int:
    return sum(isinstance(m, AIMessage) for m in _this_turn(messages))


def _tool_call_position(messages: Sequence[BaseMessage], call: dict[str, Any]) -> int:
    """How many tool calls the turn asked for before `call` (in the order they were asked)."""
    position = 0
    for message in _this_turn(messages):
        if not isinstance(message, AIMessage):
            continue
        for asked in message.tool_calls:
            if (asked.get("id") or asked) == (call.get("id") or call):
                return position
            position += 1
    return position


class TurnModelMiddleware(AgentMiddleware[Any, TurnContext, Any]):
    """Swap in the turn's model and system prompt before every model call; cap the turn.

    Args:
        max_model_calls: Model calls per turn; the next one ends the turn with a message
            saying so instead of calling the model.
        max_tool_calls: Tool calls per turn; each one over it is not run, and the model
            is told so in its result (an error), as LangChain's `ToolCallLimitMiddleware`
            does with `exit_behavior="continue"`.
    """

    def __init__(self, *, max_model_calls: int, max_tool_calls: int) -> None:
        super().__init__()
        self.max_model_calls = max_model_calls
        self.max_tool_calls = max_tool_calls

    def _for_turn(self, request: ModelRequest[TurnContext]) -> ModelRequest[TurnContext]:
        context = request.runtime.context
        if context.model is None:
            raise ValueError("TurnContext.model is required")
        system_message = SystemMessage(context.system_prompt)
        if not context.history:
            return request.override(model=context.model, system_message=system_message)
        messages: list[Any] = [*context.history, *request.messages]
        return request.override(
            model=context.model, system_message=system_message, messages=messages
        )

    def _over_model_limit(self, request: ModelRequest[TurnContext]) -> ModelResponse | None:
        made = _model_calls(request.messages)
        if made < self.max_model_calls:
            return None
        # An answer without tool calls: the agent ends the turn with it.
        stop = AIMessage(f"Model call limits exceeded: run limit ({made}/{self.max_model_calls})")
        return ModelResponse(result=[stop])

    def _over_tool_limit(self, request: ToolCallRequest) -> ToolMessage | None:
        messages = request.state["messages"]
        if _tool_call_position(messages, dict(request.tool_call)) < self.max_tool_calls:
            return None
        return ToolMessage(
            TOOL_LIMIT_MESSAGE,
            tool_call_id=request.tool_call["id"],
            name=request.tool_call.get("name"),
            status="error",
        )

    def wrap_model_call(
        self,
        request: ModelRequest[TurnContext],
        handler: Callable[[ModelRequest[TurnContext]], ModelResponse],
    ) -> ModelResponse:
        return self._over_model_limit(request) or handler(self._for_turn(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[TurnContext],
        handler: Callable[[ModelRequest[TurnContext]], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        return self._over_model_limit(request) or await handler(self._for_turn(request))

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        return self._over_tool_limit(request) or handler(request)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        return self._over_tool_limit(request) or await handler(request)
