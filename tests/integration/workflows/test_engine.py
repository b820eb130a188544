"""Runs through the real engine: DBOS on the test's SQL, the emulator as Airtable."""

from __future__ import annotations

import json

from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase
from tests.support.workflows import Receiver, WorkerHandle, wait_for_run


def test_run__reads_writes_posts_and_notifies_when_all_steps_succeed(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        {
            "name": "Escalate",
            "base": base.id,
            "inputs": [{"name": "status", "type": "text"}],
            "steps": [
                {
                    "id": "todo",
                    "type": "find_records",
                    "table": "Tasks",
                    "where": [{"field": "Status", "op": "equals", "value": "{{ inputs.status }}"}],
                    "fields": ["Name"],
                },
                {
                    "id": "mark",
                    "type": "update_records",
                    "table": "Tasks",
                    "records": "{{ steps.todo.records }}",
                    "set": {"Notes": "escalated"},
                },
                {
                    "id": "post",
                    "type": "http_request",
                    "url": f"{receiver.url}/hook",
                    "body": {"count": "{{ steps.mark.count }}"},
                },
                {"id": "tell", "type": "notify", "message": "{{ steps.todo.count }} escalated"},
            ],
        },
    )
    run = wf_services.workflow_runs.start(owner, workflow.id, {"status": "Todo"})
    assert run.status == "queued"
    done = wait_for_run(wf_services, run.id)
    assert done.status == "succeeded", done
    assert [s.status for s in done.steps] == ["succeeded"] * 4
    todo = [f for f in base.snapshot().values() if f["Status"] == "Todo"]
    assert todo
    assert all(f["Notes"] == "escalated" for f in todo)
    assert json.loads(receiver.received[0]["body"]) == {"count": len(todo)}
    assert done.steps[3].summary == f"{len(todo)} escalated"
