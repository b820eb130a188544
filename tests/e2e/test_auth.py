"""Sign-up, sign-in, reload, sign-out, roles and disabling, in Chromium."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.container import Services
from services.orm import Role, UserStatus
from tests.support.accounts import PASSWORD, make_user, sign_in
from tests.support.appserver import AppServer, run_app_server

pytestmark = pytest.mark.e2e


def test_register_reload_sign_out__and_protected_pages_need_sign_in(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    make_user(app_services)  # not the first account: the new one is a member
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{app_server.url}/register")
    page.fill("input[name=email]", email)
    page.fill("input[name=display_name]", "New Person")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("button:has-text('Create account')")
    expect(page.get_by_text("Registration received: sign in")).to_be_visible()
    expect(page.locator("input[name=email]")).to_have_value(email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    expect(page.get_by_role("heading", name="Connect a language model")).to_be_visible()

    cookie = next(c for c in page.context.cookies() if c["name"] == "pa_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"

    page.reload()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{app_server.url}/account")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(email)).to_have_count(0)


def test_register__keeps_what_was_typed_and_says_what_is_wrong(
    app_server: AppServer, page: Page
) -> None:
    page.goto(f"{app_server.url}/register")
    page.fill("input[name=email]", "typo-person@example.com")
    page.fill("input[name=password]", "short")
    page.fill("input[name=password_confirm]", "short")
    page.click("button:has-text('Create account')")
    expect(page.get_by_text("Password: use at least 10 characters.")).to_be_visible()
    expect(page.locator("input[name=email]")).to_have_value("typo-person@example.com")


def test_register__a_taken_email_gets_the_same_answer_and_its_owner_is_told_once(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    owner = make_user(app_services)
    page.goto(f"{app_server.url}/register")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", "someone else's pass")
    page.fill("input[name=password_confirm]", "someone else's pass")
    page.click("button:has-text('Create account')")
    expect(page.get_by_text("Registration received: sign in")).to_be_visible()
    expect(page.get_by_text("already exists")).to_have_count(0)
    # The registrant is not signed in, and their password does not open the account.
    page.fill("input[name=password]", "someone else's pass")
    page.click("button:has-text('Sign in')")
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, app_server.url, owner.email)
    expect(page.get_by_text("Someone tried to register with your email on")).to_be_visible()
    page.reload()
    expect(page.get_by_text(f"Signed in as {owner.email}")).to_be_visible()
    expect(page.get_by_text("Someone tried to register with your email on")).to_have_count(0)


def test_wrong_password__gives_no_hint_about_the_account(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/signin")
    page.fill("input[name=email]", f"nobody-{uuid.uuid4().hex[:6]}@example.com")
    page.fill("input[name=password]", "wrong password 1")
    page.click("button:has-text('Sign in')")
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()


def test_member__sees_not_allowed_on_admin_pages(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    member = make_user(app_services)
    page.goto(f"{app_server.url}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Chat")).to_have_count(0)  # no menu for strangers
    sign_in(page, app_server.url, member.email)
    nav = page.get_by_test_id("stSidebarNav")
    for name in ("Chat", "Prompts", "Account", "My usage"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    for name in ("Users", "Costs", "Status", "Sign in", "Register"):
        expect(nav.get_by_role("link", name=name)).to_have_count(0)
    nav.get_by_role("link", name="My usage").click()
    expect(page).to_have_url(f"{app_server.url}/usage")
    for path in ("admin_users", "status"):
        page.goto(f"{app_server.url}/{path}")
        expect(page.get_by_text("Not allowed")).to_be_visible()
        # No user list in the page; the sidebar still says who is signed in, with Sign out.
        expect(page.get_by_test_id("stMain").get_by_text(member.email)).to_have_count(0)
        expect(page.get_by_test_id("stSidebar").get_by_text(member.email)).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_admin__disables_a_user_who_is_signed_out_on_the_next_action(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    member = make_user(app_services, name="Member")
    sign_in(page, app_server.url, member.email)
    page.goto(f"{app_server.url}/account")

    app_services.accounts.set_status(
        actor_id=admin.id, user_id=member.id, status=UserStatus.DISABLED
    )
    page.reload()  # the next action: any request of this browser now finds no session
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{app_server.url}/account")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_admin__manages_users_in_the_admin_page(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    member = make_user(app_services, name="Member")
    sign_in(page, app_server.url, admin.email)
    nav = page.get_by_test_id("stSidebarNav")
    for name in ("Costs", "Status"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    nav.get_by_role("link", name="Users").click()
    expect(page).to_have_url(f"{app_server.url}/admin_users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.locator(f".st-key-disable-{member.id} button").click()
    expect(page.locator(f".st-key-enable-{member.id} button")).to_be_visible()
    refreshed = app_services.accounts.get_user(member.id)
    assert refreshed is not None
    assert refreshed.status == "disabled"


def test_fresh_server__the_first_request_goes_through_the_gate_too(
    app_server: AppServer, page: Page, tmp_path: Path
) -> None:
    # Streamlit's pages/-folder mode would run pages/admin_users.py directly on a server
    # that has not yet run app.py, and list every page file in the sidebar.
    env = {**app_server.env, "VAR_DIR": str(tmp_path)}
    with run_app_server(env, tmp_path / "server.log") as fresh:
        page.goto(f"{fresh.url}/admin_users")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page).to_have_url(f"{fresh.url}/signin")
        expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
