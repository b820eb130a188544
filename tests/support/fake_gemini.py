"""A fake Gemini API server that the real google-genai client (under ChatGoogleGenerativeAI)
talks to over HTTP.

Speaks what the SDK sends and parses (google/genai/models.py, _api_client.py):
`POST /{v1|v1beta}/models/{model}:generateContent` answers one JSON `GenerateContentResponse`;
`POST /{v1|v1beta}/models/{model}:streamGenerateContent?alt=sse` answers SSE events
`data: {...}` whose `usageMetadata` carries running totals (the client turns them into
deltas). The `x-goog-api-key` header must match; errors use Google's error body
`{"error": {"code", "message", "status"}}`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.fake_provider_server import FakeProviderServer, RecordedRequest, ScriptedReply

FAKE_GEMINI_KEY = "fake-gemini-key-for-tests"
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
# Gemini 2.5 Flash thinks up to this many tokens when a request sets no thinking budget.
DYNAMIC_THINKING_MAX = 24_576
# Gemini attaches an opaque thought signature to function-call parts; clients send it back.
_SIGNATURE = base64.b64encode(b"fake-thought-signature").decode()


class FakeGeminiServer(FakeProviderServer):
    """Scriptable Gemini endpoint; see `FakeProviderServer` for scripting and inspection."""

    def __init__(self, *, api_key: str = FAKE_GEMINI_KEY) -> None:
        super().__init__()
        self.api_key = api_key

    def routes(self) -> list[Route]:
        return [Route("/{version}/models/{call:path}", self._handle, methods=["POST"])]

    async def _handle(self, request: Request) -> Response:
        version = request.path_params["version"]
        model, _, method = request.path_params["call"].partition(":")
        body = json.loads(await request.body() or b"{}")
        self.record(
            RecordedRequest(
                request.method,
                request.url.path,
                dict(request.query_params),
                dict(request.headers),
                body,
            )
        )
        if version not in ("v1", "v1beta") or method not in (
            "generateContent",
            "streamGenerateContent",
        ):
            return _error(404, f"Method {method} of {version} is not found.")
        if request.headers.get("x-goog-api-key") != self.api_key:
            return _error(400, "API key not valid. Please pass a valid API key.")
        reply = self.next_reply()
        if reply is None:
            return _error(500, "FakeGeminiServer: no scripted reply left")
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return _error(reply.status, reply.error_message)
        if reply.max_thinking:
            budget = requested_thinking_budget(body)
            allowed = DYNAMIC_THINKING_MAX if budget is None or budget < 0 else budget
            reply = replace(reply, thinking_tokens=allowed)
        if method == "generateContent":
            return JSONResponse(_response(model, reply, [reply.text], last=True))
        if request.query_params.get("alt") != "sse":
            return _error(400, "FakeGeminiServer streams only with alt=sse")
        return StreamingResponse(_events(model, reply), media_type="text/event-stream")


def requested_thinking_budget(body: dict[str, Any]) -> int | None:
    """The `thinkingBudget` of a request (-1: dynamic), None when it sets none.

    Like Gemini's JSON, this accepts the proto field name (`thinking_budget`, which the SDK
    sends inside `thinkingConfig`) as well as the camel-case one.
    """
    thinking = body.get("generationConfig", {}).get("thinkingConfig") or {}
    budget = thinking.get("thinkingBudget", thinking.get("thinking_budget"))
    return None if budget is None else int(budget)


async def _events(model: str, reply: ScriptedReply) -> AsyncIterator[bytes]:
    pieces = reply.text_pieces()
    for index in range(len(pieces)):
        if index and reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)
        last = index == len(pieces) - 1
        # Each event carries one new piece and the usage so far.
        event = _response(model, reply, pieces[index : index + 1], last=last, upto=index + 1)
        yield f"data: {json.dumps(event)}\r\n\r\n".encode()


def _response(
    model: str, reply: ScriptedReply, pieces: list[str], *, last: bool, upto: int | None = None
) -> dict[str, Any]:
    total_pieces = len(reply.text_pieces())
    upto = total_pieces if upto is None else upto
    parts: list[dict[str, Any]] = [{"text": p} for p in pieces if p]
    if last:
        parts += [
            {"functionCall": {"name": c.name, "args": c.args}, "thoughtSignature": _SIGNATURE}
            for c in reply.tool_calls
        ]
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if last:
        candidate["finishReason"] = "STOP"
    # Running totals: prompt and thoughts up front, visible output as it is produced.
    candidates_so_far = reply.output_tokens * upto // total_pieces
    usage: dict[str, Any] = {
        "promptTokenCount": reply.input_tokens,
        "candidatesTokenCount": candidates_so_far,
        "totalTokenCount": reply.input_tokens + candidates_so_far + reply.thinking_tokens,
    }
    if reply.thinking_tokens:
        usage["thoughtsTokenCount"] = reply.thinking_tokens
    if reply.cached_tokens:
        usage["cachedContentTokenCount"] = reply.cached_tokens
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model.removeprefix("models/"),
        "responseId": uuid.uuid4().hex[:20],
    }


def _error(status: int, message: str) -> JSONResponse:
    body = {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status)}}
    return JSONResponse(body, status_code=status)
