"""Bases: the person's Airtable bases, and their mirrors (SQL copies for query_records).

Admins, and people whose own Airtable connection sees a base, turn its mirror on for the
whole base or per table; everyone sees each copy's status, build progress and freshness.
"""

from __future__ import annotations

import streamlit as st

from services.errors import AppError
from services.mirrors import BaseMirror
from services.mirrors.queries import freshness_of
from services.mirrors.registry import TableState
from ui.context import get_services
from ui.signed_in import require_user

services = get_services()
user = require_user()
mirrors = services.mirrors
behind_after = services.settings.mirror_behind_seconds

st.title("Bases")
st.caption(
    "A mirrored table is copied into SQL and kept fresh (every minute, and at once for changes "
    "made here), so the assistant's query_records answers joins, medians and other analytic "
    "questions exactly without paging Airtable."
)


def _act(action: str, base_id: str, table_ids: list[str] | None = None) -> None:
    try:
        if action == "on":
            mirrors.turn_on(user.id, is_admin=user.is_admin, base_id=base_id, table_ids=table_ids)
            st.session_state["mirrors_changed"] = True
            st.toast("Mirror turned on: the worker copies it now.", icon=":material/sync:")
        else:
            mirrors.turn_off(user.id, is_admin=user.is_admin, base_id=base_id, table_ids=table_ids)
            st.toast("Mirror turned off.", icon=":material/sync_disabled:")
    except AppError as exc:
        st.error(str(exc))


def _state_line(state: TableState) -> str:
    if state.status == "building":
        return f"building: {state.rows_copied:,} rows copied"
    if state.status == "queued":
        return "waiting for the worker"
    if state.status == "failed":
        return f"failed: {state.error}"
    if state.status == "off" or not state.enabled:
        return "off"
    fresh = freshness_of([state], behind_after=behind_after)
    return f"{state.rows:,} rows, {fresh.text()}"


def _table_rows(item: BaseMirror) -> None:
    states = {s.table_id: s for s in item.tables}
    for table_id, name in item.table_names.items():
        state = states.get(table_id)
        on = state is not None and state.enabled
        left, right = st.columns([3, 2])
        with left:
            st.markdown(f"**{name}** — {_state_line(state) if state else 'not mirrored'}")
            if state is not None and state.status == "building" and state.rows:
                # The last copy's size is the best guess of this one's (Airtable gives none).
                st.progress(min(state.rows_copied / state.rows, 1.0))
        with right:
            if item.manageable:
                label = "Stop mirroring" if on else "Mirror this table"
                st.button(
                    label,
                    key=f"t-{item.base.id}-{table_id}",
                    on_click=_act,
                    args=("off" if on else "on", item.base.id, [table_id]),
                )


def _busy(items: list[BaseMirror]) -> bool:
    return any(s.status in ("queued", "building") for i in items for s in i.tables)


def _listing() -> list[BaseMirror] | None:
    try:
        return mirrors.overview(user.id, is_admin=user.is_admin)
    except AppError as exc:
        st.error(str(exc))
        return None


first = _listing()
if first is None:
    st.stop()


WATCHING = _busy(first)


@st.fragment(run_every=3 if WATCHING else None)
def _bases() -> None:
    """Every base with its mirror; redrawn every few seconds while a build is under way."""
    if st.session_state.pop("mirrors_changed", False) and not WATCHING:
        st.rerun()  # the whole page, so the redraw timer starts for the new build
    overview = _listing() or []
    for item in overview:
        with st.container(border=True):
            st.subheader(item.base.name)
            st.caption(f"{item.base.id} · {item.base.permission_level or 'access'}")
            if item.enabled:
                fresh = freshness_of(
                    [s for s in item.tables if s.enabled], behind_after=behind_after
                )
                if fresh.behind and fresh.as_of is not None:
                    st.warning(f"Mirror {fresh.text()}.", icon=":material/warning:")
            if item.manageable:
                label = "Stop mirroring this base" if item.enabled else "Mirror the whole base"
                st.button(
                    label,
                    key=f"b-{item.base.id}",
                    on_click=_act,
                    args=("off" if item.enabled else "on", item.base.id, None),
                    type="secondary" if item.enabled else "primary",
                )
            else:
                st.caption(
                    "Only an admin or someone with their own connection can change its mirror."
                )
            _table_rows(item)

    if not overview:
        st.info("No bases are available through your Airtable connection.")


_bases()
