"""The Account page in Chromium: Airtable token and API tokens, secrets never shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from services.container import Services
from tests.conftest import USER_PAT
from tests.support.accounts import PASSWORD, make_user, sign_in
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def test_airtable_token__is_validated_and_only_its_last_four_are_shown(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    user = make_user(app_services)
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/account")
    page.get_by_label("Personal access token").fill(USER_PAT)
    page.get_by_role("button", name="Validate and save").click()
    connected = re.compile(rf"Connected …{USER_PAT[-4:]}: \d+ bases visible\.")
    expect(page.get_by_text(connected)).to_be_visible()
    # The description above the form is already the new connection, with Disconnect.
    expect(page.get_by_text(f"Your personal access token …{USER_PAT[-4:]}")).to_be_visible()
    expect(page.get_by_role("button", name="Disconnect my token")).to_be_visible()
    page.reload()
    expect(page.get_by_text(f"Your personal access token …{USER_PAT[-4:]}")).to_be_visible()
    secret_part = USER_PAT.split(".")[1]
    assert secret_part not in page.content()
    assert secret_part not in app_server.log()


def test_airtable_token__a_rejected_token_changes_nothing(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    user = make_user(app_services)
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/account")
    page.get_by_label("Personal access token").fill("patNOTVALID000.whatever")
    page.get_by_role("button", name="Validate and save").click()
    expect(page.get_by_text("Airtable did not accept this token")).to_be_visible()
    assert app_services.airtable_connections.describe(user.id) is None


def test_api_token__shown_once_then_revoked(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    user = make_user(app_services)
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/account")
    page.get_by_label("Token name").fill("my script")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy this token now")).to_be_visible()
    # The token is long: the code block may wrap it, so whitespace is not part of it.
    token = "".join(page.get_by_test_id("stCode").locator("code").inner_text().split())
    assert app_services.api_tokens.verify(token) == user.id
    page.reload()
    expect(page.get_by_text("Copy this token now")).to_have_count(0)
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("revoked")).to_be_visible()


def test_change_password__keeps_this_session_and_signs_out_the_others(
    app_server: AppServer, app_services: Services, page: Page, browser: Browser
) -> None:
    user = make_user(app_services)
    other = browser.new_context()
    other_page = other.new_page()
    try:
        sign_in(other_page, app_server.url, user.email)
        sign_in(page, app_server.url, user.email)
        old_cookie = next(c for c in page.context.cookies() if c["name"] == "pa_session")
        page.goto(f"{app_server.url}/account")
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password (at least 10 characters)").fill("a new passphrase 2")
        page.get_by_label("Repeat the new password").fill("a new passphrase 2")
        page.get_by_role("button", name="Change password").click()
        expect(
            page.get_by_text(
                "Password changed. Your other sessions were signed out; this one stays signed in."
            )
        ).to_be_visible()
        new_cookie = next(c for c in page.context.cookies() if c["name"] == "pa_session")
        assert new_cookie["value"] != old_cookie["value"]
        page.reload()
        expect(page.get_by_text(f"Signed in as {user.email}")).to_be_visible()
        other_page.reload()
        expect(other_page.get_by_role("heading", name="Sign in")).to_be_visible()
    finally:
        other.close()


def test_change_password__says_which_field_is_wrong(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    user = make_user(app_services)
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password (at least 10 characters)").fill("x" * 300)
    page.get_by_label("Repeat the new password").fill("x" * 300)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password: use at most 256 characters.")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {user.email}")).to_be_visible()
