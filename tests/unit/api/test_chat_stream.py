"""The chat stream sends every frame of a turn, in order, and batches those that queue up."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from agents.assistant import TurnEvent, TurnResult
from agents.chat_turns import ChatTurns
from api.chat import _turn_stream, sse
from services.context_gauge import ContextReading
from services.orm import User

TOKENS = [f"piece {n} " for n in range(200)]
READING = ContextReading(10, 100, 10, 100, 0, None, 0.0)


class BurstTurns:
    """Emits every token before the stream's loop can take one, then finishes."""

    def __init__(self, release: threading.Event) -> None:
        self._release = release

    def run(
        self, user_id: int, conversation: Any, text: str, on_event: Callable[[TurnEvent], None]
    ) -> tuple[TurnResult, ContextReading]:
        for token in TOKENS:
            on_event(TurnEvent("token", text=token))
        self._release.wait(5)
        return TurnResult("".join(TOKENS), [], 7, 1000), READING


async def _collect() -> list[bytes]:
    release = threading.Event()
    turns = cast(ChatTurns, BurstTurns(release))
    user = cast(User, SimpleNamespace(id=1))
    conversation = SimpleNamespace(id="c1")
    chunks: list[bytes] = []
    async for chunk in _turn_stream(turns, user, conversation, "q", {"id": "c1"}):
        chunks.append(chunk)
        if len(chunks) == 1:
            await asyncio.sleep(0.2)  # the loop is busy elsewhere; the tokens queue up
        elif not release.is_set():
            release.set()
    return chunks


def test_turn_stream__sends_every_frame_in_order_batching_the_queued_ones() -> None:
    chunks = asyncio.run(_collect())
    expected = [
        sse("conversation", {"id": "c1"}),
        *(sse("token", {"text": token}) for token in TOKENS),
        sse("usage", {"tokens": 7, "cost_usd": 1e-06, "context": READING.to_json()}),
        sse("done", {"conversation_id": "c1", "answer": "".join(TOKENS)}),
    ]
    assert b"".join(chunks) == b"".join(expected)
    assert len(chunks) < 10  # 200 queued tokens went out in a few writes, not 200
