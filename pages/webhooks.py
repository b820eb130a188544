"""Webhooks: outgoing endpoints (URL, events, secret shown once), their delivery log with
Replay, Send test event, Rotate secret, Enable/Disable and Delete. Admins see everyone's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import streamlit as st

from services.errors import AppError
from services.events.types import EVENT_TYPES
from services.webhooks.types import DeliveryInfo, EndpointInfo
from ui.context import get_services
from ui.notifications import LABELS
from ui.signed_in import require_user

user = require_user()
webhooks = get_services().webhooks
SHOWN_ONCE = "webhook_secret_once"

st.title("Webhooks")
st.caption(
    "Send events to your own services, signed as Standard Webhooks (`webhook-id`, "
    "`webhook-timestamp`, `webhook-signature`). Failed deliveries are retried for about a "
    "day; an endpoint failing for a day is disabled and you are told."
    + (" As an admin you also get the organisation's events." if user.is_admin else "")
)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "—"


def _act(action: Callable[[], object], done: str | None = None) -> None:
    """Run a button's action; show the error, or rerun so the page shows the new state."""
    try:
        action()
    except AppError as exc:
        st.error(str(exc))
        return
    if done:
        st.toast(done)
    st.rerun()


def _show_secret_once() -> None:
    shown = st.session_state.get(SHOWN_ONCE)
    if not shown:
        return
    with st.container(border=True):
        st.success(f"Signing secret of {shown['url']}. Copy it now: it is not shown again.")
        st.code(shown["secret"], language=None)
        if st.button("I have copied the secret", icon=":material/done:"):
            st.session_state.pop(SHOWN_ONCE, None)
            st.rerun()


def _create_form() -> None:
    with (
        st.expander("New endpoint", expanded=not endpoints, icon=":material/add:"),
        st.form("new-endpoint", clear_on_submit=False),
    ):
        url = st.text_input("Endpoint URL", placeholder="https://example.com/webhooks")
        description = st.text_input("Description (optional)")
        events = st.multiselect(
            "Events to send",
            EVENT_TYPES,
            format_func=lambda name: f"{LABELS.get(name, name)} ({name})",
            placeholder="Pick one or more event types",
        )
        if st.form_submit_button("Create endpoint", type="primary"):
            try:
                created = webhooks.create(user, url=url, events=events, description=description)
            except AppError as exc:
                st.error(str(exc))
            else:
                st.session_state[SHOWN_ONCE] = {
                    "url": created.endpoint.url,
                    "secret": created.secret,
                }
                st.rerun()


def _deliveries(endpoint: EndpointInfo) -> None:
    try:
        found = webhooks.deliveries(user, endpoint.id, limit=20)
    except AppError as exc:
        st.error(str(exc))
        return
    if not found:
        st.caption("No deliveries yet. Send a test event to try the endpoint.")
        return
    for delivery in found:
        _delivery(endpoint, delivery)


def _delivery(endpoint: EndpointInfo, delivery: DeliveryInfo) -> None:
    status = {"succeeded": "✅ delivered", "failed": "❌ failed", "pending": "⏳ pending"}
    label = (
        f"{delivery.event_type} · {status.get(delivery.status, delivery.status)} · "
        f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''} · "
        f"{_when(delivery.created_at)}"
    )
    with st.container(border=True):
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(label)
        text.caption(f"webhook-id `{delivery.id}` · event `{delivery.event_id}`")
        if button.button("Replay", key=f"replay-{delivery.id}", icon=":material/replay:"):
            _act(lambda: webhooks.replay(user, delivery.id), "Queued again with the same ID.")
        if delivery.attempt_log:
            st.dataframe(
                [
                    {
                        "time": _when(a.at),
                        "status": a.status_code if a.status_code is not None else "—",
                        "latency ms": round(a.latency_ms, 1),
                        "response": a.error or a.response[:120],
                    }
                    for a in delivery.attempt_log
                ],
                hide_index=True,
                width="stretch",
            )
        if delivery.status == "pending" and delivery.next_attempt_at:
            st.caption(f"Next attempt {_when(delivery.next_attempt_at)}")


def _endpoint(endpoint: EndpointInfo) -> None:
    with st.container(border=True):
        st.subheader(endpoint.url, anchor=False)
        state = "Enabled" if endpoint.enabled else "Disabled"
        owner = f" · owner #{endpoint.owner_id}" if endpoint.owner_id != user.id else ""
        st.caption(f"{state} · created {_when(endpoint.created_at)}{owner}")
        if endpoint.description:
            st.write(endpoint.description)
        st.write("Events: " + ", ".join(f"`{e}`" for e in endpoint.events))
        if endpoint.disabled_reason and not endpoint.enabled:
            st.warning(endpoint.disabled_reason)
        elif endpoint.failing_since:
            st.warning(f"Deliveries failing since {_when(endpoint.failing_since)}.")
        if endpoint.previous_secret_until:
            st.caption(
                f"The previous secret also signs until {_when(endpoint.previous_secret_until)}."
            )
        test, rotate, toggle, delete = st.columns(4)
        if test.button("Send test event", key=f"test-{endpoint.id}", disabled=not endpoint.enabled):
            _act(lambda: webhooks.send_test(user, endpoint.id), "Test event queued.")
        if rotate.button("Rotate secret", key=f"rotate-{endpoint.id}"):
            try:
                info, secret = webhooks.rotate(user, endpoint.id)
            except AppError as exc:
                st.error(str(exc))
            else:
                st.session_state[SHOWN_ONCE] = {"url": info.url, "secret": secret}
                st.rerun()
        flip = "Disable" if endpoint.enabled else "Enable"
        if toggle.button(flip, key=f"toggle-{endpoint.id}"):
            _act(lambda: webhooks.update(user, endpoint.id, enabled=not endpoint.enabled))
        if delete.button("Delete", key=f"delete-{endpoint.id}", type="secondary"):
            st.session_state[f"confirm-delete-{endpoint.id}"] = True
        if st.session_state.get(f"confirm-delete-{endpoint.id}"):
            st.warning("Delete this endpoint and its delivery log?")
            yes, no = st.columns(2)
            if yes.button("Yes, delete", key=f"yes-delete-{endpoint.id}", type="primary"):
                st.session_state.pop(f"confirm-delete-{endpoint.id}", None)
                _act(lambda: webhooks.delete(user, endpoint.id), "Endpoint deleted.")
            if no.button("Keep it", key=f"no-delete-{endpoint.id}"):
                st.session_state.pop(f"confirm-delete-{endpoint.id}", None)
                st.rerun()
        with st.expander("Delivery log", icon=":material/list:"):
            _deliveries(endpoint)


try:
    endpoints = webhooks.list_for(user)
except AppError as exc:
    st.error(str(exc))
    st.stop()

_show_secret_once()
_create_form()
if not endpoints:
    st.caption("No endpoints yet.")
for item in endpoints:
    _endpoint(item)
