"""Admin: the organisation's costs from the ledger, budgets per user and for the org."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from services.budget.budgets import BudgetOverrides, Limits
from services.budget.limit_input import (
    LimitField,
    limit_boxes,
    limit_input_text,
    parse_budget,
)
from services.budget.pricing import format_usd
from services.budget.reports import (
    RefSpend,
    SpendRow,
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
    spend_by_user,
    to_csv,
)
from services.budget.views import NamedRefSpend, top_conversations, top_prompt_runs
from services.errors import AppError
from ui.alerts import show_all_alerts
from ui.context import get_services
from ui.period import daily_chart, pick_period, purpose_label, spend_table
from ui.signed_in import require_admin

services = get_services()
admin = require_admin()
budgets = services.budget_guard.budgets


def _download(rows: Sequence[SpendRow] | Sequence[RefSpend], name: str) -> None:
    st.download_button(
        f"Download {name}.csv",
        data=to_csv(rows),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv-{name}",
        icon=":material/download:",
    )


def _spend_table(
    rows: list[SpendRow], key: str, name: str, label: Callable[[str], str] = str
) -> None:
    spend_table(rows, key, label)
    if rows:
        _download(rows, name)


def _ref_table(rows: list[NamedRefSpend], name: str, heading: str) -> None:
    """`heading` names the title column: "conversation" or "prompt"."""
    if not rows:
        st.caption("None in this period.")
        return
    st.dataframe(
        [
            {
                heading: r.title,
                "owner": r.owner,
                "calls": r.spend.calls,
                "cost": format_usd(r.spend.cost_nusd),
                "tokens": r.spend.tokens,
                "last call": r.spend.last_call_at.strftime("%Y-%m-%d %H:%M"),
            }
            for r in rows
        ],
        hide_index=True,
    )
    _download([r.spend for r in rows], name)


def _budget_form(
    form_key: str, owner: str, current: BudgetOverrides, defaults: Limits
) -> BudgetOverrides | None:
    """The four limits of one budget; the parsed overrides once saved, else None."""
    with st.form(form_key):
        st.caption("Leave a box empty to use the default shown in it.")
        boxes = limit_boxes(owner, defaults)
        entered: dict[LimitField, tuple[str, bool]] = {}
        for col, field in zip(st.columns(len(boxes)), boxes, strict=True):
            stored = getattr(current, field.limit.name)
            text = col.text_input(
                field.label,
                limit_input_text(stored, field.limit.metric),
                placeholder=f"default {field.default_text}",
            )
            unlimited = col.checkbox(
                "No limit",
                value=stored == 0,
                key=f"{form_key}-{field.limit.name}-unlimited",
                help=f"No {field.limit.label} limit at all for this budget; "
                "the box is then ignored.",
            )
            entered[field.limit] = (text, unlimited)
        if not st.form_submit_button(f"Save {owner.lower()} budget"):
            return None
    return parse_budget(entered, owner)


st.title("Costs")
emails = {u.id: u.email for u in services.accounts.list_users()}
start, end = pick_period()
try:
    with st.spinner("Adding up the organisation's costs…"):
        by_day = spend_by_day(services.sql, start=start, end=end)
        by_user = spend_by_user(services.sql, start=start, end=end)
        by_model = spend_by_model(services.sql, start=start, end=end)
        by_purpose = spend_by_purpose(services.sql, start=start, end=end)
        conversations = top_conversations(
            services.sql, services.conversations, emails, start=start, end=end
        )
        runs = top_prompt_runs(services.sql, emails, start=start, end=end)
except AppError as exc:
    st.error(str(exc))
    st.stop()

cols = st.columns(3)
cols[0].metric("Org spend", format_usd(sum(r.cost_nusd for r in by_day)))
cols[1].metric("Tokens", f"{sum(r.tokens for r in by_day):,}")
cols[2].metric("Model calls", f"{sum(r.calls for r in by_day):,}")

st.header("Spend over time")
if by_day:
    daily_chart(by_day, start, end, tokens=False)
_spend_table(by_day, "day", "spend_by_day")

st.header("By user")
_spend_table(by_user, "user", "spend_by_user")
st.header("By model")
_spend_table(by_model, "model", "spend_by_model")
st.header("By purpose")
_spend_table(by_purpose, "purpose", "spend_by_purpose", purpose_label)
st.header("Most expensive conversations")
_ref_table(conversations, "top_conversations", "conversation")
st.header("Most expensive prompt runs")
_ref_table(runs, "top_prompt_runs", "prompt")

st.header("User budgets")
chosen = st.selectbox(
    "User", list(emails), format_func=emails.__getitem__, index=None, placeholder="Choose a user"
)
if chosen is not None:
    try:
        saved = _budget_form(
            f"budget-{chosen}",
            "User",
            budgets.get_user_budget(chosen),
            budgets.defaults(),
        )
        if saved is not None:
            budgets.set_user_budget(chosen, saved)
            st.success(f"Budget of {emails[chosen]} saved.")
    except AppError as exc:
        st.error(str(exc))

st.header("Organisation budget")
try:
    saved_org = _budget_form(
        "budget-org", "Org", budgets.get_org_budget(), budgets.defaults(org=True)
    )
    if saved_org is not None:
        budgets.set_org_budget(saved_org)
        st.success("Organisation budget saved.")
except AppError as exc:
    st.error(str(exc))

st.header("Budget alerts")
show_all_alerts(emails)
