"""What the JSON resource routes share: who calls, their JSON body, and errors by status.

A caller is signed in by the session cookie or an `Authorization: Bearer` API token. A
state-changing call made with the cookie must also come from a page of this app (Origin,
else Referer), so another site cannot ride a signed-in browser; a bearer token is not sent
by browsers on their own, so it needs no such check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.security import current_user, refuse, same_origin
from services.auth.accounts import ThrottledError
from services.container import Services
from services.errors import (
    AppError,
    BudgetExceededError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
    StoreUnavailableError,
)
from services.json_input import decode_object
from services.orm import User

NOT_SIGNED_IN = "Sign in or send an API token (Authorization: Bearer …)."
CROSS_SITE = "This request came from another site; send it from the app or with an API token."
MAX_JSON_BYTES = 262_144  # a workflow definition is a few KB; this is generous
# Methods that only read: a route answers HEAD as it answers GET (Starlette adds HEAD to
# every GET route), and neither needs the origin check.
READS = frozenset({"GET", "HEAD"})


class BadRequestError(Exception):
    """The body is not a JSON object, or too large (answered 400)."""


class ConflictingStateError(AppError):
    """The thing is not in a state that allows this (answered 409)."""


Handler = Callable[[Request, User], Awaitable[Response]]


def authenticated(get_services: Callable[[], Services], handler: Handler) -> Any:
    """A route endpoint that finds the caller (401 without one), checks the origin of
    cookie-authenticated writes (403), and turns the app's errors into JSON statuses."""

    async def endpoint(request: Request) -> Response:
        services = get_services()
        user = await run_in_threadpool(current_user, request, services)
        if user is None:
            return refuse(401, NOT_SIGNED_IN)
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        writes = request.method not in READS
        if writes and not bearer and not same_origin(request, services):
            return refuse(403, CROSS_SITE)
        try:
            return await handler(request, user)
        except BadRequestError as exc:
            return refuse(400, str(exc))
        except StoreUnavailableError:
            raise  # the server's handler answers 503 naming the store
        except AppError as exc:
            return error_response(exc)

    return endpoint


def error_response(exc: AppError) -> JSONResponse:
    """The status that says what went wrong; the message is the error's own (safe) text."""
    if isinstance(exc, BudgetExceededError | ThrottledError):
        response = refuse(429, str(exc))
        retry = getattr(exc, "retry_after_seconds", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
        return response
    for kind, status in _STATUSES:
        if isinstance(exc, kind):
            return refuse(status, str(exc))
    return refuse(400, str(exc))


_STATUSES: tuple[tuple[type[AppError], int], ...] = (
    (NotFoundError, 404),
    (NotAllowedError, 403),
    (ConflictingStateError, 409),
    (InvalidInputError, 422),
)


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, read no further than `MAX_JSON_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise BadRequestError(f"The body is larger than {MAX_JSON_BYTES:,} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise BadRequestError(f"The body is larger than {MAX_JSON_BYTES:,} bytes.")
    try:
        return decode_object(body, not_object="The body must be a JSON object.")
    except InvalidInputError as exc:
        raise BadRequestError(str(exc)) from exc
