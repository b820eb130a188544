"""What the fake Gemini and Ollama servers share: scripted replies, recorded requests, and a
real HTTP server (Starlette + uvicorn) in a thread on a free port.

A test queues `ScriptedReply`s; each request that reaches the provider takes the next one
(or `default_reply` when the queue is empty), so a test states exactly what "the model"
answers, what usage it reports and how it fails, and can count what reached it.
"""

from __future__ import annotations

import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ScriptedReply:
    """One answer of the fake model.

    Attributes:
        text: The visible answer (split into `chunks` pieces when streamed).
        tool_calls: Function calls the model makes.
        input_tokens: Prompt tokens, cached ones included.
        cached_tokens: The part of the prompt served from the provider's cache.
        output_tokens: Visible output tokens.
        thinking_tokens: Thinking tokens (reported separately by Gemini; included in
            Ollama's `eval_count`).
        max_thinking: Gemini only: think as much as the request allows instead, that is
            its `thinkingBudget`, or Gemini 2.5's dynamic maximum when it sets none.
        max_output: Gemini only: write as much as the request allows (`maxOutputTokens`)
            instead of `output_tokens`.
        status: An HTTP error status (400, 429, 500, ...) to fail with instead of answering.
        error_message: The error's message.
        delay_s: Seconds to wait before answering (before the first byte).
        chunk_delay_s: Seconds between streamed chunks.
        chunks: How many text pieces a streamed answer has.
        omit_prompt_count: Ollama only: leave out `prompt_eval_count` (a prompt-cache hit).
        retry_delay_s: Gemini only, with status 429: the `RetryInfo.retryDelay` it sends.
        block_reason: Gemini only: block the prompt (`promptFeedback.blockReason`, e.g.
            "SAFETY") and answer no candidates, as Gemini's safety filter does.
    """

    text: str = "OK."
    tool_calls: Sequence[ScriptedToolCall] = ()
    input_tokens: int = 12
    cached_tokens: int = 0
    output_tokens: int = 3
    thinking_tokens: int = 0
    max_thinking: bool = False
    max_output: bool = False
    status: int = 200
    error_message: str = "scripted failure"
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunks: int = 3
    omit_prompt_count: bool = False
    retry_delay_s: float | None = None
    block_reason: str = ""

    def text_pieces(self) -> list[str]:
        """`text` split into at most `chunks` non-empty pieces (one empty piece if no text)."""
        if not self.text:
            return [""]
        count = max(1, min(self.chunks, len(self.text)))
        size = -(-len(self.text) // count)
        return [self.text[i : i + size] for i in range(0, len(self.text), size)]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Script:
    replies: deque[ScriptedReply] = field(default_factory=deque)
    default: ScriptedReply | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeProviderServer(ABC):
    """Base of the fake provider servers: a context manager serving `routes()`."""

    def __init__(self) -> None:
        self._script = _Script()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @abstractmethod
    def routes(self) -> list[Route]:
        """The provider's HTTP routes."""

    # Scripting and inspection (called from the test's thread)

    def script(self, *replies: ScriptedReply) -> None:
        """Queue replies, answered in order by the next requests."""
        with self._script.lock:
            self._script.replies.extend(replies)

    @property
    def default_reply(self) -> ScriptedReply | None:
        return self._script.default

    @default_reply.setter
    def default_reply(self, reply: ScriptedReply | None) -> None:
        with self._script.lock:
            self._script.default = reply

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._script.lock:
            return list(self._script.requests)

    @property
    def request_count(self) -> int:
        with self._script.lock:
            return len(self._script.requests)

    # Used by the request handlers (in the server's thread)

    def record(self, request: RecordedRequest) -> None:
        with self._script.lock:
            self._script.requests.append(request)

    def next_reply(self) -> ScriptedReply | None:
        with self._script.lock:
            if self._script.replies:
                return self._script.replies.popleft()
            return self._script.default

    # Lifecycle

    def __enter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            Starlette(routes=self.routes()),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
