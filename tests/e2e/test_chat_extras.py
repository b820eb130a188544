"""The chat page's helpers in Chromium: the question box, example questions, the remembered
base, record links, downloads and the no-model screen."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.container import Services
from services.questions import MAX_QUESTION_CHARS
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall
from tests.support.gemini_app import gemini_app

pytestmark = pytest.mark.e2e

AIRTABLE_WEB = "https://airtable.example.test"


@pytest.fixture(scope="module")
def linked_app(
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    sql_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, Services]]:
    """The chat app of test_chat, told where an Airtable web interface is (`AIRTABLE_WEB`)."""
    var_dir = tmp_path_factory.mktemp("linked-app")
    extra = {"AIRTABLE_WEB_URL": AIRTABLE_WEB}
    with gemini_app(gemini, emulator, sql_url, redis_url, var_dir, **extra) as app:
        yield app


def _ask(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def _pick_base(page: Page, name: str) -> None:
    page.get_by_role("combobox", name="Base").click()
    page.get_by_role("option", name=name).click()
    expect(page.get_by_role("combobox", name="Base")).to_have_value(name)


def _wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _three_tasks(gemini: FakeGeminiServer) -> None:
    gemini.script(
        ScriptedReply(
            text="",
            tool_calls=[
                ScriptedToolCall(
                    "search_records", {"table": "Tasks", "fields": ["Name", "Status"], "limit": 3}
                )
            ],
        ),
        ScriptedReply(text="Here are three tasks."),
        ScriptedReply(text="Three tasks"),  # the conversation title
    )


def test_chat__a_too_long_message_is_refused_before_it_is_shown_and_stays_in_the_box(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Wordy")
    sign_in(page, server.url, user.email)
    too_long = "Summarise this: " + "lorem ipsum " * (MAX_QUESTION_CHARS // 12 + 1)
    calls = gemini.request_count
    _ask(page, too_long)
    length = len(too_long.strip())
    expect(page.get_by_text(f"Your message has {length:,} characters")).to_be_visible()
    expect(page.get_by_text(f"the limit is {MAX_QUESTION_CHARS:,}")).to_be_visible()
    expect(page.get_by_test_id("stChatInputTextArea")).to_have_value(too_long)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(0)
    assert services.conversations.find(user_id=user.id, query="", limit=10) == []
    assert gemini.request_count == calls

    gemini.script(ScriptedReply(text="Short and sweet."), ScriptedReply(text="Summary"))
    _ask(page, "Summarise this: lorem ipsum")
    expect(page.get_by_text("Short and sweet.")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Your message has")).to_have_count(0)


def test_chat__an_example_question_is_asked_when_clicked(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Curious")
    question = "How many open tasks are overdue, by assignee?"
    gemini.script(
        ScriptedReply(text="Ivan has the most overdue tasks."), ScriptedReply(text="Overdue")
    )
    sign_in(page, server.url, user.email)
    page.get_by_role("button", name=question).click()
    expect(page.get_by_text("Ivan has the most overdue tasks.")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stChatMessage").filter(has_text=question)).to_have_count(1)
    (conversation,) = services.conversations.find(user_id=user.id, query="", limit=10)
    first = services.conversations.messages(user_id=user.id, conversation_id=conversation.id)[0]
    assert first.text == question


def test_chat__the_base_picker_starts_on_the_last_base_after_signing_in_elsewhere(
    chat_app: tuple[AppServer, Services], browser: Browser, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Picky")
    sign_in(page, server.url, user.email)
    picker = page.get_by_role("combobox", name="Base")
    first_shown = picker.input_value()
    picker.click()
    options = page.get_by_role("option").all_inner_texts()
    chosen = next(o for o in options if o != first_shown)
    page.get_by_role("option", name=chosen).click()
    expect(picker).to_have_value(chosen)
    chosen_id = next(b.id for b in services.airtable.bases(user.id) if b.name == chosen)
    _wait_for(lambda: services.preferences.last_base(user.id) == chosen_id)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        elsewhere = other.new_page()
        sign_in(elsewhere, server.url, user.email)
        expect(elsewhere.get_by_role("combobox", name="Base")).to_have_value(chosen)
    finally:
        other.close()


def test_chat__records_link_to_their_airtable_page_when_there_is_one(
    linked_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = linked_app
    user = make_user(services, name="Linker")
    _three_tasks(gemini)
    sign_in(page, server.url, user.email)
    _pick_base(page, "Project Tracker")
    _ask(page, "Show me three tasks")
    expect(page.get_by_text("Here are three tasks.", exact=True)).to_be_visible(timeout=30_000)
    table = page.get_by_test_id("stDataFrame").first
    expect(table.locator("th")).to_have_text(["Name", "Status", "Airtable"])
    link = re.compile(rf"^{re.escape(AIRTABLE_WEB)}/{PROJECT_TRACKER_ID}/tbl\w+/rec\w{{14}}$")
    links = table.locator("td").filter(has_text=link)
    expect(links).to_have_count(3)


def test_chat__downloads_the_conversation_as_markdown_and_a_table_as_csv(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Exporter")
    _three_tasks(gemini)
    sign_in(page, server.url, user.email)
    _pick_base(page, "Project Tracker")
    _ask(page, "Show me three tasks")
    expect(page.get_by_text("Here are three tasks.", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Three tasks")).to_be_visible()

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").click()
    assert csv_download.value.suggested_filename == "tasks.csv"
    csv_lines = Path(csv_download.value.path()).read_text().splitlines()
    assert csv_lines[0] == "Name,Status"
    assert len(csv_lines) == 4

    with page.expect_download() as md_download:
        page.get_by_role("button", name="Download conversation (Markdown)").click()
    assert md_download.value.suggested_filename == "three-tasks.md"
    markdown = Path(md_download.value.path()).read_text()
    assert markdown.startswith("# Three tasks\n")
    assert "## You\n\nShow me three tasks\n" in markdown
    assert "| Name | Status |" in markdown
    assert "*3 of " in markdown
    assert markdown.rstrip().endswith("Here are three tasks.")
    first_task = csv_lines[1].split(",")[0]
    assert f"| {first_task} |" in markdown


def test_chat__without_a_model_says_how_to_connect_one_once(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    user = make_user(app_services, name="Modelless")
    sign_in(page, app_server.url, user.email)
    expect(page.get_by_role("heading", name="Connect a language model")).to_be_visible()
    expect(page.get_by_test_id("stMain")).to_contain_text("make run")
    main = page.get_by_test_id("stMain").inner_text()
    for instruction in ("GOOGLE_API_KEY", "ollama pull", "LLM_PROVIDER=ollama", "make run"):
        assert main.count(instruction) == 1, instruction
