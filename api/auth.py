"""`/api/auth/*`: the routes that set and clear the HttpOnly session cookie.

Sign-in and registration are plain HTML form posts from the Streamlit pages, so the
cookie is set by a real HTTP response. Outcomes go back as a redirect; messages travel
as one-time flashes, never as text in the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.security import client_address, refuse, same_origin
from services.auth.accounts import MAX_DISPLAY_NAME, MAX_EMAIL, AccountExistsError, ExternalIdentity
from services.auth.sign_ins import SESSION_COOKIE
from services.container import Services
from services.errors import AppError

FORM_MISMATCH = "The form expired or came from another site. Please try again."
FORM_TOO_LARGE = "The form was too large. Please try again with shorter entries."
REGISTERED = (
    "Registration received: sign in with your email and password. If this email already "
    "had an account, sign in with that account's own password."
)
# Our forms are a few short fields; a larger body is refused before anything is parsed.
MAX_FORM_BYTES = 16_384


class FormTooLargeError(Exception):
    """A form body over `MAX_FORM_BYTES`, or one that is not URL-encoded."""


def redirect(path: str, **params: str) -> RedirectResponse:
    query = f"?{urlencode(params)}" if params else ""
    return RedirectResponse(f"{path}{query}", status_code=303)


async def read_form(request: Request) -> dict[str, str]:
    """The URL-encoded form of `request`, read no further than `MAX_FORM_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLargeError
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in {"application/x-www-form-urlencoded", ""}:
        raise FormTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLargeError
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def checked_form(request: Request, services: Services, purpose: str) -> dict[str, str] | None:
    """The form, when its form token is valid for `purpose` and it came from our own pages."""
    form = await read_form(request)
    token_ok = services.form_tokens.valid(purpose, form.get("form_token", ""))
    return form if token_ok and same_origin(request, services) else None


def with_session(
    services: Services, request: Request, user_id: int, response: RedirectResponse
) -> RedirectResponse:
    """`response` setting the HttpOnly cookie of a new session of `user_id`."""
    token = services.sign_ins.create(user_id)
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


def _signed_in(services: Services, request: Request, user_id: int) -> RedirectResponse:
    """Into the app with a new session; notices kept for the account are shown once."""
    notices = services.accounts.notices.take(user_id)
    params = {"flash": services.flash.put(" ".join(notices), level="info")} if notices else {}
    return with_session(services, request, user_id, redirect("/", **params))


def auth_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def _form(request: Request, purpose: str) -> dict[str, str] | None:
        return await checked_form(request, get_services(), purpose)

    async def login(request: Request) -> Response:
        services = get_services()
        try:
            form = await _form(request, "login")
        except FormTooLargeError:
            return redirect("/signin", flash=services.flash.put(FORM_TOO_LARGE))
        if form is None:
            return redirect("/signin", flash=services.flash.put(FORM_MISMATCH))
        email = form.get("email", "")[:MAX_EMAIL]
        try:
            user = await run_in_threadpool(
                services.accounts.authenticate,
                email=email,
                password=form.get("password", ""),
                address=client_address(request),
            )
        except AppError as exc:
            return redirect("/signin", flash=services.flash.put(str(exc), email=email))
        return _signed_in(services, request, user.id)

    async def register(request: Request) -> Response:
        """New email or not, the same answer: "sign in" (no session, so the registrant of
        someone else's email gets nothing); the owner is told on their next sign-in."""
        services = get_services()
        try:
            form = await _form(request, "register")
        except FormTooLargeError:
            return redirect("/register", flash=services.flash.put(FORM_TOO_LARGE))
        if form is None:
            return redirect("/register", flash=services.flash.put(FORM_MISMATCH))
        keep = {
            "email": form.get("email", "")[:MAX_EMAIL],
            "display_name": form.get("display_name", "")[:MAX_DISPLAY_NAME],
        }
        if not services.settings.allow_registration:
            return redirect("/register", flash=services.flash.put("Registration is closed."))
        if form.get("password", "") != form.get("password_confirm", ""):
            message = "Repeat the password: the two passwords differ."
            return redirect("/register", flash=services.flash.put(message, **keep))
        try:
            await run_in_threadpool(
                services.accounts.register,
                email=keep["email"],
                password=form.get("password", ""),
                display_name=keep["display_name"],
            )
        except AccountExistsError:
            pass
        except AppError as exc:
            return redirect("/register", flash=services.flash.put(str(exc), **keep))
        flash = services.flash.put(REGISTERED, level="success", email=keep["email"])
        return redirect("/signin", flash=flash)

    async def reset(request: Request) -> Response:
        """Set a new password through a one-time reset link, then sign in with it."""
        services = get_services()
        try:
            form = await _form(request, "reset")
        except FormTooLargeError:
            return redirect("/reset_password", flash=services.flash.put(FORM_TOO_LARGE))
        if form is None:
            return redirect("/reset_password", flash=services.flash.put(FORM_MISMATCH))
        token = form.get("token", "")[:200]
        if form.get("password", "") != form.get("password_confirm", ""):
            message = "Repeat the password: the two passwords differ."
            return redirect("/reset_password", token=token, flash=services.flash.put(message))
        try:
            email = await run_in_threadpool(
                services.password_resets.complete, token=token, password=form.get("password", "")
            )
        except AppError as exc:
            return redirect("/reset_password", token=token, flash=services.flash.put(str(exc)))
        done = "Password set: sign in with it."
        return redirect("/signin", flash=services.flash.put(done, level="success", email=email))

    async def logout(request: Request) -> Response:
        services = get_services()
        try:
            form = await _form(request, "logout")
        except FormTooLargeError:
            form = None
        if form is None:
            return refuse(403, FORM_MISMATCH)
        await run_in_threadpool(services.sign_ins.end, request.cookies.get(SESSION_COOKIE))
        response = redirect("/", signed_out="1")
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    async def oidc_complete(request: Request) -> Response:
        """Exchange the ticket the page issued after `st.login` for our session cookie."""
        services = get_services()
        try:
            form = await _form(request, "oidc")
        except FormTooLargeError:
            form = None
        user_id = services.sign_ins.redeem_ticket(form.get("ticket", "")) if form else None
        if user_id is None:
            return redirect("/signin", flash=services.flash.put(FORM_MISMATCH))
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
            return redirect("/signin", flash=services.flash.put(str(exc)))
        return _signed_in(services, request, user.id)

    return [
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/register", register, methods=["POST"]),
        Route("/api/auth/reset", reset, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
        Route("/api/auth/oidc/complete", oidc_complete, methods=["POST"]),
        Route("/api/auth/github/start", github_start, methods=["GET"]),
        Route(
            "/api/auth/github/callback", github_callback, methods=["GET"], name="github_callback"
        ),
    ]
