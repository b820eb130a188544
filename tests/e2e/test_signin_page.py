"""The sign-in page in Chromium: a newcomer can tell which app they are signing in to."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def test_sign_in__names_the_app(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_text("PyAirtable Assistant")).to_be_visible()
