"""Sign in: email and password, or an external provider when one is configured."""

from __future__ import annotations

import streamlit as st

from services.auth.accounts import ExternalIdentity
from services.errors import AppError
from ui.context import get_services
from ui.forms import FormField, post_form, same_tab_link, show_flash

services = get_services()
settings = services.settings

st.title("Sign in")
st.caption(
    "to **PyAirtable Assistant**: ask your Airtable bases questions in plain words; "
    "every change waits for your confirmation."
)
refill = show_flash()


def _continue_after_oidc() -> None:
    """`st.login` finished: link the identity, then let the route set our session cookie."""
    user_info = st.user
    identity = ExternalIdentity(
        provider=f"oidc:{user_info.get('iss', 'oidc')}",
        subject=str(user_info.get("sub", "")),
        email=str(user_info.get("email", "")),
        email_verified=bool(user_info.get("email_verified", False)),
        name=str(user_info.get("name", "")),
    )
    try:
        user = services.accounts.sign_in_external(identity)
    except AppError as exc:
        st.error(str(exc))
        if st.button("Use another account"):
            st.logout()
        return
    ticket = services.sign_ins.issue_ticket(user.id)
    st.write(f"Signed in with {settings.oidc_provider_label} as **{user.email}**.")
    post_form("/api/auth/oidc/complete", "oidc", [], "Continue", hidden={"ticket": ticket})


if settings.oidc_enabled and st.user.is_logged_in:
    _continue_after_oidc()
    st.stop()

post_form(
    "/api/auth/login",
    "login",
    [
        FormField("email", "Email", "email", refill.get("email", ""), "username"),
        FormField("password", "Password", "password", autocomplete="current-password"),
    ],
    "Sign in",
)

if settings.oidc_enabled or settings.github_enabled:
    st.divider()
    if settings.oidc_enabled and st.button(f"Sign in with {settings.oidc_provider_label}"):
        st.login("oidc")
    if settings.github_enabled:
        same_tab_link("/api/auth/github/start", "Sign in with GitHub")

if settings.allow_registration:
    st.page_link(
        "pages/register.py", label="No account yet? Register", icon=":material/person_add:"
    )
