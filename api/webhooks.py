"""`/api/webhooks` (outgoing endpoints) and `/api/deliveries/{id}/replay`.

Owners manage their endpoints, admins anyone's; anyone else gets 404. The `whsec_…`
secret is in two answers only: the 201 of a create and the answer of a rotate. Sending
happens in the worker: a test or a replay answers 202 with the queued delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import (
    READS,
    BadRequestError,
    ConflictingStateError,
    authenticated,
    json_object,
)
from services.container import Services
from services.orm import User
from services.webhooks.types import EndpointDisabledError

MAX_LOG = 200


def webhook_routes(get_services: Callable[[], Services]) -> list[Route]:
    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(path, authenticated(get_services, handler), methods=methods)

    async def list_or_create(request: Request, user: User) -> Response:
        webhooks = get_services().webhooks
        if request.method in READS:
            found = await run_in_threadpool(webhooks.list_for, user)
            return JSONResponse({"webhooks": [e.to_json() for e in found]})
        body = await json_object(request)
        url = _text(body, "url", required=True)
        events = body.get("events")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise BadRequestError('"events" must be a list of event type names.')
        description = _text(body, "description")
        enabled = _flag(body, "enabled")
        created = await run_in_threadpool(
            lambda: webhooks.create(
                user,
                url=url,
                events=events,
                description=description,
                enabled=True if enabled is None else enabled,
            )
        )
        return JSONResponse(
            {**created.endpoint.to_json(), "secret": created.secret}, status_code=201
        )

    async def one(request: Request, user: User) -> Response:
        webhooks = get_services().webhooks
        endpoint_id = request.path_params["endpoint_id"]
        if request.method in READS:
            found = await run_in_threadpool(webhooks.get, user, endpoint_id)
            return JSONResponse(found.to_json())
        if request.method == "DELETE":
            await run_in_threadpool(webhooks.delete, user, endpoint_id)
            return Response(status_code=204)
        body = await json_object(request)
        events = body.get("events")
        if events is not None and (
            not isinstance(events, list) or not all(isinstance(e, str) for e in events)
        ):
            raise BadRequestError('"events" must be a list of event type names.')
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise BadRequestError('"description" must be a string.')
        enabled = _flag(body, "enabled")
        updated = await run_in_threadpool(
            lambda: webhooks.update(
                user, endpoint_id, enabled=enabled, description=description, events=events
            )
        )
        return JSONResponse(updated.to_json())

    async def rotate(request: Request, user: User) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        info, secret = await run_in_threadpool(get_services().webhooks.rotate, user, endpoint_id)
        return JSONResponse({**info.to_json(), "secret": secret})

    async def test(request: Request, user: User) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        with _disabled_is_conflict():
            queued = await run_in_threadpool(get_services().webhooks.send_test, user, endpoint_id)
        return JSONResponse(queued.to_json(), status_code=202)

    async def deliveries(request: Request, user: User) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        raw = request.query_params.get("limit", "50")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not raw.isdecimal() or not 1 <= int(raw) <= MAX_LOG:
            raise BadRequestError(f'"limit" must be a whole number from 1 to {MAX_LOG}.')
        found = await run_in_threadpool(
            lambda: get_services().webhooks.deliveries(user, endpoint_id, limit=int(raw))
        )
        return JSONResponse({"deliveries": [d.to_json() for d in found]})

    async def replay(request: Request, user: User) -> Response:
        delivery_id = request.path_params["delivery_id"]
        with _disabled_is_conflict():
            queued = await run_in_threadpool(get_services().webhooks.replay, user, delivery_id)
        return JSONResponse(queued.to_json(), status_code=202)

    return [
        route("/api/webhooks", list_or_create, ["GET", "POST"]),
        route("/api/webhooks/{endpoint_id}", one, ["GET", "PATCH", "DELETE"]),
        route("/api/webhooks/{endpoint_id}/rotate", rotate, ["POST"]),
        route("/api/webhooks/{endpoint_id}/test", test, ["POST"]),
        route("/api/webhooks/{endpoint_id}/deliveries", deliveries, ["GET"]),
        route("/api/deliveries/{delivery_id}/replay", replay, ["POST"]),
    ]


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequestError(f'"{key}" must be a string.')
    return value


def _flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadRequestError(f'"{key}" must be true or false.')
    return value


@contextmanager
def _disabled_is_conflict() -> Iterator[None]:
    try:
        yield
    except EndpointDisabledError as exc:
        raise ConflictingStateError(str(exc)) from exc
