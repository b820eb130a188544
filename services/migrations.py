"""Bring the SQL schema up to date with Alembic; used by `make run`, the CLI and tests."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from config.settings import PROJECT_ROOT
from services.db import create_db_engine

logger = logging.getLogger(__name__)


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # Percent signs in passwords would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Apply every pending migration to the database at `url`."""
    config = _alembic_config(url)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    logger.info("database schema is at head")


def pending_revisions(url: str) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    config = _alembic_config(url)
    script = ScriptDirectory.from_config(config)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    heads = set(script.get_heads())
    if heads <= set(current):
        return []
    return [rev.revision for rev in script.iterate_revisions("heads", current or "base")]
