"""A fake Ollama server that the real `ollama` client (under ChatOllama) talks to over HTTP.

Speaks what `ollama._client.Client.chat` sends and parses: `POST /api/chat` with
`"stream": true` answers NDJSON lines (`application/x-ndjson`), one `ChatResponse` each,
the last with `done: true`, `done_reason` and the counts; with `"stream": false` one JSON
object. Tool calls arrive in `message.tool_calls` as `{"function": {"name", "arguments"}}`.
Counts: `prompt_eval_count` (prompt tokens; left out on a prompt-cache hit) and
`eval_count` (generated tokens, thinking included). `GET /api/tags` lists the pulled
models. Errors: `{"error": "..."}` with the HTTP status; a model that was not pulled is
404 `model "x" not found, try pulling it first`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from config.settings import LLMProvider
from tests.support.fake_gemini import known_models
from tests.support.fake_provider_server import FakeProviderServer, RecordedRequest, ScriptedReply


class FakeOllamaServer(FakeProviderServer):
    """Scriptable Ollama endpoint; see `FakeProviderServer` for scripting and inspection."""

    def __init__(self, *, models: Iterable[str] | None = None) -> None:
        super().__init__()
        self.models = list(models) if models is not None else known_models(LLMProvider.OLLAMA)
        """The pulled models (default: every Ollama model of the table)."""

    def routes(self) -> list[Route]:
        return [
            Route("/api/chat", self._chat, methods=["POST"]),
            Route("/api/tags", self._tags, methods=["GET"]),
        ]

    async def _tags(self, request: Request) -> Response:
        self.record(RecordedRequest(request.method, request.url.path, {}, {}, None))
        return JSONResponse({"models": [_tag_entry(name) for name in self.models]})

    async def _chat(self, request: Request) -> Response:
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
        model = str(body.get("model", ""))
        if not _pulled(model, self.models):
            return _model_not_found(model)
        reply = self.next_reply()
        if reply is None:
            return JSONResponse({"error": "FakeOllamaServer: no scripted reply left"}, 500)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return JSONResponse({"error": reply.error_message}, status_code=reply.status)
        if body.get("stream", True) is False:
            message = _message(reply.text, reply)
            return JSONResponse(_line(model, message, done=True, reply=reply))
        return StreamingResponse(_lines(model, reply), media_type="application/x-ndjson")


async def _lines(model: str, reply: ScriptedReply) -> AsyncIterator[bytes]:
    pieces = reply.text_pieces()
    for index, piece in enumerate(pieces):
        if index and reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)
        message = {"role": "assistant", "content": piece}
        yield (json.dumps(_line(model, message, done=False)) + "\n").encode()
    if reply.tool_calls:
        # Ollama sends tool calls in a message of their own, before the final line.
        message = _message("", reply)
        yield (json.dumps(_line(model, message, done=False)) + "\n").encode()
    final = _line(model, {"role": "assistant", "content": ""}, done=True, reply=reply)
    yield (json.dumps(final) + "\n").encode()


def _message(content: str, reply: ScriptedReply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.args}} for c in reply.tool_calls
        ]
    return message


def _line(
    model: str, message: dict[str, Any], *, done: bool, reply: ScriptedReply | None = None
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "model": model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message": message,
        "done": done,
    }
    if done and reply is not None:
        line |= {
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 100_000,
            "prompt_eval_duration": 200_000,
            "eval_count": reply.output_tokens + reply.thinking_tokens,
            "eval_duration": 700_000,
        }
        if not reply.omit_prompt_count:
            line["prompt_eval_count"] = reply.input_tokens
    return line


def _full_name(name: str) -> str:
    """Ollama names without a tag mean `:latest`."""
    return name if ":" in name else f"{name}:latest"


def _pulled(model: str, models: list[str]) -> bool:
    return _full_name(model) in {_full_name(m) for m in models}


def _model_not_found(model: str) -> JSONResponse:
    return JSONResponse(
        {"error": f'model "{model}" not found, try pulling it first'}, status_code=404
    )


def _tag_entry(name: str) -> dict[str, Any]:
    return {
        "name": _full_name(name),
        "model": _full_name(name),
        "modified_at": "2026-11-02T10:00:00.000000000Z",
        "size": 2_019_393_189,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }
