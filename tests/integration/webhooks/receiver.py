"""A local webhook receiver for the tests: records every request (headers, raw body,
arrival time) and answers what the test sets: a status, a redirect, or a long hang. It
can be stopped and started again on the same port (a receiver that is down)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.thread_server import ThreadedServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class HookReceiver:
    received: list[Received] = field(default_factory=list)
    status: int = 200
    hang_seconds: float = 0.0
    redirect_to: str | None = None
    server: ThreadedServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        self.server = ThreadedServer(_app(self), port=self.port)
        self.port = self.server.port

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, *, timeout: float = 15.0, path: str = "/hook") -> None:
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.at(path))} of {count} requests after {timeout}s")
            time.sleep(0.05)


def _app(receiver: HookReceiver) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        receiver.received.append(Received(request.url.path, headers, body, time.time()))
        if receiver.hang_seconds:
            await asyncio.sleep(receiver.hang_seconds)
        if receiver.redirect_to and request.url.path == "/hook":
            return RedirectResponse(receiver.redirect_to, status_code=302)
        return JSONResponse({"ok": receiver.status < 400}, status_code=receiver.status)

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST", "GET"])])


@contextmanager
def hook_receiver() -> Iterator[HookReceiver]:
    receiver = HookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def verify_with_package(secret: str, request: Received) -> Any:
    """The `standardwebhooks` package's own check (raises when it fails)."""
    return Webhook(secret).verify(request.body, request.headers)


def verify_by_hand(secret: str, request: Received) -> bool:
    """The Standard Webhooks spec, written out: HMAC-SHA256 over `id.timestamp.body` with
    the base64-decoded secret, compared with each `v1,` signature of the header; the
    timestamp within five minutes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = request.headers["webhook-id"]
    stamp = request.headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > 300:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in request.headers["webhook-signature"].split(" "):
        version, _, value = part.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False
