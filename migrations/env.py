"""Alembic environment: the URL comes from the caller (services.migrations) or from settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from services.airtable import orm as _airtable_models  # noqa: F401 - registers the tables
from services.budget import orm as _budget_models  # noqa: F401 - registers the tables
from services.bulk import orm as _bulk_models  # noqa: F401 - registers the tables
from services.db import create_db_engine
from services.mirrors import orm as _mirror_models  # noqa: F401 - registers the tables
from services.orm import Base
from services.prompts import orm as _prompt_models  # noqa: F401 - registers the tables
from services.webhooks import airtable_orm as _airtable_hook_models  # noqa: F401
from services.webhooks import inbound_orm as _inbound_hook_models  # noqa: F401
from services.webhooks import orm as _webhook_models  # noqa: F401 - registers the tables
from services.workflows import orm as _workflow_models  # noqa: F401 - registers the tables

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from config.settings import load_settings

    return load_settings().sql_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
