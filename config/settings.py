"""Application settings, read once from the environment (and an optional `.env` file).

Every setting has a default that works on a laptop with nothing installed: SQLite under
`var/`, an embedded Redis server under `var/`, the local Airtable emulator, and no LLM.
Secrets left at their development placeholder are refused outside development mode.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_PLACEHOLDER = "dev-only-change-me"
# The emulator's documented development token; only ever sent to the local emulator.
EMULATOR_DEV_TOKEN = "patDEVELOPMENTTOKEN.emulator"  # noqa: S105
# The emulator's demo bases (emulator/seed.py), mirrored by default when it is the endpoint.
DEMO_BASE_IDS = ("appDemoSalesCRM00", "appDemoProjects00", "appDemoInventory0")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LLMProvider(StrEnum):
    NONE = "none"
    GEMINI = "gemini"
    OLLAMA = "ollama"


class Settings(BaseSettings):
    """Every knob of the product. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    app_env: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"
    # `json`: one JSON object a line, with the request or run id (README: Structured logs).
    log_format: Literal["text", "json"] = "text"
    var_dir: Path = PROJECT_ROOT / "var"
    public_url: str = "http://127.0.0.1:8501"

    # Stores
    database_url: str | None = None
    redis_url: str | None = None
    redis_key_prefix: str = "pa:"

    # Airtable: unset endpoint means the local emulator that `make run` starts.
    airtable_endpoint_url: str | None = None
    airtable_token: SecretStr | None = None
    # Airtable's web interface, for record links (unset: https://airtable.com when the
    # endpoint is api.airtable.com; the emulator has none).
    airtable_web_url: str | None = None
    emulator_host: str = "127.0.0.1"
    emulator_port: int = 8787
    emulator_seed: str = "demo"

    # Airtable gateway: shared pacing (Airtable allows 5 requests/s per base, 50/s per token),
    # retries on 429/503, caches and write proposals.
    airtable_requests_per_second: Annotated[int, Field(gt=0)] = 5
    airtable_token_requests_per_second: Annotated[int, Field(gt=0)] = 50
    # Airtable counts whole seconds on its side; the margin absorbs network jitter.
    airtable_rate_window_ms: Annotated[int, Field(ge=1000)] = 1100
    airtable_rate_wait_timeout_seconds: Annotated[float, Field(gt=0)] = 120.0
    airtable_max_retries: Annotated[int, Field(ge=0, le=10)] = 4
    # After a 429 Airtable wants 30 s of silence; tests point this at a short emulator penalty.
    airtable_retry_max_wait_seconds: Annotated[float, Field(gt=0)] = 30.0
    airtable_schema_ttl_seconds: Annotated[int, Field(gt=0)] = 300
    airtable_bases_ttl_seconds: Annotated[int, Field(gt=0)] = 60
    airtable_proposal_ttl_seconds: Annotated[int, Field(gt=0)] = 1800
    airtable_proposal_max_records: Annotated[int, Field(gt=0)] = 1000

    # Bulk fill: the most records one fill may write, and how long a fill waits out a
    # per-minute rate limit before it pauses (resumable) instead.
    bulk_fill_max_records: Annotated[int, Field(gt=0)] = 5000
    bulk_fill_rate_wait_seconds: Annotated[float, Field(ge=0)] = 60.0

    # LLM provider (none until configured)
    llm_provider: LLMProvider = LLMProvider.NONE
    google_api_key: SecretStr | None = None
    gemini_base_url: str | None = None
    gemini_api_version: str = "v1beta"
    ollama_base_url: str = "http://127.0.0.1:11434"
    default_model: str | None = None

    # Secrets: signing (sessions, API tokens) and encryption at rest (Airtable tokens)
    secret_key: SecretStr = SecretStr(DEV_PLACEHOLDER)
    encryption_key: SecretStr = SecretStr(DEV_PLACEHOLDER)

    # Conversations (Redis): how long an untouched one is kept, and the model's context window
    conversation_ttl_days: Annotated[int, Field(gt=0)] = 30
    conversation_window_tokens: Annotated[int, Field(gt=0)] = 6_000

    # Sessions, sign-in throttling and API tokens
    session_ttl_seconds: Annotated[int, Field(gt=0)] = 7 * 24 * 3600
    login_attempts_per_account_per_minute: Annotated[int, Field(gt=0)] = 5
    login_attempts_per_address_per_minute: Annotated[int, Field(gt=0)] = 20
    api_token_ttl_days: Annotated[int, Field(gt=0)] = 90
    allow_registration: bool = True
    # Proxies whose X-Forwarded-For names the client (IPs or CIDRs, comma-separated).
    # Empty: the connecting address is the client, whatever headers it sends.
    trusted_proxies: str = ""

    # Live events (Redis Streams per user + org; WS /api/events; the bell and toasts)
    events_stream_maxlen: Annotated[int, Field(ge=10)] = 1000
    events_stream_max_age_seconds: Annotated[int, Field(ge=60)] = 7 * 86_400
    events_heartbeat_seconds: Annotated[float, Field(gt=0)] = 20.0
    events_auth_recheck_seconds: Annotated[float, Field(gt=0)] = 2.0
    events_client_buffer: Annotated[int, Field(ge=1)] = 1000
    events_ui_poll_seconds: Annotated[float, Field(ge=0.5)] = 3.0

    # OIDC sign-in through st.login (any provider with discovery; Google documented)
    oidc_provider_label: str = "Google"
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_server_metadata_url: str = "https://accounts.google.com/.well-known/openid-configuration"

    # GitHub OAuth (not OIDC): authlib client with state + PKCE
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"  # noqa: S105
    github_api_url: str = "https://api.github.com"

    # Budgets (USD; 0 means no limit) and per-user rate limits
    budget_user_day_usd: Annotated[float, Field(ge=0)] = 2.0
    budget_user_month_usd: Annotated[float, Field(ge=0)] = 20.0
    budget_org_day_usd: Annotated[float, Field(ge=0)] = 50.0
    budget_org_month_usd: Annotated[float, Field(ge=0)] = 500.0
    rate_user_requests_per_minute: Annotated[int, Field(gt=0)] = 20
    rate_user_tokens_per_minute: Annotated[int, Field(gt=0)] = 200_000

    # Token budgets (input + output tokens; 0 means no limit), the model table, and the guard
    budget_user_day_tokens: Annotated[int, Field(ge=0)] = 2_000_000
    budget_user_month_tokens: Annotated[int, Field(ge=0)] = 20_000_000
    budget_org_day_tokens: Annotated[int, Field(ge=0)] = 50_000_000
    budget_org_month_tokens: Annotated[int, Field(ge=0)] = 500_000_000
    model_table_path: Path = PROJECT_ROOT / "config" / "models.toml"
    # A reservation not settled within this time is settled to its input estimate by the reaper.
    budget_reservation_lease_seconds: Annotated[int, Field(gt=0)] = 900
    # Input tokens are estimated offline (about 4 characters a token); this covers the error.
    budget_estimate_safety_factor: Annotated[float, Field(ge=1.0, le=4.0)] = 1.3
    budget_limits_cache_seconds: Annotated[int, Field(ge=0)] = 30
    # With less budget left than a call's worst case, its output is lowered to fit, down to
    # this many tokens (thinking included); below it the call is refused.
    budget_min_output_tokens: Annotated[int, Field(gt=0)] = 512
    # Gemini's free tier costs nothing: `free` prices Gemini calls at $0 in the ledger (token
    # budgets and rate limits still apply); `paid` uses the prices of config/models.toml.
    gemini_pricing_tier: Literal["paid", "free"] = "paid"
    llm_max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    llm_request_timeout_seconds: Annotated[float, Field(gt=0)] = 120.0

    # Workflows (DBOS durable execution). The system database: this URL, else DATABASE_URL's
    # PostgreSQL database (tables in their own schema), else a SQLite file under VAR_DIR.
    workflow_database_url: str | None = None
    workflow_dbos_schema: str = "dbos"
    # A worker's stable name: a restarted worker recovers the runs it left (default: the
    # host name; give each worker on one machine its own, e.g. `manage.py worker --id w2`).
    workflow_worker_id: str | None = None
    # Runs one worker process executes at once (each on its own thread).
    workflow_worker_concurrency: Annotated[int, Field(gt=0, le=256)] = 8
    # How often a worker looks for queued runs (one small query on the system database).
    workflow_queue_poll_seconds: Annotated[float, Field(gt=0)] = 0.2
    # Transient step errors (429/503, timeouts, store outages) are retried with backoff.
    workflow_step_max_attempts: Annotated[int, Field(ge=1, le=20)] = 4
    workflow_step_backoff_seconds: Annotated[float, Field(ge=0)] = 1.0
    workflow_step_backoff_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    # An approval step without its own `timeout` waits this long, then fails.
    workflow_approval_timeout_seconds: Annotated[int, Field(gt=0)] = 86_400
    # http_request steps refuse private, loopback and link-local targets unless allowed.
    workflow_http_allow_private: bool = False
    # How often a worker checks schedules (a tick fires once however many workers run).
    workflow_schedule_poll_seconds: Annotated[float, Field(gt=0)] = 15.0

    # Outgoing webhooks. Seconds to wait before each retry of a failed delivery (comma
    # separated; about a day in all), each stretched or shrunk by up to WEBHOOK_RETRY_JITTER.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,28800,30000"
    webhook_retry_jitter: Annotated[float, Field(ge=0, lt=1)] = 0.2
    # An endpoint failing without a single success for this long is disabled (with an alert).
    webhook_disable_after_seconds: Annotated[float, Field(gt=0)] = 86_400.0
    # After a rotation the previous secret also signs for this long.
    webhook_secret_overlap_seconds: Annotated[float, Field(ge=0)] = 86_400.0
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    # Private, loopback, link-local and metadata addresses are refused unless allowed.
    webhook_allow_private_targets: bool = False
    # Delivery threads of one worker, and how many of them one endpoint may hold at once.
    webhook_delivery_threads: Annotated[int, Field(gt=0, le=512)] = 32
    webhook_endpoint_concurrency: Annotated[int, Field(gt=0, le=64)] = 4
    # How often a worker looks for due retries, tests and replays (one small SQL query).
    webhook_poll_seconds: Annotated[float, Field(gt=0)] = 0.5
    # Events kept in the outbox stream the dispatcher reads (while no worker runs, too).
    webhook_outbox_maxlen: Annotated[int, Field(gt=0)] = 50_000

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _retry_schedule(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds") from None
        if not delays or any(d < 0 for d in delays):
            raise ValueError("WEBHOOK_RETRY_SCHEDULE needs at least one delay, none negative")
        return value

    # Metrics (Prometheus): who may scrape besides admins' API tokens, this process's
    # `process` label (default host:pid), and the worker's own metrics port (0: none).
    metrics_token: SecretStr | None = None
    metrics_process_name: str | None = None
    metrics_worker_host: str = "127.0.0.1"
    metrics_worker_port: Annotated[int, Field(ge=0, le=65535)] = 0
    # Inbound workflow hooks (`POST /api/hooks/{id}`): calls one hook accepts per minute.
    webhook_inbound_per_minute: Annotated[int, Field(gt=0)] = 60
    # Airtable webhooks (record triggers): refreshed when less than this is left of their
    # 7 days; the worker checks them (and re-creates lost ones) this often. Airtable pings
    # PUBLIC_URL, so it must be reachable from Airtable.
    airtable_webhook_refresh_before_seconds: Annotated[int, Field(gt=0)] = 2 * 86_400
    airtable_webhook_check_seconds: Annotated[float, Field(gt=0)] = 3600.0
    # Mirrors (SQL copies of Airtable tables for `query_records`). Where they live: this
    # SQLAlchemy URL (PostgreSQL at scale, tables in `mirror_schema`), else one SQLite
    # file per base under VAR_DIR/mirrors (WAL: the web reads while the worker writes).
    mirror_database_url: str | None = None
    mirror_schema: str = "mirrors"
    # Bases mirrored without anyone turning them on, comma-separated (a base an admin
    # turned off stays off). Unset: the demo bases when the app runs on its own emulator.
    mirror_default_bases: str | None = None
    # The incremental sweep (records whose LAST_MODIFIED_TIME() is after the last sweep).
    mirror_sweep_seconds: Annotated[float, Field(gt=0)] = 60.0
    # The full re-read that catches deletes and recomputed formula/rollup values.
    mirror_scan_seconds: Annotated[float, Field(gt=0)] = 900.0
    # How often the worker looks for mirrors to build (turned on, or a schema change).
    mirror_poll_seconds: Annotated[float, Field(gt=0)] = 2.0
    # A mirror whose last good sweep is older than this is reported as behind.
    mirror_behind_seconds: Annotated[float, Field(gt=0)] = 180.0
    # query_records: rows returned at most, and the time one query may run.
    mirror_query_max_rows: Annotated[int, Field(gt=0, le=10_000)] = 200
    mirror_query_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    # Sync jobs (Airtable <-> SQL). Every Nth run of a job also scans all Airtable record IDs
    # to find deletes; a job failing this many runs in a row alerts its owner; the worker
    # looks for due jobs this often.
    sync_full_scan_every_runs: Annotated[int, Field(ge=1)] = 10
    sync_alert_after_failures: Annotated[int, Field(ge=1)] = 3
    sync_schedule_poll_seconds: Annotated[float, Field(gt=0)] = 5.0
    # A change seen in Airtable (webhook) starts a run of the jobs on that table this long
    # after the first change, so a burst of edits is one run.
    sync_change_debounce_seconds: Annotated[float, Field(ge=0)] = 3.0

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Settings:
        if self.app_env is Environment.DEVELOPMENT:
            return self
        for name in ("secret_key", "encryption_key"):
            value: SecretStr = getattr(self, name)
            if value.get_secret_value() == DEV_PLACEHOLDER or len(value.get_secret_value()) < 32:
                raise ValueError(
                    f"{name.upper()} must be set to a random value of at least 32 characters "
                    "outside development (APP_ENV=production)"
                )
        return self

    @property
    def sql_url(self) -> str:
        """The SQLAlchemy URL: `DATABASE_URL`, or a SQLite file under `var/`."""
        if self.database_url:
            return _normalise_database_url(self.database_url)
        return f"sqlite:///{self.var_dir / 'app.db'}"

    @property
    def workflow_system_url(self) -> str:
        """Where DBOS keeps its system tables (see `workflow_database_url`)."""
        if self.workflow_database_url:
            return _normalise_database_url(self.workflow_database_url)
        if self.database_url and self.sql_url.startswith("postgresql"):
            return self.sql_url
        return f"sqlite:///{self.var_dir / 'workflows.db'}"

    @property
    def webhook_retry_delays(self) -> list[float]:
        """`WEBHOOK_RETRY_SCHEDULE` as seconds: the wait before retry 1, 2, …"""
        return [float(part) for part in self.webhook_retry_schedule.split(",") if part.strip()]

    @property
    def mirror_url(self) -> str | None:
        """The mirrors' SQLAlchemy URL, or None for one SQLite file per base."""
        if self.mirror_database_url:
            return _normalise_database_url(self.mirror_database_url)
        return None

    @property
    def mirror_default_base_ids(self) -> list[str]:
        if self.mirror_default_bases is None:
            return list(DEMO_BASE_IDS) if self.uses_emulator else []
        return [b.strip() for b in self.mirror_default_bases.split(",") if b.strip()]

    @property
    def airtable_url(self) -> str:
        """Where Airtable requests go: the configured endpoint, or the local emulator."""
        if self.airtable_endpoint_url:
            return self.airtable_endpoint_url.rstrip("/")
        return f"http://{self.emulator_host}:{self.emulator_port}"

    @property
    def uses_emulator(self) -> bool:
        return not self.airtable_endpoint_url

    @property
    def llm_configured(self) -> bool:
        if self.llm_provider is LLMProvider.GEMINI:
            return self.google_api_key is not None
        return self.llm_provider is LLMProvider.OLLAMA

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_client_id and self.oidc_client_secret)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_client_id and self.github_client_secret)

    @property
    def cookie_secure(self) -> bool:
        return self.public_url.startswith("https://")

    def streamlit_auth_secrets(self) -> dict[str, object]:
        """The `[auth]` secrets `st.login` needs, built from settings (empty when off)."""
        if not self.oidc_enabled or self.oidc_client_secret is None:
            return {}
        return {
            "auth": {
                "redirect_uri": f"{self.public_url.rstrip('/')}/oauth2callback",
                "cookie_secret": self.secret_key.get_secret_value(),
                "oidc": {
                    "client_id": self.oidc_client_id,
                    "client_secret": self.oidc_client_secret.get_secret_value(),
                    "server_metadata_url": self.oidc_server_metadata_url,
                },
            }
        }

    def secret_values(self) -> list[str]:
        """Every secret this process knows, for the log redaction filter."""
        secrets = [
            self.secret_key,
            self.encryption_key,
            self.airtable_token,
            self.google_api_key,
            self.oidc_client_secret,
            self.github_client_secret,
            self.metrics_token,
        ]
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]


def _normalise_database_url(url: str) -> str:
    # Heroku-style and bare postgres URLs select psycopg 3, the driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (tests, CLIs)."""
    return Settings(**overrides)  # type: ignore[arg-type]
