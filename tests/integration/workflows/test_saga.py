"""Saga restore: whichever step fails, the base ends as it was before the run, and a
record someone edited after the run wrote it is kept (compensation_incomplete)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from services.airtable.orm import ChangeSet
from services.container import Services
from services.orm import User
from services.workflows.writes import change_set_id
from tests.integration.airtable.fixtures import FreshBase
from tests.support.workflows import Receiver, WorkerHandle, wait_for_run

# Step k fails because the field it writes is gone (renamed away, the cached schema
# forgotten) or because the receiver answers 500.
BREAKS = {1: ("Tasks", "Hours"), 2: ("People", "Name"), 4: ("Tasks", "Notes")}


def four_steps(base: FreshBase, receiver: Receiver) -> dict[str, Any]:
    return {
        "name": "Four steps",
        "base": base.id,
        "steps": [
            {
                "id": "first",
                "type": "update_records",
                "table": "Tasks",
                "where": [{"field": "Status", "op": "equals", "value": "Todo"}],
                "set": {"Hours": 99},
            },
            {
                "id": "second",
                "type": "create_records",
                "table": "People",
                "records": [{"Name": "Dana"}, {"Name": "Eli"}],
            },
            {
                "id": "third",
                "type": "http_request",
                "url": f"{receiver.url}/post",
                "body": {"text": "{{ steps.first.count }} tasks"},
                "compensate": {"url": f"{receiver.url}/retract", "body": {"text": "Retracted"}},
            },
            {
                "id": "fourth",
                "type": "update_records",
                "table": "Tasks",
                "where": [{"field": "Status", "op": "equals", "value": "Doing"}],
                "set": {"Notes": "fourth"},
            },
        ],
    }


def snapshot(base: FreshBase) -> dict[str, dict[str, Any]]:
    return {"Tasks": base.snapshot("Tasks"), "People": base.snapshot("People")}


def rename(base: FreshBase, table: str, old: str, new: str) -> None:
    tables = base.api.base(base.id).schema(force=True)
    field = tables.table(table).field(old)
    base.api.request(
        "PATCH",
        base.api.build_url(
            f"meta/bases/{base.id}/tables/{tables.table(table).id}/fields/{field.id}"
        ),
        json={"name": new},
    )


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_failing_step_k__restores_the_base_record_by_record(
    k: int,
    wf_services: Services,
    owner: User,
    base: FreshBase,
    worker: WorkerHandle,
    receiver: Receiver,
) -> None:
    workflow = wf_services.workflows.create(owner.id, four_steps(base, receiver))
    before = snapshot(base)
    if k in BREAKS:
        table, field = BREAKS[k]
        rename(base, table, field, f"{field} gone")
        wf_services.airtable.forget_schema(base.id)  # as if Airtable had dropped it
    else:
        receiver.statuses["/post"] = 500
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    done = wait_for_run(wf_services, run.id)
    if k in BREAKS:
        rename(base, table, f"{field} gone", field)
    # Step 1 fails before it writes: nothing to undo, so the run ends failed.
    assert done.status == ("failed" if k == 1 else "compensated"), done
    assert snapshot(base) == before
    steps = {s.id: s for s in done.steps}
    assert steps[("first", "second", "third", "fourth")[k - 1]].status == "failed"
    writes = ["first", "second"][: min(k - 1, 2)]  # the write steps completed before k
    with wf_services.sql() as session:
        undone = {
            row.reverts_id
            for row in session.scalars(select(ChangeSet).where(ChangeSet.kind == "undo"))
        }
    for step_id in writes:
        assert steps[step_id].status == "compensated"
        assert change_set_id(run.id, step_id) in undone
        assert (steps[step_id].compensation or "").startswith("undone:")
    assert ("/retract" in receiver.paths()) == (k == 4)


def test_edit_after_the_run_wrote__is_kept_and_listed(
    wf_services: Services, owner: User, base: FreshBase, worker: WorkerHandle
) -> None:
    workflow = wf_services.workflows.create(
        owner.id,
        {
            "name": "Edit kept",
            "base": base.id,
            "steps": [
                {
                    "id": "first",
                    "type": "update_records",
                    "table": "Tasks",
                    "where": [{"field": "Status", "op": "equals", "value": "Todo"}],
                    "set": {"Hours": 99},
                },
                {"id": "ok", "type": "approval", "message": "Go on?"},
            ],
        },
    )
    before = base.snapshot()
    run = wf_services.workflow_runs.start(owner, workflow.id, {})
    wait_for_run(wf_services, run.id, statuses=frozenset({"waiting_approval"}))
    edited_id = next(i for i, f in base.snapshot().items() if f.get("Hours") == 99)
    base.api.table(base.id, "Tasks").update(edited_id, {"Hours": 7})
    wf_services.workflow_runs.approve(owner, run.id, False, "not now")
    done = wait_for_run(wf_services, run.id)
    assert done.status == "compensation_incomplete"
    after = base.snapshot()
    assert after[edited_id]["Hours"] == 7
    assert {i: f for i, f in after.items() if i != edited_id} == {
        i: f for i, f in before.items() if i != edited_id
    }
    first = next(s for s in done.steps if s.id == "first")
    assert first.status == "compensation_incomplete"
    assert "kept 1 edited" in (first.compensation or "")
    assert done.steps[1].error == "Rejected: not now"
