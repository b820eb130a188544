"""The ASGI app: routing, auth, rate limit, latency, body limits and stats.

Build it with :func:`create_app`; every ``/v0`` request goes through :func:`_dispatch`,
which answers Airtable-shaped errors and adds a ``Server-Timing: app;dur=<ms>`` header
with the time spent inside the server (used by ``bench/emulator.py``).
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute

from emulator import attachments, comments, errors, meta, records, webhooks
from emulator.auth import authenticate, check_base_access, normalize_tokens
from emulator.files import FILES_PATH, UPLOAD_BODY_LIMIT, UrlReader
from emulator.iterators import IteratorStore
from emulator.ratelimit import RateLimiter
from emulator.routing import Route, resolve, split_path
from emulator.state import AppState, Call
from emulator.stats import Stats
from emulator.store import Store
from emulator.webhooks import WebhookService

logger = logging.getLogger(__name__)
_TABLE = "/v0/{baseId}/{tableIdOrName}"
_RECORD = _TABLE + "/{recordId}"
_HOOKS = "/v0/bases/{baseId}/webhooks"
_META_TABLE = "/v0/meta/bases/{baseId}/tables/{tableIdOrName}"
ROUTES = [
    Route("GET", "/v0/meta/whoami", meta.whoami),
    Route("GET", "/v0/meta/bases", meta.list_bases),
    Route("POST", "/v0/meta/bases", meta.create_base),
    Route("GET", "/v0/meta/bases/{baseId}", meta.get_base, True),
    Route("GET", "/v0/meta/bases/{baseId}/tables", meta.get_tables, True),
    Route("POST", "/v0/meta/bases/{baseId}/tables", meta.create_table, True),
    Route("PATCH", _META_TABLE, meta.update_table, True),
    Route("POST", _META_TABLE + "/fields", meta.create_field, True),
    Route("PATCH", _META_TABLE + "/fields/{fieldIdOrName}", meta.update_field, True),
    Route("GET", _HOOKS, webhooks.list_webhooks, True),
    Route("POST", _HOOKS, webhooks.create_webhook, True),
    Route("DELETE", _HOOKS + "/{webhookId}", webhooks.delete_webhook, True),
    Route("POST", _HOOKS + "/{webhookId}/refresh", webhooks.refresh_webhook, True),
    Route("POST", _HOOKS + "/{webhookId}/enableNotifications", webhooks.enable_notifications, True),
    Route("GET", _HOOKS + "/{webhookId}/payloads", webhooks.list_payloads, True),
    Route("POST", _TABLE + "/listRecords", records.list_records_post, True),
    Route(
        "POST",
        "/v0/{baseId}/{recordId}/{fieldIdOrName}/uploadAttachment",
        attachments.upload_attachment,
        True,
        UPLOAD_BODY_LIMIT,
    ),
    Route("GET", _RECORD + "/comments", comments.list_comments, True),
    Route("POST", _RECORD + "/comments", comments.create_comment, True),
    Route("PATCH", _RECORD + "/comments/{commentId}", comments.update_comment, True),
    Route("DELETE", _RECORD + "/comments/{commentId}", comments.delete_comment, True),
    Route("GET", _RECORD, records.get_record, True),
    Route("PATCH", _RECORD, records.update_record, True),
    Route("PUT", _RECORD, records.update_record, True),
    Route("DELETE", _RECORD, records.delete_record, True),
    Route("GET", _TABLE, records.list_records, True),
    Route("POST", _TABLE, records.create_records, True),
    Route("PATCH", _TABLE, records.update_records, True),
    Route("PUT", _TABLE, records.update_records, True),
    Route("DELETE", _TABLE, records.delete_records, True),
]
_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(content, status, headers=dict(headers or {}), media_type="application/json")


async def _read_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length", "")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    if size > limit or (declared.isdigit() and int(declared) > limit):
        raise errors.too_large(limit)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except RecursionError as exc:
        raise errors.too_deep(_MAX_DEPTH) from exc
    except ValueError as exc:
        raise errors.bad_json() from exc
    if _depth(body) > _MAX_DEPTH:
        raise errors.too_deep(_MAX_DEPTH)
    return body


# Deeper bodies are refused before any handler walks them (recursion would fail on them).
_MAX_DEPTH = 32


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iteratively)."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= _MAX_DEPTH:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


async def _dispatch(state: AppState, request: Request) -> Response:
    started = time.perf_counter()
    match = resolve(ROUTES, request.method, split_path(request.scope["raw_path"]))
    route_key = match[0].key if match else "unmatched"
    base_id = match[1].get("baseId") if match else None
    try:
        token = authenticate(request.headers.get("authorization"), state.tokens)
        if match is None:
            raise errors.not_found()
        if state.latency_ms:
            await asyncio.sleep(state.latency_ms / 1000)
            started = time.perf_counter()
        if state.limiter is not None:
            state.limiter.check(token, base_id)
        route, params = match
        body = None
        if request.method in _BODY_METHODS:
            body = await _read_body(request, route.max_body or state.max_body_bytes)
        with state.store.lock:
            call = Call(state, request.method, params, request.query_params, body, token)
            call.origin = f"{request.url.scheme}://{request.url.netloc}"
            if route.needs_base and base_id is not None:
                call.base = state.store.bases.get(base_id)
                check_base_access(token, base_id, state.tokens, call.base is not None)
            response = _json(200, route.handler(call))
    except errors.ApiError as exc:
        response = _json(exc.status, exc.body, exc.headers)
    except Exception:
        logger.exception("unhandled error on %s", route_key)
        response = _json(500, {"error": {"type": "SERVER_ERROR", "message": "Server error"}})
    state.stats.count(route_key, base_id, response.status_code)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
    return response


def create_app(
    store: Store,
    *,
    tokens: Mapping[str, Iterable[str] | None] | Iterable[str] | None = None,
    rate_limit: bool = False,
    latency_ms: int = 0,
    penalty_seconds: float = 30.0,
    iterator_ttl_seconds: float = 300.0,
    max_body_bytes: int = 5_000_000,
    read_attachment_urls: bool = True,
) -> Starlette:
    """Build the emulator's Starlette app around a store.

    Args:
        store: The data (see :meth:`emulator.store.Store.open`).
        tokens: Accepted tokens: ``None`` for :data:`emulator.DEV_TOKEN` only, a list of
            ``"TOKEN"`` / ``"TOKEN:appA,appB"`` specs, or a mapping token -> base IDs
            (``None`` = every base).
        rate_limit: Enforce 5 requests/s per base and 50/s per token.
        latency_ms: Delay added to every API request.
        penalty_seconds: How long a base or token gets 429 after going over the limit.
        iterator_ttl_seconds: How long list offsets stay valid.
        max_body_bytes: Larger request bodies get 413 (uploadAttachment has its own
            limit: 5 MB of file, base64-encoded).
        read_attachment_urls: Fetch URL attachments in the background for their real
            size and type (see :mod:`emulator.files`).

    Returns:
        The ASGI app; its ``state.emulator`` is the :class:`AppState`.
    """
    hooks = WebhookService(store)
    urls = UrlReader(store, enabled=read_attachment_urls)
    state = AppState(
        store=store,
        tokens=normalize_tokens(tokens),
        iterators=IteratorStore(iterator_ttl_seconds),
        limiter=RateLimiter(penalty_seconds=penalty_seconds) if rate_limit else None,
        stats=Stats(),
        hooks=hooks,
        urls=urls,
        latency_ms=latency_ms,
        max_body_bytes=max_body_bytes,
    )

    async def api(request: Request) -> Response:
        return await _dispatch(state, request)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def stats(request: Request) -> Response:
        data = state.stats.snapshot()
        data["webhookNotifications"] = {"sent": hooks.sent, "failed": hooks.failed}
        data["attachmentUrls"] = {"read": urls.read, "failed": urls.failed}
        return JSONResponse(data)

    async def attachment_file(request: Request) -> Response:
        found = store.file(request.path_params["attachment_id"])
        if found is None:
            return _json(404, {"error": "NOT_FOUND"})
        _, media_type, data = found
        return Response(data, media_type=media_type)

    async def reset_stats(request: Request) -> Response:
        state.stats.reset()
        return JSONResponse({"reset": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        hooks.close()
        urls.close()

    app = Starlette(
        routes=[
            StarletteRoute("/_emulator/health", health, methods=["GET"]),
            StarletteRoute("/_emulator/stats", stats, methods=["GET"]),
            StarletteRoute("/_emulator/stats/reset", reset_stats, methods=["POST"]),
            StarletteRoute(
                FILES_PATH + "/{attachment_id}/{filename}", attachment_file, methods=["GET"]
            ),
            StarletteRoute("/{path:path}", api, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ],
        lifespan=lifespan,
    )
    app.state.emulator = state
    return app
