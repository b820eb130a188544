"""The API token name box on the Account page in Chromium: a refused name is kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from services.container import Services
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def test_api_token__a_too_long_name_is_refused_and_stays_in_the_box(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    user = make_user(app_services)
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/account")
    box = page.get_by_label("Token name")
    too_long = "nightly export of the sales pipeline " * 4
    box.fill(too_long)
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Token name: use at most 100 characters.")).to_be_visible()
    expect(box).to_have_value(too_long)
    assert app_services.api_tokens.list_for(user.id) == []

    box.fill(too_long[:40].strip())
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy this token now")).to_be_visible()
    expect(box).to_have_value("")
    assert [t.name for t in app_services.api_tokens.list_for(user.id)] == [too_long[:40].strip()]
