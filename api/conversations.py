"""`GET /api/conversations` and `GET /api/conversations/{id}`: the caller's own chats.

The list is most recent first (`?q=` searches titles and messages, `?limit=` up to 100).
One conversation comes with its messages and its context gauge (`context`, null before its
first measured turn; see `services.context_gauge`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import BadRequestError, authenticated
from services.container import Services
from services.conversations import Conversation, is_error_entry
from services.llm.guarded import ledger_request_id
from services.orm import User

MAX_LIST = 100
MAX_QUERY = 200


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "title": conversation.title,
        "base_id": conversation.base_id,
        "model": conversation.model,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }


def message_json(message: BaseMessage) -> dict[str, Any]:
    """A stored message as the API shows it (no provider metadata)."""
    if is_error_entry(message):
        return {
            "role": "error",
            "text": message.text,
            "kind": message.additional_kwargs.get("kind"),
        }
    if isinstance(message, HumanMessage):
        return {"role": "user", "text": message.text}
    if isinstance(message, AIMessage):
        calls = [
            {"id": c.get("id"), "name": c["name"], "args": c["args"]} for c in message.tool_calls
        ]
        return {
            "role": "assistant",
            "text": message.text,
            "tool_calls": calls,
            "request_id": ledger_request_id(message),
        }
    if isinstance(message, ToolMessage):
        artifact = message.artifact if isinstance(message.artifact, dict) else None
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "name": message.name,
            "status": message.status,
            "text": message.text,
            "artifact": artifact,
        }
    return {"role": message.type, "text": message.text}


def conversation_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def listed(request: Request, user: User) -> Response:
        query = request.query_params.get("q", "")
        raw_limit = request.query_params.get("limit", "50")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not raw_limit.isdecimal() or not 1 <= int(raw_limit) <= MAX_LIST:
            raise BadRequestError(f'"limit" must be a whole number from 1 to {MAX_LIST}.')
        if len(query) > MAX_QUERY:
            raise BadRequestError(f'"q" must be at most {MAX_QUERY} characters.')
        store = get_services().conversations
        found = await run_in_threadpool(
            lambda: store.find(user_id=user.id, query=query, limit=int(raw_limit))
        )
        return JSONResponse({"conversations": [conversation_json(c) for c in found]})

    async def one(request: Request, user: User) -> Response:
        services = get_services()
        store = services.conversations
        conversation_id = request.path_params["conversation_id"]

        def read() -> dict[str, Any]:
            conversation = store.get(user_id=user.id, conversation_id=conversation_id)
            messages = store.messages(user_id=user.id, conversation_id=conversation_id)
            context = services.context_gauge.read(conversation_id)
            return {
                **conversation_json(conversation),
                "summary": conversation.summary,
                "summarized_messages": conversation.summarized_count,
                "messages": [message_json(m) for m in messages],
                "context": context.to_json() if context else None,
            }

        return JSONResponse(await run_in_threadpool(read))

    return [
        Route("/api/conversations", authenticated(get_services, listed), methods=["GET"]),
        Route(
            "/api/conversations/{conversation_id}",
            authenticated(get_services, one),
            methods=["GET"],
        ),
    ]
