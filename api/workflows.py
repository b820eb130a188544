"""`/api/workflows`: list, create, read, new version, delete, and start a run.

Bodies and answers are JSON. A definition is the JSON form of the YAML format in
PLATFORM.md, sent as the body itself or as `{"definition": {...}, "shared": bool,
"enabled": bool}`. Who may do what is the library's rule (visible: owner, shared, admin;
changed: owner). A definition it refuses answers 422 with the message naming the step and
field, and nothing is saved; a name the owner already uses answers 409.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.hooks import hook_json
from api.json_calls import (
    READS,
    BadRequestError,
    ConflictingStateError,
    authenticated,
    json_object,
)
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from services.workflows.types import WorkflowDefinitionError, WorkflowInfo


def workflow_routes(get_services: Callable[[], Services]) -> list[Route]:
    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(path, authenticated(get_services, handler), methods=methods)

    async def list_or_create(request: Request, user: User) -> Response:
        library = get_services().workflows
        if request.method in READS:
            found = await run_in_threadpool(library.list_for, user)
            return JSONResponse({"workflows": [_summary(w) for w in found]})
        body = await json_object(request)
        definition, shared, enabled = _parts(body)
        with _name_taken_is_conflict():
            created = await run_in_threadpool(
                lambda: library.create(user.id, definition or {}, shared=bool(shared))
            )
        if enabled:
            created = await run_in_threadpool(library.set_enabled, user, created.id, True)
        answer: dict[str, Any] = {
            "id": created.id,
            "name": created.name,
            "version": created.version,
        }
        if created.trigger == "webhook":
            # The hook and its secret: the secret is shown here once (or on rotation).
            hooks = get_services().inbound_hooks
            hook = await run_in_threadpool(lambda: hooks.ensure(created.id, reveal=True))
            if hook is not None:
                answer.update(hook_json(hook))
        return JSONResponse(answer, status_code=201)

    async def one(request: Request, user: User) -> Response:
        library = get_services().workflows
        workflow_id = request.path_params["workflow_id"]
        if request.method in READS:
            found = await run_in_threadpool(library.get, user, workflow_id)
            detail = _detail(found)
            if found.trigger == "webhook":
                hooks = get_services().inbound_hooks
                hook = await run_in_threadpool(hooks.hook_of, user, workflow_id)
                detail["hook_url"] = hook.url if hook is not None else None
            return JSONResponse(detail)
        if request.method == "DELETE":
            await run_in_threadpool(library.delete, user, workflow_id)
            return Response(status_code=204)
        definition, shared, enabled = _parts(await json_object(request), partial=True)
        if definition is not None:
            with _name_taken_is_conflict():
                await run_in_threadpool(library.update, user, workflow_id, definition)
        if shared is not None:
            await run_in_threadpool(library.share, user, workflow_id, shared)
        if enabled is not None:
            await run_in_threadpool(library.set_enabled, user, workflow_id, enabled)
        saved = await run_in_threadpool(library.get, user, workflow_id)
        return JSONResponse({"id": saved.id, "name": saved.name, "version": saved.version})

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


_WRAPPER_KEYS = {"definition", "shared", "enabled"}


def _parts(
    body: dict[str, Any], *, partial: bool = False
) -> tuple[dict[str, Any] | None, bool | None, bool | None]:
    """(definition, shared, enabled) from a bare definition or the wrapper form."""
    if not body:
        raise BadRequestError("Send the workflow definition as a JSON object.")
    if not set(body) <= _WRAPPER_KEYS:
        return body, None, None  # a bare definition
    definition = body.get("definition")
    if definition is not None and not isinstance(definition, dict):
        raise BadRequestError('"definition" must be a JSON object.')
    if definition is None and not partial:
        raise BadRequestError('Send the workflow definition (or {"definition": {...}}).')
    flags = []
    for key in ("shared", "enabled"):
        value = body.get(key)
        if value is not None and not isinstance(value, bool):
            raise BadRequestError(f'"{key}" must be true or false.')
        flags.append(value)
    return definition, flags[0], flags[1]


@contextmanager
def _name_taken_is_conflict() -> Iterator[None]:
    """Saving refuses a bad definition (422) or a name the owner already uses: the library
    says the latter with a plain `InvalidInputError`, which is a conflict (409)."""
    try:
        yield
    except WorkflowDefinitionError:
        raise
    except InvalidInputError as exc:
        raise ConflictingStateError(str(exc)) from exc


def _summary(info: WorkflowInfo) -> dict[str, Any]:
    data = info.to_json()
    data.pop("definition")
    return data


def _detail(info: WorkflowInfo) -> dict[str, Any]:
    """The workflow, its current definition, and what it may write (tables, http targets)."""
    return {**info.to_json(), "may_write": info.definition.may_write()}
