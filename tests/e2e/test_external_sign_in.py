"""OIDC through `st.login` and GitHub through authlib, against local fake providers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.container import Services, build_services
from services.orm import Role
from tests.support.accounts import make_user
from tests.support.appserver import AppServer, run_app_server
from tests.support.fake_github import FakeGitHub, GitHubEmail
from tests.support.fake_oidc import FakeOIDCProvider

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[FakeOIDCProvider, FakeGitHub]]:
    with FakeOIDCProvider() as oidc, FakeGitHub() as github:
        yield oidc, github


@pytest.fixture(scope="module")
def sso_app(
    providers: tuple[FakeOIDCProvider, FakeGitHub],
    sql_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, Services]]:
    oidc, github = providers
    var_dir = tmp_path_factory.mktemp("sso")
    env = {
        "DATABASE_URL": sql_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"sso{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(var_dir),
        "OIDC_CLIENT_ID": oidc.client_id,
        "OIDC_CLIENT_SECRET": oidc.client_secret,
        "OIDC_SERVER_METADATA_URL": oidc.metadata_url,
        "OIDC_PROVIDER_LABEL": "Google",
        "GITHUB_CLIENT_ID": github.client_id,
        "GITHUB_CLIENT_SECRET": github.client_secret,
        "GITHUB_AUTHORIZE_URL": github.authorize_url,
        "GITHUB_TOKEN_URL": github.token_url,
        "GITHUB_API_URL": github.api_url,
    }
    with run_app_server(env, var_dir / "server.log") as server:
        services = build_services(server.settings())
        yield server, services
        services.close()


def test_oidc__signs_in_links_by_verified_email_and_ends_the_provider_session(
    providers: tuple[FakeOIDCProvider, FakeGitHub],
    sso_app: tuple[AppServer, Services],
    page: Page,
) -> None:
    oidc, _ = providers
    server, services = sso_app
    oidc.reset()
    existing = make_user(services, role=Role.MEMBER, name="Oidc")
    oidc.set_user(sub=f"sub-{uuid.uuid4().hex[:6]}", email=existing.email, name="Oidc Person")

    page.goto(f"{server.url}/signin")
    page.get_by_role("button", name="Sign in with Google").click()
    expect(page.get_by_text(f"as {existing.email}")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Signed in as {existing.email}")).to_be_visible()
    assert oidc.requests_to("/token")

    page.get_by_role("button", name="Sign out").click()
    # st.logout() sends the browser to the provider, which sends it back to our sign-in.
    for _ in range(100):
        if oidc.end_session_calls:
            break
        page.wait_for_timeout(100)
    assert oidc.end_session_calls
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert len(oidc.end_session_calls) == 1


def test_oidc__a_new_verified_email_becomes_a_member(
    providers: tuple[FakeOIDCProvider, FakeGitHub],
    sso_app: tuple[AppServer, Services],
    page: Page,
) -> None:
    oidc, _ = providers
    server, services = sso_app
    oidc.reset()
    email = f"fresh-{uuid.uuid4().hex[:6]}@example.com"
    make_user(services)  # the install already has its admin
    oidc.set_user(sub=f"sub-{uuid.uuid4().hex[:6]}", email=email)
    page.goto(f"{server.url}/signin")
    page.get_by_role("button", name="Sign in with Google").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    user = next(u for u in services.accounts.list_users() if u.email == email)
    assert user.role == "member"


def test_github__signs_in_with_the_verified_primary_email(
    providers: tuple[FakeOIDCProvider, FakeGitHub],
    sso_app: tuple[AppServer, Services],
    page: Page,
) -> None:
    _, github = providers
    server, _ = sso_app
    github.reset()
    email = f"octo-{uuid.uuid4().hex[:6]}@example.com"
    github.set_user(
        id=int(uuid.uuid4().int % 10**8),
        login="octo",
        name="Octo Cat",
        emails=[
            GitHubEmail("old@example.com", primary=False, verified=True),
            GitHubEmail(email, primary=True, verified=True),
        ],
    )
    page.goto(f"{server.url}/signin")
    page.get_by_role("link", name="Sign in with GitHub").click()  # same tab
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    [exchange] = github.requests_to("/login/oauth/access_token")
    assert exchange.params.get("code_verifier")


def test_github__a_replayed_callback_is_refused(
    sso_app: tuple[AppServer, Services], page: Page
) -> None:
    server, _ = sso_app
    page.goto(f"{server.url}/api/auth/github/callback?state=forged&code=abc")
    expect(page.get_by_text("expired or was not started here")).to_be_visible()


def test_settings__secrets_never_reach_the_page(
    sso_app: tuple[AppServer, Services], page: Page, tmp_path: Path
) -> None:
    server, _ = sso_app
    page.goto(f"{server.url}/signin")
    expect(page.get_by_role("button", name="Sign in with Google")).to_be_visible()
    assert server.env["OIDC_CLIENT_SECRET"] not in page.content()
    assert server.env["GITHUB_CLIENT_SECRET"] not in server.log()
