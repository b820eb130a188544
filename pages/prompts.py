"""Prompts: a library of saved prompt templates; edit, version, share, run and review runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import streamlit as st

from agents.prompt_runs import NEW_CHAT
from services.budget.pricing import format_usd
from services.bulk.prompts import prompt_fill_request
from services.errors import AppError
from services.prompts.library import (
    PromptDraft,
    PromptInfo,
    RunMode,
    VersionInfo,
    compare_versions,
)
from services.prompts.variables import Variable, VariableType
from ui.bulk_cards import render_bulk_card
from ui.context import get_prompt_runner, get_services
from ui.signed_in import require_user

services = get_services()
user = require_user()

TYPE_LABELS = {
    VariableType.TEXT: "Text",
    VariableType.LONG_TEXT: "Long text",
    VariableType.NUMBER: "Number",
    VariableType.DATE: "Date",
    VariableType.SELECT: "Select (fixed options)",
    VariableType.FIELD_OPTIONS: "Airtable field options",
    VariableType.BASE: "Base picker",
    VariableType.TABLE: "Table picker",
}


library, runs, runner = services.prompts, services.prompt_runs, get_prompt_runner()
try:
    base_names = {b.id: b.name for b in services.airtable.bases(user.id)}
except AppError as exc:
    st.error(str(exc))
    st.stop()


def _select_fields(base_id: str) -> list[tuple[str, str]]:
    """(table, field) of every field of `base_id` that has options to choose from."""
    if not base_id:
        return []
    return [
        (table.name, field.name)
        for table in services.airtable.schema(user.id, base_id).tables
        for field in table.fields
        if field.choices
    ]


def _variable_details(
    row: st.delta_generator.DeltaGenerator,
    key: str,
    label: str,
    kind: VariableType,
    old: Variable | None,
    base_id: str,
) -> Variable:
    """The type-specific part of a variable's row: fixed options, or the field to offer."""
    if kind is VariableType.SELECT:
        text = row.text_area(
            f"{label} options",
            value="\n".join(old.options) if old else "",
            help="One option a line.",
            height=68,
            key=f"{key}-options",
        )
        return Variable("", kind, options=[o.strip() for o in text.splitlines() if o.strip()])
    if kind is VariableType.FIELD_OPTIONS:
        fields = _select_fields(base_id)
        current = (old.table, old.field) if old else None
        picked = row.selectbox(
            f"{label} field",
            fields,
            index=fields.index(current) if current in fields else None,
            format_func=lambda pair: f"{pair[0]}: {pair[1]}",
            placeholder="A select field of the base" if fields else "Choose a base first",
            key=f"{key}-field",
        )
        table, field = picked or ("", "")
        return Variable("", kind, base_id=base_id, table=table, field=field)
    return Variable("", kind)


def _editor(key: str, start: PromptInfo | None, version: VersionInfo | None) -> PromptDraft:
    """The fields of a prompt; what they hold when the person saves."""
    name = st.text_input("Name", value=start.name if start else "", key=f"{key}-name")
    description = st.text_input(
        "Description", value=start.description if start else "", key=f"{key}-description"
    )
    cols = st.columns(2)
    modes = list(RunMode)
    mode = cols[0].selectbox(
        "Run as",
        modes,
        index=modes.index(version.mode) if version else 0,
        format_func=lambda m: "Plain text" if m is RunMode.TEXT else "Agent with Airtable tools",
        key=f"{key}-mode",
    )
    ids = list(base_names)
    current = version.base_id if version else ""
    base_id = cols[1].selectbox(
        "Base",
        ids,
        index=ids.index(current) if current in ids else 0 if ids else None,
        format_func=lambda b: base_names.get(b, b),
        key=f"{key}-base",
    )
    template = st.text_area(
        "Template",
        value=version.template if version else "",
        help="Use {{name}} for a variable; {{today}} and {{user_name}} are built in.",
        key=f"{key}-template",
    )
    existing = version.variables if version else []
    count = st.number_input(
        "Variables", min_value=0, max_value=20, value=len(existing), key=f"{key}-count"
    )
    variables: list[Variable] = []
    kinds = list(VariableType)
    for i in range(int(count)):
        old = existing[i] if i < len(existing) else None
        row = st.columns([2, 3, 3])
        var_name = row[0].text_input(
            f"Variable {i + 1} name", value=old.name if old else "", key=f"{key}-v{i}-name"
        )
        kind = row[1].selectbox(
            f"Variable {i + 1} type",
            kinds,
            index=kinds.index(old.type) if old else 0,
            format_func=lambda k: TYPE_LABELS[k],
            key=f"{key}-v{i}-type",
        )
        details = _variable_details(
            row[2], f"{key}-v{i}", f"Variable {i + 1}", kind, old, base_id or ""
        )
        variables.append(replace(details, name=var_name.strip()))
    return PromptDraft(name, template, variables, mode, description, base_id or "")


def _input(var: Variable, key: str, base_id: str) -> object:
    """One widget of the run form, chosen by the variable's type; `base_id` is the base
    chosen so far (a base picker's, or the prompt's)."""
    label = var.title
    if var.type is VariableType.LONG_TEXT:
        return st.text_area(label, key=key)
    if var.type is VariableType.DATE:
        return st.date_input(label, value=date.today(), key=key)
    if var.type is VariableType.SELECT:
        return st.selectbox(label, var.options, key=key)
    if var.type is VariableType.FIELD_OPTIONS:
        return st.selectbox(
            label, library.choices(user.id, var.base_id, var.table, var.field), key=key
        )
    if var.type is VariableType.BASE:
        return st.selectbox(
            label, list(base_names), format_func=lambda b: base_names.get(b, b), key=key
        )
    if var.type is VariableType.TABLE:
        tables = [t.name for t in services.airtable.schema(user.id, base_id).tables]
        return st.selectbox(label, tables, key=key)
    if var.type is VariableType.NUMBER:
        return st.text_input(label, key=key, placeholder="A number")
    return st.text_input(label, key=key)


def _run_form(prompt: PromptInfo) -> None:
    """The inputs, then Run. No st.form: a table picker follows the base picked above it."""
    version = library.version(user_id=user.id, prompt_id=prompt.id)
    with st.expander(f"Template (version {version.number})", icon=":material/description:"):
        st.code(version.template, language=None, wrap_lines=True)
    key = f"in-{prompt.id}-{version.number}"
    values: dict[str, object] = {}
    # Base pickers first, so table pickers list the tables of the first base chosen.
    pickers = [v for v in version.variables if v.type is VariableType.BASE]
    rest = [v for v in version.variables if v.type is not VariableType.BASE]
    for var in pickers:
        values[var.name] = _input(var, f"{key}-{var.name}", version.base_id)
    run_base = next((str(values[v.name]) for v in pickers if values[v.name]), version.base_id)
    for var in rest:
        values[var.name] = _input(var, f"{key}-{var.name}", run_base)
    chat = st.query_params.get("c")  # started with /name in Chat: the run goes there too
    if chat:
        st.caption("Started from Chat: the question and the answer are added to the conversation.")
    if not st.button("Run", icon=":material/play_arrow:", type="primary", key=f"{key}-run"):
        return
    output = st.empty()
    streamed: list[str] = []

    def on_token(text: str) -> None:
        streamed.append(text)
        output.markdown("".join(streamed) + "▌")

    try:
        with st.spinner("Running the prompt…"):
            result = runner.run(
                user_id=user.id,
                prompt_id=prompt.id,
                values=values,
                on_token=on_token,
                conversation_id=chat or None,
            )
    except AppError as exc:
        output.empty()
        st.error(str(exc))
        _back_to_chat(chat)
        return
    output.markdown(result.output)
    st.caption(f"{result.tokens:,} tokens · {format_usd(result.cost_nusd)}")
    if result.conversation_id:
        st.query_params["c"] = result.conversation_id
    _back_to_chat(result.conversation_id or chat)


def _for_each_record(prompt: PromptInfo) -> None:
    """Run the prompt for each record of a table or view, writing its answer to a field: a
    bulk fill, previewed (count and cost) before the person confirms it."""
    version = library.version(user_id=user.id, prompt_id=prompt.id)
    key = f"each-{prompt.id}-{version.number}"
    # A toggle, not an expander: a collapsed expander still runs its body, and this one
    # reads the base's schema.
    if not st.toggle("Run for each record of a table", key=f"{key}-open"):
        return
    with st.container(border=True):
        ids: list[str] = list(base_names)
        start = ids.index(version.base_id) if version.base_id in ids else 0
        base_id = st.selectbox(
            "Base",
            ids,
            index=start,
            format_func=lambda b: base_names.get(b, b),
            key=f"{key}-base",
        )
        if not base_id:
            return
        try:
            tables = services.airtable.schema(user.id, base_id).tables
        except AppError as exc:
            st.error(str(exc))
            return
        table = st.selectbox(
            "Table", tables, format_func=lambda t: t.name, key=f"{key}-{base_id}-table"
        )
        if table is None:
            return
        view = st.selectbox("View (optional)", ["", *table.views], key=f"{key}-{table.id}-view")
        names = [f.name for f in table.fields]
        field = st.selectbox(
            "Write the answer to", names, key=f"{key}-{table.id}-field", index=None
        )
        mapping = {
            v.name: st.selectbox(
                f"Field for {{{{{v.name}}}}}", names, key=f"{key}-{table.id}-{v.name}", index=None
            )
            for v in version.variables
        }
        overwrite = st.checkbox("Replace values already there", key=f"{key}-overwrite")
        if st.button("Preview the fill", key=f"{key}-preview", icon=":material/preview:"):
            try:
                request = prompt_fill_request(
                    version,
                    base_id=base_id,
                    table=table.name,
                    field=field or "",
                    mapping={k: v or "" for k, v in mapping.items()},
                    view=view or None,
                    overwrite=overwrite,
                )
                st.session_state[f"{key}-card"] = services.bulk_fills.propose(user.id, request)
            except AppError as exc:
                st.error(str(exc))
        card = st.session_state.get(f"{key}-card")
        if card:
            render_bulk_card(services, user, card, key)


def _back_to_chat(conversation_id: str | None) -> None:
    if not conversation_id:
        return
    # A new conversation's ID is not known after a failed run; it heads the Chat sidebar.
    known = {} if conversation_id == NEW_CHAT else {"c": conversation_id}
    label = "Back to the conversation"
    st.page_link("pages/chat.py", label=label, icon=":material/chat:", query_params=known)


def _history(prompt: PromptInfo) -> None:
    st.header("Run history")
    history = runs.history(user_id=user.id, prompt_id=prompt.id)
    if not history:
        st.caption("No runs yet.")
        return
    rows = [
        {
            "When (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M"),
            "Version": r.version,
            "Status": "Failed" if r.failed else "Answered",
            "Inputs": ", ".join(f"{k}={v}" for k, v in r.inputs.items()),
            # A failed run has no output: what the person was told instead.
            "Output": r.error[:200] if r.failed else r.output[:200],
            "Tokens": r.tokens,
            "Cost": format_usd(r.cost_nusd),
        }
        for r in history
    ]
    st.table(rows)
    failed = sum(r.failed for r in history)
    if failed:
        st.caption(f"{failed} of these {len(history)} runs failed; their error is in Output.")


def _manage(prompt: PromptInfo) -> None:
    """Owner-only: edit (a new version), publish, share, export, delete."""
    numbers = library.versions(user_id=user.id, prompt_id=prompt.id)
    latest = library.version(user_id=user.id, prompt_id=prompt.id, number=numbers[-1])
    with st.expander("Edit (saves a new version)", icon=":material/edit:"):
        draft = _editor(f"edit-{prompt.id}", prompt, latest)
        if st.button("Save new version", key=f"save-{prompt.id}"):
            saved = library.update(user_id=user.id, prompt_id=prompt.id, draft=draft)
            st.toast(f"Saved version {saved.number}; publish it to use it.")
            st.rerun()
    if len(numbers) > 1:
        with st.expander("Compare versions", icon=":material/difference:"):
            pick = st.columns(2)
            older = pick[0].selectbox(
                "From", numbers, index=len(numbers) - 2, key=f"diff-from-{prompt.id}"
            )
            newer = pick[1].selectbox(
                "To", numbers, index=len(numbers) - 1, key=f"diff-to-{prompt.id}"
            )
            diff = compare_versions(
                library.version(user_id=user.id, prompt_id=prompt.id, number=older),
                library.version(user_id=user.id, prompt_id=prompt.id, number=newer),
            )
            if diff:
                st.code(diff, language="diff")
            else:
                st.caption("These versions are the same.")
    cols = st.columns(4, vertical_alignment="bottom")
    chosen = cols[0].selectbox(
        "Published version",
        numbers,
        index=numbers.index(prompt.published_version) if prompt.published_version else 0,
        key=f"publish-{prompt.id}",
    )
    if chosen != prompt.published_version:
        library.publish(user_id=user.id, prompt_id=prompt.id, number=chosen)
        st.rerun()
    shared = cols[1].toggle("Shared with everyone", value=prompt.shared, key=f"share-{prompt.id}")
    if shared != prompt.shared:
        library.share(user_id=user.id, prompt_id=prompt.id, everyone=shared)
        st.rerun()
    cols[2].download_button(
        "Export JSON",
        library.export_json(user_id=user.id, prompt_id=prompt.id),
        file_name=f"{prompt.name}.json",
        mime="application/json",
        icon=":material/download:",
    )
    with cols[3].popover("Delete", icon=":material/delete:"):
        st.write("Delete this prompt, every version and its run history?")
        if st.button("Delete permanently", type="primary", key=f"delete-{prompt.id}"):
            library.delete(user_id=user.id, prompt_id=prompt.id)
            _select(None)
            st.rerun()


def _select(prompt_id: str | None) -> None:
    st.query_params.pop("c", None)  # a prompt picked here runs here, not in a chat
    if prompt_id:
        st.query_params["p"] = prompt_id
    else:
        st.query_params.pop("p", None)


prompts = library.visible(user_id=user.id)
with st.sidebar:
    if st.button("New prompt", icon=":material/add:", use_container_width=True):
        _select(None)
    for item in prompts:
        st.button(
            item.name,
            key=f"prompt-{item.id}",
            use_container_width=True,
            type="primary" if item.id == st.query_params.get("p") else "secondary",
            on_click=_select,
            args=(item.id,),
        )

selected = next((p for p in prompts if p.id == st.query_params.get("p")), None)
try:
    if selected is None:
        st.title("New prompt")
        if not prompts:
            st.info(
                "A saved prompt is a template you fill in and run again and again. Write "
                "`{{name}}` where a value goes and declare each name as a variable below "
                "(text, a number, a date, options, a base or a table). Run it here, or type "
                "`/` and its name in Chat.",
                icon=":material/lightbulb:",
            )
        draft = _editor("new", None, None)
        if st.button("Create prompt", type="primary", icon=":material/save:"):
            _select(library.create(user_id=user.id, draft=draft).id)
            st.rerun()
        with st.expander("Import a prompt", icon=":material/upload:"):
            upload = st.file_uploader("Exported prompt (JSON)", type=["json"])
            if upload is not None and st.button("Import"):
                text = upload.getvalue().decode("utf-8", errors="replace")
                _select(library.import_json(user_id=user.id, text=text).id)
                st.rerun()
    else:
        st.title(selected.name)
        if selected.description:
            st.caption(selected.description)
        if selected.owner_id == user.id:
            _manage(selected)
        _run_form(selected)
        _for_each_record(selected)
        _history(selected)
except AppError as exc:
    st.error(str(exc))
