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
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

API_KEY = "fake-fill-model-key"
_RECORDS = re.compile(r"Records:\n(\{.*\})", re.DOTALL)


@dataclass
class FakeFillModel:
    options: list[str]
    calls: int = 0
    records: int = 0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

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

    def __enter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = Starlette(
            routes=[Route("/{version}/models/{call:path}", self._handle, methods=["POST"])]
        )
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake model did not start")
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


__all__: list[Any] = ["API_KEY", "FakeFillModel"]
