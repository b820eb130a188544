"""A fake Gemini API server that the real google-genai client (under ChatGoogleGenerativeAI)
talks to over HTTP.

Speaks what the SDK sends and parses (google/genai/models.py, _api_client.py):
`POST /{v1|v1beta}/models/{model}:generateContent` answers one JSON `GenerateContentResponse`;
`POST /{v1|v1beta}/models/{model}:streamGenerateContent?alt=sse` answers SSE events
`data: {...}` whose `usageMetadata` carries running totals (the client turns them into
deltas). `GET /{version}/models` lists the models (what a connection check calls).
The `x-goog-api-key` header must match; errors use Google's error body
`{"error": {"code", "message", "status", "details"}}` as the real service sends it: a bad
key is 400 `INVALID_ARGUMENT` with an `ErrorInfo` of reason `API_KEY_INVALID`, a quota is
429 `RESOURCE_EXHAUSTED` with a `RetryInfo.retryDelay`, an unknown model 404 `NOT_FOUND`,
and a blocked prompt a 200 with `promptFeedback.blockReason` and no candidates.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from config.settings import LLMProvider
from services.llm.catalog import load_model_catalog
from tests.support.fake_provider_server import FakeProviderServer, RecordedRequest, ScriptedReply

FAKE_GEMINI_KEY = "fake-gemini-key-for-tests"
MODEL_TABLE = Path(__file__).resolve().parents[2] / "config" / "models.toml"
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

    def __init__(self, *, api_key: str = FAKE_GEMINI_KEY, models: Iterable[str] | None = None):
        super().__init__()
        self.api_key = api_key
        self.models = list(models) if models is not None else known_models(LLMProvider.GEMINI)
        """The models this endpoint serves (default: every Gemini model of the table)."""

    def routes(self) -> list[Route]:
        return [
            Route("/{version}/models", self._list_models, methods=["GET"]),
            Route("/{version}/models/{call:path}", self._handle, methods=["POST"]),
        ]

    async def _list_models(self, request: Request) -> Response:
        self.record(
            RecordedRequest(request.method, request.url.path, dict(request.query_params), {}, None)
        )
        if request.headers.get("x-goog-api-key") != self.api_key:
            return _api_key_invalid()
        return JSONResponse({"models": [_model_entry(name) for name in self.models]})

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
            return _api_key_invalid()
        if model.removeprefix("models/") not in self.models:
            return _model_not_found(model, version, method)
        reply = self.next_reply()
        if reply is None:
            return _error(500, "FakeGeminiServer: no scripted reply left")
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return _scripted_error(reply)
        if reply.block_reason:
            return _blocked(reply, streamed=method == "streamGenerateContent")
        if reply.max_thinking:
            budget = requested_thinking_budget(body)
            allowed = DYNAMIC_THINKING_MAX if budget is None or budget < 0 else budget
            reply = replace(reply, thinking_tokens=allowed)
        if reply.max_output:
            config = body.get("generationConfig", {})
            allowed = config.get("maxOutputTokens", config.get("max_output_tokens"))
            reply = replace(reply, output_tokens=int(allowed))
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


def _error(
    status: int, message: str, *, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"code": status, "message": message}
    error["status"] = _STATUS_NAMES.get(status)
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status)


def known_models(provider: LLMProvider) -> list[str]:
    """Every model of the app's model table for `provider`, enabled or not."""
    catalog = load_model_catalog(MODEL_TABLE)
    return [spec.name for spec in catalog.all() if spec.provider is provider]


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name.replace("-", " ").title(),
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


def _api_key_invalid() -> JSONResponse:
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }
    message = "API key not valid. Please pass a valid API key."
    return _error(400, message, details=[info])


def _model_not_found(model: str, version: str, method: str) -> JSONResponse:
    message = (
        f"models/{model.removeprefix('models/')} is not found for API version {version}, or is "
        f"not supported for {method}. Call ListModels to see the list of available models "
        "and their supported methods."
    )
    return _error(404, message)


def _scripted_error(reply: ScriptedReply) -> JSONResponse:
    details: list[dict[str, Any]] = []
    if reply.status == 429:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            }
        )
        if reply.retry_delay_s is not None:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{reply.retry_delay_s:g}s",
                }
            )
    return _error(reply.status, reply.error_message, details=details)


def _blocked(reply: ScriptedReply, *, streamed: bool) -> Response:
    body = {
        "promptFeedback": {"blockReason": reply.block_reason},
        "usageMetadata": {
            "promptTokenCount": reply.input_tokens,
            "totalTokenCount": reply.input_tokens,
        },
        "responseId": uuid.uuid4().hex[:20],
    }
    if not streamed:
        return JSONResponse(body)
    event = f"data: {json.dumps(body)}\r\n\r\n".encode()
    return Response(event, media_type="text/event-stream")


def script_status_change(
    gemini: FakeGeminiServer, record_id: str, status: str, *, reply: str, title: str
) -> None:
    """Script a turn that proposes setting one task's Status, then answers and names the
    conversation (the browser tests that confirm or undo a change card)."""
    from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall

    change = {"id": record_id, "fields": [{"field": "Status", "value": status}]}
    gemini.script(
        ScriptedReply(
            text="",
            tool_calls=[
                ScriptedToolCall("update_records", {"table": "Tasks", "records": [change]})
            ],
        ),
        ScriptedReply(text=reply),
        ScriptedReply(text=title),
    )
