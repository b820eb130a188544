"""The worker process (`python manage.py worker`): launches DBOS, registers the workflow
and its queue, recovers runs a dead worker left, executes queued runs and fires schedules.

Several workers (on several machines) may share one PostgreSQL system database: DBOS
hands each queued run to one of them, and a tick's deterministic run ID makes each
schedule fire once. The web process never imports this module.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.airtable.change_sets import ChangeSetRecords
from services.airtable.in_flight import InFlightBatch
from services.airtable.lookups import RecordLookups
from services.airtable.proposals import ProposalStore
from services.airtable.writing import BatchWriter
from services.container import Services
from services.sync.durable import register as register_sync
from services.workflows.engine import Engine
from services.workflows.llm_steps import Ask, ModelSteps
from services.workflows.queue import QUEUE_NAME, dbos_config
from services.workflows.run_store import RunStore
from services.workflows.saga import Saga
from services.workflows.schedules import Scheduler
from services.workflows.steps import Publish, StepActions
from services.workflows.writes import RecordWrites

logger = logging.getLogger(__name__)


@dataclass
class Worker:
    engine: Engine
    scheduler: Scheduler
    workflow: Any  # the registered DBOS workflow function
    sync_workflow: Any = None  # the registered sync-run workflow


def build_worker(
    services: Services, *, ask: Ask | None = None, publish: Publish | None = None
) -> Worker:
    """The engine over the container's services; `ask` is the assistant (from `agents/`).

    Run events go to the run owner's event stream (`services.events`) unless `publish`
    says otherwise.
    """
    settings = services.settings
    if publish is None:
        events = services.events

        def publish(owner_id: int, kind: str, data: Mapping[str, Any]) -> None:
            events.publish(kind, data, user_id=owner_id)

    definitions = functools.lru_cache(maxsize=512)(services.workflows.definition_of)
    models = ModelSteps(services.prompts, services.chat_models, ask)
    actions = StepActions(settings, services.airtable, services.airtable_records, models, publish)
    writer = BatchWriter(services.airtable, services.sql)
    writes = RecordWrites(
        services.airtable,
        services.airtable_proposals,
        ProposalStore(services.redis, prefix=settings.redis_key_prefix),
        ChangeSetRecords(services.sql),
        writer,
        InFlightBatch(services.airtable, RecordLookups(services.airtable), writer),
    )
    saga = Saga(
        RunStore(services.sql),
        services.airtable_changes,
        actions,
        definitions,
        max_attempts=settings.workflow_step_max_attempts,
        publish=publish,
    )
    engine = Engine(
        definitions=definitions,
        saga=saga,
        actions=actions,
        writes=writes,
        max_attempts=settings.workflow_step_max_attempts,
        backoff_seconds=settings.workflow_step_backoff_seconds,
        backoff_max_seconds=settings.workflow_step_backoff_max_seconds,
        approval_timeout_seconds=settings.workflow_approval_timeout_seconds,
    )
    scheduler = Scheduler(
        services.workflows,
        services.workflow_runs,
        catch_up=timedelta(seconds=max(300.0, settings.workflow_schedule_poll_seconds * 4)),
    )
    return Worker(engine, scheduler, engine.register(), register_sync(services.sync))


def launch(services: Services, worker: Worker, *, executor_id: str | None = None) -> None:
    """Start DBOS in this process: recover this executor's runs, then take queued ones."""
    from dbos import DBOS

    settings = services.settings
    executor = executor_id or settings.workflow_worker_id or socket.gethostname()
    DBOS(config=dbos_config(settings, executor_id=executor))  # type: ignore[arg-type]
    DBOS.launch()
    DBOS.register_queue(
        QUEUE_NAME,
        worker_concurrency=settings.workflow_worker_concurrency,
        polling_interval_sec=settings.workflow_queue_poll_seconds,
    )
    logger.info(
        "workflow worker %s running (%d at once)", executor, settings.workflow_worker_concurrency
    )


def run_worker(
    services: Services,
    *,
    stop: threading.Event,
    ask: Ask | None = None,
    publish: Publish | None = None,
    executor_id: str | None = None,
) -> None:
    """Launch, fire schedules until `stop` is set, then shut DBOS down."""
    from dbos import DBOS

    worker = build_worker(services, ask=ask, publish=publish)
    launch(services, worker, executor_id=executor_id)
    sync_schedules = threading.Thread(
        target=services.sync_launcher.run_forever,
        kwargs={"every_seconds": services.settings.sync_schedule_poll_seconds, "stop": stop},
        name="sync-schedules",
        daemon=True,
    )
    sync_schedules.start()
    try:
        worker.scheduler.run_forever(
            every_seconds=services.settings.workflow_schedule_poll_seconds, stop=stop
        )
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)
