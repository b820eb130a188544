"""`POST /api/changes/{id}/undo`: undo an applied change (its id is the proposal's).

Body (optional): `{"force": true}` undoes even where records were edited after the change.
Without it, such edits refuse the undo with 409 naming the records and fields, and nothing
is written (the chat page's "Undo anyway" is `force`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import BadRequestError, ConflictingStateError, authenticated, json_object
from services.airtable.change_sets import UndoConflictError
from services.container import Services
from services.orm import User


def change_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def undo(request: Request, user: User) -> Response:
        body = await json_object(request)
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise BadRequestError('"force" must be true or false.')
        changes = get_services().airtable_changes
        change_id = request.path_params["change_id"]
        try:
            result = await run_in_threadpool(lambda: changes.undo(change_id, user.id, force=force))
        except UndoConflictError as exc:
            raise ConflictingStateError(str(exc)) from exc
        return JSONResponse(asdict(result))

    return [
        Route(
            "/api/changes/{change_id}/undo",
            authenticated(get_services, undo),
            methods=["POST"],
        )
    ]
