"""Sync: jobs that keep an Airtable table and a SQL table in step; create, edit, run now,
and each job's run history."""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.errors import AppError
from services.sync.merge import DELETE_RULES, DIRECTIONS, POLICIES
from services.sync.types import JobSpec, SyncJobInfo
from ui.context import get_services
from ui.signed_in import require_user

services = get_services()
user = require_user()
jobs, launcher = services.sync_jobs, services.sync_launcher

DIRECTION_LABELS = {"both": "Both ways", "a_to_s": "Airtable → SQL", "s_to_a": "SQL → Airtable"}
MATCH_LABELS = {"record_id": "Airtable record ID", "field": "A unique field"}
DELETE_LABELS = {"propagate": "Propagate", "keep": "Keep and flag"}
DETECTION_LABELS = {
    "updated_at": "An updated_at column",
    "change_table": "A change table (triggers)",
}
MAPPING_HELP = (
    "One a line: `Airtable field -> sql_column : kind`, kinds text, number, date, datetime "
    "(add `: Europe/Paris` for a column without a zone), checkbox, select, multiselect, "
    "links (record IDs) or link_names (the linked records' primary names, e.g. `Alice,Bob`)."
)

st.title("Sync")
st.caption(
    "A sync job keeps an Airtable table and a SQL table in step. Each run compares both "
    "sides with what was last synced: a field changed on one side is copied to the other; "
    "changed on both, the job's policy decides, or (manual) the Conflicts page asks you."
)

try:
    base_names = {b.id: b.name for b in services.airtable.bases(user.id)}
    listed = jobs.list_for(user)
except AppError as exc:
    st.error(str(exc))
    st.stop()


def _job_form(key: str, current: SyncJobInfo | None) -> None:
    spec = current.spec if current is not None else None
    bases = list(base_names)
    if not bases:
        st.info("No Airtable bases are reachable through your connection.")
        return
    base_index = bases.index(spec.base_id) if spec and spec.base_id in bases else 0
    base_id: str = st.selectbox(
        "Airtable base",
        bases,
        index=base_index,
        format_func=lambda b: base_names.get(b, b),
        key=f"{key}-base",
    )
    try:
        tables = services.airtable.schema(user.id, base_id).tables
    except AppError as exc:
        st.error(str(exc))
        return
    table_ids = [t.id for t in tables]
    names = {t.id: t.name for t in tables}
    table_index = table_ids.index(spec.table_id) if spec and spec.table_id in table_ids else 0
    with st.form(f"{key}-form"):
        name = st.text_input("Name", value=spec.name if spec else "", key=f"{key}-name")
        table_id: str = st.selectbox(
            "Airtable table",
            table_ids,
            index=table_index,
            format_func=lambda t: names.get(t, t),
            key=f"{key}-t",
        )
        url_label = "SQL database URL (empty: the app's database)"
        if current is not None and current.external_database:
            url_label = "SQL database URL (stored; leave empty to keep it)"
        sql_url = st.text_input(url_label, type="password", key=f"{key}-url")
        cols = list(st.columns(2))
        sql_table = cols[0].text_input(
            "SQL table", value=spec.sql_table if spec else "", key=f"{key}-sqlt"
        )
        key_column = cols[1].text_input(
            "Primary key column", value=spec.sql_key_column if spec else "id", key=f"{key}-pk"
        )
        mappings = st.text_area(
            "Field mapping",
            value=jobs.mappings_as_text(user, current) if current else "",
            help=MAPPING_HELP,
            key=f"{key}-maps",
        )
        cols = list(st.columns(3))
        match_kind = cols[0].selectbox(
            "Match records by",
            ["record_id", "field"],
            index=0 if not spec or spec.match_kind == "record_id" else 1,
            format_func=lambda k: MATCH_LABELS[k],
            key=f"{key}-mk",
        )
        match_column = cols[1].text_input(
            "Match SQL column",
            value=spec.match_sql_column if spec else "airtable_id",
            key=f"{key}-mc",
        )
        match_field = cols[2].text_input(
            "Match Airtable field (by field)",
            value=spec.match_airtable_field if spec else "",
            key=f"{key}-mf",
        )
        cols = list(st.columns(3))
        direction = cols[0].selectbox(
            "Direction",
            DIRECTIONS,
            format_func=lambda d: DIRECTION_LABELS[d],
            index=DIRECTIONS.index(spec.direction) if spec else 0,
            key=f"{key}-dir",
        )
        policy = cols[1].selectbox(
            "When both sides changed a field",
            POLICIES,
            index=POLICIES.index(spec.policy) if spec else POLICIES.index("manual"),
            key=f"{key}-pol",
        )
        delete_rule = cols[2].selectbox(
            "Deletes",
            DELETE_RULES,
            format_func=lambda r: DELETE_LABELS[r],
            index=DELETE_RULES.index(spec.delete_rule) if spec else 1,
            key=f"{key}-del",
        )
        cols = list(st.columns(3))
        detection = cols[0].selectbox(
            "SQL changes found by",
            ["updated_at", "change_table"],
            index=0 if not spec or spec.change_detection == "updated_at" else 1,
            format_func=lambda d: DETECTION_LABELS[d],
            key=f"{key}-det",
        )
        updated_at = cols[1].text_input(
            "updated_at column",
            value=spec.updated_at_column if spec else "updated_at",
            key=f"{key}-upd",
        )
        modified = cols[2].text_input(
            "Airtable last-modified field (newest_wins)",
            value=spec.airtable_modified_field if spec else "",
            key=f"{key}-mod",
        )
        every = st.number_input(
            "Run every (seconds)",
            min_value=10,
            value=spec.every_seconds if spec else 300,
            key=f"{key}-every",
        )
        enabled = st.checkbox(
            "Enabled (runs on its schedule)", value=spec.enabled if spec else True, key=f"{key}-on"
        )
        cols = list(st.columns(2))
        saved = cols[0].form_submit_button("Save job", type="primary")
        install = cols[1].form_submit_button("Create change table")
    if not (saved or install):
        return
    keep_url = current is not None and current.external_database and not sql_url
    try:
        if install:
            url = jobs.sql_url(current.id) if keep_url and current else sql_url
            jobs.install_change_table(user, sql_url=url, table=sql_table, key=key_column)
            st.success(f"Change table for {sql_table} created.")
            return
        fields: dict[str, Any] = {
            "name": name.strip(),
            "base_id": base_id,
            "table_id": table_id,
            "sql_table": sql_table.strip(),
            "sql_key_column": key_column.strip(),
            "mappings": jobs.mappings_from_text(user, base_id, table_id, mappings),
            "match_kind": match_kind,
            "match_sql_column": match_column.strip(),
            "match_airtable_field": match_field.strip(),
            "direction": direction,
            "policy": policy,
            "delete_rule": delete_rule,
            "change_detection": detection,
            "updated_at_column": updated_at.strip(),
            "airtable_modified_field": modified.strip(),
            "every_seconds": int(every),
            "enabled": enabled,
            "sql_url": None if keep_url else sql_url.strip(),
        }
        if current is None:
            created = jobs.create(user, JobSpec(**fields))
            st.query_params["j"] = created.id
        else:
            jobs.update(user, current.id, JobSpec(**fields))
            st.query_params.pop("edit", None)
    except AppError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.rerun()


def _job(info: SyncJobInfo) -> None:
    spec = info.spec
    where = f"{base_names.get(spec.base_id, spec.base_id)} · {spec.table_id} ↔ {spec.sql_table}"
    with st.expander(f"{spec.name} — {where}", expanded=st.query_params.get("j") == info.id):
        st.markdown(
            f"{DIRECTION_LABELS[spec.direction]}, policy `{spec.policy}`, deletes "
            f"`{spec.delete_rule}`, every {spec.every_seconds} s"
            + ("" if spec.enabled else " (disabled)")
            + (f". **Failed {info.failures} times in a row.**" if info.failures else ".")
        )
        cols = list(st.columns(3))
        if cols[0].button("Run now", key=f"run-{info.id}", type="primary"):
            try:
                run_id = launcher.run_now(user, info.id)
            except AppError as exc:
                st.error(str(exc))
            else:
                st.success(f"Run {run_id} queued.")
        if cols[1].button("Edit", key=f"edit-{info.id}"):
            st.query_params["j"], st.query_params["edit"] = info.id, "1"
            st.rerun()
        if cols[2].button("Delete", key=f"delete-{info.id}"):
            jobs.delete(user, info.id)
            st.rerun()
        history = services.sync.history(user, info.id, limit=20)
        if history:
            st.dataframe(
                [
                    {
                        "Run": h.run_id,
                        "Status": h.status,
                        "Read Airtable": h.read_airtable,
                        "Read SQL": h.read_sql,
                        "Written Airtable": h.written_airtable,
                        "Written SQL": h.written_sql,
                        "Conflicts": h.conflicts,
                        "Errors": h.errors,
                        "Duration (ms)": h.duration_ms,
                    }
                    for h in history
                ],
                hide_index=True,
            )
            problems = [line for h in history[:1] for line in h.log]
            if problems:
                st.caption("Last run's log:")
                st.code("\n".join(problems[:50]))
        else:
            st.caption("No runs yet.")


editing = next((j for j in listed if j.id == st.query_params.get("j")), None)
if editing is not None and st.query_params.get("edit"):
    st.subheader(f"Edit {editing.spec.name}")
    _job_form(f"edit-{editing.id}", editing)
    if st.button("Cancel"):
        st.query_params.pop("edit", None)
        st.rerun()
    st.stop()

st.subheader("Jobs")
if not listed:
    st.caption("No sync jobs yet.")
for job in listed:
    _job(job)
st.subheader("New job")
_job_form("new", None)
