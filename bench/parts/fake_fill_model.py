"""A fake Gemini endpoint for the bulk fill bench: answers every batch it is sent.

It reads the numbered records of a fill prompt (`services/bulk/prompting.py`) and answers
each with one of `options` in turn, reporting usage as a real endpoint would (prompt
tokens about a quarter of its characters). It counts calls and records, so the bench can
check the work happened. (The tests have their own scriptable fake in `tests/support/`;
benches may not import tests.)
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.parts.serving import ThreadedApp

API_KEY = "fake-fill-model-key"
_RECORDS = re.compile(r"Records:\n(\{.*\})", re.DOTALL)


@dataclass
class FakeFillModel(ThreadedApp):
    options: list[str]
    calls: int = 0
    records: int = 0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def _handle(self, request: Request) -> JSONResponse:
        if request.headers.get("x-goog-api-key") != API_KEY:
            return JSONResponse({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, 401)
        body = json.loads(await request.body())
        text = " ".join(
            part.get("text", "")
            for content in body.get("contents", [])
            for part in content.get("parts", [])
        )
        found = _RECORDS.search(text)
        numbers = list(json.loads(found.group(1))) if found else []
        answer = {n: self.options[int(n) % len(self.options)] for n in numbers}
        with self._lock:
            self.calls += 1
            self.records += len(numbers)
        reply = json.dumps(answer)
        model = request.path_params["call"].partition(":")[0]
        return JSONResponse(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": reply}]},
                        "index": 0,
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": len(text) // 4,
                    "candidatesTokenCount": len(reply) // 4,
                    "totalTokenCount": len(text) // 4 + len(reply) // 4,
                },
                "modelVersion": model,
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/{version}/models/{call:path}", self._handle, methods=["POST"])]
        )


__all__: list[Any] = ["API_KEY", "FakeFillModel"]
