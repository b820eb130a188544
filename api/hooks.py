"""`POST /api/hooks/{hook_id}`: the signed inbound trigger of a webhook-triggered workflow,
and `POST /api/workflows/{id}/hook/rotate` (signed in, owner) for a new secret.

The hook route has no session or token: the Standard Webhooks signature is the
authentication, checked in `services/webhooks/inbound.py`. Unknown hook 404, bad or missing
signature or old timestamp 401, disabled workflow 409, over the rate limit 429, inputs that
fail validation 422 (naming the input); on any of these nothing is enqueued or written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import MAX_JSON_BYTES, authenticated, error_response
from api.security import refuse
from services.container import Services
from services.errors import AppError, StoreUnavailableError
from services.orm import User
from services.webhooks.inbound import (
    HookDisabledError,
    HookInfo,
    HookRateLimitedError,
    HookSignatureError,
)


def hook_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def receive(request: Request) -> Response:
        hook_id = request.path_params["hook_id"]
        body = await _body(request)
        if body is None:
            return refuse(413, f"The body is larger than {MAX_JSON_BYTES:,} bytes.")
        hooks = get_services().inbound_hooks
        headers = dict(request.headers)
        try:
            run = await run_in_threadpool(hooks.receive, hook_id, body, headers)
        except StoreUnavailableError:
            raise
        except HookSignatureError as exc:
            return refuse(401, str(exc))
        except HookDisabledError as exc:
            return refuse(409, str(exc))
        except HookRateLimitedError as exc:
            response = refuse(429, str(exc))
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
            return response
        except AppError as exc:
            return error_response(exc)
        return JSONResponse({"run_id": run.id}, status_code=202)

    async def rotate(request: Request, user: User) -> Response:
        hooks = get_services().inbound_hooks
        workflow_id = request.path_params["workflow_id"]
        info = await run_in_threadpool(hooks.rotate, user, workflow_id)
        return JSONResponse(hook_json(info), status_code=200)

    return [
        Route("/api/hooks/{hook_id}", receive, methods=["POST"]),
        Route(
            "/api/workflows/{workflow_id}/hook/rotate",
            authenticated(get_services, rotate),
            methods=["POST"],
        ),
    ]


def hook_json(info: HookInfo) -> dict[str, Any]:
    """The hook as the API shows it; the secret only right after creation or rotation."""
    data: dict[str, Any] = {"hook_id": info.id, "hook_url": info.url}
    if info.secret is not None:
        data["secret"] = info.secret
    return data


async def _body(request: Request) -> bytes | None:
    """The raw body (the signature covers these exact bytes); None when too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            return None
    return bytes(body)
