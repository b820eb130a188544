"""The report period picker shared by the usage and cost pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from services.budget.reports import DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS, day_range
from services.errors import AppError


def pick_period() -> tuple[datetime, datetime]:
    """Whole UTC days chosen by the person, as [start, end); stops the page until valid."""
    today = datetime.now(UTC).date()
    picked = st.date_input(
        "Period (UTC days)",
        value=(today - timedelta(days=DEFAULT_REPORT_DAYS - 1), today),
        max_value=today,
        help=f"Up to {MAX_REPORT_DAYS} days.",
    )
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info("Pick the first and the last day of the period.")
        st.stop()
    try:
        return day_range(picked[0], picked[1])
    except AppError as exc:
        st.error(str(exc))
        st.stop()
