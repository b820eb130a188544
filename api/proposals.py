"""`POST /api/proposals/{id}/confirm` and `/cancel`: answer a change the assistant proposed.

The same rules as the chat page's change card (`services.airtable.changes`): confirming
applies it in batches (again: nothing more is written, `already_done`), records that changed
since it was proposed refuse it (422, nothing written); cancelling an applied change is a
conflict (409: undo it with `POST /api/changes/{id}/undo`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import ConflictingStateError, authenticated
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User


def proposal_routes(get_services: Callable[[], Services]) -> list[Route]:
    def route(path: str, handler: Any) -> Route:
        return Route(path, authenticated(get_services, handler), methods=["POST"])

    async def confirm(request: Request, user: User) -> Response:
        changes = get_services().airtable_changes
        proposal_id = request.path_params["proposal_id"]
        result = await run_in_threadpool(changes.apply, proposal_id, user.id)
        return JSONResponse(asdict(result))

    async def cancel(request: Request, user: User) -> Response:
        changes = get_services().airtable_changes
        proposal_id = request.path_params["proposal_id"]
        if await run_in_threadpool(changes.state, proposal_id, user.id) in {"applied", "undone"}:
            raise ConflictingStateError("This change was already applied; undo it instead.")
        try:
            await run_in_threadpool(changes.cancel, proposal_id, user.id)
        except InvalidInputError as exc:
            raise ConflictingStateError(str(exc)) from exc
        return JSONResponse({"proposal_id": proposal_id, "state": "cancelled"})

    return [
        route("/api/proposals/{proposal_id}/confirm", confirm),
        route("/api/proposals/{proposal_id}/cancel", cancel),
    ]
