"""Status (admins): what this installation is connected to, and how to connect the rest."""

from __future__ import annotations

import streamlit as st

from services.health import check_components
from ui.context import get_services
from ui.signed_in import require_admin
from ui.status import render_connection_test, render_statuses

require_admin()
st.title("Status")
st.caption("What this installation is connected to.")
st.header("Connections")
with st.spinner("Checking connections…"):
    render_statuses(check_components(get_services()))
render_connection_test(get_services())
