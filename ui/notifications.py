"""Notifications in the app: the sidebar bell (unread count, toasts) and how an event reads.

The bell is an `st.fragment` that reruns on its own every `EVENTS_UI_POLL_SECONDS`: it
reads the user's streams, toasts what arrived since its last look and redraws the count,
without rerunning the page (so text being typed elsewhere is left alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from services.errors import StoreUnavailableError
from services.events import types as t
from services.events.bus import Event
from services.events.inbox import UNREAD_CAP
from ui.context import get_services, get_settings

NOTIFICATIONS_PAGE = "pages/notifications.py"
_CURSOR = "notifications_toast_cursor"
_MAX_TOASTS = 3

LABELS: Mapping[str, str] = {
    t.WORKFLOW_RUN_STARTED: "Workflow run started",
    t.WORKFLOW_RUN_STEP: "Workflow step",
    t.WORKFLOW_RUN_WAITING_APPROVAL: "Workflow waiting for approval",
    t.WORKFLOW_RUN_SUCCEEDED: "Workflow run succeeded",
    t.WORKFLOW_RUN_FAILED: "Workflow run failed",
    t.WORKFLOW_RUN_COMPENSATED: "Workflow run undone",
    t.CHANGE_APPLIED: "Change applied",
    t.CHANGE_UNDONE: "Change undone",
    t.BUDGET_ALERT: "Budget alert",
    t.AIRTABLE_RECORD_CHANGED: "Airtable record changed",
    t.SYNC_CONFLICT: "Sync conflict",
    t.WEBHOOK_ENDPOINT_DISABLED: "Webhook endpoint disabled",
}
ICONS: Mapping[str, str] = {
    t.CHANGE_APPLIED: ":material/edit_note:",
    t.CHANGE_UNDONE: ":material/undo:",
    t.BUDGET_ALERT: ":material/savings:",
    t.WORKFLOW_RUN_FAILED: ":material/error:",
    t.WORKFLOW_RUN_SUCCEEDED: ":material/check_circle:",
}


def describe(event: Event) -> str:
    """One sentence about `event` for a toast or the notifications list."""
    data: Mapping[str, Any] = event.data
    label = LABELS.get(event.type, event.type)
    if event.type in (t.CHANGE_APPLIED, t.CHANGE_UNDONE):
        table = data.get("table_name") or data.get("table_id", "a table")
        return f"{label}: {data.get('done', 0)} of {data.get('total', 0)} records in {table}."
    if event.type == t.BUDGET_ALERT:
        whose = "The organisation's" if data.get("scope") == "org" else "Your"
        period = "daily" if data.get("window") == "day" else "monthly"
        how = "over" if data.get("over") else "used"
        return f"{label}: {whose} {period} budget is {data.get('threshold_pct')}% {how}."
    if event.type.startswith("workflow.run."):
        detail = data.get("message") or data.get("detail") or data.get("step_id") or ""
        run = data.get("run_id", "")
        return f"{label} (run {run}){': ' + str(detail) if detail else ''}."
    if event.type == t.AIRTABLE_RECORD_CHANGED:
        return f"{label}: {data.get('record_id', '')} in {data.get('table_id', 'a table')}."
    if event.type == t.WEBHOOK_ENDPOINT_DISABLED and data.get("message"):
        return str(data["message"])
    return f"{label}."


def link(event: Event) -> tuple[str, str] | None:
    """(label, URL path) of what `event` is about: the run, the chat of a change, the usage."""
    data: Mapping[str, Any] = event.data
    if event.type.startswith("workflow.run.") and data.get("run_id"):
        return "Open the run", "/workflow_run?" + urlencode({"run": data["run_id"]})
    if event.type in (t.CHANGE_APPLIED, t.CHANGE_UNDONE) and data.get("conversation_id"):
        return "Open the chat", "/?" + urlencode({"c": data["conversation_id"]})
    if event.type == t.WEBHOOK_ENDPOINT_DISABLED:
        return "Open Webhooks", "/webhooks"
    if event.type == t.BUDGET_ALERT:
        return (
            ("See costs", "/admin_costs")
            if data.get("scope") == "org"
            else (
                "See my usage",
                "/usage",
            )
        )
    return None


def render_bell(user_id: int, *, admin: bool) -> None:
    """The bell in the sidebar: call once per page run, inside `with st.sidebar`."""
    every = get_settings().events_ui_poll_seconds
    st.fragment(run_every=every)(_bell)(user_id, admin)


def _bell(user_id: int, admin: bool) -> None:
    inbox = get_services().notifications
    try:
        if _CURSOR not in st.session_state:  # toasts are for what arrives from now on
            st.session_state[_CURSOR] = inbox.last_id()
        fresh = inbox.since(user_id, admin=admin, after=st.session_state[_CURSOR])
        unread = inbox.unread_count(user_id, admin=admin)
    except StoreUnavailableError:
        st.caption(":material/notifications_off: Notifications are unavailable.")
        return
    if fresh:
        st.session_state[_CURSOR] = fresh[-1].id
    for event in fresh[-_MAX_TOASTS:]:
        st.toast(describe(event), icon=ICONS.get(event.type, ":material/notifications:"))
    count = f"{UNREAD_CAP}+" if unread > UNREAD_CAP else str(unread)
    st.page_link(
        NOTIFICATIONS_PAGE,
        label=f"Notifications: {count} unread",
        icon=":material/notifications_active:" if unread else ":material/notifications:",
    )
