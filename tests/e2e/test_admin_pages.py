"""The admin users page in Chromium: no one-click self-lockout; alerts name people."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import insert

from services.budget.models import BudgetAlert
from services.container import Services
from services.db import transaction
from services.models import Role
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
    with transaction(services.sessions) as session:
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
    expect(_cells(alerts, member.email)).to_be_attached()
    expect(_cells(alerts, str(member.id))).to_have_count(0)
