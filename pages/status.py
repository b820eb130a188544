"""Status: what this installation is connected to, and how to connect what is missing."""

from __future__ import annotations

import streamlit as st

from services.health import check_components
from ui.context import get_services

_LABELS = {
    "database": "Database",
    "redis": "Redis",
    "airtable": "Airtable",
    "llm": "Language model",
}

st.title("Status")
st.caption("What this installation is connected to.")

with st.spinner("Checking connections…"):
    statuses = check_components(get_services())

for status in statuses:
    with st.container(border=True):
        icon = ":green[:material/check_circle:]" if status.ok else ":red[:material/cancel:]"
        st.markdown(f"#### {icon} {_LABELS.get(status.name, status.name)}")
        st.write(status.detail)
        if status.help:
            st.info(status.help, icon=":material/info:")
