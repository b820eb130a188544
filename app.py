"""Streamlit entry: page config and navigation. Thin: each screen lives in pages/."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="PyAirtable Assistant", page_icon=":material/table_chart:")

navigation = st.navigation(
    {
        "System": [
            st.Page("pages/status.py", title="Status", icon=":material/monitor_heart:"),
        ],
    }
)
navigation.run()
