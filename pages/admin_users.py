"""Admin: users, their roles and status, and the organisation's Airtable connection."""

from __future__ import annotations

import streamlit as st

from services.errors import AppError
from services.models import Role, UserStatus
from ui.alerts import show_all_alerts
from ui.context import get_services
from ui.session import require_admin

services = get_services()
admin = require_admin()

st.title("Users")
users = services.accounts.list_users()
st.caption(f"{len(users)} users")

# An admin demoting or disabling their own account would lock themselves out of this page.
SELF_HELP = "You cannot change your own account here: ask another admin."

for user in users:
    is_self = user.id == admin.id
    with st.container(border=True):
        cols = st.columns([4, 2, 2, 2])
        you = " (you)" if is_self else ""
        cols[0].markdown(f"**{user.email}**{you}  \n{user.display_name or ''}")
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
        except AppError as exc:
            st.error(str(exc))

st.subheader("Budget alerts")
show_all_alerts({u.id: u.email for u in users})

st.subheader("Organisation Airtable connection")
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
