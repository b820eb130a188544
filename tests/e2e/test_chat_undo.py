"""Undo in Chromium when someone else edited the records since: the card says what."""

from __future__ import annotations

import pyairtable
import pytest
from playwright.sync_api import Page, expect

from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.container import Services
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer, script_status_change

pytestmark = pytest.mark.e2e


def test_undo__names_the_fields_edited_since_and_offers_undo_anyway(
    chat_app: tuple[AppServer, Services],
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    page: Page,
) -> None:
    server, services = chat_app
    user = make_user(services, name="Undoer")
    tasks = pyairtable.Api(DEV_TOKEN, endpoint_url=emulator.url).table(PROJECT_TRACKER_ID, "Tasks")
    record = tasks.first(formula="{Status}='Todo'")
    assert record is not None
    script_status_change(
        gemini, record["id"], "In Progress", reply="Proposed; please confirm.", title="Start a task"
    )
    sign_in(page, server.url, user.email)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Project Tracker").click()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(f"Start {record['fields']['Name']}")
    box.press("Enter")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Applied.")).to_be_visible()

    tasks.update(record["id"], {"Status": "Done"})  # someone else, after the change
    page.get_by_role("button", name="Undo", exact=True).click()
    expect(page.get_by_text("1 record was edited after this change")).to_be_visible()
    expect(page.get_by_text("(Status)")).to_be_visible()
    assert tasks.get(record["id"])["fields"]["Status"] == "Done"

    page.get_by_role("button", name="Undo anyway").click()
    expect(page.get_by_text("Applied, then undone.")).to_be_visible()
    assert tasks.get(record["id"])["fields"]["Status"] == "Todo"
