"""`POST /api/chat`: one chat turn, streamed as Server-Sent Events.

Body: `{"message": str, "conversation_id"?: str, "base_id"?: str, "model"?: str}`. Without
`conversation_id` a new conversation is started (same rules as the chat page: the base
last picked or the first reachable one, the default model). The turn is the chat page's
(`agents.chat_turns`): the same agent, budget guard, tools, proposals and conversation
store. Input is checked before anything streams, as JSON errors (the page's messages).

The stream (`text/event-stream`), each event `event: <type>` and `data: <JSON>`:
- `conversation` `{"id", "title", "base_id", "model"}` first;
- `token` `{"text"}` pieces of the answer;
- `tool_call` `{"id", "name", "args"}`, `tool_result` `{"id", "name", "status", "text",
  "artifact"}`, and `proposal` (the change card: `{"proposal_id", "table", "counts",
  "changes", ...}`; confirm with `POST /api/proposals/{id}/confirm`);
- `usage` `{"tokens", "cost_usd", "context"}` (the ledger's figures for the turn, and the
  context gauge);
- `done` `{"conversation_id", "answer"}` last; or `error` `{"type", "message"}` last when
  the turn failed (a budget refusal: `rate_limited`). The question is kept either way.

A client that disconnects does not stop the turn: it finishes and is saved.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from agents.assistant import TurnEvent, TurnResult
from agents.chat_turns import ChatTurns
from api.json_calls import BadRequestError, authenticated, json_object
from api.security import ERROR_TYPES
from services.container import Services
from services.context_gauge import ContextReading
from services.errors import AppError, BudgetExceededError, InvalidInputError
from services.orm import User
from services.questions import question_problem

logger = logging.getLogger(__name__)

MAX_ID = 200
_END = object()


def chat_routes(
    get_services: Callable[[], Services], get_turns: Callable[[], ChatTurns]
) -> list[Route]:
    async def chat(request: Request, user: User) -> Response:
        body = await json_object(request)
        message = body.get("message")
        if not isinstance(message, str):
            raise BadRequestError('"message" must be text: the question to ask.')
        problem = question_problem(message)
        if problem:
            raise InvalidInputError(problem)
        scope = {name: _optional_id(body, name) for name in ("conversation_id", "base_id", "model")}
        turns = get_turns()
        conversation = await run_in_threadpool(lambda: turns.open(user.id, **scope))
        head = {
            "id": conversation.id,
            "title": conversation.title,
            "base_id": conversation.base_id,
            "model": conversation.model,
        }
        stream = _turn_stream(turns, user, conversation, message, head)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return [Route("/api/chat", authenticated(get_services, chat), methods=["POST"])]


def _optional_id(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_ID:
        raise BadRequestError(f'"{name}" must be text of at most {MAX_ID} characters.')
    return value


def sse(event: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


async def _turn_stream(
    turns: ChatTurns,
    user: User,
    conversation: Any,
    message: str,
    head: dict[str, Any],
) -> AsyncIterator[bytes]:
    """Runs the turn on its own thread; its events cross to this loop through a queue."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def on_event(event: TurnEvent) -> None:
        for name, data in _event_frames(event):
            put(sse(name, data))

    def work() -> None:
        try:
            result, context = turns.run(user.id, conversation, message, on_event)
            put(_closing(conversation.id, result, context))
        except AppError as exc:
            put(sse("error", {"type": _error_type(exc), "message": str(exc)}))
        except Exception:
            logger.exception("chat turn failed in %s", conversation.id)
            put(sse("error", {"type": "error", "message": "The turn failed unexpectedly."}))
        finally:
            put(_END)

    # The request's context (its trace id) goes with the turn to its thread.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), name="chat-turn", daemon=True).start()
    yield sse("conversation", head)
    while True:
        # Frames that queued up while this loop served others go out as one write: each
        # write passes the whole middleware stack, and under load that was most of it.
        frames = [await queue.get()]
        while frames[-1] is not _END and not queue.empty():
            frames.append(queue.get_nowait())
        ended = frames[-1] is _END
        if ended:
            frames.pop()
        if frames:
            yield b"".join(frames)
        if ended:
            return


def _event_frames(event: TurnEvent) -> list[tuple[str, dict[str, Any]]]:
    if event.kind == "token":
        return [("token", {"text": event.text})]
    if event.kind == "tool_call":
        return [("tool_call", {"id": event.call_id, "name": event.name, "args": event.args})]
    artifact = event.artifact if isinstance(event.artifact, dict) else None
    frames = [
        (
            "tool_result",
            {
                "id": event.call_id,
                "name": event.name,
                "status": "error" if event.text.lstrip().startswith("Error") else "ok",
                "text": event.text,
                "artifact": artifact,
            },
        )
    ]
    if artifact is not None and artifact.get("kind") == "proposal":
        frames.append(("proposal", {**artifact, "state": "pending"}))
    return frames


def _closing(conversation_id: str, result: TurnResult, context: ContextReading) -> bytes:
    usage = {
        "tokens": result.tokens,
        "cost_usd": result.cost_nusd / 1e9,
        "context": context.to_json(),
    }
    done = {"conversation_id": conversation_id, "answer": result.answer}
    return sse("usage", usage) + sse("done", done)


def _error_type(exc: AppError) -> str:
    if isinstance(exc, BudgetExceededError):
        return ERROR_TYPES[429]
    return getattr(exc, "kind", None) or "error"
