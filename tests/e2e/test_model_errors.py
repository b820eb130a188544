"""Model failures in Chromium: a failed turn stays in the history, and the Status page's
"Test connection" tells a bad key from a working one (real Gemini client, fake server)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from services.container import Services
from services.orm import Role
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply

pytestmark = pytest.mark.e2e
QUESTION = "How many tasks are blocked right now?"


def _ask(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def test_failed_turn__keeps_its_error_and_is_titled_from_the_question(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Unlucky")
    sign_in(page, server.url, user.email)
    before = gemini.request_count
    # Every attempt (the client retries) meets the quota.
    gemini.default_reply = ScriptedReply(
        status=429, error_message="You exceeded your current quota", retry_delay_s=20
    )
    try:
        _ask(page, QUESTION)
        expect(page.get_by_text("try again in 20 seconds")).to_be_visible(timeout=30_000)
    finally:
        gemini.default_reply = None
    assert "try again in a moment" not in page.content()

    page.reload()
    expect(page.get_by_test_id("stChatMessage").filter(has_text=QUESTION)).to_be_visible()
    error = page.get_by_test_id("stAlertContentError").filter(has_text="quota or rate limit")
    expect(error).to_be_visible()
    expect(page.get_by_role("button", name=QUESTION)).to_be_visible()  # the sidebar title
    [conversation] = services.conversations.find(user_id=user.id)
    assert conversation.title == QUESTION
    # No model was asked for a title after the failure.
    bodies = [json.dumps(r.body) for r in gemini.requests[before:]]
    assert bodies
    assert not any("title of at most" in body for body in bodies)
    stored = services.conversations.messages(user_id=user.id, conversation_id=conversation.id)
    assert [m.type for m in stored] == ["human", "chat"]


def test_status_test_connection__ok_then_bad_key(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    admin = make_user(services, role=Role.ADMIN, name="Operator")
    sign_in(page, server.url, admin.email)
    page.goto(f"{server.url}/status")
    before = gemini.request_count
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Connected to Gemini: the key works")).to_be_visible(timeout=20_000)

    key = gemini.api_key
    gemini.api_key = "a-key-the-app-does-not-have"  # the app's key is now not valid
    try:
        page.get_by_role("button", name="Test connection").click()
        expect(page.get_by_text("Bad or missing API key")).to_be_visible(timeout=20_000)
    finally:
        gemini.api_key = key
    paths = {r.path for r in gemini.requests[before:]}
    assert paths == {"/v1beta/models"}  # listing models only: nothing was generated
