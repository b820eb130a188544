"""The agent's workflow tools: list, run (on the person's Confirm), follow a run, and draft.

`run_workflow` starts nothing: it checks the workflow and the inputs and returns a card
(artifact `workflow_run_request`) showing the inputs and what the workflow may change; the
run starts only when the person presses Confirm on it in the app. `draft_workflow` saves
nothing: the definition the model wrote is parsed and checked by the library first, and a
valid one comes back as a card (`workflow_draft`) with its YAML and a Save button.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field

from services.container import Services
from services.errors import NotFoundError
from services.orm import User
from services.workflows.parsing import dump_yaml
from services.workflows.types import RunInfo, WorkflowInfo
from tools.airtable.reads import args_tool, make_tool
from tools.airtable.scope import as_tool_errors, user_of
from tools.context import AssistantContext

Runtime = ToolRuntime[AssistantContext, Any]
Result = tuple[str, dict[str, Any]]
MAX_LISTED = 50


class InputValue(BaseModel):
    name: str = Field(description="The input's name, as list_workflows shows it.")
    value: str = Field(description="Its value as text (dates as 2026-01-31).")


class RunWorkflowArgs(BaseModel):
    workflow: str = Field(description="The workflow's name or ID, as list_workflows shows it.")
    inputs: list[InputValue] = Field(
        default_factory=list, description="A value for each input the workflow declares."
    )


class GetRunArgs(BaseModel):
    run_id: str = Field(description="The run's ID (starts with run_).")


class DraftWorkflowArgs(BaseModel):
    definition: str = Field(
        description=(
            "The whole workflow definition as YAML: name, description, base (ID or name), "
            "inputs [{name, type: text|number|date|select, options}], trigger ({manual: {}} or "
            '{schedule: {cron: "0 9 * * MON", timezone: "Europe/Berlin"}}), and steps, each '
            "with a unique lowercase id and a type: find_records / aggregate_records (table, "
            "where: [{field, op, value}], fields), update_records (table, records: "
            '"{{ steps.<id>.records }}" or where, set: {Field: value}), create_records / '
            "upsert_records (table, records, merge_on), delete_records, run_prompt (prompt, "
            "inputs), ask_assistant (question), approval (message, timeout: 24h), "
            "http_request (method, url, body, compensate), notify (message), stop_if (when). "
            "Values may be Jinja2 templates over inputs and earlier steps."
        )
    )


def workflow_tools(services: Services) -> list[BaseTool]:
    """list_workflows, run_workflow, get_workflow_run and draft_workflow."""
    library, runs = services.workflows, services.workflow_runs

    def person(runtime: Runtime) -> User:
        user = services.accounts.get_user(user_of(runtime).user_id)
        if user is None or not user.is_active:
            raise ToolException("This tool needs a signed-in user.")
        return user

    def list_workflows(runtime: Runtime) -> Result:
        """List the workflows (automations) the person can run: name, ID, trigger, inputs and
        what each may change; call it before run_workflow or when asked about automations."""
        with as_tool_errors():
            found = library.list_for(person(runtime))[:MAX_LISTED]
        artifact = {"kind": "workflows", "workflows": [_brief(w) for w in found]}
        if not found:
            return "No workflows yet; draft_workflow can write one.", artifact
        return "\n".join(_line(w) for w in found), artifact

    def run_workflow(args: RunWorkflowArgs, runtime: Runtime) -> Result:
        """Ask to run a workflow with the given inputs; nothing runs until the person
        confirms the card shown in the app, so never say it has run or finished."""
        user = person(runtime)
        inputs = {i.name: i.value for i in args.inputs}
        with as_tool_errors():
            workflow = _find(library, user, args.workflow)
            clean = runs.check_inputs(workflow.owner_id, workflow.definition, inputs)
        ttl = services.settings.airtable_proposal_ttl_seconds
        card = {
            "kind": "workflow_run_request",
            "request_id": f"run_{secrets.token_hex(8)}",
            "workflow_id": workflow.id,
            "workflow_name": workflow.name,
            "version": workflow.version,
            "inputs": clean,
            "may_write": workflow.definition.may_write(),
            "steps": [f"{s.id} ({s.type})" for s in workflow.definition.steps],
            "expires_at": (datetime.now(UTC) + timedelta(seconds=ttl)).isoformat(),
        }
        shown = ", ".join(f"{k}={v}" for k, v in clean.items()) or "no inputs"
        text = (
            f"Run request {card['request_id']} for workflow {workflow.name} ({shown}). NOT "
            "started: the person must press Confirm on the card in the app; do not say it ran."
        )
        return text, card

    def get_workflow_run(args: GetRunArgs, runtime: Runtime) -> Result:
        """Show a workflow run's status, each step's status, summary and error, and its cost;
        use it when the person asks how a run went, or wants to approve or reject a run that
        waits for approval (the card shows Approve/Reject; only the person's click answers)."""
        with as_tool_errors():
            run = runs.get(person(runtime), args.run_id.strip())
        return _run_text(run), {"kind": "workflow_run", "run": run.to_json()}

    def draft_workflow(args: DraftWorkflowArgs, runtime: Runtime) -> Result:
        """Write a new workflow definition for an automation the person describes (e.g.
        "every Monday at 9 mark overdue tasks urgent"); it is checked against the base, then
        shown with a Save button; nothing is saved unless the person presses Save."""
        user = person(runtime)
        with as_tool_errors():
            parsed = library.validate(user.id, args.definition)
        card = {
            "kind": "workflow_draft",
            "draft_id": f"draft_{secrets.token_hex(8)}",
            "name": parsed.name,
            "yaml": dump_yaml(parsed),
            "may_write": parsed.may_write(),
        }
        text = (
            f"Draft of workflow {parsed.name} is valid ({len(parsed.steps)} steps) and shown "
            "with a Save button. NOT saved: the person must press Save in the app."
        )
        return text, card

    return [
        make_tool(list_workflows, None),
        args_tool(run_workflow, RunWorkflowArgs),
        args_tool(get_workflow_run, GetRunArgs),
        args_tool(draft_workflow, DraftWorkflowArgs),
    ]


def _find(library: Any, user: User, wanted: str) -> WorkflowInfo:
    wanted = wanted.strip()
    if wanted.startswith("wf_"):
        found: WorkflowInfo = library.get(user, wanted)
        return found
    named: WorkflowInfo | None = library.find_by_name(user, wanted)
    if named is None:
        raise NotFoundError(f'No workflow is called "{wanted}"; call list_workflows.')
    return named


def _brief(workflow: WorkflowInfo) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "trigger": workflow.trigger,
        "enabled": workflow.enabled,
        "inputs": [v.name for v in workflow.definition.inputs],
        "may_write": workflow.definition.may_write(),
    }


def _line(workflow: WorkflowInfo) -> str:
    inputs = ", ".join(
        f"{v.name} ({v.type.value}{', required' if v.required else ''})"
        for v in workflow.definition.inputs
    )
    writes = "; ".join(workflow.definition.may_write()) or "writes nothing"
    state = "enabled" if workflow.enabled else "disabled"
    return (
        f"- {workflow.name} [{workflow.id}] trigger {workflow.trigger} ({state}); "
        f"inputs: {inputs or 'none'}; may change: {writes}"
    )


def _run_text(run: RunInfo) -> str:
    lines = [
        f"Run {run.id} of {run.workflow_name} (version {run.version}): {run.status}; "
        f"cost ${run.cost_usd:.4f}."
    ]
    if run.error:
        lines.append(f"Error: {run.error}")
    for step in run.steps:
        detail = step.error or step.summary
        attempts = f", {step.attempts} attempts" if step.attempts > 1 else ""
        lines.append(f"- {step.id} ({step.type}): {step.status}{attempts}. {detail}".rstrip())
        if step.compensation:
            lines.append(f"  compensation: {step.compensation}")
    return "\n".join(lines)
