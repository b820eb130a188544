"""The composition root: builds every service from settings, once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import EMULATOR_DEV_TOKEN, Settings
from services.db import create_db_engine, create_session_factory
from services.errors import StoreUnavailableError
from services.redis_store import EmbeddedRedis, connect_redis

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a page, route, tool or worker needs, built from one `Settings`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis

    @property
    def org_airtable_token(self) -> str | None:
        """The org-wide Airtable token: the configured one, or the emulator's dev token."""
        if self.settings.airtable_token is not None:
            return self.settings.airtable_token.get_secret_value()
        return EMULATOR_DEV_TOKEN if self.settings.uses_emulator else None

    def close(self) -> None:
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
    return Services(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        redis=client,
    )
