"""The prompts page in Chromium: create a prompt with typed variables, run it, see its cost.

The real Gemini client talks to a fake Gemini server; Airtable is the seeded emulator.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from services.budget.budgets import BudgetOverrides
from services.container import Services
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply

pytestmark = pytest.mark.e2e


def _choose(page: Page, label: str, option: str) -> None:
    # By exact accessible name: has_text is a case-insensitive substring ("Base" also
    # matches "Which base" and "Base picker") and counts collapsed widgets too.
    box = page.get_by_role("combobox", name=label, exact=True).first
    for attempt in range(3):
        # A rerun still drawing the page can close the list under the click: open it again.
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    expect(box).to_have_value(option)


def _type(page: Page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Tab")


def _on_prompts_page(page: Page, chat_app: tuple[AppServer, Services], name: str) -> AppServer:
    """Sign a new member in and open the prompts page."""
    server, services = chat_app
    user = make_user(services, name=name)
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/prompts")
    return server


def _create_prompt(
    page: Page, name: str, template: str, variables: list[tuple[str, str, str]], base: str = ""
) -> None:
    """Fill the new-prompt editor; each variable is (name, type label, field or "")."""
    expect(page.get_by_text("New prompt").first).to_be_visible()
    _type(page, "Name", name)
    if base:
        _choose(page, "Base", base)
    _type(page, "Template", template)
    _type(page, "Variables", str(len(variables)))
    expect(page.get_by_label(f"Variable {len(variables)} name", exact=True)).to_be_visible()
    for i, (var_name, kind, field) in enumerate(variables, start=1):
        _type(page, f"Variable {i} name", var_name)
        _choose(page, f"Variable {i} type", kind)
        if field:
            _choose(page, f"Variable {i} field", field)
    page.get_by_role("button", name="Create prompt").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=20_000)


def test_prompt__create_with_date_and_field_options_then_run_and_see_cost(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server = _on_prompts_page(page, chat_app, "Planner")
    _create_prompt(
        page,
        "Due report",
        "List {{status}} tasks due by {{due}} for {{user_name}}.",
        [("due", "Date", ""), ("status", "Airtable field options", "Tasks: Status")],
        base="Project Tracker",
    )
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


def test_prompt__a_run_the_budget_refuses_shows_as_failed_in_the_run_history(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Thrifty")
    services.budget_guard.budgets.set_user_budget(user.id, BudgetOverrides(day_tokens=1))
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/prompts")
    _create_prompt(page, "Weekly", "Summarise the week to {{until}}.", [("until", "Date", "")])
    before = gemini.request_count

    page.get_by_role("button", name="Run").click()

    expect(page.get_by_test_id("stAlert").filter(has_text="budget").first).to_be_visible(
        timeout=30_000
    )
    history = page.get_by_test_id("stTable")
    expect(history).to_contain_text("Failed")
    expect(history).to_contain_text("budget")
    expect(page.get_by_text("1 of these 1 runs failed")).to_be_visible()
    assert gemini.request_count == before  # refused before any provider call


def test_prompt__table_picker_follows_the_base_picker_and_versions_compare(
    chat_app: tuple[AppServer, Services], page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Picker")
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/prompts")
    _create_prompt(
        page,
        "Table check",
        "Check {{which_table}} in {{which_base}}.",
        [("which_table", "Table picker", ""), ("which_base", "Base picker", "")],
    )

    _choose(page, "Which base", "Sales CRM")
    # The rerun after the base changes resets the picker to the new base's first table.
    expect(page.get_by_role("combobox", name="Which table")).to_have_value("Companies")
    page.get_by_role("combobox", name="Which table", exact=True).click()
    expect(page.get_by_role("option", name="Deals", exact=True)).to_be_visible()
    expect(page.get_by_role("option", name="Tasks", exact=True)).to_have_count(0)
    page.keyboard.press("Escape")

    page.get_by_text("Edit (saves a new version)").click()
    box = page.get_by_label("Template", exact=True).last
    box.fill("Audit {{which_table}} in {{which_base}}.")
    box.press("Tab")
    prompt = services.prompts.find_by_name(user_id=user.id, name="Table check")
    assert prompt is not None
    for attempt in range(4):
        # A click while the rerun after Tab redraws the form can land on a detached button
        # (and the status widget may not have appeared yet): click again until it is saved.
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)
        page.get_by_role("button", name="Save new version").click()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if services.prompts.versions(user_id=user.id, prompt_id=prompt.id) != [1]:
                break
            time.sleep(0.2)
        else:
            assert attempt < 3, "the new version was never saved"
            continue
        break
    assert services.prompts.versions(user_id=user.id, prompt_id=prompt.id) == [1, 2]
    page.get_by_text("Compare versions").click(timeout=30_000)
    compare = page.get_by_test_id("stExpander").filter(has_text="Compare versions")
    diff = compare.get_by_test_id("stCode")
    expect(diff).to_contain_text("-Check {{which_table}} in {{which_base}}.")
    expect(diff).to_contain_text("+Audit {{which_table}} in {{which_base}}.")

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_role("heading", name="New prompt")).to_be_visible()
    expect(page.get_by_role("button", name="Table check")).to_have_count(0)


def test_prompt__a_number_out_of_range_names_its_box_and_sends_nothing(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    _on_prompts_page(page, chat_app, "Counter")
    _create_prompt(page, "Top tasks", "List the top {{count}} tasks.", [("count", "Number", "")])
    sent = gemini.request_count

    for typed in ("99999999999999999999", "1e400"):
        _type(page, "Count", typed)
        page.get_by_role("button", name="Run").click()
        # "1e400" was taken as a number (float gives inf) and sent to the model.
        expect(
            page.get_by_text("Count must be between -1,000,000,000,000,000 and ")
        ).to_contain_text(f"not {typed}.")
        expect(page.get_by_test_id("stException")).to_have_count(0)
    assert gemini.request_count == sent
