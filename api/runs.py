"""`/api/runs/{run_id}`: read a run, cancel it (it compensates), answer its approval step.

A run is visible to whoever started it, the workflow's owner and admins (the run store's
rule); its shape is PLATFORM.md's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import BadRequestError, authenticated, json_object
from services.container import Services
from services.orm import User

MAX_NOTE = 2_000


def run_routes(get_services: Callable[[], Services]) -> list[Route]:
    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(path, authenticated(get_services, handler), methods=methods)

    async def read(request: Request, user: User) -> Response:
        runs = get_services().workflow_runs
        run = await run_in_threadpool(runs.get, user, request.path_params["run_id"])
        return JSONResponse(run.to_json())

    async def cancel(request: Request, user: User) -> Response:
        runs = get_services().workflow_runs
        run = await run_in_threadpool(runs.cancel, user, request.path_params["run_id"])
        return JSONResponse({"run_id": run.id, "status": run.status}, status_code=202)

    async def approve(request: Request, user: User) -> Response:
        body = await json_object(request)
        approved = body.get("approved")
        if not isinstance(approved, bool):
            raise BadRequestError('"approved" must be true or false.')
        note = body.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise BadRequestError(f'"note" must be text of at most {MAX_NOTE:,} characters.')
        runs = get_services().workflow_runs
        run = await run_in_threadpool(
            runs.approve, user, request.path_params["run_id"], approved, note
        )
        return JSONResponse({"run_id": run.id, "status": run.status}, status_code=202)

    return [
        route("/api/runs/{run_id}", read, ["GET"]),
        route("/api/runs/{run_id}/cancel", cancel, ["POST"]),
        route("/api/runs/{run_id}/approve", approve, ["POST"]),
    ]
