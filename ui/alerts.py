"""Budget alerts (50/80/100% of a limit), as the user and the admins see them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import streamlit as st

from services.budget.alerts import all_alerts, user_alerts
from services.budget.limit_input import format_amount
from services.budget.orm import BudgetAlert
from services.budget.reports import DELETED_USER
from services.budget.windows import Metric
from ui.context import get_services


def describe(alert: BudgetAlert) -> str:
    whose = "The organisation's" if alert.scope == "org" else "Your"
    period = "daily" if alert.window == "day" else "monthly"
    limit = format_amount(alert.limit_value, Metric(alert.metric))
    return f"{whose} {period} budget ({limit}) is {alert.threshold_pct}% used."


def show_current_user_alerts(user_id: int) -> None:
    """The highest threshold crossed in each current window, as a warning."""
    now = datetime.now(UTC)
    live = [a for a in user_alerts(get_services().sql, user_id, limit=20) if a.window_ends_at > now]
    shown: set[tuple[str, str]] = set()
    for alert in sorted(live, key=lambda a: -a.threshold_pct):
        if (alert.window, alert.metric) in shown:
            continue
        shown.add((alert.window, alert.metric))
        st.warning(describe(alert), icon=":material/savings:")


def show_all_alerts(emails: Mapping[int, str], limit: int = 50) -> None:
    """Every recent alert, for admins; `emails` names the users (the page has them)."""
    alerts = all_alerts(get_services().sql, limit=limit)
    if not alerts:
        st.caption("No budget alerts yet.")
        return
    rows = [
        {
            "when": a.created_at.strftime("%Y-%m-%d %H:%M"),
            "user": _whose(a, emails),
            "window": a.window_label,
            "threshold": f"{a.threshold_pct}%",
            "alert": describe(a).replace("Your", "User's"),
        }
        for a in alerts
    ]
    st.dataframe(rows, hide_index=True)


def _whose(alert: BudgetAlert, emails: Mapping[int, str]) -> str:
    if alert.scope == "org" or alert.user_id is None:
        return "Organisation"
    return emails.get(alert.user_id, DELETED_USER)
