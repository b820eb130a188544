"""Rendering a conversation: messages, tool steps, tables, charts and change cards."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from services.budget.pricing import format_usd
from services.budget.views import CallCost, call_costs, total_cost
from services.chat_export import metric_label
from services.container import Services
from services.context_gauge import ContextReading
from services.conversations import is_error_entry
from services.llm.guarded import ledger_request_id, output_limit
from ui.a11y import card_selector, focus_after_rerun, restore_focus
from ui.bulk_cards import BULK_CARD_KINDS
from ui.chat_extras import download_table, records_dataframe
from ui.workflow_cards import CARD_KINDS

ProposalAction = Callable[[str, str], None]  # (action, proposal or change set id)
CardRenderer = Callable[[dict[str, Any], str], None]  # (artifact, widget key)
SHORT_RESULT = 600
SHORT_REASON = 200
# Tool name -> (while running, once done); a table name is added when the call has one.
TOOL_LABELS = {
    "list_bases": ("Listing bases", "Listed bases"),
    "search_records": ("Searching records", "Searched records"),
    "aggregate_records": ("Calculating totals", "Calculated totals"),
    "get_record": ("Opening a record", "Opened a record"),
    "create_records": ("Proposing new records", "Proposed new records"),
    "update_records": ("Proposing changes", "Proposed changes"),
    "upsert_records": ("Proposing new or changed records", "Proposed new or changed records"),
    "delete_records": ("Proposing deletions", "Proposed deletions"),
    "list_workflows": ("Listing workflows", "Listed workflows"),
    "run_workflow": ("Preparing a workflow run", "Prepared a workflow run"),
    "get_workflow_run": ("Reading a workflow run", "Read a workflow run"),
    "draft_workflow": ("Drafting a workflow", "Drafted a workflow"),
    "fill_field": ("Preparing a fill", "Prepared a fill"),
    "propose_table": ("Proposing a table", "Proposed a table"),
    "propose_field": ("Proposing a field", "Proposed a field"),
    "propose_formula_field": ("Checking a formula", "Proposed a formula field"),
    "rename_field": ("Proposing a rename", "Proposed a rename"),
}


def turn_footer(costs: Mapping[str, CallCost], messages: Sequence[BaseMessage]) -> str:
    """The ledger's tokens and cost of the model calls that produced the turn's answers,
    and whether a call was held to a shorter answer to fit what was left of a budget."""
    answers = [m for m in messages if isinstance(m, AIMessage)]
    request_ids = [r for m in answers if (r := ledger_request_id(m))]
    total = total_cost(costs, request_ids)
    parts = [f"{total.tokens:,} tokens · {format_usd(total.cost_nusd)}"] if total else []
    lowered = [n for m in answers if (n := output_limit(m)) is not None]
    if lowered:
        parts.append(
            f"answer limited to {min(lowered):,} output tokens to fit what is left of your budget"
        )
    return " · ".join(parts)


def render_artifact(artifact: Any, key: str) -> None:
    """Rows as a table, grouped aggregates as a chart and a table."""
    if not isinstance(artifact, dict):
        return
    kind = artifact.get("kind")
    if kind in {"records", "record"} and artifact.get("rows"):
        frame = pd.DataFrame(artifact["rows"], columns=artifact.get("columns"))
        records_dataframe(frame.astype(str), artifact, key)
        st.caption(
            f"{artifact.get('shown', len(frame))} of {artifact.get('total', len(frame))} "
            f"records in {artifact.get('table', '')}"
        )
        download_table(artifact, key)
    elif kind == "aggregate" and artifact.get("groups"):
        render_aggregate(artifact, key)
    elif kind == "query" and artifact.get("columns"):
        render_query(artifact, key)


def render_query(artifact: dict[str, Any], key: str) -> None:
    """A query_records answer: its rows, and how fresh the mirror was."""
    names: list[str] = []
    for name in artifact["columns"]:  # Arrow refuses repeated column names
        names.append(name if name not in names else f"{name} ({names.count(name) + 1})")
    frame = pd.DataFrame(artifact.get("rows") or [], columns=names)
    st.dataframe(frame, hide_index=True, key=f"query-{key}")
    behind = artifact.get("behind_seconds")
    fresh = f"mirror as of {artifact.get('as_of', '')[:19]} UTC" if artifact.get("as_of") else ""
    if behind is not None:
        fresh += f", {behind:.0f} s behind Airtable"
    more = "; more rows not shown" if artifact.get("truncated") else ""
    st.caption(f"{len(frame)} rows from the mirror ({fresh}){more}")


def render_aggregate(artifact: dict[str, Any], key: str) -> None:
    """A bar chart and a table of the groups, the value column named after the metric."""
    frame = pd.DataFrame(artifact["groups"])
    label = artifact.get("group_by") or "Group"
    value = metric_label(artifact.get("metric"), artifact.get("field"))
    frame = frame.rename(columns={"group": label, "value": value, "records": "Records"})
    if artifact.get("metric") == "count" and not artifact.get("field"):
        frame = frame.drop(columns="Records")  # a plain count is the number of records
    st.bar_chart(frame, x=label, y=value)
    st.dataframe(frame, hide_index=True, key=f"agg-{key}")
    download_table(artifact, key)


def undo_conflict_key(proposal_id: str) -> str:
    """Where the page keeps an undo refused for later edits, for the card to show."""
    return f"undo-conflict-{proposal_id}"


def render_proposal(artifact: dict[str, Any], state: str, act: ProposalAction, key: str) -> None:
    """A diff card: what will change, and Confirm/Cancel, or Undo once applied."""
    counts = artifact.get("counts", {})
    summary = ", ".join(f"{n} to {a}" for a, n in counts.items() if n)
    card = card_selector(key)
    with st.container(border=True, key=f"card-{key}"):
        st.markdown(f"**Proposed change to {artifact.get('table', '')}:** {summary}")
        rows = []
        for change in artifact.get("changes", []):
            fields = sorted(set(change["before"]) | set(change["after"]))
            for name in fields:
                rows.append(
                    {
                        "record": change.get("label") or change.get("record_id") or "new",
                        "action": change["action"],
                        "field": name,
                        "before": _show(change["before"].get(name)),
                        "after": _show(change["after"].get(name)),
                    }
                )
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"diff-{key}")
        if artifact.get("more_changes"):
            st.caption(f"… and {artifact['more_changes']} more records.")
        proposal_id = str(artifact["proposal_id"])
        if state == "pending":
            left, right = st.columns(2)
            if left.button("Confirm", key=f"confirm-{key}", type="primary"):
                focus_after_rerun(card)  # the card's result, not <body>
                act("apply", proposal_id)
            if right.button("Cancel", key=f"cancel-{key}"):
                focus_after_rerun(card)  # the card's result, not <body>
                act("cancel", proposal_id)
        elif state == "applied":
            st.success("Applied.", icon=":material/check:")
            conflict_key = undo_conflict_key(proposal_id)
            if conflict_key not in st.session_state and st.button("Undo", key=f"undo-{key}"):
                focus_after_rerun(card)  # the card's result, not <body>
                act("undo", proposal_id)  # returns only when later edits stopped it
            if conflict := st.session_state.get(conflict_key):
                st.warning(conflict, icon=":material/warning:")
                if st.button("Undo anyway", key=f"force-undo-{key}"):
                    focus_after_rerun(card)  # the card's result, not <body>
                    act("force_undo", proposal_id)
        elif state == "undone":
            st.info("Applied, then undone.", icon=":material/undo:")
        elif state == "stale":
            st.caption("Not applied: the records changed since this was proposed.")
        else:
            st.caption("Not applied (cancelled or expired).")
    restore_focus(card)


def _show(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def tool_label(name: str, args: dict[str, Any], *, running: bool = False) -> str:
    """A step in plain words, with its table: "Searched records in Tasks"."""
    table = args.get("table") if isinstance(args.get("table"), str) else None
    if name == "describe_table":
        verb = "Reading" if running else "Read"
        return f"{verb} the fields of {table}" if table else f"{verb} the base's tables"
    # An unknown name (the model can invent one) is shown as words, not as code.
    plain = name.replace("_", " ").strip().capitalize() or "Step"
    doing, done = TOOL_LABELS.get(name, (plain, plain))
    text = doing if running else done
    return f"{text} in {table}" if table else text


def tool_failed(result: ToolMessage) -> bool:
    """Tools report errors with status "error"; older saved turns only by the text."""
    return result.status == "error" or result.text.lstrip().startswith("Error")


def render_tool_step(call: dict[str, Any], result: ToolMessage | None) -> None:
    """One tool call as a collapsed status; arguments and the model's text under Details."""
    args = call.get("args") or {}
    label = tool_label(str(call.get("name", "")), args)
    failed = result is None or tool_failed(result)
    if result is None:
        label += " (no result)"
    elif failed:
        label += " (failed)"
    with st.status(label, state="error" if failed else "complete", expanded=False):
        if result is not None and failed:
            reason = result.text.strip().removeprefix("Error:").strip().splitlines()
            st.caption(_shorten(reason[0] if reason else "", SHORT_REASON))
        with st.expander("Details"):
            st.json(args, expanded=False)
            if result is not None:
                st.text(_shorten(result.text, SHORT_RESULT))


def _shorten(text: str, limit: int) -> str:
    return text[:limit] + ("…" if len(text) > limit else "")


def render_history(
    services: Services,
    messages: Sequence[BaseMessage],
    *,
    proposal_state: Callable[[str], str],
    act: ProposalAction,
    workflow_card: CardRenderer | None = None,
) -> None:
    """Every turn: the question, tool steps, results, the answer and what it cost."""
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    answered = [ledger_request_id(m) for m in messages if isinstance(m, AIMessage)]
    costs = call_costs(services.sql, [r for r in answered if r])
    turns: list[list[BaseMessage]] = []
    for message in messages:
        if isinstance(message, HumanMessage) or not turns:
            turns.append([])
        turns[-1].append(message)
    for number, turn in enumerate(turns):
        first = turn[0]
        if isinstance(first, HumanMessage):
            with st.chat_message("user"):
                st.markdown(first.text)
        with st.chat_message("assistant"):
            for index, message in enumerate(turn):
                if is_error_entry(message):
                    st.error(message.text, icon=":material/error:")
                if not isinstance(message, AIMessage):
                    continue
                for call in message.tool_calls:
                    result = results.get(call.get("id") or "")
                    render_tool_step(dict(call), result)
                    if result is None:
                        continue
                    key = f"{number}-{index}-{call.get('id')}"
                    artifact = result.artifact
                    if isinstance(artifact, dict) and artifact.get("kind") == "proposal":
                        state = proposal_state(str(artifact["proposal_id"]))
                        render_proposal(artifact, state, act, key)
                    elif (
                        workflow_card is not None
                        and isinstance(artifact, dict)
                        and artifact.get("kind") in CARD_KINDS | BULK_CARD_KINDS
                    ):
                        workflow_card(artifact, key)
                    else:
                        render_artifact(artifact, key)
                if message.text:
                    st.markdown(message.text)
            cost = turn_footer(costs, turn)
            if cost:
                st.caption(cost)


def render_context_gauge(reading: ContextReading | None) -> None:
    """How full the conversation's context was on its last turn, and its history window."""
    if reading is None:
        return
    with st.container(key="context-gauge"):
        st.progress(min(reading.budget_ratio, 1.0), text=reading.caption())
