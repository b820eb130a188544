"""The answer's tokens, passed on as the model writes them (`Assistant._stream`).

LangGraph's own `stream_mode="messages"` does this too, but it makes the graph run every
step on a new executor thread, with one more thread waiting on the stream, each started
under the thread pool's process-wide lock: four threads a turn, and under load (50 users)
the turns queued on that lock and on every other lock their threads touched (py-spy,
`bench/load.py`). This handler runs in the model's own thread, so the graph runs each
single step inline, in the turn's thread.

A handler that has `tap_output_iter` is what tells a chat model that someone streams
(`BaseChatModel._should_stream`), so the model streams as it did for the "messages" mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult

T = TypeVar("T")
MODEL_NODE = "model"


class TokenRelay(BaseCallbackHandler):
    """Calls `emit(text)` with each piece of text the agent's model node streams."""

    run_inline = True

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._model_runs: set[UUID] = set()

    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        return output

    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        return output

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if metadata and metadata.get("langgraph_node") == MODEL_NODE:
            self._model_runs.add(run_id)

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        if run_id not in self._model_runs or not isinstance(chunk, ChatGenerationChunk):
            return
        message = chunk.message
        if isinstance(message, AIMessageChunk) and message.text:
            self._emit(message.text)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self._model_runs.discard(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._model_runs.discard(run_id)
