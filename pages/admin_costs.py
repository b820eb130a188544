"""Admin: the organisation's costs from the ledger, budgets per user and for the org."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import streamlit as st

from services.budget.budgets import BudgetOverrides
from services.budget.pricing import NANO_PER_USD, format_usd, usd_to_nusd
from services.budget.reports import (
    RefSpend,
    SpendRow,
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
    spend_by_user,
    to_csv,
    top_refs,
)
from services.budget.types import RefType
from services.errors import AppError, InvalidInputError
from ui.alerts import show_all_alerts
from ui.context import get_services
from ui.period import pick_period
from ui.session import require_admin

services = get_services()
admin = require_admin()
budgets = services.models.budget_guard.budgets


def _download(rows: Sequence[SpendRow] | Sequence[RefSpend], name: str) -> None:
    st.download_button(
        f"Download {name}.csv",
        data=to_csv(rows),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv-{name}",
        icon=":material/download:",
    )


def _spend_table(rows: list[SpendRow], key: str, name: str) -> None:
    if not rows:
        st.caption("No calls in this period.")
        return
    st.dataframe(
        [
            {key: r.key, "calls": r.calls, "cost": format_usd(r.cost_nusd), "tokens": r.tokens}
            for r in rows
        ],
        hide_index=True,
    )
    _download(rows, name)


def _ref_table(rows: list[RefSpend], name: str) -> None:
    if not rows:
        st.caption("None in this period.")
        return
    st.dataframe(
        [
            {
                "id": r.ref_id,
                "calls": r.calls,
                "cost": format_usd(r.cost_nusd),
                "tokens": r.tokens,
                "last call": r.last_call_at.strftime("%Y-%m-%d %H:%M"),
            }
            for r in rows
        ],
        hide_index=True,
    )
    _download(rows, name)


def _usd_text(nusd: int | None) -> str:
    # Exact decimal text, so saving the form unchanged stores the same amount again.
    return "" if nusd is None else f"{(Decimal(nusd) / NANO_PER_USD).normalize():f}"


def _tokens_text(tokens: int | None) -> str:
    return "" if tokens is None else str(tokens)


def _parse_usd(text: str) -> int | None:
    return None if not text.strip() else usd_to_nusd(text.strip())


def _parse_tokens(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        tokens = int(text.strip().replace(",", ""))
    except ValueError:
        raise InvalidInputError(f"{text!r} is not a whole number of tokens.") from None
    if tokens < 0:
        raise InvalidInputError("A token limit must be 0 or more.")
    return tokens


def _budget_form(form_key: str, owner: str, current: BudgetOverrides) -> BudgetOverrides | None:
    """The four limits of one budget; the parsed overrides once saved, else None."""
    with st.form(form_key):
        st.caption("Empty: the default from settings. 0: no limit.")
        cols = st.columns(4)
        day_usd = cols[0].text_input(f"{owner} day USD", _usd_text(current.day_nusd))
        month_usd = cols[1].text_input(f"{owner} month USD", _usd_text(current.month_nusd))
        day_tokens = cols[2].text_input(f"{owner} day tokens", _tokens_text(current.day_tokens))
        month_tokens = cols[3].text_input(
            f"{owner} month tokens", _tokens_text(current.month_tokens)
        )
        if not st.form_submit_button(f"Save {owner.lower()} budget"):
            return None
    return BudgetOverrides(
        day_nusd=_parse_usd(day_usd),
        month_nusd=_parse_usd(month_usd),
        day_tokens=_parse_tokens(day_tokens),
        month_tokens=_parse_tokens(month_tokens),
    )


st.title("Costs")
start, end = pick_period()
try:
    with st.spinner("Adding up the organisation's costs…"):
        by_day = spend_by_day(services.sessions, start=start, end=end)
        by_user = spend_by_user(services.sessions, start=start, end=end)
        by_model = spend_by_model(services.sessions, start=start, end=end)
        by_purpose = spend_by_purpose(services.sessions, start=start, end=end)
        conversations = top_refs(
            services.sessions, ref_type=RefType.CONVERSATION.value, start=start, end=end
        )
        runs = top_refs(services.sessions, ref_type=RefType.RUN.value, start=start, end=end)
except AppError as exc:
    st.error(str(exc))
    st.stop()

cols = st.columns(3)
cols[0].metric("Org spend", format_usd(sum(r.cost_nusd for r in by_day)))
cols[1].metric("Tokens", f"{sum(r.tokens for r in by_day):,}")
cols[2].metric("Model calls", f"{sum(r.calls for r in by_day):,}")

st.subheader("Spend over time")
if by_day:
    days = [r.key for r in by_day]
    st.bar_chart({"day": days, "USD": [r.cost_nusd / NANO_PER_USD for r in by_day]}, x="day")
_spend_table(by_day, "day", "spend_by_day")

st.subheader("By user")
_spend_table(by_user, "user", "spend_by_user")
st.subheader("By model")
_spend_table(by_model, "model", "spend_by_model")
st.subheader("By purpose")
_spend_table(by_purpose, "purpose", "spend_by_purpose")
st.subheader("Most expensive conversations")
_ref_table(conversations, "top_conversations")
st.subheader("Most expensive prompt runs")
_ref_table(runs, "top_prompt_runs")

st.subheader("User budgets")
emails = {u.id: u.email for u in services.accounts.list_users()}
chosen = st.selectbox(
    "User", list(emails), format_func=emails.__getitem__, index=None, placeholder="Choose a user"
)
if chosen is not None:
    try:
        saved = _budget_form(f"budget-{chosen}", "User", budgets.get_user_budget(chosen))
        if saved is not None:
            budgets.set_user_budget(chosen, saved)
            st.success(f"Budget of {emails[chosen]} saved.")
    except AppError as exc:
        st.error(str(exc))

st.subheader("Organisation budget")
try:
    saved_org = _budget_form("budget-org", "Org", budgets.get_org_budget())
    if saved_org is not None:
        budgets.set_org_budget(saved_org)
        st.success("Organisation budget saved.")
except AppError as exc:
    st.error(str(exc))

st.subheader("Budget alerts")
show_all_alerts()
