"""The fake identity providers, driven by the real clients the app uses (Authlib, requests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.starlette_client import OAuth
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from streamlit.auth_util import build_logout_url

from tests.support.fake_github import FakeGitHub, GitHubEmail
from tests.support.fake_oidc import FakeOIDCProvider
from tests.support.thread_server import ThreadedServer

CLIENT_ID = "assistant-test"
CLIENT_SECRET = "assistant-test-secret"
REDIRECT_URI = "http://127.0.0.1:8501/oauth2callback"
TIMEOUT = 5


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[FakeOIDCProvider]:
    with FakeOIDCProvider(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT_URI]
    ) as provider:
        yield provider


@pytest.fixture(scope="module")
def github_server() -> Iterator[FakeGitHub]:
    with FakeGitHub(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT_URI]
    ) as fake:
        yield fake


@pytest.fixture
def oidc(oidc_server: FakeOIDCProvider) -> FakeOIDCProvider:
    oidc_server.reset()
    return oidc_server


@pytest.fixture
def github(github_server: FakeGitHub) -> FakeGitHub:
    github_server.reset()
    return github_server


def oauth_session(scope: str, **options: Any) -> OAuth2Session:
    return OAuth2Session(
        CLIENT_ID, CLIENT_SECRET, scope=scope, redirect_uri=REDIRECT_URI,
        code_challenge_method="S256", **options,
    )  # fmt: skip


def approve(session: OAuth2Session, authorize_url: str, verifier: str, **extra: str) -> str:
    """Open the authorization URL like a browser would; return the callback URL it sends to."""
    url, state = session.create_authorization_url(authorize_url, code_verifier=verifier, **extra)
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    callback = response.headers["location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    assert query(callback)["state"] == state
    return callback


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def sign_in(oidc: FakeOIDCProvider, **session_options: Any) -> tuple[dict[str, Any], str]:
    """A full code + PKCE flow; returns the token response and the nonce sent."""
    metadata = requests.get(oidc.metadata_url, timeout=TIMEOUT).json()
    verifier, nonce = generate_token(48), generate_token(20)
    with oauth_session("openid email profile", **session_options) as session:
        callback = approve(session, metadata["authorization_endpoint"], verifier, nonce=nonce)
        token = session.fetch_token(
            metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
    return dict(token), nonce


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_oidc_code_flow__issues_id_token_that_verifies_against_jwks(
    oidc: FakeOIDCProvider, auth_method: str
) -> None:
    oidc.set_user(sub="user-42", email="grace@example.com", name="Grace Hopper")

    token, nonce = sign_in(oidc, token_endpoint_auth_method=auth_method)

    jwks = requests.get(f"{oidc.url}/jwks", timeout=TIMEOUT).json()
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["kid"] == jwks["keys"][0]["kid"]
    claims = CodeIDToken(
        decoded.claims, decoded.header, {"iss": {"values": [oidc.issuer]}},
        {"nonce": nonce, "client_id": CLIENT_ID, "access_token": token["access_token"]},
    )  # fmt: skip
    claims.validate()
    assert claims["aud"] == CLIENT_ID
    assert (claims["sub"], claims["email"], claims["email_verified"], claims["name"]) == (
        "user-42", "grace@example.com", True, "Grace Hopper",
    )  # fmt: skip
    assert token["token_type"] == "Bearer"
    authorize = oidc.requests_to("/authorize")[0].params
    assert authorize["code_challenge_method"] == "S256"
    assert authorize["nonce"] == nonce
    assert "code_verifier" in oidc.requests_to("/token")[0].params


def test_oidc_userinfo__answers_the_access_token_and_refuses_others(
    oidc: FakeOIDCProvider,
) -> None:
    token, _ = sign_in(oidc)

    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    answered = requests.get(f"{oidc.url}/userinfo", headers=bearer, timeout=TIMEOUT)
    refused = requests.get(
        f"{oidc.url}/userinfo", headers={"Authorization": "Bearer nope"}, timeout=TIMEOUT
    )

    assert answered.json()["email"] == "ada@example.com"
    assert refused.status_code == 401


def test_oidc_discovery__advertises_what_st_login_needs(oidc: FakeOIDCProvider) -> None:
    metadata = httpx.get(oidc.metadata_url).json()

    assert metadata["issuer"] == oidc.url
    assert metadata["end_session_endpoint"] == f"{oidc.url}/end_session"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]


def test_oidc_flow__completes_with_authlibs_starlette_client_as_st_login_drives_it(
    oidc: FakeOIDCProvider,
) -> None:
    """Streamlit's /auth/login and /oauth2callback, reduced to the Authlib calls they make."""
    oauth = OAuth()
    client = oauth.register(
        "fake", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        server_metadata_url=oidc.metadata_url,
        client_kwargs={"scope": "openid email profile", "prompt": "select_account",
                       "code_challenge_method": "S256"},
    )  # fmt: skip

    async def login(request: Request) -> Response:
        response: Response = await client.authorize_redirect(request, REDIRECT_URI)
        return response

    async def callback(request: Request) -> Response:
        token = await client.authorize_access_token(request)
        return JSONResponse(dict(token["userinfo"]))

    app = Starlette(
        routes=[Route("/login", login), Route("/oauth2callback", callback)],
        middleware=[Middleware(SessionMiddleware, secret_key="test-session-secret")],
    )
    with ThreadedServer(app) as relying_party, httpx.Client(base_url=relying_party.url) as web:
        to_provider = web.get("/login").headers["location"]
        to_app = httpx.get(to_provider).headers["location"]
        userinfo = web.get(f"/oauth2callback?{urlsplit(to_app).query}").json()

    assert userinfo["email"] == "ada@example.com"
    assert userinfo["iss"] == oidc.issuer
    assert oidc.requests_to("/authorize")[0].params["code_challenge_method"] == "S256"
    assert oidc.requests_to("/token")[0].headers["authorization"].startswith("Basic ")


def test_oidc_end_session__redirects_to_post_logout_uri_and_records_the_call(
    oidc: FakeOIDCProvider,
) -> None:
    token, _ = sign_in(oidc)
    logout_url = build_logout_url(  # exactly what st.logout() redirects the browser to
        end_session_endpoint=oidc.metadata["end_session_endpoint"], client_id=CLIENT_ID,
        post_logout_redirect_uri=REDIRECT_URI, id_token=token["id_token"],
    )  # fmt: skip

    response = requests.get(logout_url, allow_redirects=False, timeout=TIMEOUT)

    assert response.status_code == 302
    assert response.headers["location"] == REDIRECT_URI
    assert oidc.end_session_calls == [
        {"client_id": CLIENT_ID, "post_logout_redirect_uri": REDIRECT_URI,
         "id_token_hint": token["id_token"]},
    ]  # fmt: skip


def test_oidc_end_session__without_redirect_shows_signed_out_and_refuses_forged_hint(
    oidc: FakeOIDCProvider,
) -> None:
    page = requests.get(f"{oidc.url}/end_session", timeout=TIMEOUT)
    forged = requests.get(
        f"{oidc.url}/end_session", params={"id_token_hint": "a.b.c"}, timeout=TIMEOUT
    )

    assert page.status_code == 200
    assert "Signed out" in page.text
    assert forged.status_code == 400
    assert len(oidc.end_session_calls) == 1


def test_oidc_authorize__refuses_unknown_client_and_unregistered_redirect_without_redirecting(
    oidc: FakeOIDCProvider,
) -> None:
    base = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI}
    unknown_client = base | {"client_id": "someone-else"}
    elsewhere = base | {"redirect_uri": "https://attacker.example/cb"}

    for params in (unknown_client, elsewhere):
        response = requests.get(
            f"{oidc.url}/authorize", params=params, allow_redirects=False, timeout=TIMEOUT
        )
        assert response.status_code == 400


def test_oidc_authorize__scripted_refusal_comes_back_as_error_with_state(
    oidc: FakeOIDCProvider,
) -> None:
    oidc.set_authorization_error("access_denied")
    with oauth_session("openid") as session:
        url, state = session.create_authorization_url(f"{oidc.url}/authorize")

    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)

    assert query(response.headers["location"]) == {"error": "access_denied", "state": state}


def test_github_flow__pkce_token_then_user_and_emails(github: FakeGitHub) -> None:
    github.set_user(
        id=583231, login="hopper", name="Grace Hopper",
        emails=[GitHubEmail("grace@example.com", primary=True, verified=True),
                GitHubEmail("old@example.com", verified=False, visibility="public")],
    )  # fmt: skip
    verifier = generate_token(48)

    with oauth_session("read:user user:email") as session:
        callback = approve(session, github.authorize_url, verifier)
        token = session.fetch_token(
            github.token_url, authorization_response=callback, code_verifier=verifier
        )
        user = session.get(f"{github.api_url}/user", timeout=TIMEOUT).json()
        emails = session.get(f"{github.api_url}/user/emails", timeout=TIMEOUT).json()

    assert token["access_token"].startswith("gho_")
    assert (token["token_type"], token["scope"]) == ("bearer", "read:user,user:email")
    assert (user["id"], user["login"], user["name"], user["email"]) == (
        583231, "hopper", "Grace Hopper", "old@example.com",
    )  # fmt: skip
    assert emails == [
        {"email": "grace@example.com", "primary": True, "verified": True, "visibility": None},
        {"email": "old@example.com", "primary": False, "verified": False, "visibility": "public"},
    ]
    authorize = github.requests_to("/login/oauth/authorize")[0].params
    assert authorize["code_challenge_method"] == "S256"


def test_github_access_token__answers_form_encoded_unless_json_is_accepted(
    github: FakeGitHub,
) -> None:
    with oauth_session("read:user") as session:
        callback = approve(session, github.authorize_url, verifier := generate_token(48))
    form = {
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "code": query(callback)["code"], "code_verifier": verifier,
    }  # fmt: skip

    response = requests.post(github.token_url, data=form, timeout=TIMEOUT)
    token = query(f"?{response.text}")
    no_email_scope = requests.get(
        f"{github.api_url}/user/emails",
        headers={"Authorization": f"token {token['access_token']}"},
        timeout=TIMEOUT,
    )

    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert token["token_type"] == "bearer"
    assert no_email_scope.status_code == 404


def test_github_user__refuses_unknown_token_like_github(github: FakeGitHub) -> None:
    response = requests.get(
        f"{github.api_url}/user", headers={"Authorization": "Bearer nope"}, timeout=TIMEOUT
    )

    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


REFUSALS = {
    "wrong_client_secret": ("invalid_client", "incorrect_client_credentials"),
    "wrong_verifier": ("invalid_grant", "bad_verification_code"),
    "reused_code": ("invalid_grant", "bad_verification_code"),
}


@pytest.mark.parametrize("provider", ["oidc", "github"])
@pytest.mark.parametrize("mistake", list(REFUSALS))
def test_token_endpoint__refuses(
    request: pytest.FixtureRequest, provider: str, mistake: str
) -> None:
    fake: FakeOIDCProvider | FakeGitHub = request.getfixturevalue(provider)
    authorize_url, token_url = (
        (f"{fake.url}/authorize", f"{fake.url}/token")
        if isinstance(fake, FakeOIDCProvider)
        else (fake.authorize_url, fake.token_url)
    )
    verifier = generate_token(48)
    with oauth_session("openid") as session:
        callback = approve(session, authorize_url, verifier)
        if mistake == "wrong_client_secret":
            session.client_secret = "not-the-secret"
        if mistake == "reused_code":
            session.fetch_token(token_url, authorization_response=callback, code_verifier=verifier)
        sent_verifier = generate_token(48) if mistake == "wrong_verifier" else verifier

        with pytest.raises(OAuthError) as refused:
            session.fetch_token(
                token_url, authorization_response=callback, code_verifier=sent_verifier
            )

    oidc_error, github_error = REFUSALS[mistake]
    assert refused.value.error == (oidc_error if provider == "oidc" else github_error)
