"""What the usage and cost pages share: period picker, spend table, daily chart, purposes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import streamlit as st

from services.budget.pricing import NANO_PER_USD, format_usd
from services.budget.reports import DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS, SpendRow, day_range
from services.budget.types import Purpose
from services.errors import AppError

_PURPOSE_LABELS = {
    Purpose.CHAT.value: "Chat",
    Purpose.TITLE.value: "Conversation titles",
    Purpose.SUMMARY.value: "Conversation summaries",
    Purpose.PROMPT_RUN.value: "Prompt runs",
    Purpose.WORKFLOW_RUN.value: "Workflows",
    Purpose.BULK_FILL.value: "Bulk fills",
}


def pick_period() -> tuple[datetime, datetime]:
    """Whole UTC days chosen by the person, as [start, end); stops the page until valid."""
    today = datetime.now(UTC).date()
    label = "Period (UTC days)"
    picked = st.date_input(
        label,
        value=(today - timedelta(days=DEFAULT_REPORT_DAYS - 1), today),
        max_value=today,
        help=f"Up to {MAX_REPORT_DAYS} days.",
    )
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info(f"{label}: pick the first and the last day of the period.")
        st.stop()
    try:
        return day_range(picked[0], picked[1])
    except AppError as exc:
        st.error(f"{label}: {exc}")
        st.stop()


def spend_table(rows: list[SpendRow], key: str, label: Callable[[str], str] = str) -> None:
    """Calls, cost and tokens per group (`key` names the group column; `label` its text)."""
    if not rows:
        st.caption("No calls in this period.")
        return
    st.dataframe(
        [
            {
                key: label(r.key),
                "calls": r.calls,
                "cost": format_usd(r.cost_nusd),
                "tokens": r.tokens,
            }
            for r in rows
        ],
        hide_index=True,
    )


def every_day(rows: list[SpendRow], start: datetime, end: datetime) -> list[SpendRow]:
    """`rows` (keyed `YYYY-MM-DD`) with a zero row for each day of [start, end) without calls.

    A chart of only the days with calls would stretch one day's bar across the whole period.
    """
    by_key = {r.key: r for r in rows}
    days = [(start + timedelta(days=n)).date().isoformat() for n in range((end - start).days)]
    return [by_key.get(d, SpendRow(key=d, calls=0, cost_nusd=0, tokens=0)) for d in days]


def daily_chart(rows: list[SpendRow], start: datetime, end: datetime, *, tokens: bool) -> None:
    """Bar charts of spend (USD) per day, and of tokens when `tokens`, over the whole period."""
    filled = every_day(rows, start, end)
    days = [r.key for r in filled]
    st.bar_chart(
        {"day": days, "USD": [r.cost_nusd / NANO_PER_USD for r in filled]},
        x="day",
        y="USD",
        x_label="Day (UTC)",
        y_label="USD",
    )
    if tokens:
        st.bar_chart(
            {"day": days, "tokens": [r.tokens for r in filled]},
            x="day",
            y="tokens",
            x_label="Day (UTC)",
            y_label="Tokens",
        )


def purpose_label(purpose: str) -> str:
    """What a ledger purpose (`prompt_run`) means to a person (`Prompt runs`)."""
    return _PURPOSE_LABELS.get(purpose, purpose)
