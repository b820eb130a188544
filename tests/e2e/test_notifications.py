"""Live notifications in Chromium: a toast and the bell on the Chat page, read on their page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.container import Services
from services.events.types import BUDGET_ALERT, CHANGE_APPLIED
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.browser import pick_option

pytestmark = pytest.mark.e2e


def test_notifications__toast_and_bell_on_chat_then_marked_read(
    chat_app: tuple[AppServer, Services], page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Notified")
    sign_in(page, server.url, user.email)
    bell = page.get_by_role("link", name=re.compile(r"Notifications: \d+ unread"))
    expect(bell).to_have_text(re.compile("Notifications: 0 unread"), timeout=20_000)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("half-typed question")

    services.events.publish(
        CHANGE_APPLIED,
        {"table_name": "Tasks", "done": 3, "total": 3, "change_set_id": "p1"},
        user_id=user.id,
    )

    toast = page.get_by_test_id("stToast")
    expect(toast).to_contain_text("Change applied: 3 of 3 records in Tasks.", timeout=15_000)
    expect(bell).to_have_text(re.compile("Notifications: 1 unread"), timeout=20_000)
    expect(box).to_have_value("half-typed question")  # the page did not rerun under it

    bell.click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("unread", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Mark read").click()
    expect(bell).to_have_text(re.compile("Notifications: 0 unread"), timeout=15_000)


def test_notifications_page__filters_by_type_links_and_marks_all_read(
    chat_app: tuple[AppServer, Services], page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Reader")
    services.events.publish(
        CHANGE_APPLIED,
        {"table_name": "Tasks", "done": 1, "total": 1, "conversation_id": "conv-1"},
        user_id=user.id,
    )
    alert = {"scope": "user", "window": "day", "threshold_pct": 80, "over": False}
    services.events.publish(BUDGET_ALERT, alert, user_id=user.id)
    services.events.publish(BUDGET_ALERT, {**alert, "scope": "org"}, user_id=None)  # admins'
    sign_in(page, server.url, user.email)
    bell = page.get_by_role("link", name=re.compile(r"Notifications: \d+ unread"))
    expect(bell).to_have_text(re.compile("Notifications: 2 unread"), timeout=20_000)
    page.goto(f"{server.url}/notifications")

    main = page.get_by_test_id("stMain")
    slow = 30_000  # a full page load on a busy machine
    budget = main.get_by_text("Your daily budget is 80% used", exact=False)
    expect(budget).to_be_visible(timeout=slow)
    chat_link = main.get_by_role("link", name="Open the chat")
    expect(chat_link).to_have_attribute("href", "/?c=conv-1", timeout=slow)
    expect(main.get_by_text("organisation", exact=False)).to_have_count(0)
    pick_option(page.get_by_test_id("stMultiSelect"), "Budget alert", "Budget alert")
    expect(main.get_by_text("Change applied", exact=False)).to_have_count(0, timeout=20_000)
    expect(main.get_by_role("link", name="See my usage")).to_be_visible(timeout=20_000)

    page.get_by_role("button", name="Mark all read").click()
    expect(bell).to_have_text(re.compile("Notifications: 0 unread"), timeout=15_000)
    expect(main.get_by_text("unread", exact=False)).to_have_count(0, timeout=20_000)
