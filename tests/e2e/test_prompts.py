"""The prompts page in Chromium: create a prompt with typed variables, run it, see its cost.

The real Gemini client talks to a fake Gemini server; Airtable is the seeded emulator.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from services.container import Services
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply

pytestmark = pytest.mark.e2e


def _choose(page: Page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def _type(page: Page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Tab")


def test_prompt__create_with_date_and_field_options_then_run_and_see_cost(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Planner")
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/prompts")
    expect(page.get_by_text("New prompt").first).to_be_visible()

    _type(page, "Name", "Due report")
    _choose(page, "Base", "Project Tracker")
    _type(page, "Template", "List {{status}} tasks due by {{due}} for {{user_name}}.")
    _type(page, "Variables", "2")
    expect(page.get_by_label("Variable 2 name", exact=True)).to_be_visible()
    _type(page, "Variable 1 name", "due")
    _choose(page, "Variable 1 type", "Date")
    _type(page, "Variable 2 name", "status")
    _choose(page, "Variable 2 type", "Airtable field options")
    _choose(page, "Variable 2 field", "Tasks: Status")
    page.get_by_role("button", name="Create prompt").click()

    expect(page.get_by_role("heading", name="Due report")).to_be_visible(timeout=20_000)
    _choose(page, "Status", "Done")
    gemini.script(ScriptedReply(text="Two done tasks are due this week.", chunks=4))
    page.get_by_role("button", name="Run").click()

    expect(page.get_by_text("Two done tasks are due this week.").first).to_be_visible(
        timeout=30_000
    )
    history = page.get_by_test_id("stTable")
    expect(history).to_contain_text("Two done tasks are due this week.")
    expect(history).to_contain_text("status=Done")
    expect(history).to_contain_text("$0.")
    sent = gemini.requests[-1]
    assert "List Done tasks due by" in str(sent)

    page.goto(server.url)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("/due report")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Due report")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Run")).to_be_visible()


def test_prompt__table_picker_follows_the_base_picker_and_versions_compare(
    chat_app: tuple[AppServer, Services], page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Picker")
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/prompts")
    _type(page, "Name", "Table check")
    _type(page, "Template", "Check {{which_table}} in {{which_base}}.")
    _type(page, "Variables", "2")
    expect(page.get_by_label("Variable 2 name", exact=True)).to_be_visible()
    _type(page, "Variable 1 name", "which_table")
    _choose(page, "Variable 1 type", "Table picker")
    _type(page, "Variable 2 name", "which_base")
    _choose(page, "Variable 2 type", "Base picker")
    page.get_by_role("button", name="Create prompt").click()
    expect(page.get_by_role("heading", name="Table check")).to_be_visible(timeout=20_000)

    _choose(page, "Which base", "Sales CRM")
    page.get_by_test_id("stSelectbox").filter(has_text="Which table").click()
    expect(page.get_by_role("option", name="Deals", exact=True)).to_be_visible()
    expect(page.get_by_role("option", name="Tasks", exact=True)).to_have_count(0)
    page.keyboard.press("Escape")

    page.get_by_text("Edit (saves a new version)").click()
    box = page.get_by_label("Template", exact=True).last
    box.fill("Audit {{which_table}} in {{which_base}}.")
    box.press("Tab")
    page.get_by_role("button", name="Save new version").click()
    page.get_by_text("Compare versions").click()
    diff = page.get_by_test_id("stCode")
    expect(diff).to_contain_text("-Check {{which_table}} in {{which_base}}.")
    expect(diff).to_contain_text("+Audit {{which_table}} in {{which_base}}.")
