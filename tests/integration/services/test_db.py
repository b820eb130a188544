import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from services.container import Services
from services.db import (
    check_database,
    create_db_engine,
    transaction,
    unavailable_error,
    write_lock,
)
from services.errors import StoreUnavailableError
from services.migrations import pending_revisions, upgrade_database
from services.orm import Role, User
from tests.support.net import free_port

pytestmark = pytest.mark.sql


def test_migrations__leave_nothing_pending(sql_url: str) -> None:
    assert pending_revisions(sql_url) == []
    upgrade_database(sql_url)  # idempotent
    engine = create_db_engine(sql_url)
    try:
        assert "users" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_user__round_trips_with_an_aware_utc_timestamp(services: Services) -> None:
    created = datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with transaction(services.sql) as session:
        session.add(User(email="ana@example.com", role=Role.ADMIN.value, created_at=created))
    with services.sql() as session:
        user = session.scalars(select(User).where(User.email == "ana@example.com")).one()
    assert user.created_at == created
    assert user.created_at.tzinfo is not None
    assert user.created_at.utcoffset() == timedelta(0)
    assert user.is_admin
    assert user.is_active


def test_user__defaults_to_an_active_member(services: Services) -> None:
    with transaction(services.sql) as session:
        session.add(User(email="bo@example.com"))
    with services.sql() as session:
        user = session.scalars(select(User)).one()
    assert (user.role, user.status, user.password_hash) == ("member", "active", None)
    assert datetime.now(UTC) - user.created_at < timedelta(minutes=1)


def test_user__email_is_unique(services: Services) -> None:
    with transaction(services.sql) as session:
        session.add(User(email="same@example.com"))
    with pytest.raises(IntegrityError), transaction(services.sql) as session:
        session.add(User(email="same@example.com"))


def test_naive_datetimes__are_refused(services: Services) -> None:
    with pytest.raises(Exception, match="naive"), transaction(services.sql) as session:
        session.add(User(email="naive@example.com", created_at=datetime(2026, 1, 1)))


def test_check_database__reports_an_unreachable_server() -> None:
    engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(StoreUnavailableError) as excinfo:
        check_database(engine)
    assert excinfo.value.store == "database"


def test_migrations__match_the_models(sql_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import services.airtable.orm
    import services.budget.orm
    import services.prompts.orm  # noqa: F401 - every model module registers its tables
    from services.orm import Base

    engine = create_db_engine(sql_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_unavailable_error__maps_a_refused_connection_but_not_a_constraint_violation(
    services: Services,
) -> None:
    stopped = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/stopped")
    try:
        with pytest.raises(OperationalError) as refused, stopped.connect():
            pass
    finally:
        stopped.dispose()
    outage = unavailable_error(refused.value)
    assert isinstance(outage, StoreUnavailableError)
    assert outage.store == "database"
    with pytest.raises(IntegrityError) as duplicate, transaction(services.sql) as session:
        session.add_all([User(email="twice@example.com"), User(email="twice@example.com")])
    assert unavailable_error(duplicate.value) is None


def test_write_lock__serialises_this_process_s_writers_on_sqlite_only(tmp_path: Path) -> None:
    sqlite = create_db_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    postgres = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never used
    try:
        with sqlite.begin() as connection:
            connection.execute(text("CREATE TABLE t (n INTEGER)"))
        assert write_lock(sqlite) is write_lock(sqlite)
        with write_lock(postgres):
            pass  # a no-op: PostgreSQL writers need no lock

        # Eight threads write at once: each waits on the lock, none sleeps in SQLite's busy
        # handler, so all finish and every row is there.
        def write(n: int) -> None:
            with write_lock(sqlite), sqlite.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                time.sleep(0.01)  # hold the write a moment, as a real transaction does

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        with sqlite.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM t")).scalar_one() == 8
    finally:
        sqlite.dispose()
        postgres.dispose()
