"""A fake Gemini endpoint for the chat benches: answers by rule, not by script, so any number
of users can talk to it at once, each with the same fixed latency.

The real google-genai client (under `ChatGoogleGenerativeAI`) talks to it over HTTP, as to
Gemini: `streamGenerateContent?alt=sse` and `generateContent`. Rules, from the request:
- a title request (its system text asks for a title) answers a short title;
- a summary request answers a short summary;
- a request whose last part is a function response answers the final text, in `CHUNKS`
  pieces;
- any other request (a new question) calls `aggregate_records` on Projects by Status
  (one page of Airtable: the benches measure our server, not the emulator paging the
  5,000 tasks; at Airtable's 5 requests a second a whole-table read of Tasks for 50 users
  at once is a job for a mirror and `query_records`, see `bench/mirror.py`).
Every call waits `latency_s` before its first byte and nothing after: the model's fixed
latency a bench subtracts from a turn to get the server's own overhead.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bench.parts.serving import ThreadedApp

API_KEY = "bench-fake-gemini-key"
ANSWER = "There are projects in every status; the counts are in the table above."
CHUNKS = 4
TOOL_CALL = {
    "name": "aggregate_records",
    "args": {"table": "Projects", "metric": "count", "group_by": "Status"},
}
_SIGNATURE = "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ=="


class RuleGemini(ThreadedApp):
    """Run with `with RuleGemini(latency_s=0.05) as gemini: gemini.url`."""

    def __init__(self, *, latency_s: float = 0.05) -> None:
        self.latency_s = latency_s
        self.url = ""
        self.calls = 0
        self._lock = threading.Lock()

    async def _models(self, _request: Request) -> Response:
        names = ["gemini-2.5-flash", "gemini-2.5-flash-lite"]
        return JSONResponse({"models": [{"name": f"models/{n}"} for n in names]})

    async def _generate(self, request: Request) -> Response:
        if request.headers.get("x-goog-api-key") != API_KEY:
            return JSONResponse({"error": {"code": 400, "message": "bad key"}}, status_code=400)
        model, _, method = request.path_params["call"].partition(":")
        body = json.loads(await request.body() or b"{}")
        with self._lock:
            self.calls += 1
        text, call = _reply(body)
        prompt_tokens = max(1, len(json.dumps(body)) // 4)
        await asyncio.sleep(self.latency_s)
        if method == "generateContent":
            return JSONResponse(_response(model, [text], call, prompt_tokens, last=True))
        pieces = _pieces(text) if text else [""]

        async def events() -> AsyncIterator[bytes]:
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                event = _response(model, [piece], call if last else None, prompt_tokens, last=last)
                yield f"data: {json.dumps(event)}\r\n\r\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    # Idle connections are kept far longer than a bench's gaps between calls: uvicorn's
    # default 5 s lets a client reuse a connection just as the server closes it, which
    # the app rightly reports as "provider cannot be reached" (seen once in a soak).
    uvicorn_options = {"timeout_keep_alive": 600}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/models", self._models, methods=["GET"]),
                Route("/{version}/models/{call:path}", self._generate, methods=["POST"]),
            ]
        )


def _reply(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    system = " ".join(
        p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", [])
    )
    if "title of at most 6 words" in system:
        return "Projects by status", None
    if "Summarise this earlier part" in system:
        return "Earlier the person asked how many projects there are by status.", None
    contents = body.get("contents") or [{}]
    last_parts = contents[-1].get("parts", [])
    if any("functionResponse" in p for p in last_parts):
        return ANSWER, None
    return "", TOOL_CALL


def _pieces(text: str) -> list[str]:
    size = -(-len(text) // CHUNKS)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _response(
    model: str,
    pieces: list[str],
    call: dict[str, Any] | None,
    prompt_tokens: int,
    *,
    last: bool,
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": p} for p in pieces if p]
    if call is not None:
        parts.append({"functionCall": call, "thoughtSignature": _SIGNATURE})
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if last:
        candidate["finishReason"] = "STOP"
    output = 20 if last else 0
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt_tokens + output,
        },
        "modelVersion": model.removeprefix("models/"),
        "responseId": uuid.uuid4().hex[:20],
    }
