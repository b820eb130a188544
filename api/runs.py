"""`/api/runs/{run_id}`: read a run, cancel it (it compensates), answer its approval step.

A run is visible to its owner and admins (the run service's rule); its shape is
PLATFORM.md's. Cancelling a finished run, or answering a run that waits for no approval,
is a conflict (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import BadRequestError, ConflictingStateError, authenticated, json_object
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.workflows.types import RunInfo

MAX_NOTE = 1_000


def run_routes(get_services: Callable[[], Services]) -> list[Route]:
    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(path, authenticated(get_services, handler), methods=methods)

    async def read(request: Request, user: User) -> Response:
        runs = get_services().workflow_runs
        run = await run_in_threadpool(runs.get, user, request.path_params["run_id"])
        return JSONResponse(run.to_json())

    async def cancel(request: Request, user: User) -> Response:
        runs = get_services().workflow_runs
        run_id = request.path_params["run_id"]
        run = await _in_state(lambda: runs.cancel(user, run_id))
        return JSONResponse(run.to_json(), status_code=202)

    async def approve(request: Request, user: User) -> Response:
        body = await json_object(request)
        approved = body.get("approved")
        if not isinstance(approved, bool):
            raise BadRequestError('"approved" must be true or false.')
        note = body.get("note") or ""
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise BadRequestError(f'"note" must be text of at most {MAX_NOTE:,} characters.')
        runs = get_services().workflow_runs
        run_id = request.path_params["run_id"]
        run = await _in_state(lambda: runs.approve(user, run_id, approved, note))
        return JSONResponse(run.to_json(), status_code=202)

    return [
        route("/api/runs/{run_id}", read, ["GET"]),
        route("/api/runs/{run_id}/cancel", cancel, ["POST"]),
        route("/api/runs/{run_id}/approve", approve, ["POST"]),
    ]


async def _in_state(action: Callable[[], RunInfo]) -> RunInfo:
    """Run `action`; the run service refuses one the run's state does not allow with an
    `InvalidInputError` (already finished, not waiting), which is a conflict here."""
    try:
        return await run_in_threadpool(action)
    except InvalidInputError as exc:
        raise ConflictingStateError(str(exc)) from exc
