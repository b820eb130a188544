"""Request checks shared by the `/api` routes: same-origin posts, the caller, their role."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from services.auth.sign_ins import SESSION_COOKIE
from services.container import Services
from services.db import unavailable_error
from services.errors import NotAllowedError, StoreUnavailableError
from services.orm import User

logger = logging.getLogger(__name__)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def same_origin(request: Request, services: Services) -> bool:
    """A state-changing request must come from a page of this app (Origin, else Referer)."""
    claimed = request.headers.get("origin") or _origin_of(request.headers.get("referer", ""))
    if not claimed or claimed == "null":
        return False
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return claimed in {own, _origin_of(services.settings.public_url)}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_user(request: Request, services: Services) -> User | None:
    """The active user behind the session cookie or an `Authorization: Bearer` API token."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        try:
            user_id: int | None = services.api_tokens.verify(authorization[7:].strip())
        except NotAllowedError:
            return None
    else:
        user_id = services.sign_ins.resolve(request.cookies.get(SESSION_COOKIE))
    if user_id is None:
        return None
    user = services.accounts.get_user(user_id)
    return user if user is not None and user.is_active else None


# The `type` of an API error by status (PLATFORM.md: `{"error": {"type", "message"}}`).
ERROR_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


def refuse(status: int, message: str, **details: str) -> JSONResponse:
    """An API error as JSON: `{"error": {"type", "message", ...details}}`."""
    kind = ERROR_TYPES.get(status, "error")
    return JSONResponse(
        {"error": {"type": kind, "message": message, **details}}, status_code=status
    )


async def store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """Any route's answer while SQL or Redis is down: 503 naming the store, never a bare 500."""
    store = exc.store if isinstance(exc, StoreUnavailableError) else "unknown"
    response = refuse(503, str(exc), store=store)
    response.headers["Retry-After"] = "5"
    return response


async def database_failure(request: Request, exc: Exception) -> JSONResponse:
    """A SQL error that reached a route: 503 when the database is down (as for Redis);
    anything else is a bug and stays a 500."""
    outage = unavailable_error(exc)
    if outage is None:
        raise exc
    logger.warning("database unreachable on %s: %s", request.url.path, type(exc).__name__)
    return await store_unavailable(request, outage)


async def unexpected_error(request: Request, _exc: Exception) -> Response:
    """A bug: 500, in the API's JSON error shape on `/api/*`. The server logs the traceback
    (Starlette raises the error again after this answer); the caller learns nothing of it."""
    if request.url.path.startswith("/api/"):
        return refuse(500, "Something went wrong on our side; it has been logged.")
    return PlainTextResponse("Internal Server Error", status_code=500)


# The web server's handlers: store outages answer 503 JSON (Redis errors arrive as
# StoreUnavailableError; SQL errors are sorted, outage or bug, by `database_failure`), and
# anything else is a 500 (`unexpected_error`).
EXCEPTION_HANDLERS = {
    StoreUnavailableError: store_unavailable,
    SQLAlchemyError: database_failure,
    Exception: unexpected_error,
}
