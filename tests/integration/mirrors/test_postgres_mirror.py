"""Mirrors on PostgreSQL (`MIRROR_DATABASE_URL`): the same answers, refusals and limits."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator

import pytest
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.errors import AppError
from tests.integration.mirrors.conftest import mirror_loop
from tests.support.emulated import services_on
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
