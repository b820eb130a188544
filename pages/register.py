"""Register a local account. The first account on an empty install becomes the admin."""

from __future__ import annotations

import streamlit as st

from services.auth.passwords import MIN_LENGTH
from ui.context import get_settings
from ui.forms import FormField, post_form, show_flash

st.title("Create an account")
if not get_settings().allow_registration:
    st.info("Registration is closed. Ask an admin for an account.")
    st.stop()

refill = show_flash()
post_form(
    "/api/auth/register",
    "register",
    [
        FormField("email", "Email", "email", refill.get("email", ""), "username"),
        FormField(
            "display_name", "Name (optional)", "text", refill.get("display_name", ""), "name", False
        ),
        FormField(
            "password",
            f"Password (at least {MIN_LENGTH} characters)",
            "password",
            autocomplete="new-password",
        ),
        FormField(
            "password_confirm", "Repeat the password", "password", autocomplete="new-password"
        ),
    ],
    "Create account",
)
st.page_link("pages/signin.py", label="Already registered? Sign in", icon=":material/login:")
