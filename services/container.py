"""The composition root: builds every service from settings, once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
from services.conversations import ConversationStore
from services.crypto import TokenCipher
from services.db import create_db_engine, create_session_factory
from services.errors import StoreUnavailableError
from services.events.bus import EventBus
from services.events.inbox import NotificationInbox
from services.events.live import LiveFanout
from services.llm.catalog import load_model_catalog
from services.llm.factory import ChatModelFactory
from services.preferences import UserPreferences
from services.prompts.library import PromptLibrary
from services.prompts.runs import PromptRunStore
from services.redis_store import EmbeddedRedis, connect_redis
from services.sync.durable import SyncLauncher
from services.sync.jobs import SyncJobs
from services.sync.service import ConflictInbox, SqlEngines, SyncService
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
        self.sync_engines.dispose()
        self.engine.dispose()
        self.redis.close()


def build_services(settings: Settings) -> Services:
    """Create engines and clients. Nothing here fails when a store is down: checks report it."""
    engine = create_db_engine(settings.sql_url)
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
    connections = AirtableConnections(
        sessions,
        TokenCipher(settings.encryption_key.get_secret_value()),
        endpoint_url=settings.airtable_url,
        default_token=_default_airtable_token(settings),
    )
    events = EventBus(
        client,
        prefix=prefix,
        maxlen=settings.events_stream_maxlen,
        max_age_seconds=settings.events_stream_max_age_seconds,
    )
    gateway, records, proposals, changes = _airtable(
        settings, client, connections, sessions, events
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
        ),
    )
    engine_client = EngineClient(settings)
    sync_engines = SqlEngines(engine)
    sync_jobs = SyncJobs(
        sessions,
        gateway,
        TokenCipher(settings.encryption_key.get_secret_value()),
        sync_engines,
    )
    return Services(
        settings=settings,
        engine=engine,
        sql=sessions,
        redis=client,
        sign_ins=sign_ins,
        accounts=AccountService(
            sessions, sign_ins, throttle, AccountNotices(client, prefix=prefix)
        ),
        password_resets=PasswordResets(
            sessions, client, sign_ins, prefix=prefix, public_url=settings.public_url
        ),
        api_tokens=ApiTokenService(
            sessions,
            client,
            prefix=prefix,
            signing_key=secret,
            ttl_days=settings.api_token_ttl_days,
        ),
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
        chat_models=ChatModelFactory(settings, guard),
        prompts=prompts,
        prompt_runs=PromptRunStore(sessions),
        events=events,
        event_fanout=LiveFanout(events),
        notifications=NotificationInbox(events),
        workflows=workflows,
        workflow_runs=WorkflowRuns(workflows, RunStore(sessions), gateway, engine_client),
        workflow_engine=engine_client,
        sync_jobs=sync_jobs,
        sync=SyncService(
            sessions,
            sync_jobs,
            gateway,
            sync_engines,
            events,
            full_scan_every=settings.sync_full_scan_every_runs,
            alert_after_failures=settings.sync_alert_after_failures,
        ),
        sync_conflicts=ConflictInbox(sessions, sync_jobs),
        sync_engines=sync_engines,
        sync_launcher=SyncLauncher(sessions, sync_jobs, engine_client),
    )


def _airtable(
    settings: Settings,
    client: redis.Redis,
    connections: AirtableConnections,
    sessions: sessionmaker[Session],
    events: EventBus,
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
