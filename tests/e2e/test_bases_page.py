"""The Bases page in Chromium: a member sees bases and mirror states; an admin turns a
base's mirror on and the page says it waits for the worker."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.container import Services
from services.mirrors.orm import MirrorBase, MirrorTable
from services.orm import Role
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e
ERROR_ELEMENTS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
INVENTORY = "appDemoInventory0"


def _forget(services: Services) -> None:
    with services.sql.begin() as session:
        session.query(MirrorTable).filter(MirrorTable.base_id == INVENTORY).delete()
        session.query(MirrorBase).filter(MirrorBase.base_id == INVENTORY).delete()


def test_bases_page__admin_turns_a_mirror_on(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    _forget(app_services)
    admin = make_user(app_services, role=Role.ADMIN)
    sign_in(page, app_server.url, admin.email)
    page.goto(f"{app_server.url}/bases")
    expect(page.get_by_role("heading", name="Bases", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Products — not mirrored$"))).to_be_visible()
    toggle = page.locator(f".st-key-b-{INVENTORY} button")
    expect(toggle).to_have_text("Mirror the whole base")
    toggle.click()
    expect(page.get_by_text(re.compile(r"^Products — waiting for the worker$"))).to_be_visible()
    expect(toggle).to_have_text("Stop mirroring this base")
    assert page.locator(ERROR_ELEMENTS).count() == 0
    states = app_services.mirrors.registry.tables(INVENTORY)
    assert {s.name for s in states} == {"Suppliers", "Products", "Orders"}
    assert {s.status for s in states} == {"queued"}
    _forget(app_services)


def test_bases_page__member_without_own_connection_only_sees(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    member = make_user(app_services)
    sign_in(page, app_server.url, member.email)
    page.goto(f"{app_server.url}/bases")
    expect(page.get_by_role("heading", name="Sales CRM")).to_be_visible()
    expect(
        page.get_by_text("Only an admin or someone with their own connection").first
    ).to_be_visible()
    assert page.get_by_role("button", name="Mirror the whole base").count() == 0
