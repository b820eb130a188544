"""Chat cards of bulk fills: the proposal (Confirm / Cancel) and the run's live status
(progress, cost so far, values that did not fit the field, Resume, Undo).

A card shows the fill as it is now (read from the service on each rerun), not as the tool
saw it; every button goes through the service's checks again.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.budget.pricing import format_usd
from services.bulk.store import ACTIVE, FillInfo, FillStatus
from services.container import Services
from services.errors import AppError
from services.orm import User

BULK_CARD_KINDS = frozenset({"bulk_fill_proposal", "schema_proposal"})


def render_bulk_card(services: Services, user: User, artifact: dict[str, Any], key: str) -> None:
    if artifact.get("kind") == "schema_proposal":
        _schema(services, user, artifact, key)
        return
    fill_id = str(artifact.get("fill_id", ""))
    try:
        info = services.bulk_fills.get(user.id, fill_id)
    except AppError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if info.status == FillStatus.PROPOSED:
        _proposal(services, user, artifact, key)
    elif info.status in ACTIVE:
        _live(services, user, fill_id, key)
    else:
        render_fill_status(services, user, info, key)


@st.fragment(run_every=2)
def _live(services: Services, user: User, fill_id: str, key: str) -> None:
    """A running fill, redrawn every 2 s until it ends (then the whole page reruns once)."""
    info = services.bulk_fills.get(user.id, fill_id)
    render_fill_status(services, user, info, key)
    if info.status not in ACTIVE:
        st.rerun()


def _proposal(services: Services, user: User, card: dict[str, Any], key: str) -> None:
    cost = card["cost"]
    with st.container(border=True):
        st.markdown(
            f"**Fill {card['field']}** ({card['field_type']}) in **{card['table']}** for "
            f"**{card['to_fill']:,}** of {card['matching']:,} records"
            + (" (overwriting values already there)" if card["overwrite"] else "")
        )
        st.markdown(f"Reads: {', '.join(card['sources'])} · Instruction: {card['instruction']}")
        if card["options"]:
            st.markdown("Allowed values: " + ", ".join(card["options"]))
        if card.get("view"):
            st.caption(f"Only the view {card['view']}.")
        if card.get("filtered"):
            st.caption("Only the records matching the filter.")
        left = f" · your budget left: {card['budget_left']}" if card.get("budget_left") else ""
        st.markdown(
            f"Cost preview ({card['model']}, {cost['calls']:,} model calls): expected "
            f"**{cost['expected']}** (min {cost['min']}, max {cost['max']}){left}"
        )
        if card.get("examples"):
            st.caption("First records: " + ", ".join(card["examples"]))
        go, stop = st.columns(2)
        go.button(
            "Confirm",
            key=f"fill-go-{key}",
            type="primary",
            on_click=_act,
            args=(services, user, card["fill_id"], "start"),
        )
        stop.button(
            "Cancel",
            key=f"fill-cancel-{key}",
            on_click=_act,
            args=(services, user, card["fill_id"], "cancel"),
        )


def render_fill_status(services: Services, user: User, info: FillInfo, key: str) -> None:
    """Progress, cost so far, failures, and Resume / Undo where they apply."""
    if error := st.session_state.pop(f"fill-error-{info.id}", None):
        st.error(error, icon=":material/error:")
    with st.container(border=True):
        st.markdown(f"**Fill {info.field}** in {info.table}: {info.status}")
        total = max(info.total, 1)
        st.progress(
            min(info.done / total, 1.0),
            text=f"{info.filled:,} filled, {info.failed:,} did not fit, {info.pending:,} left "
            f"of {info.total:,} · cost so far {format_usd(info.cost_nusd)}",
        )
        if info.error:
            st.warning(info.error, icon=":material/pause_circle:")
        if info.failures:
            with st.expander(f"{info.failed:,} values did not fit {info.field}"):
                st.dataframe(
                    [
                        {"Record": f.label, "Answer": f.answer, "Why": f.reason}
                        for f in info.failures
                    ],
                    hide_index=True,
                )
        buttons = st.columns(3)
        if info.status in (FillStatus.PAUSED, FillStatus.FAILED) and info.pending:
            buttons[0].button(
                "Resume",
                key=f"fill-resume-{key}",
                type="primary",
                on_click=_act,
                args=(services, user, info.id, "resume"),
            )
        if info.status in ACTIVE:
            buttons[1].button(
                "Stop",
                key=f"fill-stop-{key}",
                on_click=_act,
                args=(services, user, info.id, "cancel"),
            )
        elif info.filled and not services.bulk_fills.undone(user.id, info.id):
            buttons[2].button(
                "Undo",
                key=f"fill-undo-{key}",
                on_click=_act,
                args=(services, user, info.id, "undo"),
            )


def _act(services: Services, user: User, fill_id: str, action: str) -> None:
    fills = services.bulk_fills
    try:
        if action == "start":
            fills.start(user.id, fill_id)
        elif action == "resume":
            fills.resume(user.id, fill_id)
        elif action == "cancel":
            fills.cancel(user.id, fill_id)
        elif action == "undo":
            fills.undo(user.id, fill_id)
    except AppError as exc:
        st.session_state[f"fill-error-{fill_id}"] = str(exc)


def _schema(services: Services, user: User, card: dict[str, Any], key: str) -> None:
    """A proposed table, field or rename, with Confirm / Cancel while it is pending."""
    proposal_id = str(card.get("id", ""))
    done = st.session_state.get(f"schema-done-{proposal_id}")
    with st.container(border=True):
        if card.get("new_name"):
            st.markdown(
                f"**Rename field** {card.get('old_name')} → **{card.get('new_name')}** "
                f"in {card.get('table')}"
            )
        else:
            where = "new table" if card.get("change") == "create_table" else "table"
            st.markdown(f"**Create in {where} {card.get('table')}:**")
            for spec in card.get("fields", []):
                extra = ""
                if spec.get("choices"):
                    extra = ": " + ", ".join(spec["choices"])
                elif spec.get("formula"):
                    extra = f": `{spec['formula']}`"
                st.markdown(f"- {spec['name']} ({spec['type']}{extra})")
        if card.get("preview"):
            st.dataframe(card["preview"], hide_index=True)
        if card.get("preview_note"):
            st.caption(card["preview_note"])
        if error := st.session_state.pop(f"schema-error-{proposal_id}", None):
            st.error(error, icon=":material/error:")
        if done:
            st.success(done, icon=":material/check_circle:")
            return
        if services.schema_help.state(proposal_id, user.id) != "pending":
            st.caption("This proposal was applied, cancelled or has expired.")
            return
        go, stop = st.columns(2)
        go.button(
            "Confirm",
            key=f"schema-go-{key}",
            type="primary",
            on_click=_schema_act,
            args=(services, user, proposal_id, True),
        )
        stop.button(
            "Cancel",
            key=f"schema-cancel-{key}",
            on_click=_schema_act,
            args=(services, user, proposal_id, False),
        )


def _schema_act(services: Services, user: User, proposal_id: str, confirm: bool) -> None:
    try:
        if confirm:
            services.schema_help.apply(proposal_id, user.id)
            st.session_state[f"schema-done-{proposal_id}"] = "Applied."
        else:
            services.schema_help.cancel(proposal_id, user.id)
            st.session_state[f"schema-done-{proposal_id}"] = "Cancelled."
    except AppError as exc:
        st.session_state[f"schema-error-{proposal_id}"] = str(exc)
