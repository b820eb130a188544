"""The admin users page in Chromium: no one-click self-lockout; alerts name people."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import insert

from services.budget.orm import BudgetAlert
from services.container import Services
from services.db import transaction
from services.orm import Role
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def _cells(tables: Locator, text: str | re.Pattern[str]) -> Locator:
    """Cells of `tables` whose whole text is `text` (a data frame draws on a canvas and keeps
    its cells in an accessible table that has no accessible names)."""
    pattern = text if isinstance(text, re.Pattern) else re.compile(f"^{re.escape(text)}$")
    return tables.locator("td").filter(has_text=pattern)


def _alert(services: Services, user_id: int) -> None:
    now = datetime.now(UTC)
    row = {
        "alert_key": f"test:{uuid.uuid4().hex}",
        "scope": "user",
        "user_id": user_id,
        "window": "day",
        "window_label": now.strftime("%Y-%m-%d"),
        "window_ends_at": now + timedelta(hours=1),
        "metric": "usd",
        "threshold_pct": 80,
        "limit_value": 2_000_000_000,
        "value": 1_600_000_000,
        "created_at": now,
    }
    with transaction(services.sql) as session:
        session.execute(insert(BudgetAlert), [row])


def test_users__an_admin_cannot_demote_or_disable_themselves(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    member = make_user(app_services)
    sign_in(page, app_server.url, admin.email)

    page.goto(f"{app_server.url}/admin_users")

    expect(page.get_by_role("heading", name="Users")).to_be_visible()

    def button(key: str, name: str) -> Locator:
        return page.locator(f".st-key-{key}").get_by_role("button", name=name).first

    expect(button(f"member-{admin.id}", "Make member")).to_be_disabled()
    expect(button(f"disable-{admin.id}", "Disable")).to_be_disabled()
    expect(button(f"admin-{member.id}", "Make admin")).to_be_enabled()
    expect(button(f"disable-{member.id}", "Disable")).to_be_enabled()
    button(f"disable-{admin.id}", "Disable").hover(force=True)
    expect(page.get_by_text("ask another admin")).to_be_visible()


def test_users__budget_alerts_name_the_user_by_email(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    member = make_user(app_services)
    _alert(app_services, member.id)
    sign_in(page, app_server.url, admin.email)

    page.goto(f"{app_server.url}/admin_users")

    alerts = page.get_by_test_id("stDataFrame").first
    # The grid fills its cells (for screen readers) once it is on screen.
    alerts.scroll_into_view_if_needed()
    expect(_cells(alerts, member.email)).to_be_attached(timeout=15_000)
    expect(_cells(alerts, str(member.id))).to_have_count(0)


def test_users__add_a_user_whose_one_time_link_sets_a_password(
    app_server: AppServer, app_services: Services, page: Page, browser: Browser
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    email = f"added-{uuid.uuid4().hex[:8]}@example.com"
    sign_in(page, app_server.url, admin.email)
    page.goto(f"{app_server.url}/admin_users")
    page.get_by_test_id("stExpander").locator("summary").click()
    form = page.get_by_test_id("stForm")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Name (optional)").fill("Added Person")
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_text(f"Pass this link on to {email}")).to_be_visible()
    link = "".join(page.get_by_test_id("stCode").locator("code").inner_text().split())
    assert "/reset_password?token=" in link
    page.reload()
    expect(page.get_by_text(f"Pass this link on to {email}")).to_have_count(0)

    stranger = browser.new_context()
    try:
        visitor = stranger.new_page()
        visitor.goto(link)
        expect(visitor.get_by_text(f"For {email}.")).to_be_visible()
        visitor.get_by_label("New password (at least 10 characters)").fill("chosen passphrase 1")
        visitor.get_by_label("Repeat the new password").fill("chosen passphrase 1")
        visitor.get_by_role("button", name="Set password").click()
        expect(visitor.get_by_text("Password set: sign in with it.")).to_be_visible()
        sign_in(visitor, app_server.url, email, "chosen passphrase 1")
        visitor.context.clear_cookies()
        visitor.goto(link)
        expect(
            visitor.get_by_text("Reset link: it has expired or was already used")
        ).to_be_visible()
    finally:
        stranger.close()


def test_users__reset_password_link_for_an_existing_user(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    member = make_user(app_services, name="Forgetful")
    sign_in(page, app_server.url, admin.email)
    page.goto(f"{app_server.url}/admin_users")
    page.locator(f".st-key-reset-{member.id} button").click()
    expect(page.get_by_text(f"Pass this link on to {member.email}")).to_be_visible()
    expect(page.get_by_text("expires in 60 minutes")).to_be_visible()
    link = "".join(page.get_by_test_id("stCode").locator("code").inner_text().split())
    assert app_services.password_resets.email_for(link.split("token=")[1]) == member.email


def test_users__search_and_counts_in_words(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    unique = uuid.uuid4().hex[:8]
    member = make_user(app_services, name=f"Needle{unique}")
    sign_in(page, app_server.url, admin.email)
    page.goto(f"{app_server.url}/admin_users")
    total = len(app_services.accounts.list_users())
    expect(page.get_by_text(f"{total} users", exact=True)).to_be_visible()
    search = page.get_by_label("Search users")
    search.fill(f"needle{unique}")
    search.press("Enter")
    expect(page.get_by_text(f"1 of {total} users match")).to_be_visible()
    expect(page.locator(f".st-key-member-{admin.id}")).to_have_count(0)
    expect(page.locator(f".st-key-disable-{member.id}")).to_have_count(1)
