"""My usage and the admin cost page in Chromium: own figures only, budgets that bite."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from services.budget.ledger import LedgerRecord, record_call
from services.budget.pricing import CostEstimate
from services.budget.types import CallStatus, Purpose, RefType
from services.container import Services
from services.errors import BudgetExceededError
from services.orm import Role
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def _cells(tables: Locator, text: str | re.Pattern[str]) -> Locator:
    """Cells of `tables` whose whole text is `text` (a data frame draws on a canvas and keeps
    its cells in an accessible table that has no accessible names)."""
    pattern = text if isinstance(text, re.Pattern) else re.compile(f"^{re.escape(text)}$")
    return tables.locator("td").filter(has_text=pattern)


MODEL = "gemini-2.5-flash"
# Far under any default budget, and over the one the admin sets below (0.000001 USD).
CALL = CostEstimate(input_tokens=100, output_tokens=100, input_nusd=1_000, total_nusd=5_000)


def _spend(services: Services, user_id: int, cost_nusd: int, **extra: Any) -> None:
    row: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "user_id": user_id,
        "purpose": Purpose.CHAT.value,
        "ref_type": None,
        "ref_id": None,
        "provider": "gemini",
        "model": MODEL,
        "input_tokens": 1000,
        "cached_tokens": 0,
        "output_tokens": 234,
        "reasoning_tokens": 0,
        "cost_nusd": cost_nusd,
        "reserved_nusd": cost_nusd,
        "latency_ms": 0,
        "status": CallStatus.OK,
        "created_at": datetime.now(UTC),
        **extra,
    }
    # Through the ledger write, which keeps the rollup the pages read.
    record_call(services.sql, LedgerRecord(**row))


def test_usage__a_member_sees_only_their_own_spend(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    member, other = make_user(app_services), make_user(app_services)
    _spend(app_services, member.id, 1_230_000_000)
    _spend(app_services, other.id, 45_600_000_000)
    sign_in(page, app_server.url, member.email)

    page.goto(f"{app_server.url}/usage")

    expect(page.get_by_role("heading", name="My usage")).to_be_visible()
    spent = page.get_by_test_id("stMetric").filter(has_text="Spent")
    expect(spent).to_contain_text("$1.23")
    expect(page.get_by_test_id("stMetric").filter(has_text="Tokens")).to_contain_text("1,234")
    expect(page.get_by_text("Budgets left")).to_be_visible()
    tables = page.get_by_test_id("stDataFrame")
    expect(tables).to_have_count(4)  # by day (the charts as a table), model, purpose, budgets
    tables.nth(2).scroll_into_view_if_needed()  # the grid fills its cells once it is on screen
    expect(_cells(tables, "Chat")).to_be_attached()
    expect(_cells(tables, "chat")).to_have_count(0)
    tables.last.scroll_into_view_if_needed()
    expect(_cells(tables, "Your daily budget (USD)")).to_be_attached()
    expect(_cells(tables, "Your monthly budget (tokens)")).to_be_attached()
    # How much the whole organisation used is for admins only.
    expect(_cells(tables, re.compile("^Organisation"))).to_have_count(0)
    assert "$45.60" not in page.content()
    assert other.email not in page.content()

    page.goto(f"{app_server.url}/admin_costs")
    expect(page.get_by_text("Not allowed")).to_be_visible()
    expect(page.get_by_role("heading", name="Costs")).to_have_count(0)


def test_usage__an_admin_sees_the_organisation_budgets(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    sign_in(page, app_server.url, admin.email)

    page.goto(f"{app_server.url}/usage")

    tables = page.get_by_test_id("stDataFrame")
    tables.last.scroll_into_view_if_needed()  # the grid fills its cells once it is on screen
    expect(_cells(tables, "Organisation daily budget (USD)")).to_be_attached()
    expect(_cells(tables, "Your daily budget (USD)")).to_be_attached()


def test_admin_costs__a_budget_set_on_the_page_refuses_the_next_call(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    member = make_user(app_services)
    conversation = app_services.conversations.create(user_id=member.id)
    app_services.conversations.rename(
        user_id=member.id, conversation_id=conversation.id, title="Quarterly plan review"
    )
    _spend(
        app_services,
        member.id,
        2_000_000_000,
        purpose=Purpose.TITLE.value,
        ref_type=RefType.CONVERSATION.value,
        ref_id=conversation.id,
    )
    guard = app_services.budget_guard
    allowed = guard.reserve(user_id=member.id, model=MODEL, purpose=Purpose.CHAT, estimate=CALL)
    guard.refund(allowed, latency_ms=0)
    sign_in(page, app_server.url, admin.email)

    page.goto(f"{app_server.url}/admin_costs")
    expect(page.get_by_role("heading", name="Spend over time")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download spend_by_user.csv").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("key,calls,cost_usd,tokens\n")
    member_row = next(line for line in csv_text.splitlines() if line.startswith(member.email))
    assert member_row.split(",")[2] == "2"  # USD
    tables = page.get_by_test_id("stDataFrame")
    expect(_cells(tables, "Quarterly plan review")).to_be_attached()
    expect(_cells(tables, member.email).first).to_be_attached()
    expect(_cells(tables, "Conversation titles")).to_be_attached()
    expect(_cells(tables, conversation.id)).to_have_count(0)

    page.get_by_role("combobox", name="User", exact=True).click()
    page.keyboard.type(member.email)
    page.keyboard.press("Enter")
    day_usd = page.get_by_label("User day USD")
    expect(day_usd).to_have_attribute("placeholder", "default $2.00")
    day_usd.fill("0")
    page.get_by_role("button", name="Save user budget").click()
    expect(page.get_by_text("User day USD: 0 is not a limit.")).to_be_visible()
    assert guard.budgets.get_user_budget(member.id).day_nusd is None

    day_usd.fill("0.000001")
    page.locator(f".st-key-budget-{member.id}-day_tokens-unlimited").get_by_text("No limit").click()
    page.get_by_role("button", name="Save user budget").click()
    expect(page.get_by_text(f"Budget of {member.email} saved.")).to_be_visible()

    saved = guard.budgets.get_user_budget(member.id)
    assert (saved.day_nusd, saved.day_tokens, saved.month_nusd) == (1_000, 0, None)
    with pytest.raises(BudgetExceededError):
        guard.reserve(user_id=member.id, model=MODEL, purpose=Purpose.CHAT, estimate=CALL)


@pytest.mark.parametrize("typed", ["99999999999999999999", "1e400"])
def test_admin_costs__an_amount_out_of_range_names_its_box_and_saves_nothing(
    app_server: AppServer, app_services: Services, page: Page, typed: str
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    budgets = app_services.budget_guard.budgets
    before = budgets.get_org_budget()
    sign_in(page, app_server.url, admin.email)

    page.goto(f"{app_server.url}/admin_costs")
    page.get_by_label("Org day USD").fill(typed)
    page.get_by_role("button", name="Save org budget").click()

    # Was an OverflowError in Streamlit's error box.
    wrong_day = f"Org day USD: {typed} is more than the largest limit, $1,000,000.00."
    expect(page.get_by_text(wrong_day)).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert budgets.get_org_budget() == before

    page.get_by_label("Org month tokens").fill("1e400")
    page.get_by_role("button", name="Save org budget").click()
    both = page.get_by_test_id("stAlert").filter(has_text=wrong_day)
    expect(both).to_contain_text("Org month tokens: “1e400” is not a whole number of tokens.")
    assert budgets.get_org_budget() == before
