"""Workflows: a library of automations; create in a form or as YAML, validate, version,
compare, enable, and run with an input form."""

from __future__ import annotations

import difflib
from datetime import date
from typing import Any

import streamlit as st

from services.errors import AppError
from services.prompts.variables import VariableType
from services.workflows.definition import InputVariable
from services.workflows.parsing import dump_yaml
from services.workflows.types import WorkflowInfo
from ui.context import get_services
from ui.signed_in import require_user
from ui.workflow_form import EXAMPLE_YAML, definition_form, may_write_lines

services = get_services()
user = require_user()
library, runs = services.workflows, services.workflow_runs

try:
    base_names = {b.id: b.name for b in services.airtable.bases(user.id)}
except AppError as exc:
    st.error(str(exc))
    st.stop()


def _select(workflow_id: str | None) -> None:
    if workflow_id:
        st.query_params["w"] = workflow_id
    else:
        st.query_params.pop("w", None)


def _keep_new_secret(workflow_id: str) -> None:
    """A workflow just saved with a webhook trigger: its secret, to show once."""
    hook = services.inbound_hooks.ensure(workflow_id, reveal=True)
    if hook is not None and hook.secret is not None:
        st.session_state[f"hook-secret-{workflow_id}"] = hook.secret


def _validated(text: str, *, save: bool) -> WorkflowInfo | None:
    """Check the text (and save it when asked); show the problem naming step and field."""
    try:
        if save:
            created = library.create(user.id, text)
            _keep_new_secret(created.id)
            return created
        library.validate(user.id, text)
    except AppError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    st.success("Valid: every step, table, field and template checks out.", icon=":material/check:")
    return None


def _new() -> None:
    st.title("New workflow")
    st.caption(
        "A workflow runs steps in order: find or change records, ask a saved prompt, wait for "
        "an approval, call a URL, notify you. If a step fails for good, what the earlier steps "
        "changed is undone. New workflows start disabled; run them by hand here or from Chat."
    )
    form_tab, yaml_tab = st.tabs(["Form", "YAML"])
    with form_tab:
        text = definition_form("new", base_names)
        st.code(text, language="yaml")
        cols = st.columns(2)
        if cols[0].button("Validate", key="form-validate", icon=":material/rule:"):
            _validated(text, save=False)
        if cols[1].button("Create workflow", key="form-create", type="primary"):
            created = _validated(text, save=True)
            if created is not None:
                _select(created.id)
                st.rerun()
    with yaml_tab:
        pasted = st.text_area(
            "Definition (YAML or JSON)", value=EXAMPLE_YAML, height=420, key="yaml-new"
        )
        cols = st.columns(2)
        if cols[0].button("Validate", key="yaml-validate", icon=":material/rule:"):
            _validated(pasted, save=False)
        if cols[1].button("Create workflow", key="yaml-create", type="primary"):
            created = _validated(pasted, save=True)
            if created is not None:
                _select(created.id)
                st.rerun()


def _writes_summary(workflow: WorkflowInfo) -> None:
    lines = may_write_lines(workflow.definition)
    if lines:
        st.markdown("**What it may change:**\n" + "\n".join(f"- {line}" for line in lines))
    else:
        st.markdown("**What it may change:** nothing (it only reads and notifies).")


def _hook(workflow: WorkflowInfo) -> None:
    """A webhook trigger: the URL; the secret once (after saving or rotating); Rotate."""
    st.subheader("Webhook trigger")
    hook = services.inbound_hooks.hook_of(user, workflow.id)
    if hook is None:
        st.caption("Its hook is made when the workflow is saved.")
        return
    st.markdown("POST a JSON object of the inputs, signed (Standard Webhooks), to:")
    st.code(hook.url, language=None)
    secret = st.session_state.pop(f"hook-secret-{workflow.id}", None)
    if secret:
        st.warning(
            "The signing secret, shown this once: copy it now. Rotate to get a new one.",
            icon=":material/key:",
        )
        st.code(secret, language=None)
    else:
        st.caption(
            "Signing secret: hidden (shown once when made). "
            + ("" if workflow.enabled else "The workflow is disabled: calls answer 409.")
        )
    if workflow.owner_id == user.id and st.button(
        "Rotate secret", icon=":material/autorenew:", key=f"rotate-{workflow.id}"
    ):
        rotated = services.inbound_hooks.rotate(user, workflow.id)
        st.session_state[f"hook-secret-{workflow.id}"] = rotated.secret
        st.rerun()


def _record_source(workflow: WorkflowInfo) -> None:
    """A record trigger: which Airtable webhook serves it."""
    st.subheader("Record trigger")
    served = services.airtable_webhooks.serving(user, workflow.id)
    if served is None:
        st.caption(
            "No Airtable webhook serves it yet: one is registered while the workflow is "
            "enabled (the worker retries if Airtable could not be reached)."
        )
        return
    ping = (
        served.last_ping_at.strftime("%Y-%m-%d %H:%M:%S UTC") if served.last_ping_at else "none yet"
    )
    st.markdown(
        f"Served by Airtable webhook `{served.airtable_id}` on table `{served.table_id}` "
        f"(base `{served.base_id}`) · expires {served.expires_at:%Y-%m-%d %H:%M} UTC "
        f"(refreshed before) · last ping: {ping}"
    )


def _manage(workflow: WorkflowInfo) -> None:
    """Owner (or admin): enable, share, edit as a new version, compare, export, delete."""
    owner = workflow.owner_id == user.id
    cols = st.columns(3, vertical_alignment="bottom")
    enabled = cols[0].toggle(
        "Enabled",
        value=workflow.enabled,
        key=f"enabled-{workflow.id}",
        help="While enabled, its trigger (a schedule, a record change, a webhook) starts runs.",
    )
    if enabled != workflow.enabled:
        library.set_enabled(user, workflow.id, enabled)
        st.toast("Enabled." if enabled else "Disabled.")
        st.rerun()
    if owner:
        shared = cols[1].toggle(
            "Shared with everyone", value=workflow.shared, key=f"share-{workflow.id}"
        )
        if shared != workflow.shared:
            library.share(user, workflow.id, shared)
            st.rerun()
    cols[2].download_button(
        "Export YAML",
        dump_yaml(workflow.definition),
        file_name=f"{workflow.name}.yaml",
        mime="application/yaml",
        icon=":material/download:",
    )
    if owner:
        with st.expander("Edit (saves a new version)", icon=":material/edit:"):
            text = st.text_area(
                "Definition (YAML or JSON)",
                value=dump_yaml(workflow.definition),
                height=420,
                key=f"edit-{workflow.id}-{workflow.version}",
            )
            edit_cols = st.columns(2)
            if edit_cols[0].button("Validate", key=f"edit-validate-{workflow.id}"):
                _validated(text, save=False)
            if edit_cols[1].button("Save new version", key=f"save-{workflow.id}", type="primary"):
                try:
                    saved = library.update(user, workflow.id, text)
                    _keep_new_secret(workflow.id)
                except AppError as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    st.toast(f"Saved version {saved.number}.")
                    st.rerun()
    _compare(workflow)
    with st.popover("Delete", icon=":material/delete:"):
        st.write("Delete this workflow, every version and the records of its runs?")
        if st.button("Delete permanently", type="primary", key=f"delete-{workflow.id}"):
            library.delete(user, workflow.id)
            _select(None)
            st.rerun()


def _compare(workflow: WorkflowInfo) -> None:
    versions = library.versions(user, workflow.id)
    if len(versions) < 2:
        return
    numbers = [v.number for v in reversed(versions)]
    by_number = {v.number: v for v in versions}
    with st.expander("Compare versions", icon=":material/difference:"):
        pick = st.columns(2)
        older = pick[0].selectbox("From", numbers, index=len(numbers) - 2, key="diff-from")
        newer = pick[1].selectbox("To", numbers, index=len(numbers) - 1, key="diff-to")
        diff = "".join(
            difflib.unified_diff(
                dump_yaml(by_number[older].definition).splitlines(keepends=True),
                dump_yaml(by_number[newer].definition).splitlines(keepends=True),
                fromfile=f"version {older}",
                tofile=f"version {newer}",
            )
        )
        if diff:
            st.code(diff, language="diff")
        else:
            st.caption("These versions are the same.")


def _input(var: InputVariable, key: str, base_id: str) -> Any:
    """One widget of the run form, chosen by the input's type."""
    label = var.label or var.name.replace("_", " ").capitalize()
    kind = var.type
    if kind is VariableType.LONG_TEXT:
        return st.text_area(label, key=key)
    if kind is VariableType.DATE:
        return st.date_input(label, value=date.today(), key=key).isoformat()
    if kind is VariableType.SELECT:
        return st.selectbox(label, var.options, key=key)
    if kind is VariableType.FIELD_OPTIONS:
        options = services.prompts.choices(user.id, var.base_id, var.table, var.field)
        return st.selectbox(label, options, key=key)
    if kind is VariableType.BASE:
        return st.selectbox(
            label, list(base_names), format_func=lambda b: base_names.get(b, b), key=key
        )
    if kind is VariableType.TABLE:
        tables = [t.name for t in services.airtable.schema(user.id, base_id).tables]
        return st.selectbox(label, tables, key=key)
    return st.text_input(
        label, key=key, placeholder="A number" if kind is VariableType.NUMBER else ""
    )


def _run_form(workflow: WorkflowInfo) -> None:
    st.subheader("Run it now")
    key = f"run-{workflow.id}-{workflow.version}"
    base = workflow.definition.base or ""
    base_id = next((b for b, n in base_names.items() if base in (b, n)), base)
    values = {v.name: _input(v, f"{key}-{v.name}", base_id) for v in workflow.definition.inputs}
    if not st.button("Run", icon=":material/play_arrow:", type="primary", key=f"{key}-go"):
        return
    try:
        run = runs.start(user, workflow.id, values, "manual")
    except AppError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if run.owner_id != user.id and not user.is_admin:
        # A shared workflow runs as its owner's (their connection, their budget): the run
        # is theirs to follow.
        st.success(f"Started run {run.id}; it runs as its owner's workflow, who can follow it.")
        return
    st.switch_page("pages/workflow_run.py", query_params={"run": run.id})


def _recent(workflow: WorkflowInfo) -> None:
    st.subheader("Recent runs")
    recent = runs.list_for(user, workflow_id=workflow.id, limit=20)
    if not recent:
        st.caption("No runs yet.")
        return
    for run in recent:
        when = run.created_at.strftime("%Y-%m-%d %H:%M")
        st.page_link(
            "pages/workflow_run.py",
            label=f"{when} UTC · {run.status} · {run.trigger} · version {run.version}",
            query_params={"run": run.id},
            icon=":material/history:",
        )


workflows = library.list_for(user)
with st.sidebar:
    if st.button("New workflow", icon=":material/add:", use_container_width=True):
        _select(None)
    for item in workflows:
        st.button(
            item.name,
            key=f"workflow-{item.id}",
            use_container_width=True,
            type="primary" if item.id == st.query_params.get("w") else "secondary",
            on_click=_select,
            args=(item.id,),
        )

selected = next((w for w in workflows if w.id == st.query_params.get("w")), None)
try:
    if selected is None:
        _new()
    else:
        st.title(selected.name)
        if selected.description:
            st.caption(selected.description)
        state = "enabled" if selected.enabled else "disabled"
        steps = ", ".join(s.type for s in selected.definition.steps)
        st.caption(
            f"Version {selected.version} · trigger: {selected.trigger} · {state} · "
            f"{'shared' if selected.shared else 'private'} · steps: {steps}"
        )
        _writes_summary(selected)
        if selected.trigger == "webhook":
            _hook(selected)
        elif selected.trigger == "record":
            _record_source(selected)
        if selected.owner_id == user.id or user.is_admin:
            _manage(selected)
        _run_form(selected)
        _recent(selected)
except AppError as exc:
    st.error(str(exc))
