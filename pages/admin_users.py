"""Admin: users (add, search, roles, status, reset links) and the organisation's Airtable
connection."""

from __future__ import annotations

import streamlit as st

from services.auth.resets import RESET_TTL_S
from services.errors import AppError
from services.orm import Role, User, UserStatus
from ui.a11y import plain_text
from ui.alerts import show_all_alerts
from ui.context import get_services
from ui.signed_in import require_admin

services = get_services()
admin = require_admin()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _remember_link(user: User) -> None:
    """Issue a reset link for `user`; the next run shows it once."""
    link = services.password_resets.issue(actor_id=admin.id, user_id=user.id)
    st.session_state["reset_link"] = (link.email, link.url)


st.title("Users")
if shown_link := st.session_state.pop("reset_link", None):
    email, url = shown_link
    st.success(
        f"Pass this link on to {email}: it sets a new password, works once and expires in "
        f"{RESET_TTL_S // 60} minutes. It is not shown again."
    )
    st.code(url, language=None)

with st.expander("Add user"), st.form("add_user"):
    new_email = st.text_input("Email", max_chars=320)
    new_name = st.text_input("Name (optional)", max_chars=200)
    new_admin = st.checkbox("Admin")
    if st.form_submit_button("Add user"):
        try:
            added = services.accounts.create_user(
                actor_id=admin.id, email=new_email, display_name=new_name, admin=new_admin
            )
            _remember_link(added)
            st.rerun()
        except AppError as exc:
            st.error(str(exc))

users = services.accounts.list_users()
search = st.text_input("Search users by email or name", max_chars=320)
shown = services.accounts.list_users(search) if search.strip() else users
if search.strip():
    st.caption(f"{len(shown)} of {_count(len(users), 'user')} match")
else:
    st.caption(_count(len(users), "user"))

# An admin demoting or disabling their own account would lock themselves out of this page.
SELF_HELP = "You cannot change your own account here: ask another admin."

for user in shown:
    is_self = user.id == admin.id
    with st.container(border=True):
        cols = st.columns([4, 2, 2, 2, 2])
        you = " (you)" if is_self else ""
        with cols[0]:
            plain_text(you, strong=user.email, second_line=user.display_name or "")
        cols[1].write(f"{user.role} · {user.status}")
        try:
            if user.is_admin:
                if cols[2].button(
                    "Make member",
                    key=f"member-{user.id}",
                    disabled=is_self,
                    help=SELF_HELP if is_self else None,
                ):
                    services.accounts.set_role(actor_id=admin.id, user_id=user.id, role=Role.MEMBER)
                    st.rerun()
            elif cols[2].button("Make admin", key=f"admin-{user.id}"):
                services.accounts.set_role(actor_id=admin.id, user_id=user.id, role=Role.ADMIN)
                st.rerun()
            if user.is_active:
                if cols[3].button(
                    "Disable",
                    key=f"disable-{user.id}",
                    disabled=is_self,
                    help=SELF_HELP if is_self else None,
                ):
                    services.accounts.set_status(
                        actor_id=admin.id, user_id=user.id, status=UserStatus.DISABLED
                    )
                    st.rerun()
            elif cols[3].button("Enable", key=f"enable-{user.id}"):
                services.accounts.set_status(
                    actor_id=admin.id, user_id=user.id, status=UserStatus.ACTIVE
                )
                st.rerun()
            if cols[4].button("Reset password", key=f"reset-{user.id}"):
                _remember_link(user)
                st.rerun()
        except AppError as exc:
            st.error(str(exc))

st.header("Budget alerts")
show_all_alerts({u.id: u.email for u in users})

st.header("Organisation Airtable connection")
org = services.airtable_connections.describe(None)
if org is not None:
    st.write(f"Org token {org.token_hint} connected ({org.base_count} bases).")
    if st.button("Disconnect org token"):
        services.airtable_connections.disconnect(actor_id=admin.id, org=True)
        st.rerun()
with st.form("org_token", clear_on_submit=True):
    token = st.text_input("Org personal access token", type="password", placeholder="pat…")
    if st.form_submit_button("Validate and save for everyone"):
        try:
            info = services.airtable_connections.connect(actor_id=admin.id, token=token, org=True)
            st.success(f"Org connection {info.token_hint}: {info.base_count} bases.")
        except AppError as exc:
            st.error(str(exc))
