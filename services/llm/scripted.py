"""A scripted tool-calling chat model: replies fixed in advance, no provider, no network.

The agent tests drive the assistant with it, and the benchmarks (`bench/`) time our turn
and a bare agent loop with it, so the model's own time is near zero and the same in both.
It answers with the next scripted `AIMessage`, whether invoked or streamed (streaming
yields the text word by word and the tool calls whole, with usage on the last chunk,
as real providers do), and `bind_tools` keeps the tools it was given for inspection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from services.llm.tool_schemas import openai_tool_schemas

Reply = AIMessage | Callable[[list[BaseMessage]], AIMessage]


def usage(input_tokens: int = 100, output_tokens: int = 20) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def tool_call(name: str, args: dict[str, Any], call_id: str = "") -> AIMessage:
    return AIMessage(
        "",
        tool_calls=[{"name": name, "args": args, "id": call_id or f"call_{name}"}],
        usage_metadata=usage(),
    )


def answer(text: str) -> AIMessage:
    return AIMessage(text, usage_metadata=usage())


class ScriptExhaustedError(RuntimeError):
    """The script has no reply left: the caller made more model calls than it planned."""


class ScriptedChatModel(BaseChatModel):
    """Replies from `script` in order; a callable reply sees the messages it was sent."""

    script: list[Any] = Field(repr=False)
    calls: list[list[BaseMessage]] = Field(default_factory=list, repr=False)
    bound_tools: list[dict[str, Any]] = Field(default_factory=list, repr=False)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        self.bound_tools = openai_tool_schemas(tools)
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.calls.append(list(messages))
        if not self.script:
            raise ScriptExhaustedError("the scripted model ran out of replies")
        reply = self.script.pop(0)
        return reply(messages) if callable(reply) else reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next(messages)
        words = reply.text.split(" ") if reply.text else []
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        tool_chunks = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(reply.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=tool_chunks,  # type: ignore[arg-type]
                usage_metadata=reply.usage_metadata,
                chunk_position="last",
            )
        )
