"""Notifications: the signed-in user's events (and the org's, for admins), newest first."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from services.errors import AppError
from services.events.inbox import Notification
from services.events.types import EVENT_TYPES
from ui.context import get_services
from ui.notifications import LABELS, describe, link
from ui.signed_in import require_user

user = require_user()
inbox = get_services().notifications

st.title("Notifications")
left, right = st.columns([3, 1], vertical_alignment="bottom")
chosen = left.multiselect(
    "Show only",
    EVENT_TYPES,
    format_func=lambda name: LABELS.get(name, name),
    placeholder="All types",
)
if right.button("Mark all read", icon=":material/done_all:"):
    try:
        inbox.mark_all_read(user.id)
    except AppError as exc:
        st.error(str(exc))
    else:
        st.rerun()  # the bell above was drawn before this click was handled


def _when(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def _show(item: Notification) -> None:
    event = item.event
    with st.container(border=True):
        text, action = st.columns([5, 1], vertical_alignment="center")
        title = describe(event)
        text.markdown(title if item.read else f"**{title}**")
        caption = f"{_when(event.timestamp)} · {LABELS.get(event.type, event.type)}"
        text.caption(caption + ("" if item.read else " · unread"))
        target = link(event)
        if target is not None:
            text.markdown(f"[{target[0]}]({target[1]})")
        if not item.read and action.button(
            "Mark read", key=f"read-{event.id}", icon=":material/check:"
        ):
            try:
                inbox.mark_read(user.id, event.id)
            except AppError as exc:
                st.error(str(exc))
            else:
                st.rerun()


try:
    items = inbox.recent(user.id, admin=user.is_admin, types=frozenset(chosen) if chosen else None)
except AppError as exc:
    st.error(str(exc))
    st.stop()
if not items:
    st.caption("Nothing yet. Workflow runs, applied changes and budget alerts show up here.")
for notification in items:
    _show(notification)
