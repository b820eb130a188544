"""Streamlit entry: page config, the sign-in gate and navigation. Thin: screens live in pages/.

Every page is registered for everyone (so a URL never 404s into the wrong page) but only
shown to those allowed; the gate below routes strangers to sign-in and stops members on
admin pages with "not allowed". Pages check again themselves.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from services.errors import StoreUnavailableError
from ui.a11y import page_style, signed_in_line, skip_links
from ui.context import get_settings
from ui.forms import post_form, show_flash
from ui.notifications import render_bell
from ui.signed_in import NOT_ALLOWED, current_user
from ui.status import render_outage

st.set_page_config(page_title="PyAirtable Assistant", page_icon=":material/table_chart:")
page_style()

try:
    user = current_user()
except StoreUnavailableError as outage:
    render_outage(str(outage))
    st.stop()
if st.query_params.get("signed_out") and get_settings().oidc_enabled and st.user.is_logged_in:
    # Also end the identity provider's session after our own sign-out. Stop here: a page
    # switch below would start a rerun that drops the queued redirect before it is sent.
    st.logout()
    st.caption("Signing you out of your identity provider…")
    st.stop()


def _visible(allowed: bool) -> Literal["visible", "hidden"]:
    return "visible" if allowed else "hidden"


signed_in = user is not None
is_admin = user is not None and user.is_admin
# The default page owns "/", so it is always the same one; the gate below sends strangers
# to sign-in. Explicit url_paths keep every other page's URL stable for everyone.
signin = st.Page(
    "pages/signin.py",
    title="Sign in",
    icon=":material/login:",
    url_path="signin",
    visibility=_visible(not signed_in),
)
register = st.Page(
    "pages/register.py",
    title="Register",
    icon=":material/person_add:",
    url_path="register",
    visibility=_visible(not signed_in),
)
chat = st.Page(
    "pages/chat.py",
    title="Chat",
    icon=":material/chat:",
    default=True,
    visibility=_visible(signed_in),
)
prompts = st.Page(
    "pages/prompts.py",
    title="Prompts",
    icon=":material/bookmark:",
    url_path="prompts",
    visibility=_visible(signed_in),
)
workflows = st.Page(
    "pages/workflows.py",
    title="Workflows",
    icon=":material/account_tree:",
    url_path="workflows",
    visibility=_visible(signed_in),
)
workflow_run = st.Page(
    "pages/workflow_run.py",
    title="Runs",
    icon=":material/play_circle:",
    url_path="workflow_run",
    visibility=_visible(signed_in),
)
webhooks = st.Page(
    "pages/webhooks.py",
    title="Webhooks",
    icon=":material/webhook:",
    url_path="webhooks",
    visibility=_visible(signed_in),
)
bases = st.Page(
    "pages/bases.py",
    title="Bases",
    icon=":material/database:",
    url_path="bases",
    visibility=_visible(signed_in),
)
sync = st.Page(
    "pages/sync.py",
    title="Sync",
    icon=":material/sync_alt:",
    url_path="sync",
    visibility=_visible(signed_in),
)
conflicts = st.Page(
    "pages/conflicts.py",
    title="Conflicts",
    icon=":material/call_split:",
    url_path="conflicts",
    visibility=_visible(signed_in),
)
account = st.Page(
    "pages/account.py",
    title="Account",
    icon=":material/person:",
    url_path="account",
    visibility=_visible(signed_in),
)
users = st.Page(
    "pages/admin_users.py",
    title="Users",
    icon=":material/group:",
    url_path="admin_users",
    visibility=_visible(is_admin),
)
notifications = st.Page(
    "pages/notifications.py",
    title="Notifications",
    icon=":material/notifications:",
    url_path="notifications",
    visibility=_visible(signed_in),
)
usage = st.Page(
    "pages/usage.py",
    title="My usage",
    icon=":material/query_stats:",
    url_path="usage",
    visibility=_visible(signed_in),
)
costs = st.Page(
    "pages/admin_costs.py",
    title="Costs",
    icon=":material/payments:",
    url_path="admin_costs",
    visibility=_visible(is_admin),
)
status = st.Page(
    "pages/status.py",
    title="Status",
    icon=":material/monitor_heart:",
    url_path="status",
    visibility=_visible(is_admin),
)

reset_password = st.Page(
    "pages/reset_password.py",
    title="Set a new password",
    icon=":material/key:",
    url_path="reset_password",
    visibility="hidden",
)

PUBLIC = {signin.url_path, register.url_path, reset_password.url_path}
ADMIN_ONLY = {users.url_path, costs.url_path, status.url_path}

navigation = st.navigation(
    {
        "": [signin, register, reset_password],
        "Assistant": [chat, prompts],
        "Automation": [workflows, workflow_run, webhooks],
        "Data": [bases, sync, conflicts],
        "Account": [account, usage, notifications],
        "Admin": [users, costs, status],
    },
    position="sidebar" if signed_in else "hidden",
    expanded=True,  # every page a person may open stays listed (no "View more")
)

if user is None and navigation.url_path not in PUBLIC:
    st.switch_page(signin)
if user is not None and navigation.url_path in {signin.url_path, register.url_path}:
    st.switch_page(chat)

if user is not None:
    # Before the page runs: after its st.stop() nothing more can be drawn.
    with st.sidebar:
        signed_in_line(user.email)
        render_bell(user.id, admin=user.is_admin)
        post_form("/api/auth/logout", "logout", [], "Sign out", secondary=True)

if user is not None:
    # A route's one-time message for a signed-in page (password changed, a notice kept
    # for this account); the public pages show their own.
    show_flash()

skip_links()

if navigation.url_path in ADMIN_ONLY and not is_admin:
    st.title("Admins only")  # the one h1 of this page (not the page's own title)
    st.error(NOT_ALLOWED, icon=":material/block:")
    st.stop()

navigation.run()
