"""A local fake of GitHub's OAuth app web flow and user API, for sign-in tests.

Mirrors github.com at one base URL: `GET /login/oauth/authorize` (PKCE with S256 only),
`POST /login/oauth/access_token` (token errors are HTTP 200 with an `error` field; JSON when
the `Accept` header asks for it, form-encoded otherwise), and the REST API's `GET /user` and
`GET /user/emails`, which, like GitHub, needs the `user` or `user:email` scope and answers
404 without it. Authorization is approved at once as the user scripted with `set_user()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.fake_oauth import FakeOAuthServer, Grant, add_query, error_page

DOCS = "https://docs.github.com"
EMAIL_SCOPES = frozenset({"user", "user:email"})


@dataclass(frozen=True)
class GitHubEmail:
    """One entry of `GET /user/emails`."""

    email: str
    primary: bool = False
    verified: bool = True
    visibility: Literal["public", "private"] | None = None


@dataclass(frozen=True)
class GitHubUser:
    """The account the fake signs in as. `/user` shows its public email, or null."""

    id: int = 1
    login: str = "octocat"
    name: str | None = "The Octocat"
    emails: tuple[GitHubEmail, ...] = field(
        default=(GitHubEmail("octocat@example.com", primary=True, visibility="public"),)
    )

    def profile(self) -> dict[str, Any]:
        public = next((e.email for e in self.emails if e.visibility == "public"), None)
        return {
            "id": self.id,
            "login": self.login,
            "name": self.name,
            "email": public,
            "type": "User",
            "avatar_url": f"https://avatars.example.invalid/u/{self.id}",
            "html_url": f"https://github.example.invalid/{self.login}",
        }


class FakeGitHub(FakeOAuthServer[GitHubUser]):
    """GitHub's OAuth web flow and user API on 127.0.0.1, approving every authorization.

    Args:
        client_id: the OAuth app's client id.
        client_secret: its secret (form fields, as GitHub documents, or HTTP Basic).
        redirect_uris: exact callback URLs; None accepts any http loopback URL, as GitHub
            does for loopback callbacks.
        user: who signs in until `set_user()` says otherwise.
    """

    def __init__(
        self,
        *,
        client_id: str = "fake-github-client",
        client_secret: str = "fake-github-secret",
        redirect_uris: Sequence[str] | None = None,
        user: GitHubUser | None = None,
    ) -> None:
        routes = [
            Route("/login/oauth/authorize", self._authorize),
            Route("/login/oauth/access_token", self._access_token, methods=["POST"]),
            Route("/user", self._profile),
            Route("/user/emails", self._emails),
        ]
        super().__init__(
            routes,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=redirect_uris,
            user=user or GitHubUser(),
        )

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/login/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/login/oauth/access_token"

    @property
    def api_url(self) -> str:
        """The REST API base (api.github.com on the real service); no trailing slash."""
        return self.url

    def set_user(
        self,
        *,
        id: int,
        login: str,
        name: str | None = None,
        emails: Sequence[GitHubEmail] = (),
    ) -> None:
        """Sign in as this account from the next authorization on."""
        self._set_user(GitHubUser(id, login, name, tuple(emails)))

    async def _authorize(self, request: Request) -> Response:
        params = await self._read(request)
        if params.get("client_id") != self.client_id:
            return error_page(404, "Not Found")
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_uri_allowed(redirect_uri):
            return error_page(400, "redirect_uri_mismatch")
        state = {"state": params["state"]} if "state" in params else {}

        def back(**values: str) -> Response:
            return RedirectResponse(add_query(redirect_uri, values | state), 302)

        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if (challenge or method) and (not challenge or method != "S256"):
            return back(error="invalid_request", error_description="PKCE requires S256")
        if refusal := self._refusal():
            return back(error=refusal, error_description="The user has denied your application.")
        # GitHub takes scopes space- or comma-separated and reports them comma-separated.
        scope = ",".join(params.get("scope", "").replace(",", " ").split())
        grant = Grant(self.client_id, redirect_uri, scope, self.current_user, None, challenge)
        return back(code=self._issue_code(grant))

    async def _access_token(self, request: Request) -> Response:
        params = await self._read(request)
        as_json = "application/json" in request.headers.get("accept", "")
        if not self._client_authenticated(request, params):
            return _answer(as_json, _error("incorrect_client_credentials"))
        grant = self._redeem_code(params.get("code", ""))
        if grant is None or not grant.verifier_matches(params.get("code_verifier")):
            return _answer(as_json, _error("bad_verification_code"))
        if params.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return _answer(as_json, _error("redirect_uri_mismatch"))
        token = self._issue_token(grant, prefix="gho_")
        return _answer(
            as_json, {"access_token": token, "token_type": "bearer", "scope": grant.scope}
        )

    async def _profile(self, request: Request) -> Response:
        await self._read(request)
        grant = self._bearer_grant(request)
        if grant is None:
            return _api_error(401, "Bad credentials")
        return JSONResponse(grant.user.profile(), headers={"X-OAuth-Scopes": grant.scope})

    async def _emails(self, request: Request) -> Response:
        await self._read(request)
        grant = self._bearer_grant(request)
        if grant is None:
            return _api_error(401, "Bad credentials")
        if not EMAIL_SCOPES.intersection(grant.scope.split(",")):
            return _api_error(404, "Not Found")
        emails = [asdict(email) for email in grant.user.emails]
        return JSONResponse(emails, headers={"X-OAuth-Scopes": grant.scope})


_ERROR_DESCRIPTIONS = {
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "bad_verification_code": "The code passed is incorrect or expired.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL.",
}


def _error(error: str) -> dict[str, str]:
    return {
        "error": error,
        "error_description": _ERROR_DESCRIPTIONS[error],
        "error_uri": f"{DOCS}/apps/oauth-apps/maintaining-oauth-apps/"
        f"troubleshooting-oauth-app-access-token-request-errors/#{error.replace('_', '-')}",
    }


def _answer(as_json: bool, body: dict[str, str]) -> Response:
    """GitHub's token endpoint: always HTTP 200; JSON on request, else form-encoded."""
    if as_json:
        return JSONResponse(body)
    return Response(urlencode(body), media_type="application/x-www-form-urlencoded")


def _api_error(status_code: int, message: str) -> JSONResponse:
    body = {"message": message, "documentation_url": f"{DOCS}/rest", "status": str(status_code)}
    return JSONResponse(body, status_code)
