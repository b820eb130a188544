"""report_my_spend: the person's own spend from the ledger and their budgets from Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from langchain_core.messages import ToolMessage

from services.budget.pricing import CostEstimate, TokenUsage, format_usd, usd_to_nusd
from services.budget.types import Purpose
from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import runtime_for
from tests.support.accounts import make_user
from tools.spend import period_bounds, spend_tools

pytestmark = pytest.mark.sql
FLASH = "gemini-2.5-flash"


def _spend(services: Services, user_id: int, purpose: Purpose, tokens: int) -> int:
    """One settled model call through the real guard; its cost in nano-USD."""
    guard = services.budget_guard
    reservation = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=purpose,
        estimate=CostEstimate(tokens, 100, 1_000_000, 5_000_000),
    )
    return guard.settle(reservation, TokenUsage(tokens, 50), latency_ms=5).cost_nusd


def _report(services: Services, user_id: int, **args: str) -> ToolMessage:
    tool = spend_tools(services)[0]
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "call-spend",
            "name": tool.name,
            "args": {**args, "runtime": runtime_for(user_id)},
        }
    )
    assert isinstance(message, ToolMessage)
    return message


def test_report_my_spend__totals_and_budgets_of_the_person_only(
    airtable_services: Services, member: User
) -> None:
    other = make_user(airtable_services, name="Other")
    cost = _spend(airtable_services, member.id, Purpose.CHAT, 1_000)
    cost += _spend(airtable_services, member.id, Purpose.TITLE, 200)
    _spend(airtable_services, other.id, Purpose.CHAT, 90_000)

    text = str(_report(airtable_services, member.id).content)

    first = text.splitlines()[0]
    assert first.startswith("Your spend this month (since ")
    assert f"{format_usd(cost)} over 2 model calls, 1,300 tokens." in first
    assert f"By model: {FLASH} {format_usd(cost)} (2 calls, 1,300 tokens)." in text
    assert "title " in text
    assert "(1 call," in text
    assert "chat " in text
    day_limit = format_usd(usd_to_nusd(airtable_services.settings.budget_user_day_usd))
    assert (cost, day_limit) == (610_000, "$2.00")
    # What is left is the limit less the ledger's figures, shown as exactly as spend is.
    assert "Daily USD budget: $0.00061 of $2.00 used, $1.999 left" in text
    assert "90,000" not in text  # the other person's call
    assert "Organisation" not in text


def test_report_my_spend__today_with_nothing_spent(
    airtable_services: Services, member: User
) -> None:
    text = str(_report(airtable_services, member.id, period="today").content)
    assert text.startswith("Your spend today, UTC: $0.00 over 0 model calls, 0 tokens.")


def test_period_bounds__cover_the_utc_day_and_the_calendar_month() -> None:
    now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert period_bounds("today", now) == (
        datetime(2026, 12, 31, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert period_bounds("this_month", now) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
