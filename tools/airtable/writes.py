"""Write tools: each stores a proposal (the exact diff) and writes nothing.

The person sees the proposal as a diff in the app and confirms or cancels it there; only
that confirmation (`ChangeLog.apply`) writes. So nothing a record says, and nothing the
model is talked into, can change a base without the person's click.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool

from services.airtable.cells import plain_text
from services.airtable.proposals import Proposal
from services.container import Services
from tools.airtable.args import (
    CreateArgs,
    DeleteArgs,
    UpdateArgs,
    UpsertArgs,
    field_values,
)
from tools.airtable.reads import args_tool
from tools.airtable.render import CELL_CHARS
from tools.airtable.scope import as_tool_errors, dates_of, scope_of
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Result = tuple[str, dict[str, Any]]
_EXAMPLES = 3


def write_tools(services: Services) -> list[BaseTool]:
    """create_records, update_records, upsert_records and delete_records (proposals)."""
    planner = services.airtable_proposals

    def create_records(args: CreateArgs, runtime: Runtime) -> Result:
        """Propose new records; nothing is written until the person confirms it in the app."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = planner.create(
                scope.user_id,
                scope.base_id,
                args.table,
                [field_values(r.fields) for r in args.records],
                conversation_id=scope.conversation_id,
            )
        return proposal_text(proposal), proposal.to_artifact()

    def update_records(args: UpdateArgs, runtime: Runtime) -> Result:
        """Propose new field values for records given by ID, or for every record matching
        filters (set_fields); nothing is written until the person confirms it in the app."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = planner.update(
                scope.user_id,
                scope.base_id,
                args.table,
                updates={r.id: field_values(r.fields) for r in args.records},
                filters=args.filters,
                match=args.match,
                values=field_values(args.set_fields) if args.set_fields else None,
                conversation_id=scope.conversation_id,
                dates=dates_of(runtime),
            )
        return proposal_text(proposal), proposal.to_artifact()

    def upsert_records(args: UpsertArgs, runtime: Runtime) -> Result:
        """Propose records matched on merge_on fields: matches are updated, the rest created;
        nothing is written until the person confirms it in the app."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = planner.upsert(
                scope.user_id,
                scope.base_id,
                args.table,
                [field_values(r.fields) for r in args.records],
                args.merge_on,
                conversation_id=scope.conversation_id,
            )
        return proposal_text(proposal), proposal.to_artifact()

    def delete_records(args: DeleteArgs, runtime: Runtime) -> Result:
        """Propose deleting records by ID or by filters; nothing is deleted until the person
        confirms it in the app (and it can be undone)."""
        scope = scope_of(runtime, args.base_id)
        with as_tool_errors():
            proposal = planner.delete(
                scope.user_id,
                scope.base_id,
                args.table,
                record_ids=args.record_ids,
                filters=args.filters,
                match=args.match,
                conversation_id=scope.conversation_id,
                dates=dates_of(runtime),
            )
        return proposal_text(proposal), proposal.to_artifact()

    return [
        args_tool(create_records, CreateArgs),
        args_tool(update_records, UpdateArgs),
        args_tool(upsert_records, UpsertArgs),
        args_tool(delete_records, DeleteArgs),
    ]


def proposal_text(proposal: Proposal) -> str:
    """What the model is told: the proposal's ID, what it would change, and that it waits."""
    counts = ", ".join(f"{action} {n}" for action, n in proposal.counts().items() if n)
    lines = [
        f"Proposal {proposal.id} for {proposal.table_name}: {counts} record(s). "
        "NOT applied: the person must confirm it in the app; do not say it is done."
    ]
    names = proposal.field_names
    transitions: Counter[str] = Counter()
    for change in proposal.changes:
        if change.action == "update":
            for fid, after in change.after.items():
                before = _short(change.before.get(fid))
                transitions[f"{names.get(fid, fid)}: {before or '(empty)'} -> {_short(after)}"] += 1
    lines += [f"{text} ({n})" for text, n in transitions.most_common(5)]
    labels = [c.label or c.record_id or "" for c in proposal.changes if c.label or c.record_id]
    if labels:
        more = len(labels) - _EXAMPLES
        lines.append(
            "Records: " + "; ".join(labels[:_EXAMPLES]) + (f"; +{more} more" if more > 0 else "")
        )
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = plain_text(value).replace("\n", " ")
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"
