"""My usage: the signed-in user's spend and tokens by day, model and purpose; budgets left."""

from __future__ import annotations

import streamlit as st

from services.budget.limit_input import format_amount, format_limit
from services.budget.pricing import format_usd
from services.budget.reports import (
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
)
from services.budget.usage import LimitStatus, limits_and_spend
from services.budget.windows import Metric, Scope, Window
from services.errors import AppError
from ui.alerts import show_current_user_alerts
from ui.context import get_services
from ui.period import daily_chart, pick_period, purpose_label, spend_table
from ui.signed_in import require_user

services = get_services()
user = require_user()


_PERIODS = {Window.DAY: "daily", Window.MONTH: "monthly"}
_UNITS = {Metric.USD: "USD", Metric.TOKENS: "tokens"}


def _budget_row(status: LimitStatus) -> dict[str, str]:
    owner = "Your" if status.scope is Scope.USER else "Organisation"
    return {
        "budget": f"{owner} {_PERIODS[status.window]} budget ({_UNITS[status.metric]})",
        "limit": format_limit(status.limit, status.metric),
        "used": format_amount(status.used, status.metric),
        "left": "—" if status.left is None else format_amount(status.left, status.metric),
        "resets": status.resets_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


st.title("My usage")
show_current_user_alerts(user.id)

start, end = pick_period()
try:
    with st.spinner("Adding up your usage…"):
        by_day = spend_by_day(services.sql, start=start, end=end, user_id=user.id)
        by_model = spend_by_model(services.sql, start=start, end=end, user_id=user.id)
        by_purpose = spend_by_purpose(services.sql, start=start, end=end, user_id=user.id)
except AppError as exc:
    st.error(str(exc))
    st.stop()

cols = st.columns(3)
cols[0].metric("Spent", format_usd(sum(r.cost_nusd for r in by_day)))
cols[1].metric("Tokens", f"{sum(r.tokens for r in by_day):,}")
cols[2].metric("Model calls", f"{sum(r.calls for r in by_day):,}")

st.header("By day")
if by_day:
    daily_chart(by_day, start, end, tokens=True)
    spend_table(by_day, "day")  # the charts' figures, as a table
else:
    st.caption("No calls in this period.")

st.header("By model")
spend_table(by_model, "model")
st.header("By purpose")
spend_table(by_purpose, "purpose", purpose_label)

st.header("Budgets left")
try:
    # The organisation's rows tell how much everyone spent: that is for admins only.
    statuses = limits_and_spend(services.budget_guard, user.id, include_org=user.is_admin)
except AppError as exc:
    st.error(str(exc))
else:
    st.dataframe([_budget_row(s) for s in statuses], hide_index=True)
