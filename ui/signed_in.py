"""Who is signed in, resolved on every script run from the HttpOnly session cookie."""

from __future__ import annotations

import streamlit as st

from services.auth.sign_ins import SESSION_COOKIE
from services.orm import User
from ui.context import get_services

NOT_ALLOWED = "Not allowed: this page is for admins. Ask an admin if you need access."


def current_user() -> User | None:
    """The active user for this browser, or None (no cookie, expired, ended or disabled)."""
    services = get_services()
    token = st.context.cookies.get(SESSION_COOKIE)
    user_id = services.sign_ins.resolve(token if isinstance(token, str) else None)
    if user_id is None:
        return None
    user = services.accounts.get_user(user_id)
    return user if user is not None and user.is_active else None


def require_user() -> User:
    """Stop the page unless someone is signed in (app.py has already routed strangers away)."""
    user = current_user()
    if user is None:
        st.warning("Please sign in.")
        st.stop()
    return user


def require_admin() -> User:
    """Stop the page with a clear "not allowed" unless the user is an admin."""
    user = require_user()
    if not user.is_admin:
        st.error(NOT_ALLOWED, icon=":material/block:")
        st.stop()
    return user
