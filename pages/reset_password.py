"""Set a new password through the one-time link an admin passed on (valid for an hour)."""

from __future__ import annotations

import streamlit as st

from services.auth.passwords import MIN_LENGTH
from services.auth.resets import LINK_USED_OR_EXPIRED
from ui.context import get_services
from ui.forms import FormField, post_form, show_flash

st.title("Set a new password")
show_flash()
token = st.query_params.get("token", "")
email = get_services().password_resets.email_for(token) if token else None
if email is None:
    st.error(LINK_USED_OR_EXPIRED, icon=":material/link_off:")
    st.page_link("pages/signin.py", label="Sign in", icon=":material/login:")
    st.stop()

st.write(f"For **{email}**. The link works once; afterwards, sign in with the new password.")
post_form(
    "/api/auth/reset",
    "reset",
    [
        FormField(
            "password",
            f"New password (at least {MIN_LENGTH} characters)",
            "password",
            autocomplete="new-password",
        ),
        FormField(
            "password_confirm", "Repeat the new password", "password", autocomplete="new-password"
        ),
    ],
    "Set password",
    hidden={"token": token},
)
