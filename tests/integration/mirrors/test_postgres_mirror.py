"""Mirrors on PostgreSQL (`MIRROR_DATABASE_URL`): the same answers, refusals and limits."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.errors import AppError
from tests.integration.mirrors.conftest import mirror_loop
from tests.support.emulated import services_on
from tests.support.stores import sql_database
from tests.support.workflows import postgres_database

PROJECTS = "appDemoProjects00"


@pytest.fixture
def pg_mirrored(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    with (
        postgres_database() as url,
        services_on(
            settings,
            emulator.url,
            mirror_database_url=url,
            mirror_default_bases=PROJECTS,
            mirror_query_timeout_seconds=1.0,
        ) as built,
    ):
        mirror_loop(built).run_once()
        yield built


def test_postgres__median_per_status_as_the_records_say(
    pg_mirrored: Services, emulator: EmulatorServer
) -> None:
    answer = pg_mirrored.mirror_queries.run(
        0,
        PROJECTS,
        'SELECT "Status", median("Estimate Hours"), COUNT(*) FROM "Tasks" GROUP BY "Status"',
    )
    hours: dict[str, list[float]] = defaultdict(list)
    for task in Api(DEV_TOKEN, endpoint_url=emulator.url).table(PROJECTS, "Tasks").all():
        if "Estimate Hours" in task["fields"]:
            hours[task["fields"]["Status"]].append(task["fields"]["Estimate Hours"])
    got = {row[0]: float(row[1]) for row in answer.rows}
    assert got == {status: statistics.median(values) for status, values in hours.items()}
    assert sum(row[2] for row in answer.rows) == 5000


@pytest.mark.parametrize(
    "sql",
    [
        'DELETE FROM "Tasks"',
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT current_setting('data_directory')",
        'SELECT 1; DROP TABLE "Tasks"',
        "SELECT * FROM pg_catalog.pg_tables",
        'SELECT COUNT(*) FROM "Tasks" a, "Tasks" b, "Tasks" c',
        "SELECT pg_sleep(30)",
    ],
)
def test_postgres__hostile_sql_is_refused_or_stopped(pg_mirrored: Services, sql: str) -> None:
    with pytest.raises(AppError):
        pg_mirrored.mirror_queries.run(0, PROJECTS, sql)
    count = pg_mirrored.mirror_queries.run(0, PROJECTS, 'SELECT COUNT(*) FROM "Tasks"')
    assert count.rows == [(5000,)]


PARITY = [
    'SELECT median("Estimate Hours"), percentile("Estimate Hours", 90) FROM "Tasks"',
    'SELECT PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "Estimate Hours" DESC) FROM "Tasks"',
    'SELECT variance("Estimate Hours"), stddev_pop("Estimate Hours") FROM "Tasks"',
    'SELECT COUNT(*) FROM "Tasks" WHERE "Done" = \'true\' OR "Done" = 1',
    'SELECT COUNT(*) FROM "Tasks" WHERE "Due Date" LIKE \'2026-03%\'',
    'SELECT substr("Due Date", 1, 7) AS m, COUNT(*) FROM "Tasks" GROUP BY m ORDER BY m',
    'SELECT AVG("Due Date" - "Start Date") FROM "Projects"',
    'SELECT p."Name", (SELECT MAX(t."Estimate Hours") FROM "Tasks" t WHERE t."Project" = p.id '
    'AND t."Status" = \'Blocked\') AS m FROM "Projects" p ORDER BY m DESC, 1 LIMIT 5',
    'SELECT COUNT(*) FROM "Projects" p WHERE NOT EXISTS (SELECT 1 FROM "Tasks" t '
    'WHERE t."Project" = p.id AND t."Status" = \'Blocked\')',
    'SELECT "Status", COUNT(*), SUM("Estimate Hours") / 2 FROM "Tasks" GROUP BY 1 ORDER BY 1',
    'SELECT "Name" FROM "Tasks" ORDER BY "_created" DESC, "Name" LIMIT 5',
    'SELECT COUNT(*) FROM "Tasks" WHERE "_created" >= \'2026-01-01\'',
    # PostgreSQL's date syntax, also on SQLite
    'SELECT EXTRACT(YEAR FROM "Due Date") AS y, EXTRACT(MONTH FROM "Due Date") AS m, COUNT(*) '
    'FROM "Tasks" GROUP BY 1, 2 ORDER BY 1, 2',
    'SELECT AVG(EXTRACT(DOW FROM "Due Date")), SUM(EXTRACT(DOY FROM "Due Date")), '
    'SUM(EXTRACT(QUARTER FROM "Due Date")), SUM(EXTRACT(WEEK FROM "Due Date")) FROM "Tasks"',
    "SELECT COUNT(DISTINCT DATE_TRUNC('month', \"Due Date\")), "
    'COUNT(DISTINCT DATE_TRUNC(\'week\', "Due Date")) FROM "Tasks"',
    "SELECT COUNT(*) FROM \"Tasks\" WHERE DATE_TRUNC('quarter', \"Due Date\") = '2026-01-01'",
    'SELECT COUNT(*) FROM "Projects" WHERE "Due Date" > "Start Date" + INTERVAL \'90 days\'',
    'SELECT COUNT(*) FROM "Projects" WHERE "Due Date" - INTERVAL 2 WEEK < "Start Date" '
    'OR "Due Date" > "Start Date" + INTERVAL \'3\' MONTH',
    # other dialects' habits, one meaning on both
    'SELECT COUNT(*) FROM "Tasks" WHERE "Name" LIKE \'%api%\' OR "Notes" LIKE \'%QA%\'',
    'SELECT "Status", ROUND(SUM("Estimate Hours") / 7, 2), TRUNC(AVG("Estimate Hours"), 1), '
    'AVG("Estimate Hours")::numeric(10, 2) FROM "Tasks" GROUP BY 1 ORDER BY 1',
    'SELECT COUNT(*) FROM "Tasks" WHERE "Due Date" BETWEEN CURRENT_DATE AND CURRENT_DATE + 7 '
    'OR "Due Date" - 3 > NOW() OR "_created" >= CURRENT_DATE - 30',
    'SELECT AVG(CURRENT_DATE - "Due Date"), '
    'SUM(julianday("Due Date") - julianday(\'2026-01-01\')) FROM "Tasks"',
    "SELECT COUNT(*) FROM \"Tasks\" WHERE \"Due Date\" >= date('now', '-30 days') "
    "AND \"Due Date\" < date('now', 'start of month', '+1 month')",
    "SELECT strftime('%Y-%m', \"Due Date\") AS m, strftime('%w', \"Due Date\") AS d, "
    'TO_CHAR("Due Date", \'FMDay, Mon YYYY\') AS t, COUNT(*) FROM "Tasks" GROUP BY 1, 2, 3 '
    "ORDER BY 1, 2",
    "SELECT DATE_TRUNC('month', \"Due Date\"), DATE_PART('year', \"Due Date\"), COUNT(*) "
    'FROM "Tasks" GROUP BY 1, 2 ORDER BY 1',
    'SELECT p."Name", STRING_AGG(t."Name", \', \'), GROUP_CONCAT(DISTINCT t."Assignee"), '
    'STRING_AGG(t."Priority", \'/\' ORDER BY t."Estimate Hours" DESC, t."Priority"), '
    'ARRAY_AGG(DISTINCT t."Status") FROM "Projects" p JOIN "Tasks" t '
    "ON p.id = ANY(string_to_array(t.\"Project\", ',')) WHERE t.\"Status\" = 'Blocked' "
    "GROUP BY 1 ORDER BY 1",
    'SELECT SPLIT_PART("Name", \' \', 1), CONCAT("Assignee", \' / \', "Priority"), COUNT(*) '
    "FROM `Tasks` WHERE 'QA' = ANY(string_to_array(\"Tags\", ', ')) AND \"Done\" IN (1, 'true') "
    "GROUP BY 1, 2 ORDER BY 1, 2",
]


def test_postgres__same_answers_and_column_names_as_sqlite(
    pg_mirrored: Services, settings: Settings, emulator: EmulatorServer, tmp_path: Path
) -> None:
    with (
        sql_database(tmp_path) as own_registry,  # the mirror registry is in the app database
        services_on(
            settings, emulator.url, database_url=own_registry, mirror_default_bases=PROJECTS
        ) as on_sqlite,
    ):
        mirror_loop(on_sqlite).run_once()
        for sql in PARITY:
            lite = on_sqlite.mirror_queries.run(0, PROJECTS, sql, max_rows=200)
            pg = pg_mirrored.mirror_queries.run(0, PROJECTS, sql, max_rows=200)
            assert pg.columns == lite.columns, sql
            assert [_plain(r) for r in pg.rows] == [_plain(r) for r in lite.rows], sql


def _plain(row: tuple[object, ...]) -> tuple[object, ...]:
    """Numbers to 6 places; a date as the ISO text the tool shows (SQLite keeps it so)."""
    return tuple(
        round(float(v), 6)
        if isinstance(v, int | float)
        else v.isoformat()
        if isinstance(v, date)
        else v
        for v in row
    )


def test_postgres__a_cte_name_does_not_open_the_catalog(pg_mirrored: Services) -> None:
    with pytest.raises(AppError, match='Unknown table "pg_tables"'):
        pg_mirrored.mirror_queries.run(
            0,
            PROJECTS,
            "SELECT * FROM pg_tables, (WITH pg_tables AS (SELECT 1 AS x) SELECT x "
            "FROM pg_tables) y",
        )


def test_postgres__queries_run_as_a_reader_that_cannot_read_the_app_tables(
    pg_mirrored: Services,
) -> None:
    """A second barrier behind the query check: even SQL that got past it reads the mirror
    schema only (this database also holds the app's tables, as a shared one would)."""
    import psycopg

    store = pg_mirrored.mirror_store
    [tasks] = [s for s in pg_mirrored.mirrors.registry.tables(PROJECTS) if s.name == "Tasks"]
    mirrored = f'"{store.schema}"."{store.name(PROJECTS, tasks.table_id)}"'
    with (
        store.postgres_connection(PROJECTS, timeout_seconds=5) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(f"SELECT count(*) FROM {mirrored}")  # noqa: S608 - our own names
        assert cursor.fetchone() == (5000,)
    for app_table in ("users", "api_tokens", "alembic_version"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            store.postgres_connection(PROJECTS, timeout_seconds=5) as conn,
            conn.cursor() as cursor,
        ):
            cursor.execute(f"SELECT * FROM public.{app_table}")  # noqa: S608
