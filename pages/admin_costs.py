"""Admin: the organisation's costs from the ledger, budgets per user and for the org."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import streamlit as st

from services.budget.budgets import BudgetOverrides, Limits
from services.budget.pricing import NANO_PER_USD, format_usd, usd_to_nusd
from services.budget.reports import (
    DELETED_USER,
    RefSpend,
    SpendRow,
    ref_owners,
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
    spend_by_user,
    to_csv,
    top_refs,
)
from services.budget.types import RefType
from services.errors import AppError, InvalidInputError, NotFoundError
from services.prompts.runs import PromptRunStore
from ui.alerts import show_all_alerts
from ui.context import get_services
from ui.period import daily_chart, pick_period, purpose_label, spend_table
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


def _spend_table(
    rows: list[SpendRow], key: str, name: str, label: Callable[[str], str] = str
) -> None:
    spend_table(rows, key, label)
    if rows:
        _download(rows, name)


def _ref_table(
    rows: list[RefSpend], name: str, leads: dict[str, dict[str, str]] | None = None
) -> None:
    """`leads`: the first columns of each row by id (a title, an owner); else the id."""
    if not rows:
        st.caption("None in this period.")
        return
    st.dataframe(
        [
            {
                **(leads or {}).get(r.ref_id, {"id": r.ref_id}),
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


@dataclass(frozen=True)
class _Field:
    """One limit of a budget form: its label, what it means when left empty, and its units."""

    name: str
    label: str
    default_text: str
    usd: bool


_LIMITS = [  # (field of the budget, label, in USD)
    ("day_nusd", "day USD", True),
    ("month_nusd", "month USD", True),
    ("day_tokens", "day tokens", False),
    ("month_tokens", "month tokens", False),
]


def _fields(defaults: Limits) -> list[_Field]:
    return [
        _Field(name, label, _limit_text(getattr(defaults, name), usd=usd), usd)
        for name, label, usd in _LIMITS
    ]


def _limit_text(value: int, *, usd: bool) -> str:
    if not value:
        return "no limit"
    return format_usd(value) if usd else f"{value:,} tokens"


def _value_text(value: int | None, *, usd: bool) -> str:
    # Exact decimal text, so saving the form unchanged stores the same amount again.
    if not value:  # None (the default) and 0 (no limit) both leave the box empty.
        return ""
    return f"{(Decimal(value) / NANO_PER_USD).normalize():f}" if usd else str(value)


def _parse(text: str, field: _Field, owner: str) -> int | None:
    """The stored value for what the admin typed: None for empty (the default)."""
    text = text.strip().replace(",", "").removeprefix("$")
    if not text:
        return None
    if field.usd:
        value = usd_to_nusd(text)
    else:
        try:
            value = int(text)
        except ValueError:
            raise InvalidInputError(f"{text!r} is not a whole number of tokens.") from None
        if value < 0:
            raise InvalidInputError("A token limit must be more than 0.")
    if value == 0:
        # Stored, 0 means "no limit": refuse it here so nobody types 0 meaning "stop spending".
        raise InvalidInputError(
            f"{owner} {field.label}: 0 is not a limit. To remove the limit tick “No limit”; "
            "to stop spending, set the smallest amount (0.000001 USD or 1 token)."
        )
    return value


def _budget_form(
    form_key: str, owner: str, current: BudgetOverrides, defaults: Limits
) -> BudgetOverrides | None:
    """The four limits of one budget; the parsed overrides once saved, else None."""
    fields = _fields(defaults)
    with st.form(form_key):
        st.caption("Leave a box empty to use the default shown in it.")
        entered: list[tuple[_Field, str, bool]] = []
        for col, field in zip(st.columns(len(fields)), fields, strict=True):
            stored = getattr(current, field.name)
            text = col.text_input(
                f"{owner} {field.label}",
                _value_text(stored, usd=field.usd),
                placeholder=f"default {field.default_text}",
            )
            unlimited = col.checkbox(
                "No limit",
                value=stored == 0,
                key=f"{form_key}-{field.name}-unlimited",
                help=f"No {field.label} limit at all for this budget; the box is then ignored.",
            )
            entered.append((field, text, unlimited))
        if not st.form_submit_button(f"Save {owner.lower()} budget"):
            return None
    values = {
        field.name: 0 if unlimited else _parse(text, field, owner)
        for field, text, unlimited in entered
    }
    return BudgetOverrides(**values)


def _conversation_title(user_id: int | None, conversation_id: str) -> str:
    if user_id is None:
        return conversation_id
    try:
        return services.conversations.get(user_id=user_id, conversation_id=conversation_id).title
    except NotFoundError:  # expired or deleted: the id is all there is
        return conversation_id


def _ref_columns(
    rows: list[RefSpend], ref_type: RefType, title: Callable[[int | None, str], str]
) -> dict[str, dict[str, str]]:
    """Each conversation's or run's title and owner's email, by its id (the id when gone)."""
    owners = ref_owners(
        services.sessions, ref_type=ref_type.value, ref_ids=[r.ref_id for r in rows]
    )
    name = "conversation" if ref_type is RefType.CONVERSATION else "prompt"
    columns: dict[str, dict[str, str]] = {}
    for row in rows:
        user_id = owners.get(row.ref_id)
        owner = DELETED_USER if user_id is None else emails.get(user_id, DELETED_USER)
        columns[row.ref_id] = {name: title(user_id, row.ref_id), "owner": owner}
    return columns


st.title("Costs")
emails = {u.id: u.email for u in services.accounts.list_users()}
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
    daily_chart(by_day, start, end, tokens=False)
_spend_table(by_day, "day", "spend_by_day")

st.subheader("By user")
_spend_table(by_user, "user", "spend_by_user")
st.subheader("By model")
_spend_table(by_model, "model", "spend_by_model")
st.subheader("By purpose")
_spend_table(by_purpose, "purpose", "spend_by_purpose", purpose_label)
st.subheader("Most expensive conversations")
_ref_table(
    conversations,
    "top_conversations",
    _ref_columns(conversations, RefType.CONVERSATION, _conversation_title),
)
st.subheader("Most expensive prompt runs")
prompt_names = PromptRunStore(services.sessions).prompt_names([r.ref_id for r in runs])
_ref_table(
    runs,
    "top_prompt_runs",
    _ref_columns(runs, RefType.RUN, lambda _user, run_id: prompt_names.get(run_id, run_id)),
)

st.subheader("User budgets")
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

st.subheader("Organisation budget")
try:
    saved_org = _budget_form(
        "budget-org", "Org", budgets.get_org_budget(), budgets.defaults(org=True)
    )
    if saved_org is not None:
        budgets.set_org_budget(saved_org)
        st.success("Organisation budget saved.")
except AppError as exc:
    st.error(str(exc))

st.subheader("Budget alerts")
show_all_alerts(emails)
