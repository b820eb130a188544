"""The agent's spend tool: what the signed-in person has spent, and what their budgets leave.

Figures come from the ledger (SQL aggregates) and the budget counters (Redis), for the
user in the request's context only: nobody else's spend, and no organisation totals.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool

from services.budget.limit_input import format_amount
from services.budget.pricing import format_usd
from services.budget.reports import SpendRow, spend_by_model, spend_by_purpose
from services.budget.usage import LimitStatus, limits_and_spend
from services.budget.windows import Metric, Window
from services.container import Services
from services.errors import StoreUnavailableError
from tools.airtable.reads import make_tool
from tools.airtable.scope import user_of
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Period = Literal["today", "this_month"]


def spend_tools(services: Services) -> list[BaseTool]:
    """report_my_spend, bound to these services; the user comes per call from the context."""

    def report_my_spend(runtime: Runtime, period: Period = "this_month") -> tuple[str, Any]:
        """Report what the person has spent on this assistant today or this month (UTC): cost,
        model calls and tokens by model and by purpose, and how much of their own daily and
        monthly budgets is left; use it for questions about their usage, costs or budget."""
        user_id = user_of(runtime).user_id
        start, end = period_bounds(period, datetime.now(UTC))
        by_model = spend_by_model(services.sql, start=start, end=end, user_id=user_id)
        by_purpose = spend_by_purpose(services.sql, start=start, end=end, user_id=user_id)
        try:
            statuses = limits_and_spend(services.budget_guard, user_id, include_org=False)
        except StoreUnavailableError:
            statuses = None
        text = spend_text(period, start, by_model, by_purpose, statuses)
        artifact = {
            "kind": "spend",
            "period": period,
            "by_model": [row.__dict__ for row in by_model],
            "by_purpose": [row.__dict__ for row in by_purpose],
        }
        return text, artifact

    return [make_tool(report_my_spend, None)]


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """`[start, end)` of today or of this calendar month, in UTC."""
    today = datetime.combine(now.date(), time.min, tzinfo=UTC)
    if period == "today":
        return today, today + timedelta(days=1)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def spend_text(
    period: Period,
    start: datetime,
    by_model: list[SpendRow],
    by_purpose: list[SpendRow],
    statuses: list[LimitStatus] | None,
) -> str:
    """The report the model reads: totals, the breakdowns, then each budget of the user's."""
    label = "today" if period == "today" else f"this month (since {start:%Y-%m-%d})"
    calls = sum(r.calls for r in by_model)
    cost = sum(r.cost_nusd for r in by_model)
    tokens = sum(r.tokens for r in by_model)
    lines = [
        f"Your spend {label}, UTC: {format_usd(cost)} over {calls} model calls, {tokens:,} tokens."
    ]
    if by_model:
        lines.append("By model: " + "; ".join(_row(r) for r in by_model) + ".")
        lines.append("By purpose: " + "; ".join(_row(r) for r in by_purpose) + ".")
    if statuses is None:
        lines.append("Budgets: the budget counters cannot be read right now.")
    else:
        lines += [_budget(s) for s in statuses]
    return "\n".join(lines)


def _row(row: SpendRow) -> str:
    calls = "1 call" if row.calls == 1 else f"{row.calls} calls"
    return f"{row.key} {format_usd(row.cost_nusd)} ({calls}, {row.tokens:,} tokens)"


def _budget(status: LimitStatus) -> str:
    when = "Daily" if status.window is Window.DAY else "Monthly"
    unit = "USD" if status.metric is Metric.USD else "token"
    used = format_amount(status.used, status.metric)
    if status.left is None:
        return f"{when} {unit} budget: no limit ({used} used)."
    return (
        f"{when} {unit} budget: {used} of {format_amount(status.limit, status.metric)} used, "
        f"{format_amount(status.left, status.metric)} left; resets "
        f"{status.resets_at:%Y-%m-%d %H:%M} UTC."
    )
