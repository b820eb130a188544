"""`WS /api/events`: the live event stream of the caller (and, for admins, the org's).

Query: `types=a,b` (only these types), `last_event_id=ID` (replay what came after that
event first, then go live). Messages are JSON objects: events `{"id", "type",
"timestamp", "data"}`, and two control messages without an `id`: `{"type": "heartbeat",
"timestamp"}` every `EVENTS_HEARTBEAT_SECONDS` and `{"type": "error", "timestamp",
"data": {"code", "message", ...}}`. Close codes are `CLOSE_*` below (README: Live events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from services.auth.sign_ins import SESSION_COOKIE
from services.container import Services
from services.errors import NotAllowedError, StoreUnavailableError
from services.events.bus import Event
from services.events.live import RESYNC, Subscription
from services.events.types import EVENT_TYPES, unknown_types
from services.orm import User

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
"""Unknown `types` (an error message listing the valid ones comes first)."""
CLOSE_UNAUTHORIZED = 4401
"""No or invalid credentials, or they stopped being valid (signed out, disabled, revoked,
or the role changed: reconnect to read what the new role may)."""
CLOSE_FORBIDDEN_ORIGIN = 4403
"""A session cookie sent from a page of another origin."""
CLOSE_TOO_SLOW = 4408
"""The client fell `EVENTS_CLIENT_BUFFER` events behind."""
CLOSE_UNAVAILABLE = 1013
"""Redis cannot be reached (try again later)."""

_REPLAY_PAGE = 500
_CLOSE_WAIT_S = 2.0
# A slow client's close frame waits behind what its socket already holds (bounded by the
# socket buffers): give it this long to read that and learn why it was closed.
_SLOW_CLOSE_WAIT_S = 10.0


@dataclass(frozen=True)
class Credential:
    """How the socket authenticated: an API token or a session cookie."""

    kind: str
    secret: str

    def user(self, services: Services) -> User | None:
        """The active user it stands for now, or None (revoked, signed out, disabled)."""
        if self.kind == "token":
            try:
                user_id: int | None = services.api_tokens.verify(self.secret)
            except NotAllowedError:
                return None
        else:
            user_id = services.sign_ins.resolve(self.secret)
        user = services.accounts.get_user(user_id) if user_id is not None else None
        return user if user is not None and user.is_active else None


class CredentialChecks:
    """Re-checks credentials for every socket of a process, each at most once per period.

    Many sockets of one person (tabs, scripts) share one check instead of one each.
    """

    def __init__(self, period_s: float) -> None:
        self._period = period_s
        # credential -> (checked at, (user id, is admin) or None when no longer valid)
        self._cache: dict[Credential, tuple[float, tuple[int, bool] | None]] = {}

    async def still_valid(self, credential: Credential, user: User, services: Services) -> bool:
        """The credential still stands for `user`, with the same role (an admin made a
        member must stop reading the org stream)."""
        now = time.monotonic()
        checked = self._cache.get(credential)
        if checked is None or now - checked[0] >= self._period / 2:
            try:
                current = await run_in_threadpool(credential.user, services)
            except StoreUnavailableError:
                return True  # cannot tell while a store is down; no events flow then either
            found = None if current is None else (current.id, current.is_admin)
            checked = (now, found)
            self._cache[credential] = checked
            if len(self._cache) > 10_000:
                self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self._period}
        return checked[1] == (user.id, user.is_admin)


def _credential(websocket: WebSocket) -> Credential | None:
    authorization = websocket.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return Credential("token", authorization[7:].strip())
    cookie = websocket.cookies.get(SESSION_COOKIE)
    return Credential("cookie", cookie) if cookie else None


def _origin_allowed(websocket: WebSocket, services: Services) -> bool:
    """A cookie-authenticated socket must be opened by a page of this app."""
    claimed = websocket.headers.get("origin", "")
    public = urlsplit(services.settings.public_url)
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = {f"{scheme}://{websocket.headers.get('host', '')}", f"{public.scheme}://{public.netloc}"}
    return bool(claimed) and claimed in own


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(code: str, message: str, **details: Any) -> dict[str, Any]:
    data = {"code": code, "message": message, **details}
    return {"type": "error", "timestamp": _now(), "data": data}


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    wait = _SLOW_CLOSE_WAIT_S if code == CLOSE_TOO_SLOW else _CLOSE_WAIT_S
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason[:120]), wait)


class _Stream:
    """One accepted socket: replay, then live events, heartbeats and credential checks."""

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        checks: CredentialChecks,
        credential: Credential,
        user: User,
        sub: Subscription,
    ) -> None:
        self.ws = websocket
        self.services = services
        self.checks = checks
        self.credential = credential
        self.user = user
        self.sub = sub
        self.position = (0, 0)
        self.close_code = 1000
        self.close_reason = ""

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def send_event(self, event: Event) -> None:
        if event.position > self.position and self.sub.wants(event):
            await self.ws.send_text(event.text)
            self.position = event.position

    async def replay(self, after: str) -> None:
        """Send every kept event after `after`, page by page, in order."""
        while True:
            events = await run_in_threadpool(
                self.services.events.read_after,
                self.user.id,
                admin=self.user.is_admin,
                after=after,
                count=_REPLAY_PAGE,
            )
            for event in events:
                await self.send_event(event)
            if len(events) < _REPLAY_PAGE:
                return
            after = events[-1].id

    async def pump(self) -> None:
        """Live events from the queue, a heartbeat whenever one is due."""
        period = self.services.settings.events_heartbeat_seconds
        due = time.monotonic() + period
        while True:
            try:
                if self.sub.queue.empty():
                    item = await asyncio.wait_for(
                        self.sub.queue.get(), max(due - time.monotonic(), 0)
                    )
                else:  # no timer task per event while a burst is queued
                    item = self.sub.queue.get_nowait()
            except TimeoutError:
                await self.send({"type": "heartbeat", "timestamp": _now()})
                due = time.monotonic() + period
                continue
            if time.monotonic() >= due:
                await self.send({"type": "heartbeat", "timestamp": _now()})
                due = time.monotonic() + period
            if item == RESYNC:
                await self.replay("{}-{}".format(*self.position))
            elif isinstance(item, Event):
                await self.send_event(item)

    async def watch_credentials(self) -> None:
        period = self.services.settings.events_auth_recheck_seconds
        while True:
            await asyncio.sleep(period)
            if not await self.checks.still_valid(self.credential, self.user, self.services):
                self.close_code = CLOSE_UNAUTHORIZED
                self.close_reason = "Credentials no longer valid."
                return

    async def watch_overflow(self) -> None:
        await self.sub.overflowed.wait()
        self.close_code, self.close_reason = CLOSE_TOO_SLOW, "Client too slow: events not read."

    async def watch_client(self) -> None:
        """Read (and ignore) what the client sends, to notice when it goes away."""
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return


class _Refused(Exception):
    """The socket is closed with `code` (after `message`, if any) and serves nothing."""

    def __init__(self, code: int, reason: str, message: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.message = code, reason, message


async def _authenticate(websocket: WebSocket, services: Services) -> tuple[User, Credential]:
    credential = _credential(websocket)
    if credential is None:
        raise _Refused(CLOSE_UNAUTHORIZED, "Sign in or send an API token.")
    if credential.kind == "cookie" and not _origin_allowed(websocket, services):
        raise _Refused(CLOSE_FORBIDDEN_ORIGIN, "Cookie sign-in from another origin.")
    try:
        user = await run_in_threadpool(credential.user, services)
    except StoreUnavailableError as exc:
        raise _Refused(CLOSE_UNAVAILABLE, "A store cannot be reached; retry.") from exc
    if user is None:
        raise _Refused(CLOSE_UNAUTHORIZED, "Invalid or expired credentials.")
    return user, credential


def _types(websocket: WebSocket) -> frozenset[str] | None:
    types = [t.strip() for t in websocket.query_params.get("types", "").split(",") if t.strip()]
    unknown = unknown_types(types)
    if unknown:
        message = f"Unknown event types: {', '.join(unknown)}."
        error = _error("unknown_types", message, valid_types=list(EVENT_TYPES))
        raise _Refused(CLOSE_BAD_REQUEST, message, error)
    return frozenset(types) if types else None


def events_routes(get_services: Callable[[], Services]) -> list[WebSocketRoute]:
    checks: list[CredentialChecks] = []  # one per process, made on the first socket

    async def events(websocket: WebSocket) -> None:
        services = get_services()
        settings = services.settings
        if not checks:
            checks.append(CredentialChecks(settings.events_auth_recheck_seconds))
        try:
            user, credential = await _authenticate(websocket, services)
            sub = Subscription(
                user.id,
                admin=user.is_admin,
                types=_types(websocket),
                buffer=settings.events_client_buffer,
            )
        except _Refused as refused:
            await _refuse(websocket, refused)
            return
        stream = _Stream(websocket, services, checks[0], credential, user, sub)
        # Subscribed, and the live position read, before the handshake completes: an event
        # published once the client is connected is always delivered.
        await run_in_threadpool(services.event_fanout.subscribe, sub)
        try:
            try:
                stream.position = _position(await run_in_threadpool(services.events.last_id))
            except StoreUnavailableError:
                await _refuse(websocket, _Refused(CLOSE_UNAVAILABLE, "Redis cannot be reached."))
                return
            await websocket.accept()
            await _serve(stream, websocket.query_params.get("last_event_id") or None)
        except StoreUnavailableError:
            stream.close_code, stream.close_reason = CLOSE_UNAVAILABLE, "Redis cannot be reached."
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away mid-send
        finally:
            services.event_fanout.unsubscribe(sub)
        await _close(websocket, stream.close_code, stream.close_reason)

    return [WebSocketRoute("/api/events", events)]


async def _refuse(websocket: WebSocket, refused: _Refused) -> None:
    await websocket.accept()
    if refused.message is not None:
        await websocket.send_text(json.dumps(refused.message))
    await _close(websocket, refused.code, refused.reason)


async def _serve(stream: _Stream, last_event_id: str | None) -> None:
    services, user = stream.services, stream.user
    if last_event_id is not None:
        problem = await run_in_threadpool(
            services.events.resume_problem,
            user.id,
            admin=user.is_admin,
            last_event_id=last_event_id,
        )
        if problem is None:
            stream.position = _position(last_event_id)
            await stream.replay(last_event_id)
        else:
            await stream.send(_error(f"last_event_id_{problem}", _RESUME_PROBLEMS[problem]))
    tasks = [
        asyncio.create_task(stream.pump()),
        asyncio.create_task(stream.watch_credentials()),
        asyncio.create_task(stream.watch_overflow()),
        asyncio.create_task(stream.watch_client()),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None:
            raise error


def _position(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


_RESUME_PROBLEMS = {
    "malformed": "last_event_id is not an event ID of this stream; sending live events only.",
    "too_old": (
        "Events after last_event_id are no longer kept (the stream is capped by length and "
        "age); some were missed. Sending live events only."
    ),
}
