"""Rendering component statuses: the status page, and the outage screen of the gate."""

from __future__ import annotations

import streamlit as st

from services.health import ComponentStatus, check_readiness
from ui.context import get_services

LABELS = {"database": "Database", "redis": "Redis", "airtable": "Airtable", "llm": "Language model"}


def render_statuses(statuses: list[ComponentStatus]) -> None:
    for status in statuses:
        with st.container(border=True):
            icon = ":green[:material/check_circle:]" if status.ok else ":red[:material/cancel:]"
            st.markdown(f"#### {icon} {LABELS.get(status.name, status.name)}")
            st.write(status.detail)
            if status.help:
                st.info(status.help, icon=":material/info:")


def render_outage(message: str) -> None:
    """A store the app cannot work without is down: say which, and what to do."""
    st.title("Temporarily unavailable")
    st.warning(message, icon=":material/cloud_off:")
    render_statuses([s for s in check_readiness(get_services()) if not s.ok])
