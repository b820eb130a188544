"""The Workflows page's form: widgets for a definition's parts, producing its YAML text.

The text goes through the library's parser and checks like pasted YAML, so the form and
the YAML tab refuse the same things with the same step-and-field messages.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

from services.prompts.variables import VariableType
from services.workflows.definition import STEP_TYPES, WorkflowDefinition
from services.workflows.parsing import load_yaml

EXAMPLE_YAML = """\
name: Escalate overdue tasks
description: Mark someone's overdue tasks urgent and tell me
base: Project Tracker
inputs:
  - {name: assignee, type: text, required: true}
trigger: {manual: {}}
steps:
  - id: overdue
    type: find_records
    table: Tasks
    where:
      - {field: Assignee, op: equals, value: "{{ inputs.assignee }}"}
      - {field: Status, op: not_equals, value: Done}
    fields: [Name, Due Date]
  - id: escalate
    type: update_records
    table: Tasks
    records: "{{ steps.overdue.records }}"
    set: {Priority: Urgent}
  - id: ok
    type: approval
    message: "Escalated {{ steps.escalate.count }} tasks. Tell the team?"
  - id: tell
    type: notify
    message: "Escalated {{ steps.escalate.count }} tasks of {{ inputs.assignee }}"
"""
TRIGGER_LABELS = {
    "manual": "By hand (here, Chat or the API)",
    "schedule": "On a schedule",
    "record": "When an Airtable record changes",
    "webhook": "On a signed HTTP call",
}
INPUT_TYPES = [t.value for t in VariableType if t is not VariableType.FIELD_OPTIONS]
# Each step type's own settings beyond id and type, as YAML the person edits; a new step
# starts from these.
STEP_SETTINGS = {
    "find_records": "table: Tasks\nwhere:\n  - {field: Status, op: not_equals, value: Done}\n"
    "fields: [Name]\n",
    "aggregate_records": "table: Tasks\nmetric: count\ngroup_by: Status\n",
    "create_records": 'table: Tasks\nrecords:\n  - {Name: "Follow up"}\n',
    "update_records": 'table: Tasks\nrecords: "{{ steps.STEP.records }}"\nset: {Priority: High}\n',
    "upsert_records": 'table: Tasks\nrecords:\n  - {Name: "Follow up"}\nmerge_on: [Name]\n',
    "delete_records": 'table: Tasks\nrecords: "{{ steps.STEP.records }}"\n',
    "run_prompt": "prompt: NAME OF A SAVED PROMPT\ninputs: {}\n",
    "ask_assistant": "question: How many tasks are overdue?\n",
    "http_request": 'method: POST\nurl: https://hooks.example.com/team\nbody: {text: "Done"}\n',
    "approval": "message: Go ahead?\ntimeout: 24h\n",
    "notify": "message: Done\n",
    "stop_if": "when: steps.STEP.count == 0\n",
}


def definition_form(key: str, base_names: dict[str, str]) -> str:
    """Widgets for a whole definition; returns it as YAML (checked when validated/saved)."""
    data: dict[str, Any] = {"name": st.text_input("Name", key=f"{key}-name")}
    description = st.text_input("Description", key=f"{key}-description")
    if description:
        data["description"] = description
    ids = list(base_names)
    base = st.selectbox("Base", ids, format_func=lambda b: base_names.get(b, b), key=f"{key}-base")
    if base:
        data["base"] = base_names.get(base, base)
    data["inputs"] = _inputs(key)
    data["trigger"] = _trigger(key)
    data["on_failure"] = st.selectbox(
        "When a step fails for good",
        ["compensate", "stop"],
        format_func=lambda v: (
            "Undo what earlier steps changed" if v == "compensate" else "Stop and leave the changes"
        ),
        key=f"{key}-on-failure",
    )
    data["steps"] = _steps(key)
    if not data["inputs"]:
        data.pop("inputs")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _inputs(key: str) -> list[dict[str, Any]]:
    count = st.number_input("Inputs", min_value=0, max_value=10, value=0, key=f"{key}-inputs")
    inputs = []
    for i in range(int(count)):
        row = st.columns([2, 2, 3, 1], vertical_alignment="bottom")
        name = row[0].text_input(f"Input {i + 1} name", key=f"{key}-in{i}-name")
        kind = row[1].selectbox(f"Input {i + 1} type", INPUT_TYPES, key=f"{key}-in{i}-type")
        item: dict[str, Any] = {"name": name.strip(), "type": kind}
        if kind == VariableType.SELECT.value:
            options = row[2].text_input(
                f"Input {i + 1} options", help="Comma-separated.", key=f"{key}-in{i}-options"
            )
            item["options"] = [o.strip() for o in options.split(",") if o.strip()]
        item["required"] = row[3].checkbox("Required", value=True, key=f"{key}-in{i}-required")
        inputs.append(item)
    return inputs


def _trigger(key: str) -> dict[str, Any]:
    kind = st.radio(
        "Trigger",
        list(TRIGGER_LABELS),
        format_func=TRIGGER_LABELS.__getitem__,
        horizontal=True,
        key=f"{key}-trigger",
    )
    if kind == "manual":
        return {"manual": {}}
    if kind == "webhook":
        st.caption(
            "Saving gives the workflow a signed URL and a secret (shown once). The JSON body "
            "of each call is its inputs."
        )
        return {"webhook": {}}
    if kind == "record":
        return {"record": _record_trigger(key)}
    cols = st.columns(2)
    cron = cols[0].text_input(
        "Cron", value="0 9 * * MON", help="minute hour day month weekday", key=f"{key}-cron"
    )
    zone = cols[1].text_input("Time zone", value="UTC", key=f"{key}-timezone")
    return {"schedule": {"cron": cron.strip(), "timezone": zone.strip()}}


def _record_trigger(key: str) -> dict[str, Any]:
    cols = st.columns(3)
    table = cols[0].text_input("Table", value="Tasks", key=f"{key}-record-table")
    on = cols[1].multiselect(
        "When a record is",
        ["created", "updated", "deleted"],
        default=["created", "updated"],
        key=f"{key}-record-on",
    )
    fields = cols[2].text_input(
        "Only when these fields change",
        help="Comma-separated field names; empty: any field.",
        key=f"{key}-record-fields",
    )
    where = st.text_area(
        "And the record meets (YAML list of conditions)",
        value="",
        placeholder="- {field: Status, op: equals, value: Blocked}",
        height=80,
        key=f"{key}-record-where",
    )
    spec: dict[str, Any] = {"table": table.strip(), "on": on}
    names = [f.strip() for f in fields.split(",") if f.strip()]
    if names:
        spec["fields"] = names
    conditions = _conditions(where)
    if conditions:
        spec["where"] = conditions
    return spec


def _conditions(text: str) -> list[Any]:
    try:
        value = load_yaml(text) if text.strip() else []
    except yaml.YAMLError:
        st.warning("The conditions are not valid YAML.", icon=":material/warning:")
        return []
    if not isinstance(value, list):
        st.warning("The conditions must be a list: one `- {field, op, value}` per line.")
        return []
    return value


def _steps(key: str) -> list[dict[str, Any]]:
    count = st.number_input("Steps", min_value=1, max_value=30, value=1, key=f"{key}-steps")
    steps = []
    for i in range(int(count)):
        with st.container(border=True):
            row = st.columns([2, 3])
            step_id = row[0].text_input(
                f"Step {i + 1} id", value=f"step{i + 1}", key=f"{key}-s{i}-id"
            )
            kind = row[1].selectbox(
                f"Step {i + 1} type",
                STEP_TYPES,
                format_func=lambda t: t.replace("_", " "),
                key=f"{key}-s{i}-type",
            )
            text = st.text_area(
                f"Step {i + 1} settings (YAML)",
                value=STEP_SETTINGS[kind],
                height=110,
                key=f"{key}-s{i}-settings-{kind}",
            )
            steps.append({"id": step_id.strip(), "type": kind, **_settings(text, i)})
    return steps


def _settings(text: str, index: int) -> dict[str, Any]:
    try:
        value = load_yaml(text) or {}
    except yaml.YAMLError:
        st.warning(f"Step {index + 1} settings are not valid YAML.", icon=":material/warning:")
        return {}
    if not isinstance(value, dict):
        st.warning(f"Step {index + 1} settings must be `name: value` lines.")
        return {}
    return {k: v for k, v in value.items() if k not in {"id", "type"}}


def may_write_lines(definition: WorkflowDefinition) -> list[str]:
    """What a workflow may change, with the fields each write step sets."""
    lines = []
    for step, line in zip(_writers(definition), definition.may_write(), strict=False):
        fields = sorted(_fields_written(step))
        lines.append(f"{line} (fields: {', '.join(fields)})" if fields else line)
    return lines


def _fields_written(step: Any) -> set[str]:
    fields = set(getattr(step, "set", None) or {})
    records = getattr(step, "records", None)
    if isinstance(records, list):
        fields |= {k for r in records if isinstance(r, dict) for k in r if k != "id"}
    return fields


def _writers(definition: WorkflowDefinition) -> list[Any]:
    kinds = {"create_records", "update_records", "upsert_records", "delete_records", "http_request"}
    return [s for s in definition.steps if s.type in kinds]
