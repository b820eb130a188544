"""Run: one workflow run's step timeline (status, attempts, durations, outputs, errors,
compensation, cost) with Cancel, Approve/Reject and Retry from the failed step; without a
run picked, the runs the person may see (admins: everyone's)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from services.budget.pricing import format_usd
from services.errors import AppError
from services.workflows.types import RunInfo, StepRun
from ui.context import get_services
from ui.signed_in import require_user

services = get_services()
user = require_user()
runs = services.workflow_runs
NUSD_PER_USD = 1_000_000_000
REFRESH_SECONDS = 2.0
ICONS = {
    "pending": ":material/radio_button_unchecked:",
    "queued": ":material/schedule:",
    "running": ":material/progress_activity:",
    "waiting_approval": ":material/front_hand:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "skipped": ":material/skip_next:",
    "compensating": ":material/undo:",
    "compensated": ":material/undo:",
    "compensation_incomplete": ":material/warning:",
    "cancelled": ":material/cancel:",
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    seconds = ((end or datetime.now(start.tzinfo)) - start).total_seconds()
    shown = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
    return shown if end else f"{shown} so far"


def _act(action: str, run: RunInfo, note: str = "") -> None:
    try:
        if action == "cancel":
            runs.cancel(user, run.id)
            st.toast("Cancel requested: completed steps are undone.")
        elif action in {"approve", "reject"}:
            runs.approve(user, run.id, action == "approve", note)
            st.toast("Approved." if action == "approve" else "Rejected.")
        elif action == "retry":
            retried = runs.retry_from_failed(user, run.id)
            st.query_params["run"] = retried.id
    except AppError as exc:
        st.session_state["run-error"] = str(exc)


def _step(step: StepRun, number: int) -> None:
    icon = ICONS.get(step.status, ":material/circle:")
    title = f"{number}. {step.id} · {step.type.replace('_', ' ')} · {step.status}"
    with st.container(border=True):
        st.markdown(f"{icon} **{title}**")
        facts = [f"attempts: {step.attempts}"] if step.attempts else []
        if step.started_at:
            facts.append(f"started {_when(step.started_at)}")
            facts.append(_duration(step.started_at, step.finished_at))
        if facts:
            st.caption(" · ".join(facts))
        if step.summary:
            st.write(step.summary)
        if step.error:
            st.error(step.error, icon=":material/error:")
        if step.compensation:
            st.info(f"Compensation: {step.compensation}", icon=":material/undo:")


def _controls(run: RunInfo) -> None:
    waiting = run.waiting_step
    if waiting is not None:
        with st.container(border=True):
            st.markdown(f"**Step {waiting.id} waits for your approval.**")
            if waiting.summary:
                st.write(waiting.summary)
            note = st.text_input("Note (optional)", key=f"note-{run.id}", max_chars=1000)
            cols = st.columns(2)
            cols[0].button(
                "Approve",
                type="primary",
                icon=":material/check:",
                key=f"approve-{run.id}",
                on_click=_act,
                args=("approve", run, note),
            )
            cols[1].button(
                "Reject",
                icon=":material/close:",
                key=f"reject-{run.id}",
                on_click=_act,
                args=("reject", run, note),
            )
    if not run.finished:
        st.button(
            "Cancel run",
            icon=":material/cancel:",
            key=f"cancel-{run.id}",
            help="Stops before the next step and undoes what completed steps changed.",
            on_click=_act,
            args=("cancel", run),
        )
    if run.status == "failed":
        st.button(
            "Retry from the failed step",
            icon=":material/replay:",
            key=f"retry-{run.id}",
            help="A new run that keeps the steps before the failed one and runs again from it.",
            on_click=_act,
            args=("retry", run),
        )


def _run_view(run_id: str) -> bool | None:
    """Draw the run; whether it has finished (None when it cannot be shown)."""
    try:
        run = runs.get(user, run_id)
    except AppError as exc:
        st.error(str(exc))
        return None
    st.title(f"Run of {run.workflow_name}")
    icon = ICONS.get(run.status, "")
    st.markdown(f"{icon} **{run.status.replace('_', ' ').capitalize()}**")
    st.caption(
        f"{run.id} · version {run.version} · trigger: {run.trigger} · started "
        f"{_when(run.started_at)} · finished {_when(run.finished_at)} · cost "
        f"{format_usd(round(run.cost_usd * NUSD_PER_USD))}"
    )
    if run.retry_of:
        st.caption(f"Retry of {run.retry_of}.")
    if run.inputs:
        st.caption("Inputs: " + ", ".join(f"{k} = {v}" for k, v in run.inputs.items()))
    if error := st.session_state.pop("run-error", None):
        st.error(error, icon=":material/error:")
    if run.error:
        st.error(run.error, icon=":material/error:")
    _controls(run)
    st.subheader("Steps")
    for number, step in enumerate(run.steps, start=1):
        _step(step, number)
    if not run.finished:
        st.caption("This page follows the run as it goes.")
    return run.finished


def _list() -> None:
    st.title("Workflow runs")
    st.caption("Everyone's runs." if user.is_admin else "Runs of your workflows.")
    recent = runs.list_for(user, limit=100)
    if not recent:
        st.info("No runs yet: start one on the Workflows page or from Chat.")
        return
    for run in recent:
        when = run.created_at.strftime("%Y-%m-%d %H:%M")
        st.page_link(
            "pages/workflow_run.py",
            label=f"{when} UTC · {run.workflow_name} · {run.status} · {run.trigger}",
            query_params={"run": run.id},
            icon=ICONS.get(run.status, ":material/history:"),
        )


@st.fragment(run_every=REFRESH_SECONDS)
def _live(run_id: str) -> None:
    """Re-read the run every few seconds while it is unfinished (live step progress); once
    it finishes, one whole-page rerun draws it without the timer."""
    if _run_view(run_id):
        st.rerun(scope="app")


selected = st.query_params.get("run")
st.page_link("pages/workflows.py", label="Workflows", icon=":material/arrow_back:")
if not selected:
    _list()
else:
    try:
        finished = runs.get(user, selected).finished
    except AppError:
        finished = True  # nothing to follow; the view says why
    if finished:
        _run_view(selected)
    else:
        _live(selected)
