"""Rendering component statuses: the status page, and the outage screen of the gate."""

from __future__ import annotations

import streamlit as st

from services.container import Services
from services.errors import AppError
from services.health import ComponentStatus, check_readiness
from services.llm.connection import check_llm_connection
from ui.context import get_services

LABELS = {
    "database": "Database",
    "redis": "Redis",
    "airtable": "Airtable",
    "llm": "Language model",
    "mirrors": "Mirrors",
}
CHECK_LABELS = {
    "auth": "Bad or missing API key",
    "quota": "Quota or rate limit reached",
    "model_not_found": "Model not found",
    "unavailable": "Provider down or unreachable",
    "timeout": "No answer in time",
    "not_configured": "Not configured",
}


def render_statuses(statuses: list[ComponentStatus]) -> None:
    for status in statuses:
        with st.container(border=True):
            icon = ":green[:material/check_circle:]" if status.ok else ":red[:material/cancel:]"
            st.markdown(f"### {icon} {LABELS.get(status.name, status.name)}")
            st.write(status.detail)
            if status.help:
                st.info(status.help, icon=":material/info:")


def render_outage(message: str) -> None:
    """A store the app cannot work without is down: say which, and what to do."""
    st.title("Temporarily unavailable")
    st.warning(message, icon=":material/cloud_off:")
    st.header("What is down")
    render_statuses([s for s in check_readiness(get_services()) if not s.ok])


def render_connection_test(services: Services) -> None:
    """A "Test connection" button: lists the provider's models with the configured key
    (no tokens spent) and says whether that worked, and if not, what is wrong."""
    st.header("Language model connection")
    st.caption("Checks the key and the default model by listing the provider's models; free.")
    if not st.button("Test connection", icon=":material/network_check:", key="llm-test"):
        return
    try:
        model: str | None = services.chat_models.default_model().name
    except AppError:
        model = None
    with st.spinner("Asking the provider for its models…"):
        check = check_llm_connection(services.settings, model=model)
    if check.ok:
        st.success(check.message, icon=":material/check_circle:")
    else:
        label = CHECK_LABELS.get(check.kind, "Provider error")
        st.error(f"**{label}.** {check.message}", icon=":material/error:")
