"""Schedule triggers: a tick fires one run however many schedulers look at it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.container import Services
from services.orm import User
from services.workflows.orm import WorkflowRun
from services.workflows.schedules import Scheduler, latest_tick, run_id_for
from tests.support.workflows import WorkerHandle, wait_for_run


def scheduled(services: Services, owner: User, cron: str, zone: str = "UTC") -> str:
    workflow = services.workflows.create(
        owner.id,
        {
            "name": f"Every {cron}",
            "trigger": {"schedule": {"cron": cron, "timezone": zone}},
            "steps": [{"id": "tell", "type": "notify", "message": "tick"}],
        },
    )
    services.workflows.set_enabled(owner, workflow.id, True)
    return workflow.id


def test_latest_tick__follows_the_timezone(wf_services: Services, owner: User) -> None:
    workflow_id = scheduled(wf_services, owner, "0 9 * * *", "Europe/Berlin")
    workflow = wf_services.workflows.get(owner, workflow_id)
    now = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
    tick = latest_tick(
        replace(workflow, updated_at=now - timedelta(days=1)),
        now,
        catch_up=timedelta(hours=1),
    )
    assert tick is not None
    assert tick.astimezone(UTC) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert run_id_for(workflow_id, tick) == f"schedule:{workflow_id}:2026-12-07T08:00:00Z"


def test_fire_due__starts_one_run_per_tick_however_many_schedulers_fire(
    wf_services: Services, owner: User, worker: WorkerHandle
) -> None:
    workflow_id = scheduled(wf_services, owner, "* * * * *")
    first = worker.worker.scheduler
    second = Scheduler(
        wf_services.workflows, wf_services.workflow_runs, catch_up=timedelta(hours=1)
    )
    now = datetime.now(UTC) + timedelta(minutes=1)
    fired = first.fire_due(now) + second.fire_due(now) + first.fire_due(now)
    assert len(set(fired)) == 1
    done = wait_for_run(wf_services, fired[0])
    assert done.status == "succeeded"
    assert done.trigger == "schedule"
    with wf_services.sql() as session:
        runs = list(
            session.scalars(select(WorkflowRun.id).where(WorkflowRun.workflow_id == workflow_id))
        )
    assert runs == fired[:1]
    client = wf_services.workflow_engine()
    assert len(client.list_workflows(workflow_id_prefix=f"schedule:{workflow_id}:")) == 1


def test_fire_due__ignores_disabled_workflows(wf_services: Services, owner: User) -> None:
    workflow_id = scheduled(wf_services, owner, "* * * * *")
    wf_services.workflows.set_enabled(owner, workflow_id, False)
    scheduler = Scheduler(
        wf_services.workflows, wf_services.workflow_runs, catch_up=timedelta(hours=1)
    )
    assert scheduler.fire_due(datetime.now(UTC) + timedelta(minutes=1)) == []
