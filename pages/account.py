"""Account: password, Airtable connection and API tokens for the signed-in user."""

from __future__ import annotations

import streamlit as st

from services.auth.passwords import MIN_LENGTH
from services.errors import AppError
from ui.a11y import plain_text
from ui.context import get_services
from ui.forms import FormField, post_form
from ui.signed_in import require_user

services = get_services()
user = require_user()

st.title("Account")
plain_text(f"{user.email} · {user.role}", caption=True)

st.header("Airtable connection")
if connected := st.session_state.pop("airtable_connected", None):
    st.success(connected)
connections = services.airtable_connections
own = connections.describe(user.id)
effective = connections.effective(user.id)
if own is not None:
    st.write(
        f"Your personal access token {own.token_hint} is connected "
        f"({own.base_count} bases visible)."
    )
    if st.button("Disconnect my token"):
        connections.disconnect(actor_id=user.id)
        st.rerun()
elif effective is not None:
    source = "the organisation's" if effective.scope == "org" else "the demo emulator's"
    st.write(f"You are using {source} connection. Add your own token to use your bases.")
else:
    st.warning("No Airtable connection yet: add a personal access token to use your bases.")

with st.form("airtable_token", clear_on_submit=True):
    token = st.text_input("Personal access token", type="password", placeholder="pat…")
    if st.form_submit_button("Validate and save"):
        try:
            with st.spinner("Checking the token with Airtable…"):
                info = connections.connect(actor_id=user.id, token=token)
        except AppError as exc:
            st.error(str(exc))
        else:
            # Rerun so the connection described above is the new one.
            message = f"Connected {info.token_hint}: {info.base_count} bases visible."
            st.session_state["airtable_connected"] = message
            st.rerun()

st.header("API tokens")
st.caption("For scripts calling `/api` routes with `Authorization: Bearer <token>`.")
issued = st.session_state.pop("issued_api_token", None)
if issued:
    st.success("Copy this token now; it is not shown again.")
    st.code(issued, language=None)
    st.session_state["api-token-name"] = ""  # created: the next token's name starts empty
# Not cleared on submit: a refused name stays in the box to be corrected.
with st.form("api_token"):
    name = st.text_input("Token name", key="api-token-name")
    if st.form_submit_button("Create token"):
        try:
            st.session_state["issued_api_token"] = services.api_tokens.create(
                user_id=user.id, name=name
            ).token
            st.rerun()
        except AppError as exc:
            st.error(str(exc))
for row in services.api_tokens.list_for(user.id):
    cols = st.columns([3, 3, 2])
    cols[0].write(row.name)
    state = "revoked" if row.revoked_at else f"expires {row.expires_at:%Y-%m-%d}"
    cols[1].write(state)
    if row.revoked_at is None and cols[2].button("Revoke", key=f"revoke-{row.jti}"):
        services.api_tokens.revoke(user_id=user.id, jti=row.jti)
        st.rerun()

st.header("Password")
# A form posted to a route: only an HTTP response can give this browser its new session
# cookie after every session of the account ends. The outcome shows at the top of the page.
post_form(
    "/api/account/password",
    "password",
    [
        FormField(
            "current_password", "Current password", "password", autocomplete="current-password"
        ),
        FormField(
            "new_password",
            f"New password (at least {MIN_LENGTH} characters)",
            "password",
            autocomplete="new-password",
        ),
        FormField(
            "new_password_confirm",
            "Repeat the new password",
            "password",
            autocomplete="new-password",
        ),
    ],
    "Change password",
)
