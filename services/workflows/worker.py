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
from services.bulk.engine import FillSteps, fill_runner
from services.bulk.engine import register as register_fill
from services.container import Services
from services.crypto import TokenCipher
from services.maintenance import PASS_FAILURES
from services.metrics import serve as serve_metrics
from services.mirrors.runner import MirrorLoop, register_build
from services.sync.durable import register as register_sync
from services.webhooks.airtable_hooks import PAYLOAD_QUEUE
from services.webhooks.airtable_payloads import PayloadReader
from services.webhooks.deliveries import DeliveryStore
from services.webhooks.dispatcher import WebhookDispatcher
from services.webhooks.record_triggers import RecordTriggers
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
    payload_read: Any  # the registered Airtable payload-read workflow
    mirrors: MirrorLoop
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
    writer = BatchWriter(services.airtable, services.sql)
    fill = FillSteps(
        settings,
        services.bulk_fills.store,
        services.airtable,
        services.chat_models,
        ChangeSetRecords(services.sql),
        writer,
        InFlightBatch(services.airtable, RecordLookups(services.airtable), writer),
        publish,
    )
    actions = StepActions(
        settings,
        services.airtable,
        services.airtable_records,
        models,
        publish,
        fill=fill_runner(services.bulk_fills, fill),
        signers=services.webhooks.signers_for,
    )
    writes = RecordWrites(
        services.airtable,
        services.airtable_proposals,
        ProposalStore(services.redis, prefix=settings.redis_key_prefix),
        ChangeSetRecords(services.sql),
        writer,
        InFlightBatch(services.airtable, RecordLookups(services.airtable), writer),
        publish,
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
        metrics=services.metrics,
    )
    scheduler = Scheduler(
        services.workflows,
        services.workflow_runs,
        catch_up=timedelta(seconds=max(300.0, settings.workflow_schedule_poll_seconds * 4)),
    )
    reader = PayloadReader(
        services.airtable_webhooks,
        RecordTriggers(services.workflows, services.workflow_runs, services.airtable, services.sql),
        services.airtable,
        services.events,
        services.airtable.feed,
    )
    mirrors = MirrorLoop(
        services.mirrors,
        services.mirror_sync,
        services.mirrors.registry,
        build=register_build(services.mirror_sync),
        sweep_seconds=settings.mirror_sweep_seconds,
        scan_seconds=settings.mirror_scan_seconds,
    )
    register_fill(fill)
    return Worker(
        engine,
        scheduler,
        engine.register(),
        reader.register(),
        mirrors,
        register_sync(services.sync),
    )


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
    # One payload read at a time per worker. Not a global limit: a worker that died in a
    # read (until restarted under its name) would hold every other worker's reads back.
    # Two workers reading one webhook at once start each run once all the same (run IDs
    # are derived from trigger, payload and record; the cursor moves only from where the
    # read began); only events may repeat.
    DBOS.register_queue(
        PAYLOAD_QUEUE,
        worker_concurrency=1,
        polling_interval_sec=settings.workflow_queue_poll_seconds,
    )
    # Record triggers start runs through the client: made now, not on the first payload.
    services.workflow_engine()
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
    settings = services.settings
    dispatcher = build_dispatcher(
        services, consumer=executor_id or settings.workflow_worker_id or socket.gethostname()
    )
    dispatcher.start()
    scrape = None
    if settings.metrics_worker_port:
        # A worker has no web server: its own series are served on this port.
        scrape = serve_metrics(
            services.metrics,
            services.metrics_access,
            settings.metrics_worker_host,
            settings.metrics_worker_port,
        )
    webhooks = threading.Thread(
        target=maintain_airtable_webhooks,
        args=(services,),
        kwargs={"stop": stop},
        name="airtable-webhooks",
        daemon=True,
    )
    webhooks.start()
    mirrors = threading.Thread(
        target=worker.mirrors.run_forever,
        kwargs={"every_seconds": services.settings.mirror_poll_seconds, "stop": stop},
        name="mirrors",
        daemon=True,
    )
    mirrors.start()
    sync_schedules = threading.Thread(
        target=services.sync_launcher.run_forever,
        kwargs={"every_seconds": services.settings.sync_schedule_poll_seconds, "stop": stop},
        name="sync-schedules",
        daemon=True,
    )
    sync_schedules.start()
    try:
        worker.scheduler.run_forever(
            every_seconds=settings.workflow_schedule_poll_seconds, stop=stop
        )
    finally:
        dispatcher.stop()
        if scrape is not None:
            scrape.shutdown()
        DBOS.destroy(workflow_completion_timeout_sec=0)


def build_dispatcher(services: Services, *, consumer: str) -> WebhookDispatcher:
    """The outgoing webhook dispatcher of this worker (started by `run_worker`)."""
    settings = services.settings
    cipher = TokenCipher(settings.encryption_key.get_secret_value())
    store = DeliveryStore(services.sql, cipher)
    return WebhookDispatcher(
        settings, services.events, store, consumer=consumer, metrics=services.metrics
    )


def maintain_airtable_webhooks(services: Services, *, stop: threading.Event) -> None:
    """Every `AIRTABLE_WEBHOOK_CHECK_SECONDS`: register, refresh and re-create the Airtable
    webhooks record triggers need (a failed pass is logged and retried next time)."""
    every = services.settings.airtable_webhook_check_seconds
    while not stop.is_set():
        try:
            services.airtable_webhooks.maintain()
        except PASS_FAILURES as exc:
            logger.warning("airtable webhooks not maintained: %s", type(exc).__name__)
        stop.wait(every)
