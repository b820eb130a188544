"""Per-turn model and system prompt, chosen from the runtime context.

The agent graph is compiled once per process; what differs between turns (the user's
budget-guarded model, the base's schema in the prompt) travels in `TurnContext`, and this
middleware puts it on each model request. Instances hold no per-user state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage

from tools.context import AssistantContext


@dataclass(frozen=True)
class TurnContext(AssistantContext):
    """The tools' identity plus this turn's guarded model and system prompt."""

    model: BaseChatModel | None = None
    system_prompt: str = ""


class TurnModelMiddleware(AgentMiddleware[Any, TurnContext, Any]):
    """Swap in the turn's model and system prompt before every model call."""

    def _for_turn(self, request: ModelRequest[TurnContext]) -> ModelRequest[TurnContext]:
        context = request.runtime.context
        if context.model is None:
            raise ValueError("TurnContext.model is required")
        return request.override(
            model=context.model, system_message=SystemMessage(context.system_prompt)
        )

    def wrap_model_call(
        self,
        request: ModelRequest[TurnContext],
        handler: Callable[[ModelRequest[TurnContext]], ModelResponse],
    ) -> ModelResponse:
        return handler(self._for_turn(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[TurnContext],
        handler: Callable[[ModelRequest[TurnContext]], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        return await handler(self._for_turn(request))
