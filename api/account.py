"""`/api/me` for any signed-in caller, `/api/account/password` for the Account page's
form, and `/api/admin/*` for admins; each checks the caller."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import FORM_MISMATCH, FormTooLargeError, checked_form, redirect, with_session
from api.security import current_user, refuse
from services.auth.sign_ins import SESSION_COOKIE
from services.container import Services
from services.errors import AppError
from services.orm import User

NOT_SIGNED_IN = "Sign in or send an API token (Authorization: Bearer …)."
NOT_ALLOWED = "Not allowed: this needs the admin role."
SIGNED_OUT_ELSEWHERE = (
    "Password changed. Your other sessions were signed out; this one stays signed in."
)


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

    async def change_password(request: Request) -> Response:
        """Change the password, end every session, and give this browser a new one (a new
        session id in a re-set cookie), so only the other sessions are signed out."""
        services = get_services()
        try:
            form = await checked_form(request, services, "password")
        except FormTooLargeError:
            form = None
        if form is None:
            return redirect("/account", flash=services.flash.put(FORM_MISMATCH))
        token = request.cookies.get(SESSION_COOKIE)
        user_id = await run_in_threadpool(services.sign_ins.resolve, token)
        if user_id is None:
            return redirect("/signin")
        if form.get("new_password", "") != form.get("new_password_confirm", ""):
            message = "Repeat the new password: the two new passwords differ."
            return redirect("/account", flash=services.flash.put(message))
        try:
            await run_in_threadpool(
                services.accounts.change_password,
                user_id=user_id,
                current=form.get("current_password", ""),
                new=form.get("new_password", ""),
            )
        except AppError as exc:
            return redirect("/account", flash=services.flash.put(str(exc)))
        done = redirect("/account", flash=services.flash.put(SIGNED_OUT_ELSEWHERE, level="success"))
        return with_session(services, request, user_id, done)

    return [
        Route("/api/me", me, methods=["GET"]),
        Route("/api/account/password", change_password, methods=["POST"]),
        Route("/api/admin/users", admin_users, methods=["GET"]),
    ]
