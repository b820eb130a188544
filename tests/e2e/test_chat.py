"""The chat page in Chromium, with the real Gemini client talking to a fake Gemini server."""

from __future__ import annotations

import re

import pyairtable
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.budget.budgets import BudgetOverrides
from services.budget.orm import LedgerEntry
from services.budget.pricing import usd_to_nusd
from services.container import Services
from services.db import transaction
from services.orm import Role
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall

pytestmark = pytest.mark.e2e


def _ask(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def test_chat__answer_table_confirm_undo_and_reload(
    chat_app: tuple[AppServer, Services],
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    page: Page,
) -> None:
    server, services = chat_app
    user = make_user(services, name="Chatter")
    tasks = pyairtable.Api(DEV_TOKEN, endpoint_url=emulator.url).table(PROJECT_TRACKER_ID, "Tasks")
    record = tasks.first(formula="{Status}='Todo'")
    assert record is not None
    name = record["fields"]["Name"]

    gemini.script(
        ScriptedReply(
            text="",
            tool_calls=[
                ScriptedToolCall(
                    "aggregate_records",
                    {"table": "Tasks", "metric": "count", "group_by": "Status"},
                )
            ],
        ),
        ScriptedReply(text="Tasks by status are in the chart above.", chunks=5),
        ScriptedReply(text="Tasks by status"),  # the conversation title
    )
    sign_in(page, server.url, user.email)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Project Tracker").click()
    _ask(page, "How many tasks are there by status?")
    # Exact: while the rerun replaces the streamed answer, its "▌" copy may still be shown.
    expect(page.get_by_text("Tasks by status are in the chart above.", exact=True)).to_be_visible(
        timeout=30_000
    )
    # The streamed answer is redrawn as history once the turn is saved (slow under load).
    expect(page.get_by_text("Calculated totals in Tasks")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("aggregate_records")).to_have_count(0)
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    # A plain count needs no separate "records" column; the value is named by its metric.
    expect(page.get_by_test_id("stDataFrame").first.locator("th")).to_have_text(["Status", "Count"])
    expect(page.get_by_text("tokens ·").first).to_be_visible()

    gemini.script(
        ScriptedReply(
            text="",
            tool_calls=[
                ScriptedToolCall(
                    "update_records",
                    {
                        "table": "Tasks",
                        "records": [
                            {
                                "id": record["id"],
                                "fields": [{"field": "Status", "value": "Blocked"}],
                            }
                        ],
                    },
                )
            ],
        ),
        ScriptedReply(text="I proposed the change; please confirm it."),
    )
    _ask(page, f"Mark {name} as Blocked")
    expect(page.get_by_text("Proposed change to Tasks")).to_be_visible()
    assert tasks.get(record["id"])["fields"]["Status"] == "Todo"  # nothing written yet

    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Applied.")).to_be_visible()
    assert tasks.get(record["id"])["fields"]["Status"] == "Blocked"

    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Applied, then undone.")).to_be_visible()
    assert tasks.get(record["id"])["fields"]["Status"] == "Todo"

    page.reload()
    expect(page.get_by_text("Tasks by status are in the chart above.")).to_be_visible()
    expect(page.get_by_text("Applied, then undone.")).to_be_visible()
    expect(page.get_by_role("button", name="Tasks by status")).to_be_visible()


def test_chat__plain_steps_failed_step_hidden_ids_and_confirmed_delete(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Reviewer")
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
    sign_in(page, server.url, user.email)
    expect(page.get_by_text("How many open tasks are overdue, by assignee?")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Budget left today: \$"))).to_be_visible()
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Project Tracker").click()
    _ask(page, "Show me three tasks")
    expect(page.get_by_text("Here are three tasks.", exact=True)).to_be_visible(timeout=30_000)

    found = page.get_by_test_id("stExpander").filter(has_text="Searched records in Tasks")
    # The finished step is drawn by the rerun after the turn (and its title): under the
    # full suite that can take longer than the default 5 s.
    expect(found.get_by_test_id("stExpanderIconCheck")).to_be_visible(timeout=20_000)
    found.get_by_text("Searched records in Tasks").click()
    details = found.get_by_test_id("stExpander").filter(has_text="Details")
    expect(details).to_be_visible()
    expect(details.get_by_test_id("stJson")).to_be_hidden()  # arguments wait behind Details
    table = page.get_by_test_id("stDataFrame").first
    # st.dataframe draws on a canvas; its cells are in the DOM for screen readers.
    expect(table.locator("th")).to_have_text(["Name", "Status"])
    record_id = re.compile(r"^rec[A-Za-z0-9]{14}$")
    expect(table.locator("td").filter(has_text=record_id)).to_have_count(0)

    gemini.script(
        ScriptedReply(
            text="", tool_calls=[ScriptedToolCall("search_records", {"table": "NoSuchTable"})]
        ),
        ScriptedReply(text="Sorry, that table does not exist."),
    )
    _ask(page, "Show the NoSuchTable table")
    sorry = page.get_by_text("Sorry, that table does not exist.", exact=True)
    expect(sorry).to_be_visible(timeout=30_000)
    failed = page.get_by_test_id("stExpander").filter(
        has_text="Searched records in NoSuchTable (failed)"
    )
    expect(failed.get_by_test_id("stExpanderIconError")).to_be_visible()
    expect(failed.get_by_test_id("stExpanderIconCheck")).to_have_count(0)

    page.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("button", name="Delete this conversation permanently")
    expect(confirm).to_be_visible()
    conversations = services.conversations.find(user_id=user.id, query="", limit=10)
    assert [c.title for c in conversations] == ["Three tasks"]  # one click deletes nothing
    # From the keyboard: the popover may open partly below the fold of a long chat.
    confirm.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Ask about your bases")).to_be_visible()
    expect(page.get_by_role("button", name="Three tasks")).to_have_count(0)
    assert services.conversations.find(user_id=user.id, query="", limit=10) == []


def test_budget_alert__shown_to_the_user_and_to_admins(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Spender")
    admin = make_user(services, role=Role.ADMIN, name="Boss")
    services.budget_guard.budgets.set_user_budget(
        user.id,
        BudgetOverrides(
            day_nusd=usd_to_nusd(0.08), month_nusd=None, day_tokens=None, month_tokens=None
        ),
    )
    gemini.script(
        # A call reserves about $0.062 (output cap and thinking budget); this one spends
        # $0.048 of $0.08: past 50%. No title reply: the title call's worst case no longer
        # fits and is refused, and a reply left queued would answer the next test's question.
        ScriptedReply(text="Hello there.", output_tokens=19_200),
    )
    sign_in(page, server.url, user.email)
    _ask(page, "Say hello")
    expect(page.get_by_text("Hello there.", exact=True)).to_be_visible(timeout=30_000)
    # The alert is raised when the turn settles, after the answer is drawn: allow a rerun.
    expect(page.get_by_text("Your daily budget ($0.08) is 50% used.")).to_be_visible(timeout=15_000)

    page.context.clear_cookies()
    sign_in(page, server.url, admin.email)
    page.goto(f"{server.url}/admin_users")
    expect(page.get_by_text("Budget alerts")).to_be_visible()
    # st.dataframe draws on a canvas; its cells are in the DOM for screen readers once the
    # grid is on screen.
    alerts = page.get_by_test_id("stDataFrame").first
    alerts.scroll_into_view_if_needed()
    expect(alerts.get_by_text("daily budget ($0.08) is 50% used").first).to_be_attached(
        timeout=15_000
    )


def test_chat__turn_cost_and_budget_left_are_the_ledgers_exact_figures(
    chat_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Penny")
    gemini.script(
        # 12 input and 4,400 output tokens: $0.0000036 + $0.011 = $0.0110036.
        ScriptedReply(text="Counted to three.", output_tokens=4_400),
        ScriptedReply(text="Counting", output_tokens=2),  # the title: $0.0000086
    )
    sign_in(page, server.url, user.email)
    expect(page.get_by_text("Budget left today: $2.00 of $2.00")).to_be_visible(timeout=15_000)
    _ask(page, "Count to three")
    # Exact: while the rerun replaces the streamed answer, its "▌" copy may still be shown.
    expect(page.get_by_text("Counted to three.", exact=True)).to_be_visible(timeout=30_000)

    # Was "$0.02" (rounded up to the cent) and "$2.00 of $2.00" left.
    expect(page.get_by_text("4,412 tokens · $0.011", exact=True)).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Budget left today: $1.988 of $2.00")).to_be_visible(timeout=15_000)

    conversation_url = page.url
    page.goto(f"{server.url}/usage")
    spent = page.get_by_test_id("stMetric").filter(has_text="Spent")
    expect(spent).to_contain_text("$0.011")  # 11,003,600 + 8,600 nano-USD
    budgets = page.get_by_test_id("stDataFrame").last
    budgets.scroll_into_view_if_needed()  # the grid fills its cells once it is on screen
    expect(budgets.locator("td").filter(has_text=re.compile(r"^\$1\.988$"))).to_be_attached()

    # The footer is the ledger's row, not a price worked out again from the tokens.
    with transaction(services.sql) as session:
        session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.user_id == user.id, LedgerEntry.purpose == "chat")
            .values(cost_nusd=123_456_789)
        )
    page.goto(conversation_url)
    expect(page.get_by_text("4,412 tokens · $0.1234", exact=True)).to_be_visible()
