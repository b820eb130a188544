"""Prompt runs in Chromium: an agent run from the Prompts page stays out of Chat; one
started with `/name` in Chat is added to the conversation (real Gemini client, fake
server, the seeded emulator)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from emulator.seed import PROJECT_TRACKER_ID
from services.container import Services
from services.prompts.library import PromptDraft, PromptLibrary, RunMode
from services.prompts.variables import Variable, VariableType
from tests.e2e.test_prompts import _type
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply

pytestmark = pytest.mark.e2e


def test_prompt_run__stays_out_of_chat_unless_started_there(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Runner")
    draft = PromptDraft(
        name="Team size",
        template="How many people are in {{team}}?",
        variables=[Variable("team", VariableType.TEXT)],
        mode=RunMode.TOOLS,
        base_id=PROJECT_TRACKER_ID,
    )
    prompt = PromptLibrary(services.sql, services.airtable).create(user_id=user.id, draft=draft)
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/prompts?p={prompt.id}")
    _type(page, "Team", "Sales")
    gemini.script(ScriptedReply(text="Sales has four people."))
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("Sales has four people.").first).to_be_visible(timeout=30_000)
    assert services.conversations.find(user_id=user.id) == []  # nothing added to Chat

    page.goto(server.url)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("/team size")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Team size")).to_be_visible(timeout=20_000)
    _type(page, "Team", "Support")
    gemini.script(ScriptedReply(text="Support has two people."), ScriptedReply(text="Team"))
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("Support has two people.").first).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Back to the conversation").click()
    chat = page.get_by_test_id("stChatMessage")
    expect(chat.filter(has_text="How many people are in Support?")).to_be_visible(timeout=20_000)
    expect(chat.filter(has_text="Support has two people.")).to_be_visible()
    [conversation] = services.conversations.find(user_id=user.id)
    assert conversation.title == "Team"  # a successful turn is titled by the model
