"""What any fake OAuth 2 server needs: one registered client, one-time codes bound to PKCE,
bearer tokens and a request log. `fake_oidc` and `fake_github` build on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

from tests.support.thread_server import ThreadedServer

UserT = TypeVar("UserT")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a fake saw it: query and body parameters merged, lower-case headers."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Grant(Generic[UserT]):
    """What an authorization code, and the access token it buys, stand for."""

    client_id: str
    redirect_uri: str
    scope: str
    user: UserT
    nonce: str | None = None
    code_challenge: str | None = None

    def verifier_matches(self, verifier: str | None) -> bool:
        """PKCE S256 (RFC 7636 §4.6); a code issued without a challenge needs no verifier."""
        if self.code_challenge is None:
            return True
        return verifier is not None and hmac.compare_digest(s256(verifier), self.code_challenge)


def s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def add_query(uri: str, params: dict[str, str]) -> str:
    """`uri` with `params` appended to its query string (existing parameters kept)."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query), *params.items()])))


def error_page(status_code: int, message: str) -> HTMLResponse:
    """What a provider shows the browser when it must not redirect (bad client or URI)."""
    return HTMLResponse(f"<h1>Error</h1><p>{escape(message)}</p>", status_code=status_code)


class FakeOAuthServer(ThreadedServer, Generic[UserT]):
    """A fake OAuth 2 server for one registered client, started on a free port at construction.

    With `redirect_uris=None` any http loopback URI is accepted, as Google and GitHub accept
    any port on a loopback redirect (RFC 8252 §7.3); otherwise URIs must match exactly.
    """

    def __init__(
        self,
        routes: Sequence[BaseRoute],
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: Sequence[str] | None,
        user: UserT,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._redirect_uris = None if redirect_uris is None else list(redirect_uris)
        self._initial_user = user
        self._lock = threading.Lock()  # handlers run on the server thread, tests on theirs
        self.reset()
        super().__init__(Starlette(routes=list(routes)))

    def reset(self) -> None:
        """Forget requests, codes, tokens and scripting; sign in as the constructor's user.

        For a fake shared by several tests (say, the one an app server was configured with);
        the client and its redirect URIs stay as they are.
        """
        with self._lock:
            self._next_user = self._initial_user
            self._authorization_error: str | None = None
            self._requests: list[RecordedRequest] = []
            self._codes: dict[str, Grant[UserT]] = {}
            self._tokens: dict[str, Grant[UserT]] = {}

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests whose path is `path`."""
        return [request for request in self.requests if request.path == path]

    @property
    def current_user(self) -> UserT:
        """Who the next authorization signs in as."""
        with self._lock:
            return self._next_user

    def allow_redirect_uri(self, uri: str) -> None:
        """Register one more exact redirect URI (ending the accept-any-loopback default)."""
        with self._lock:
            self._redirect_uris = [*(self._redirect_uris or []), uri]

    def redirect_uri_allowed(self, uri: str) -> bool:
        with self._lock:
            registered = self._redirect_uris
        if registered is not None:
            return uri in registered
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS

    def set_authorization_error(self, error: str | None) -> None:
        """Refuse authorizations with `error` (e.g. "access_denied"); None approves again."""
        with self._lock:
            self._authorization_error = error

    def _set_user(self, user: UserT) -> None:
        with self._lock:
            self._next_user = user

    async def _read(self, request: Request) -> dict[str, str]:
        """Record `request`; return its query and body (form or JSON object) parameters."""
        params = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body: Any = await request.json()
            except ValueError:  # malformed JSON reads as no parameters, like an empty form
                body = {}
            params.update({k: str(v) for k, v in body.items()} if isinstance(body, dict) else {})
        elif request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        recorded = RecordedRequest(request.method, request.url.path, params, dict(request.headers))
        with self._lock:
            self._requests.append(recorded)
        return params

    def _refusal(self) -> str | None:
        with self._lock:
            return self._authorization_error

    def _client_authenticated(self, request: Request, params: dict[str, str]) -> bool:
        """client_secret_basic (form-encoded id and secret, RFC 6749 §2.3.1) or _post."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client_id, client_secret = params.get("client_id", ""), params.get("client_secret", "")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded, validate=True).decode()
            except ValueError:
                return False
            client_id, _, client_secret = (unquote_plus(part) for part in decoded.partition(":"))
        return client_id == self.client_id and hmac.compare_digest(
            client_secret.encode(), self.client_secret.encode()
        )

    def _issue_code(self, grant: Grant[UserT]) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = grant
        return code

    def _redeem_code(self, code: str) -> Grant[UserT] | None:
        """The code's grant, once: any attempt uses the code up (RFC 6749 §4.1.2)."""
        with self._lock:
            return self._codes.pop(code, None)

    def _issue_token(self, grant: Grant[UserT], prefix: str = "") -> str:
        token = prefix + secrets.token_urlsafe(30)
        with self._lock:
            self._tokens[token] = grant
        return token

    def _bearer_grant(self, request: Request) -> Grant[UserT] | None:
        """The grant behind `Authorization: Bearer <token>` (GitHub also takes `token`)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in {"bearer", "token"}:
            return None
        with self._lock:
            return self._tokens.get(token.strip())
