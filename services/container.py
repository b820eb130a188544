"""The composition root: builds every service from settings, once per process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import EMULATOR_DEV_TOKEN, Settings
from services.airtable.changes import ChangeLog
from services.airtable.connections import AirtableConnections
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups
from services.airtable.pacing import PacingPolicy
from services.airtable.planning import ProposalPlanner
from services.airtable.proposals import ProposalStore
from services.airtable.queries import RecordQueries
from services.airtable.webhook_client import AirtableWebhookClient
from services.auth.accounts import AccountService
from services.auth.api_tokens import ApiTokenService
from services.auth.flash import FlashMessages
from services.auth.forms import FormTokens
from services.auth.github import GitHubSignIn
from services.auth.notices import AccountNotices
from services.auth.resets import PasswordResets
from services.auth.sign_ins import SignInSessions
from services.auth.throttle import LoginThrottle
from services.budget.guard import BudgetGuard
from services.bulk.runs import BulkFills
from services.context_gauge import ContextGauge
from services.conversations import ConversationStore
from services.crypto import TokenCipher
from services.db import check_database, create_db_engine, create_session_factory
from services.errors import StoreUnavailableError
from services.events.bus import EventBus
from services.events.inbox import NotificationInbox
from services.events.live import LiveFanout
from services.llm.catalog import load_model_catalog
from services.llm.factory import ChatModelFactory
from services.metrics import Metrics, MetricsAccess, Probe
from services.mirrors import Mirrors
from services.mirrors.queries import MirrorQueries
from services.mirrors.registry import MirrorRegistry
from services.mirrors.store import MirrorStore
from services.mirrors.sync import MirrorSync
from services.preferences import UserPreferences
from services.prompts.library import PromptLibrary
from services.prompts.runs import PromptRunStore
from services.redis_store import EmbeddedRedis, check_redis, connect_redis
from services.schema_help.changes import SchemaHelp
from services.sync.conflicts import ConflictInbox
from services.sync.durable import SyncLauncher
from services.sync.engines import SqlEngines
from services.sync.jobs import SyncJobs
from services.sync.mirror_side import MirrorReads
from services.sync.service import SyncService
from services.sync.triggers import ChangeRequests, SyncTriggers
from services.webhooks.airtable_hooks import AirtableWebhooks
from services.webhooks.endpoints import WebhookEndpoints
from services.webhooks.inbound import InboundHooks
from services.workflows.client import EngineClient
from services.workflows.library import WorkflowLibrary
from services.workflows.run_store import RunStore
from services.workflows.runs import WorkflowRuns
from services.workflows.validation import DefinitionChecker

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a page, route, tool or worker needs, built from one `Settings`."""

    settings: Settings
    engine: Engine
    sql: sessionmaker[Session]
    redis: redis.Redis
    sign_ins: SignInSessions
    accounts: AccountService
    password_resets: PasswordResets
    api_tokens: ApiTokenService
    form_tokens: FormTokens
    flash: FlashMessages
    airtable_connections: AirtableConnections
    conversations: ConversationStore
    github: GitHubSignIn | None
    airtable: AirtableGateway
    airtable_records: RecordQueries
    airtable_proposals: ProposalPlanner
    airtable_changes: ChangeLog
    preferences: UserPreferences
    budget_guard: BudgetGuard
    chat_models: ChatModelFactory
    prompts: PromptLibrary
    prompt_runs: PromptRunStore
    events: EventBus
    event_fanout: LiveFanout
    notifications: NotificationInbox
    workflows: WorkflowLibrary
    workflow_runs: WorkflowRuns
    workflow_engine: EngineClient
    webhooks: WebhookEndpoints
    metrics: Metrics
    metrics_access: MetricsAccess
    context_gauge: ContextGauge
    inbound_hooks: InboundHooks
    airtable_webhooks: AirtableWebhooks
    mirrors: Mirrors
    mirror_queries: MirrorQueries
    mirror_sync: MirrorSync
    mirror_store: MirrorStore
    bulk_fills: BulkFills
    schema_help: SchemaHelp
    sync_jobs: SyncJobs
    sync: SyncService
    sync_conflicts: ConflictInbox
    sync_engines: SqlEngines
    sync_launcher: SyncLauncher

    @property
    def org_airtable_token(self) -> str | None:
        """The configured org-wide Airtable token, or the emulator's dev token."""
        return _default_airtable_token(self.settings)

    def close(self) -> None:
        self.event_fanout.stop()
        self.workflow_engine.close()
        self.mirror_store.close()
        self.sync_engines.dispose()
        self.engine.dispose()
        self.redis.close()


def build_services(settings: Settings) -> Services:
    """Create engines and clients. Nothing here fails when a store is down: checks report it."""
    engine = create_db_engine(settings.sql_url)
    metrics = Metrics(process=settings.metrics_process_name)
    try:
        client = connect_redis(settings.redis_url, settings.var_dir)
    except StoreUnavailableError:
        logger.warning("embedded redis could not start; readiness will report it")
        client = EmbeddedRedis(settings.var_dir).client()
    sessions = create_session_factory(engine)
    prefix = settings.redis_key_prefix
    secret = settings.secret_key.get_secret_value()
    sign_ins = SignInSessions(client, prefix=prefix, ttl_seconds=settings.session_ttl_seconds)
    throttle = LoginThrottle(
        client,
        prefix=prefix,
        per_account=settings.login_attempts_per_account_per_minute,
        per_address=settings.login_attempts_per_address_per_minute,
    )
    cipher = TokenCipher(settings.encryption_key.get_secret_value())
    connections = AirtableConnections(
        sessions,
        cipher,
        endpoint_url=settings.airtable_url,
        default_token=_default_airtable_token(settings),
    )
    events = EventBus(
        client,
        prefix=prefix,
        maxlen=settings.events_stream_maxlen,
        max_age_seconds=settings.events_stream_max_age_seconds,
        outbox_maxlen=settings.webhook_outbox_maxlen,
    )
    webhooks = WebhookEndpoints(
        sessions,
        cipher,
        allow_private=settings.webhook_allow_private_targets,
        overlap_seconds=settings.webhook_secret_overlap_seconds,
    )
    gateway, records, proposals, changes = _airtable(
        settings, client, connections, sessions, events, metrics
    )
    guard = BudgetGuard(
        redis_client=client,
        sessions=sessions,
        settings=settings,
        catalog=load_model_catalog(
            settings.model_table_path, gemini_free_tier=settings.gemini_pricing_tier == "free"
        ),
        events=events,
    )
    prompts = PromptLibrary(sessions, gateway)
    workflows = WorkflowLibrary(
        sessions,
        DefinitionChecker(
            gateway,
            lambda user_id, name: prompts.find_by_name(user_id=user_id, name=name) is not None,
            webhooks.has_endpoint,
        ),
    )
    engine_client = EngineClient(settings)
    api_tokens = ApiTokenService(
        sessions,
        client,
        prefix=prefix,
        signing_key=secret,
        ttl_days=settings.api_token_ttl_days,
    )
    accounts = AccountService(sessions, sign_ins, throttle, AccountNotices(client, prefix=prefix))
    fanout = LiveFanout(events)
    _watch_stores(metrics, engine, client, fanout)
    metrics_token = settings.metrics_token
    workflow_runs = WorkflowRuns(workflows, RunStore(sessions), gateway, engine_client)
    inbound_hooks = InboundHooks(
        sessions,
        cipher,
        workflows,
        workflow_runs,
        client,
        prefix=prefix,
        public_url=settings.public_url,
        per_minute=settings.webhook_inbound_per_minute,
    )
    airtable_webhooks = AirtableWebhooks(
        sessions,
        cipher,
        workflows,
        gateway,
        AirtableWebhookClient(connections, endpoint_url=settings.airtable_url),
        engine_client,
        public_url=settings.public_url,
        refresh_before=timedelta(seconds=settings.airtable_webhook_refresh_before_seconds),
    )
    workflows.on_change(inbound_hooks.on_workflow_change)
    workflows.on_change(airtable_webhooks.on_workflow_change)
    mirrors, mirror_queries, mirror_sync, mirror_store = _mirrors(
        settings, gateway, connections, sessions
    )
    # Mirrored tables get Airtable webhooks too, so a change reaches the mirror in seconds.
    airtable_webhooks.also_watch(mirrors.watched)
    mirrors.on_change(airtable_webhooks.follow)
    chat_models = ChatModelFactory(settings, guard, metrics)
    sync = _sync(
        settings, engine, client, sessions, gateway, events, engine_client, mirrors, mirror_store
    )
    # Sync jobs' tables get Airtable webhooks too; a change there asks for a run.
    airtable_webhooks.also_watch(sync.jobs.watched)
    sync.jobs.on_change(airtable_webhooks.follow)
    return Services(
        settings=settings,
        engine=engine,
        sql=sessions,
        redis=client,
        sign_ins=sign_ins,
        accounts=accounts,
        password_resets=PasswordResets(
            sessions, client, sign_ins, prefix=prefix, public_url=settings.public_url
        ),
        api_tokens=api_tokens,
        form_tokens=FormTokens(secret),
        flash=FlashMessages(client, prefix=prefix),
        airtable_connections=connections,
        github=GitHubSignIn(settings, client) if settings.github_enabled else None,
        conversations=ConversationStore(
            client, prefix=prefix, ttl_seconds=settings.conversation_ttl_days * 86_400
        ),
        airtable=gateway,
        airtable_records=records,
        airtable_proposals=proposals,
        airtable_changes=changes,
        preferences=UserPreferences(client, prefix=prefix),
        budget_guard=guard,
        chat_models=chat_models,
        prompts=prompts,
        prompt_runs=PromptRunStore(sessions),
        events=events,
        event_fanout=fanout,
        notifications=NotificationInbox(events),
        workflows=workflows,
        workflow_runs=workflow_runs,
        workflow_engine=engine_client,
        bulk_fills=BulkFills(
            settings,
            sessions,
            gateway,
            chat_models,
            guard,
            changes,
            engine_client,
        ),
        schema_help=SchemaHelp(gateway, client, sessions, prefix=prefix),
        webhooks=webhooks,
        metrics=metrics,
        metrics_access=MetricsAccess(
            metrics_token.get_secret_value() if metrics_token else None,
            lambda token: _is_admin_token(api_tokens, accounts, token),
        ),
        context_gauge=ContextGauge(
            client, prefix=prefix, ttl_seconds=settings.conversation_ttl_days * 86_400
        ),
        inbound_hooks=inbound_hooks,
        airtable_webhooks=airtable_webhooks,
        mirrors=mirrors,
        mirror_queries=mirror_queries,
        mirror_sync=mirror_sync,
        mirror_store=mirror_store,
        sync_jobs=sync.jobs,
        sync=sync.service,
        sync_conflicts=sync.conflicts,
        sync_engines=sync.engines,
        sync_launcher=sync.launcher,
    )


@dataclass(frozen=True)
class _Sync:
    jobs: SyncJobs
    service: SyncService
    conflicts: ConflictInbox
    engines: SqlEngines
    launcher: SyncLauncher


def _sync(
    settings: Settings,
    engine: Engine,
    client: redis.Redis,
    sessions: sessionmaker[Session],
    gateway: AirtableGateway,
    events: EventBus,
    engine_client: EngineClient,
    mirrors: Mirrors,
    mirror_store: MirrorStore,
) -> _Sync:
    """Sync jobs, their runs, conflict inbox and launcher; an Airtable change to a synced
    table asks for a run."""
    engines = SqlEngines(engine)
    jobs = SyncJobs(
        sessions, gateway, TokenCipher(settings.encryption_key.get_secret_value()), engines
    )
    changes = ChangeRequests(client, prefix=settings.redis_key_prefix)
    gateway.feed.subscribe(SyncTriggers(sessions, changes).on_changes)
    service = SyncService(
        sessions,
        jobs,
        gateway,
        engines,
        events,
        full_scan_every=settings.sync_full_scan_every_runs,
        alert_after_failures=settings.sync_alert_after_failures,
        mirrors=MirrorReads(
            mirrors.registry, mirror_store, behind_after_seconds=settings.mirror_behind_seconds
        ),
    )
    launcher = SyncLauncher(
        sessions,
        jobs,
        engine_client,
        changes,
        debounce_seconds=settings.sync_change_debounce_seconds,
    )
    return _Sync(jobs, service, ConflictInbox(sessions, jobs), engines, launcher)


def _is_admin_token(api_tokens: ApiTokenService, accounts: AccountService, token: str) -> bool:
    user = accounts.get_user(api_tokens.verify(token))
    return user is not None and user.is_active and user.is_admin


def _watch_stores(
    metrics: Metrics, engine: Engine, client: redis.Redis, fanout: LiveFanout
) -> None:
    """Scrape-time readings: store availability (1 up, 0 down) and live event clients."""

    def up(check: Callable[[], object]) -> Callable[[], float]:
        def read() -> float:
            try:
                check()
            except StoreUnavailableError:
                return 0.0
            return 1.0

        return read

    metrics.watch(
        Probe("pa_sql_up", "The SQL database answers", up(lambda: check_database(engine)))
    )
    metrics.watch(Probe("pa_redis_up", "Redis answers", up(lambda: check_redis(client))))
    metrics.watch(
        Probe("pa_event_clients", "Connected live-event clients", lambda: fanout.subscribers)
    )


def _mirrors(
    settings: Settings,
    gateway: AirtableGateway,
    connections: AirtableConnections,
    sessions: sessionmaker[Session],
) -> tuple[Mirrors, MirrorQueries, MirrorSync, MirrorStore]:
    """Mirrors, their query service and their sync; app writes reach the copies at once."""
    store = MirrorStore(
        var_dir=settings.var_dir, url=settings.mirror_url, schema=settings.mirror_schema
    )
    registry = MirrorRegistry(sessions)
    sync = MirrorSync(gateway, store, registry)
    gateway.feed.subscribe(sync.apply)
    mirrors = Mirrors(
        gateway,
        connections,
        registry,
        default_bases=settings.mirror_default_base_ids,
        behind_after_seconds=settings.mirror_behind_seconds,
    )
    queries = MirrorQueries(
        gateway,
        store,
        registry,
        max_rows=settings.mirror_query_max_rows,
        timeout_seconds=settings.mirror_query_timeout_seconds,
        behind_after_seconds=settings.mirror_behind_seconds,
    )
    return mirrors, queries, sync, store


def _airtable(
    settings: Settings,
    client: redis.Redis,
    connections: AirtableConnections,
    sessions: sessionmaker[Session],
    events: EventBus,
    metrics: Metrics,
) -> tuple[AirtableGateway, RecordQueries, ProposalPlanner, ChangeLog]:
    """The Airtable gateway and what reads, proposes and applies record changes through it."""
    prefix = settings.redis_key_prefix
    policy = PacingPolicy(
        per_base=settings.airtable_requests_per_second,
        per_token=settings.airtable_token_requests_per_second,
        window_ms=settings.airtable_rate_window_ms,
        wait_timeout_seconds=settings.airtable_rate_wait_timeout_seconds,
        max_retries=settings.airtable_max_retries,
        max_retry_wait_seconds=settings.airtable_retry_max_wait_seconds,
    )
    gateway = AirtableGateway(
        connections,
        client,
        endpoint_url=settings.airtable_url,
        prefix=prefix,
        policy=policy,
        schema_ttl_seconds=settings.airtable_schema_ttl_seconds,
        bases_ttl_seconds=settings.airtable_bases_ttl_seconds,
        metrics=metrics,
    )
    lookups = RecordLookups(gateway)
    records = RecordQueries(gateway, lookups)
    store = ProposalStore(client, prefix=prefix)
    proposals = ProposalPlanner(
        gateway,
        records,
        lookups,
        store,
        ttl_seconds=settings.airtable_proposal_ttl_seconds,
        max_records=settings.airtable_proposal_max_records,
    )
    return gateway, records, proposals, ChangeLog(gateway, lookups, store, sessions, events)


def _default_airtable_token(settings: Settings) -> str | None:
    if settings.airtable_token is not None:
        return settings.airtable_token.get_secret_value()
    return EMULATOR_DEV_TOKEN if settings.uses_emulator else None
