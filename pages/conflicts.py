"""Conflicts: fields a `manual` sync job found changed on both sides, and deletes a job
kept; resolve one or many by picking a side or typing a value. The next run writes it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.errors import AppError
from ui.context import get_services
from ui.signed_in import require_user

services = get_services()
user = require_user()
inbox = services.sync_conflicts

st.title("Conflicts")
st.caption(
    "Each row is a field both sides changed since the last sync, with the value both had "
    "before. Pick a side or type the value to keep: the next run of the job writes it to "
    "both sides."
)

try:
    jobs = {j.id: j.spec.name for j in services.sync_jobs.list_for(user)}
    held = inbox.open(user)
except AppError as exc:
    st.error(str(exc))
    st.stop()

if not held:
    st.info("No conflicts waiting.", icon=":material/check_circle:")
    st.stop()


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "unknown"


def _resolve(ids: list[int], choice: str, value: str = "") -> None:
    try:
        count = inbox.resolve(user, ids, choice, value)  # type: ignore[arg-type]
    except AppError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.toast(f"{count} resolved; the next run syncs them.")
    st.rerun()


selected: list[int] = []
for conflict in held:
    what = f"field `{conflict.field}`" if conflict.field else "record deleted on one side"
    with st.container(border=True):
        top = list(st.columns([1, 8], vertical_alignment="center"))
        if top[0].checkbox("Select", key=f"pick-{conflict.id}", label_visibility="collapsed"):
            selected.append(conflict.id)
        top[1].markdown(f"**{jobs.get(conflict.job_id, conflict.job_id)}** · {what}")
        cols = list(st.columns(3))
        if conflict.field:
            cols[0].markdown(f"Before: `{_shown(conflict.base)}`")
        a_when = _when(conflict.airtable_changed_at)
        cols[1].markdown(f"Airtable: `{_shown(conflict.airtable)}`  \nchanged {a_when}")
        cols[2].markdown(
            f"SQL: `{_shown(conflict.sql)}`  \nchanged {_when(conflict.sql_changed_at)}"
        )
        actions = list(st.columns([2, 2, 3, 2], vertical_alignment="bottom"))
        if actions[0].button("Keep Airtable", key=f"a-{conflict.id}"):
            _resolve([conflict.id], "airtable")
        if actions[1].button("Keep SQL", key=f"s-{conflict.id}"):
            _resolve([conflict.id], "sql")
        if conflict.field:
            typed = actions[2].text_input("Value", key=f"v-{conflict.id}")
            if actions[3].button("Use value", key=f"use-{conflict.id}"):
                _resolve([conflict.id], "value", typed)

st.subheader("Selected")
cols = list(st.columns(2))
if cols[0].button("Keep Airtable for selected", disabled=not selected):
    _resolve(selected, "airtable")
if cols[1].button("Keep SQL for selected", disabled=not selected):
    _resolve(selected, "sql")
