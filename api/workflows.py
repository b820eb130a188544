"""`/api/workflows`: list, create, read, new version, delete, and start a run.

Bodies and answers are JSON; a definition is the JSON form of the YAML format in
PLATFORM.md. Who may do what is the library's rule (owner, shared, admin); a definition it
refuses answers 422 with the message naming the step and field, and nothing is saved.
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


def workflow_routes(get_services: Callable[[], Services]) -> list[Route]:
    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(path, authenticated(get_services, handler), methods=methods)

    async def list_or_create(request: Request, user: User) -> Response:
        library = get_services().workflows
        if request.method == "GET":
            found = await run_in_threadpool(library.list_for, user)
            return JSONResponse({"workflows": [w.to_json() for w in found]})
        definition = _definition(await json_object(request))
        created = await run_in_threadpool(library.create, user.id, definition)
        return JSONResponse(_saved(created), status_code=201)

    async def one(request: Request, user: User) -> Response:
        library = get_services().workflows
        workflow_id = request.path_params["workflow_id"]
        if request.method == "GET":
            found = await run_in_threadpool(library.get, user, workflow_id)
            return JSONResponse(found.to_json())
        if request.method == "DELETE":
            await run_in_threadpool(library.delete, user, workflow_id)
            return Response(status_code=204)
        definition = _definition(await json_object(request))
        updated = await run_in_threadpool(library.update, user, workflow_id, definition)
        return JSONResponse(_saved(updated))

    async def start_run(request: Request, user: User) -> Response:
        body = await json_object(request)
        inputs = body.get("inputs", {})
        if not isinstance(inputs, dict):
            raise BadRequestError('"inputs" must be a JSON object of input names to values.')
        runs = get_services().workflow_runs
        workflow_id = request.path_params["workflow_id"]
        run = await run_in_threadpool(runs.start, user, workflow_id, inputs, "api")
        return JSONResponse({"run_id": run.id, "status": run.status}, status_code=202)

    return [
        route("/api/workflows", list_or_create, ["GET", "POST"]),
        route("/api/workflows/{workflow_id}", one, ["GET", "PUT", "DELETE"]),
        route("/api/workflows/{workflow_id}/runs", start_run, ["POST"]),
    ]


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    """The definition: the body itself, or its `definition` member when it wraps one."""
    inner = body.get("definition", body)
    if not isinstance(inner, dict) or not inner:
        raise BadRequestError("Send the workflow definition as a JSON object.")
    return inner


def _saved(info: Any) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "version": info.version}
