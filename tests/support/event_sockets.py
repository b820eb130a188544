"""A client of `WS /api/events` for tests: connect with a token or cookie, collect messages."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection


def events_url(base_url: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return base_url.replace("http://", "ws://", 1) + "/api/events" + query


async def open_events(
    base_url: str,
    *,
    token: str | None = None,
    cookie: str | None = None,
    origin: str | None = None,
    **params: str,
) -> ClientConnection:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        headers["Cookie"] = f"pa_session={cookie}"
    return await websockets.connect(
        events_url(base_url, **params),
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
        open_timeout=10,
    )


async def next_events(
    ws: ClientConnection, count: int, *, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The next `count` events (heartbeats skipped); fewer if `timeout` passes first."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if message["type"] != "heartbeat":
            found.append(message)
    return found


async def close_code(ws: ClientConnection, *, timeout: float = 10.0) -> int | None:
    """Read until the server closes; its close code (None: still open at `timeout`)."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except TimeoutError:
        return None
    except websockets.ConnectionClosed:
        pass
    return ws.close_code
