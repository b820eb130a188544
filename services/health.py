"""What is connected: readiness for load balancers, and a fuller status for the status page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from config.settings import LLMProvider
from services.airtable.client import check_airtable
from services.container import Services
from services.db import check_database
from services.errors import AirtableError, StoreUnavailableError
from services.llm.factory import CONNECT_MODEL_HELP
from services.redis_store import check_redis


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    ok: bool
    detail: str
    help: str = ""


def check_readiness(services: Services) -> list[ComponentStatus]:
    """The stores the app cannot serve without: the database and Redis."""
    return [_database_status(services), _redis_status(services)]


def check_components(services: Services) -> list[ComponentStatus]:
    """Readiness plus the Airtable endpoint and the LLM provider."""
    return [
        *check_readiness(services),
        _airtable_status(services),
        _llm_status(services),
        _mirrors_status(services),
    ]


def _mirrors_status(services: Services) -> ComponentStatus:
    """Mirrored tables, and those falling behind Airtable (their answers say so too)."""
    try:
        tables = services.mirrors.registry.tables(enabled_only=True)
        late = services.mirrors.behind()
    except (StoreUnavailableError, SQLAlchemyError):
        return ComponentStatus("mirrors", False, "The mirror registry cannot be read.")
    if not late:
        return ComponentStatus("mirrors", True, f"{len(tables)} tables mirrored, all up to date")
    names = ", ".join(f"{t.name or t.table_id} ({t.base_id})" for t in late[:5])
    return ComponentStatus(
        "mirrors",
        False,
        f"{len(late)} of {len(tables)} mirrored tables are behind Airtable: {names}",
        help="Check that the worker runs and Airtable is reachable; the Bases page shows why.",
    )


def _database_status(services: Services) -> ComponentStatus:
    url = make_url(services.settings.sql_url)
    where = "SQLite file" if url.get_backend_name() == "sqlite" else f"PostgreSQL at {url.host}"
    try:
        check_database(services.engine)
    except StoreUnavailableError as exc:
        return ComponentStatus("database", False, f"{where}: {exc}")
    return ComponentStatus("database", True, f"{where}: connected")


def _redis_status(services: Services) -> ComponentStatus:
    where = "Redis server" if services.settings.redis_url else "embedded Redis (var/)"
    try:
        check_redis(services.redis)
    except StoreUnavailableError as exc:
        return ComponentStatus(
            "redis", False, f"{where}: {exc}", help="Start Redis or set REDIS_URL, then reload."
        )
    return ComponentStatus("redis", True, f"{where}: connected")


def _airtable_status(services: Services) -> ComponentStatus:
    settings = services.settings
    where = "local emulator" if settings.uses_emulator else "Airtable"
    token = services.org_airtable_token
    if token is None:
        return ComponentStatus(
            "airtable",
            True,
            f"{where} at {settings.airtable_url}: no org token; each user connects their own",
        )
    try:
        check_airtable(settings.airtable_url, token)
    except AirtableError as exc:
        hint = "Run `make run` to start the emulator." if settings.uses_emulator else ""
        return ComponentStatus(
            "airtable", False, f"{where} at {settings.airtable_url}: {exc}", hint
        )
    return ComponentStatus("airtable", True, f"{where} at {settings.airtable_url}: connected")


def _llm_status(services: Services) -> ComponentStatus:
    settings = services.settings
    if settings.llm_provider is LLMProvider.NONE:
        return ComponentStatus("llm", False, "No model provider is configured.", CONNECT_MODEL_HELP)
    if not settings.llm_configured:
        return ComponentStatus(
            "llm", False, "Gemini is selected but GOOGLE_API_KEY is not set.", CONNECT_MODEL_HELP
        )
    where = (
        settings.ollama_base_url
        if settings.llm_provider is LLMProvider.OLLAMA
        else settings.gemini_base_url or "Google AI"
    )
    return ComponentStatus("llm", True, f"{settings.llm_provider.value} at {where}: configured")
