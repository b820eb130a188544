"""`/api/me` for any signed-in caller and `/api/admin/*` for admins; each checks the role."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.security import current_user, refuse
from services.container import Services
from services.models import User

NOT_SIGNED_IN = "Sign in or send an API token (Authorization: Bearer …)."
NOT_ALLOWED = "Not allowed: this needs the admin role."


def _user_json(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "status": user.status,
        "created_at": user.created_at.isoformat(),
    }


def account_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def me(request: Request) -> Response:
        user = await run_in_threadpool(current_user, request, get_services())
        if user is None:
            return refuse(401, NOT_SIGNED_IN)
        return JSONResponse(_user_json(user))

    async def admin_users(request: Request) -> Response:
        services = get_services()
        user = await run_in_threadpool(current_user, request, services)
        if user is None:
            return refuse(401, NOT_SIGNED_IN)
        if not user.is_admin:
            return refuse(403, NOT_ALLOWED)
        users = await run_in_threadpool(services.accounts.list_users)
        return JSONResponse({"users": [_user_json(u) for u in users]})

    return [
        Route("/api/me", me, methods=["GET"]),
        Route("/api/admin/users", admin_users, methods=["GET"]),
    ]
