"""A local OpenID Connect provider for tests: a real HTTP server that `st.login()` signs in to.

`FakeOIDCProvider` implements the authorization-code flow the way Google, Microsoft or Auth0
do for a confidential web client (OpenID Connect Core 1.0, RFC 6749, PKCE per RFC 7636,
RP-initiated logout): discovery, authorize, a token endpoint issuing RS256 ID tokens, JWKS,
userinfo and end-session. There is no login page: the authorize endpoint approves at once
as the user the test scripted with `set_user()`.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.fake_oauth import FakeOAuthServer, Grant, add_query, error_page


@dataclass(frozen=True)
class OIDCUser:
    """The identity the provider signs in as; its fields are the ID token's user claims."""

    sub: str = "fake-user-1"
    email: str = "ada@example.com"
    email_verified: bool = True
    name: str = "Ada Lovelace"


class FakeOIDCProvider(FakeOAuthServer[OIDCUser]):
    """An OpenID Connect provider on 127.0.0.1 that approves every authorization at once.

    Args:
        client_id: the registered client's id.
        client_secret: its secret, sent by client_secret_basic or client_secret_post.
        redirect_uris: exact redirect (and post-logout) URIs; None accepts any http loopback URI.
        user: who signs in until `set_user()` says otherwise.
        token_lifetime: seconds until access and ID tokens expire.
    """

    def __init__(
        self,
        *,
        client_id: str = "fake-oidc-client",
        client_secret: str = "fake-oidc-secret",
        redirect_uris: Sequence[str] | None = None,
        user: OIDCUser | None = None,
        token_lifetime: int = 3600,
    ) -> None:
        self.token_lifetime = token_lifetime
        self._key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
        self._key.ensure_kid()
        routes = [
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
            Route("/jwks", self._jwks),
            Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
            Route("/end_session", self._end_session, methods=["GET", "POST"]),
        ]
        super().__init__(
            routes,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=redirect_uris,
            user=user or OIDCUser(),
        )

    def reset(self) -> None:
        """As `FakeOAuthServer.reset`, and forget end-session calls; the signing key stays."""
        super().reset()
        with self._lock:
            self._end_session_calls: list[dict[str, str]] = []

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def metadata_url(self) -> str:
        """What `[auth] server_metadata_url` should say."""
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def metadata(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0 §3)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "end_session_endpoint": f"{self.url}/end_session",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["iss", "aud", "sub", "email", "email_verified", "name"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    @property
    def jwks(self) -> dict[str, Any]:
        """The public signing key as a JWK Set."""
        return {"keys": [self._key.as_dict(private=False)]}

    @property
    def end_session_calls(self) -> list[dict[str, str]]:
        """Parameters of every accepted end-session (logout) request, oldest first."""
        with self._lock:
            return list(self._end_session_calls)

    def set_user(
        self, *, sub: str, email: str, email_verified: bool = True, name: str = "Test User"
    ) -> None:
        """Sign in as this identity from the next authorization on."""
        self._set_user(OIDCUser(sub, email, email_verified, name))

    async def _discovery(self, request: Request) -> Response:
        await self._read(request)
        return JSONResponse(self.metadata)

    async def _jwks(self, request: Request) -> Response:
        await self._read(request)
        return JSONResponse(self.jwks)

    async def _authorize(self, request: Request) -> Response:
        params = await self._read(request)
        redirect_uri = params.get("redirect_uri", "")
        # Never redirect for an unknown client or URI: that makes an open redirector (§4.1.2.1).
        if params.get("client_id") != self.client_id:
            return error_page(400, "unknown client_id")
        if not self.redirect_uri_allowed(redirect_uri):
            return error_page(400, "redirect_uri is not registered for this client")
        state = {"state": params["state"]} if "state" in params else {}

        def back(**values: str) -> Response:
            return RedirectResponse(add_query(redirect_uri, values | state), 302)

        challenge = params.get("code_challenge")
        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if challenge and params.get("code_challenge_method", "plain") != "S256":
            return back(error="invalid_request", error_description="only S256 is supported")
        if refusal := self._refusal():
            return back(error=refusal)
        scope, nonce = params.get("scope", ""), params.get("nonce")
        grant = Grant(self.client_id, redirect_uri, scope, self.current_user, nonce, challenge)
        return back(code=self._issue_code(grant))

    async def _token(self, request: Request) -> Response:
        params = await self._read(request)
        if not self._client_authenticated(request, params):
            basic = {"WWW-Authenticate": 'Basic realm="token"'}
            return _token_error("invalid_client", "client authentication failed", 401, basic)
        if params.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type", "only authorization_code is supported")
        grant = self._redeem_code(params.get("code", ""))
        if grant is None:
            return _token_error("invalid_grant", "code is unknown or was already used")
        if params.get("redirect_uri") != grant.redirect_uri:
            return _token_error("invalid_grant", "redirect_uri differs from the authorization's")
        if not grant.verifier_matches(params.get("code_verifier")):
            return _token_error("invalid_grant", "PKCE code_verifier does not match")
        access_token = self._issue_token(grant)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": grant.scope,
        }
        if "openid" in grant.scope.split():
            body["id_token"] = self._id_token(grant, access_token)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def _id_token(self, grant: Grant[OIDCUser], access_token: str) -> str:
        now = int(time.time())
        at_hash = hashlib.sha256(access_token.encode("ascii")).digest()[:16]
        claims = asdict(grant.user) | {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + self.token_lifetime,
            "at_hash": base64.urlsafe_b64encode(at_hash).rstrip(b"=").decode("ascii"),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        return jwt.encode({"alg": "RS256", "kid": self._key.kid}, claims, self._key)

    async def _userinfo(self, request: Request) -> Response:
        await self._read(request)
        grant = self._bearer_grant(request)
        if grant is None:
            invalid = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return Response(status_code=401, headers=invalid)
        return JSONResponse(asdict(grant.user))

    async def _end_session(self, request: Request) -> Response:
        params = await self._read(request)
        post_logout = params.get("post_logout_redirect_uri")
        if post_logout is not None and not self.redirect_uri_allowed(post_logout):
            return error_page(400, "post_logout_redirect_uri is not registered")
        if params.get("client_id", self.client_id) != self.client_id:
            return error_page(400, "unknown client_id")
        try:
            if "id_token_hint" in params:
                jwt.decode(params["id_token_hint"], self._key, algorithms=["RS256"])
        except (JoseError, ValueError):
            return error_page(400, "id_token_hint was not issued by this provider")
        with self._lock:
            self._end_session_calls.append(params)
        if post_logout is None:
            return HTMLResponse("<h1>Signed out</h1><p>You have been signed out.</p>")
        state = {"state": params["state"]} if "state" in params else {}
        return RedirectResponse(add_query(post_logout, state), 302)


def _token_error(
    error: str, description: str, status_code: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A token endpoint error response (RFC 6749 §5.2)."""
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code, headers={"Cache-Control": "no-store", **(headers or {})})
