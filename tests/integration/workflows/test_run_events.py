"""Runs tell their owner what happens (the event stream the bell, the Run page and
`WS /api/events` read), and a run belongs to whoever starts it."""

from __future__ import annotations

import pytest

from services.container import Services
from services.errors import NotFoundError
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase
from tests.support.accounts import make_user
from tests.support.workflows import Receiver, WorkerHandle, wait_for_run


def read_then_post(base: FreshBase, receiver: Receiver) -> dict[str, object]:
    return {
        "name": "Read then post",
        "base": base.id,
        "steps": [
            {"id": "todo", "type": "find_records", "table": "Tasks"},
            {"id": "post", "type": "http_request", "url": f"{receiver.url}/post"},
            {"id": "tell", "type": "notify", "message": "Found {{ steps.todo.count }}"},
        ],
    }


def run_events(services: Services, user: User, run_id: str) -> list[tuple[str, dict[str, object]]]:
    events = services.events.read_after(user.id, admin=False, after="0-0")
    return [(e.type, dict(e.data)) for e in events if e.data.get("run_id") == run_id]


def test_run__publishes_started_each_step_and_succeeded_to_its_owner(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(owner.id, read_then_post(base, receiver))
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    assert wait_for_run(wf_services, run.id).status == "succeeded"
    events = run_events(wf_services, owner, run.id)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "workflow.run.started"
    assert kinds[-1] == "workflow.run.succeeded"
    finished_steps = [
        data["step_id"] for kind, data in events if kind == "workflow.run.step" and "status" in data
    ]
    assert finished_steps == ["todo", "post", "tell"]
    someone_else = make_user(wf_services, name="Someone")
    assert run_events(wf_services, someone_else, run.id) == []


def test_run__of_a_shared_workflow_belongs_to_the_member_who_started_it(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(owner.id, read_then_post(base, receiver))
    wf_services.workflows.share(owner, workflow.id, True)
    member = make_user(wf_services, name="Member")
    run = wf_services.workflow_runs.start(member, workflow.id, {})
    assert wait_for_run(wf_services, run.id).status == "succeeded"
    assert wf_services.workflow_runs.get(member, run.id).id == run.id
    assert [r.id for r in wf_services.workflow_runs.list_for(member)] == [run.id]
    assert run_events(wf_services, member, run.id)[-1][0] == "workflow.run.succeeded"
    with pytest.raises(NotFoundError):
        wf_services.workflow_runs.get(owner, run.id)


def test_write_step__publishes_change_applied_and_its_compensation_change_undone(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        {
            "name": "Write then fail",
            "base": base.id,
            "steps": [
                {
                    "id": "mark",
                    "type": "update_records",
                    "table": "Tasks",
                    "where": [{"field": "Status", "op": "equals", "value": "Todo"}],
                    "set": {"Notes": "marked"},
                },
                {"id": "post", "type": "http_request", "url": f"{receiver.url}/post"},
            ],
        },
    )
    receiver.statuses["/post"] = 500
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    assert wait_for_run(wf_services, run.id).status == "compensated"
    events = wf_services.events.read_after(owner.id, admin=False, after="0-0")
    changes = [(e.type, dict(e.data)) for e in events if e.type.startswith("change.")]
    assert [kind for kind, _ in changes] == ["change.applied", "change.undone"]
    (_, applied), (_, undone) = changes
    assert (applied["run_id"], applied["step_id"], applied["table_name"]) == (
        run.id,
        "mark",
        "Tasks",
    )
    assert applied["done"] == applied["total"] > 0
    assert undone["undoes"] == applied["change_set_id"]
    someone_else = make_user(wf_services, name="Someone")
    others = wf_services.events.read_after(someone_else.id, admin=False, after="0-0")
    assert [e for e in others if e.type.startswith("change.")] == []
