"""Chat cards of the workflow tools: a run waiting for Confirm, a draft waiting for Save,
and a run's status.

Nothing a tool returned runs or saves by itself: Confirm starts the run (with the card's
request ID as the run ID, so a second click or a reload never starts a second run), Save
creates the workflow; both go through the services' checks again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from services.container import Services
from services.errors import AppError, NotFoundError
from services.orm import User

CARD_KINDS = frozenset({"workflow_run_request", "workflow_draft", "workflow_run"})
RUN_PAGE = "pages/workflow_run.py"


def render_workflow_card(
    services: Services, user: User, artifact: dict[str, Any], key: str
) -> None:
    kind = artifact.get("kind")
    if kind == "workflow_run_request":
        _run_request(services, user, artifact, key)
    elif kind == "workflow_draft":
        _draft(services, user, artifact, key)
    elif kind == "workflow_run":
        _run_link(services, user, artifact.get("run") or {}, key)


def _run_link(services: Services, user: User, shown: dict[str, Any], key: str) -> None:
    """The run as it is now (not as the tool saw it), with Approve/Reject while it waits:
    an approval can be answered in chat, but only by the person's own click."""
    run_id = str(shown.get("id", ""))
    try:
        run = services.workflow_runs.get(user, run_id)
    except AppError:
        run = None
    status = run.status if run is not None else shown.get("status", "")
    st.page_link(
        RUN_PAGE,
        label=f"Run {run_id}: {status}",
        query_params={"run": run_id},
        icon=":material/play_circle:",
    )
    waiting = run.waiting_step if run is not None else None
    if run is None or waiting is None:
        return
    if error := st.session_state.pop(f"wf-approve-error-{run_id}", None):
        st.error(error, icon=":material/error:")
    st.markdown(f"Step **{waiting.id}** waits for your approval.")
    left, right = st.columns(2)
    left.button(
        "Approve",
        key=f"wf-approve-{key}",
        type="primary",
        on_click=_answer,
        args=(services, user, run_id, True),
    )
    right.button(
        "Reject", key=f"wf-reject-{key}", on_click=_answer, args=(services, user, run_id, False)
    )


def _answer(services: Services, user: User, run_id: str, approved: bool) -> None:
    try:
        services.workflow_runs.approve(user, run_id, approved, "answered in chat")
    except AppError as exc:
        st.session_state[f"wf-approve-error-{run_id}"] = str(exc)


def _changes(lines: list[str]) -> None:
    if lines:
        st.markdown("What it may change:\n" + "\n".join(f"- {line}" for line in lines))
    else:
        st.caption("It changes no records and calls no outside address.")


def _run_request(services: Services, user: User, card: dict[str, Any], key: str) -> None:
    request_id = str(card["request_id"])
    started_key = f"wf-started-{request_id}"
    with st.container(border=True):
        st.markdown(
            f"**Run workflow {card.get('workflow_name', '')}** (version {card.get('version')})"
        )
        inputs = card.get("inputs") or {}
        if inputs:
            st.table([{"input": k, "value": v} for k, v in inputs.items()])
        else:
            st.caption("No inputs.")
        _changes(list(card.get("may_write") or []))
        if card.get("steps"):
            st.caption("Steps: " + ", ".join(card["steps"]))
        run_status = _run_status(services, user, request_id)
        if run_status is not None or started_key in st.session_state:
            st.success(
                f"Started: run {request_id}" + (f" ({run_status})." if run_status else "."),
                icon=":material/check:",
            )
            st.page_link(
                RUN_PAGE,
                label="Open the run",
                query_params={"run": request_id},
                icon=":material/open_in_new:",
            )
            return
        if st.session_state.get(f"wf-dismissed-{request_id}"):
            st.caption("Not run (cancelled).")
            return
        if datetime.fromisoformat(str(card["expires_at"])) <= datetime.now(UTC):
            st.caption("Not run (this request expired; ask again).")
            return
        if error := st.session_state.pop(f"wf-error-{request_id}", None):
            st.error(error, icon=":material/error:")
        left, right = st.columns(2)
        left.button(
            "Confirm",
            key=f"wf-confirm-{key}",
            type="primary",
            on_click=_confirm,
            args=(services, user, card),
        )
        right.button(
            "Cancel",
            key=f"wf-cancel-{key}",
            on_click=st.session_state.__setitem__,
            args=(f"wf-dismissed-{request_id}", True),
        )


def _confirm(services: Services, user: User, card: dict[str, Any]) -> None:
    """Start the run the card asks for, as it was shown (the same workflow version)."""
    request_id = str(card["request_id"])
    try:
        current = services.workflows.get(user, str(card["workflow_id"]))
        if current.version != card.get("version"):
            raise AppError(
                f"The workflow changed since (now version {current.version}); ask again."
            )
        services.workflow_runs.start(
            user, current.id, dict(card.get("inputs") or {}), "chat", run_id=request_id
        )
    except AppError as exc:
        st.session_state[f"wf-error-{request_id}"] = str(exc)
        return
    st.session_state[f"wf-started-{request_id}"] = True


def _run_status(services: Services, user: User, run_id: str) -> str | None:
    try:
        return services.workflow_runs.get(user, run_id).status
    except NotFoundError:
        return None


def _draft(services: Services, user: User, card: dict[str, Any], key: str) -> None:
    saved_key = f"wf-saved-{card['draft_id']}"
    with st.container(border=True):
        st.markdown(f"**Draft workflow {card.get('name', '')}**")
        st.code(str(card.get("yaml", "")), language="yaml")
        _changes(list(card.get("may_write") or []))
        saved = st.session_state.get(saved_key)
        if saved:
            st.success("Saved (disabled until you enable it).", icon=":material/check:")
            st.page_link(
                "pages/workflows.py",
                label="Open it on the Workflows page",
                query_params={"w": saved},
                icon=":material/open_in_new:",
            )
            return
        if error := st.session_state.pop(f"wf-error-{card['draft_id']}", None):
            st.error(error, icon=":material/error:")
        st.button(
            "Save",
            key=f"wf-save-{key}",
            type="primary",
            icon=":material/save:",
            on_click=_save,
            args=(services, user, card),
        )


def _save(services: Services, user: User, card: dict[str, Any]) -> None:
    """Create the drafted workflow (checked again by the library; disabled until enabled)."""
    try:
        created = services.workflows.create(user.id, str(card["yaml"]))
    except AppError as exc:
        st.session_state[f"wf-error-{card['draft_id']}"] = str(exc)
        return
    st.session_state[f"wf-saved-{card['draft_id']}"] = created.id
