"""`/api/auth/*`: the routes that set and clear the HttpOnly session cookie.

Sign-in and registration are plain HTML form posts from the Streamlit pages, so the
cookie is set by a real HTTP response. Outcomes go back as a redirect; messages travel
as one-time flashes, never as text in the URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.security import client_address, refuse, same_origin
from services.auth.accounts import ExternalIdentity
from services.auth.sessions import SESSION_COOKIE
from services.container import Services
from services.errors import AppError

Handler = Callable[[Request], Awaitable[Response]]
FORM_MISMATCH = "The form expired or came from another site. Please try again."


def _redirect(path: str, **params: str) -> RedirectResponse:
    query = f"?{urlencode(params)}" if params else ""
    return RedirectResponse(f"{path}{query}", status_code=303)


def _signed_in(services: Services, request: Request, user_id: int) -> RedirectResponse:
    token = services.session_store.create(user_id)
    response = _redirect("/")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=services.settings.session_ttl_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=services.settings.cookie_secure or request.url.scheme == "https",
    )
    return response


def auth_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def _form(request: Request, purpose: str) -> dict[str, str] | None:
        services = get_services()
        form = {k: str(v) for k, v in (await request.form()).items()}
        token_ok = services.form_tokens.valid(purpose, form.get("form_token", ""))
        return form if token_ok and same_origin(request, services) else None

    async def login(request: Request) -> Response:
        services = get_services()
        form = await _form(request, "login")
        if form is None:
            return _redirect("/signin", flash=services.flash.put(FORM_MISMATCH))
        email = form.get("email", "")
        try:
            user = await run_in_threadpool(
                services.accounts.authenticate,
                email=email,
                password=form.get("password", ""),
                address=client_address(request),
            )
        except AppError as exc:
            return _redirect("/signin", flash=services.flash.put(str(exc), email=email))
        return _signed_in(services, request, user.id)

    async def register(request: Request) -> Response:
        services = get_services()
        form = await _form(request, "register")
        if form is None:
            return _redirect("/register", flash=services.flash.put(FORM_MISMATCH))
        keep = {"email": form.get("email", ""), "display_name": form.get("display_name", "")}
        if not services.settings.allow_registration:
            return _redirect("/register", flash=services.flash.put("Registration is closed."))
        if form.get("password", "") != form.get("password_confirm", ""):
            message = "The two passwords differ."
            return _redirect("/register", flash=services.flash.put(message, **keep))
        try:
            user = await run_in_threadpool(
                services.accounts.register,
                email=keep["email"],
                password=form.get("password", ""),
                display_name=keep["display_name"],
            )
        except AppError as exc:
            return _redirect("/register", flash=services.flash.put(str(exc), **keep))
        return _signed_in(services, request, user.id)

    async def logout(request: Request) -> Response:
        services = get_services()
        if await _form(request, "logout") is None:
            return refuse(403, FORM_MISMATCH)
        await run_in_threadpool(services.session_store.end, request.cookies.get(SESSION_COOKIE))
        response = _redirect("/", signed_out="1")
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    async def oidc_complete(request: Request) -> Response:
        """Exchange the ticket the page issued after `st.login` for our session cookie."""
        services = get_services()
        form = await _form(request, "oidc")
        user_id = services.session_store.redeem_ticket(form.get("ticket", "")) if form else None
        if user_id is None:
            return _redirect("/signin", flash=services.flash.put(FORM_MISMATCH))
        return _signed_in(services, request, user_id)

    async def github_start(request: Request) -> Response:
        services = get_services()
        if services.github is None:
            return refuse(404, "GitHub sign-in is not configured.")
        callback = str(request.url_for("github_callback"))
        url = await run_in_threadpool(services.github.start, callback)
        return RedirectResponse(url, status_code=302)

    async def github_callback(request: Request) -> Response:
        services = get_services()
        github = services.github
        if github is None:
            return refuse(404, "GitHub sign-in is not configured.")
        params = request.query_params
        try:
            identity: ExternalIdentity = await run_in_threadpool(
                github.finish, state=params.get("state", ""), code=params.get("code", "")
            )
            user = await run_in_threadpool(services.accounts.sign_in_external, identity)
        except AppError as exc:
            return _redirect("/signin", flash=services.flash.put(str(exc)))
        return _signed_in(services, request, user.id)

    return [
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/register", register, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
        Route("/api/auth/oidc/complete", oidc_complete, methods=["POST"]),
        Route("/api/auth/github/start", github_start, methods=["GET"]),
        Route(
            "/api/auth/github/callback", github_callback, methods=["GET"], name="github_callback"
        ),
    ]
