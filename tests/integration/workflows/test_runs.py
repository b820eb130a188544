"""Approvals, cancels and retries through DBOSClient, as the web process does them."""

from __future__ import annotations

from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase
from tests.support.workflows import Receiver, WorkerHandle, wait_for_run

WAITING = frozenset({"waiting_approval"})


def approve_then_post(base: FreshBase, receiver: Receiver, **extra: object) -> dict[str, object]:
    return {
        "name": "Approve then post",
        "base": base.id,
        "steps": [
            {
                "id": "mark",
                "type": "update_records",
                "table": "Tasks",
                "where": [{"field": "Status", "op": "equals", "value": "Todo"}],
                "set": {"Notes": "marked"},
            },
            {"id": "ok", "type": "approval", "message": "Post it?"},
            {"id": "post", "type": "http_request", "url": f"{receiver.url}/post"},
        ],
        **extra,
    }


def test_approve__lets_a_waiting_run_go_on_and_succeed(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(owner.id, approve_then_post(base, receiver))
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    waiting = wait_for_run(wf_services, run.id, statuses=WAITING)
    assert waiting.waiting_step is not None
    assert waiting.waiting_step.id == "ok"
    assert receiver.received == []
    wf_services.workflow_runs.approve(owner, run.id, True, "fine")
    done = wait_for_run(wf_services, run.id)
    assert done.status == "succeeded"
    assert done.steps[1].summary == "approved: fine"
    assert receiver.paths() == ["/post"]


def test_cancel__while_waiting_compensates_and_ends_cancelled(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(owner.id, approve_then_post(base, receiver))
    before = base.snapshot()
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    wait_for_run(wf_services, run.id, statuses=WAITING)
    wf_services.workflow_runs.cancel(owner, run.id)
    done = wait_for_run(wf_services, run.id)
    assert done.status == "cancelled"
    assert base.snapshot() == before
    assert [s.status for s in done.steps] == ["compensated", "skipped", "skipped"]
    assert receiver.received == []


def test_approval__times_out_and_fails_the_step(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    definition = approve_then_post(base, receiver)
    definition["steps"][1]["timeout"] = "1s"  # type: ignore[index]
    workflow = wf_services.workflows.create(owner.id, definition)
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    done = wait_for_run(wf_services, run.id)
    assert done.status == "compensated"
    assert done.steps[1].error == "No answer came before the approval timed out."


def test_retry_from_failed__reruns_only_the_failed_step_and_after(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        {
            "name": "Stop on failure",
            "base": base.id,
            "on_failure": "stop",
            "steps": [
                {"id": "first", "type": "http_request", "url": f"{receiver.url}/first"},
                {"id": "second", "type": "http_request", "url": f"{receiver.url}/second"},
                {"id": "tell", "type": "notify", "message": "done"},
            ],
        },
    )
    receiver.statuses["/second"] = 500
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    failed = wait_for_run(wf_services, run.id)
    assert failed.status == "failed"
    assert [s.status for s in failed.steps] == ["succeeded", "failed", "skipped"]
    receiver.statuses["/second"] = 200
    retried = wf_services.workflow_runs.retry_from_failed(owner, run.id)
    assert retried.retry_of == run.id
    done = wait_for_run(wf_services, retried.id)
    assert done.status == "succeeded"
    assert receiver.paths() == ["/first", "/second", "/second"]
    assert [s.status for s in done.steps] == ["succeeded"] * 3


def test_http_request__retries_a_503_up_to_the_attempt_limit(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        {
            "name": "Flaky",
            "steps": [{"id": "post", "type": "http_request", "url": f"{receiver.url}/flaky"}],
        },
    )
    receiver.statuses["/flaky"] = 503
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    failed = wait_for_run(wf_services, run.id)
    assert failed.steps[0].attempts == 3  # WORKFLOW_STEP_MAX_ATTEMPTS in these tests
    assert failed.steps[0].error == "POST 127.0.0.1 answered 503"
    assert len(receiver.received) == 3


def test_failure_with_nothing_to_undo__ends_failed_not_compensated(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle, receiver: Receiver
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        {
            "name": "Read then post",
            "base": base.id,
            "steps": [
                {"id": "todo", "type": "find_records", "table": "Tasks"},
                {"id": "post", "type": "http_request", "url": f"{receiver.url}/post"},
            ],
        },
    )
    receiver.statuses["/post"] = 500
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    done = wait_for_run(wf_services, run.id)
    assert done.status == "failed"
    assert [s.status for s in done.steps] == ["succeeded", "failed"]
    ended = [
        e.type
        for e in wf_services.events.read_after(owner.id, admin=False, after="0-0")
        if e.data.get("run_id") == run.id and e.type != "workflow.run.step"
    ]
    assert ended == ["workflow.run.started", "workflow.run.failed"]
