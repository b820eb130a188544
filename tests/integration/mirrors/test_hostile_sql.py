# ruff: noqa: S608 - hostile SQL is what this module is about
"""50 hostile queries: every one refused or stopped by the limits, and nothing changes
(the mirror file, the other bases' copies, the registry and Airtable stay as they were)."""

from __future__ import annotations

import hashlib
import time

import pytest
from pyairtable import Api

from services.container import Services
from services.errors import AppError

PROJECTS = "appDemoProjects00"
T = '"Tasks"'
HOSTILE = [
    # writes and schema changes
    f"INSERT INTO {T} (id) VALUES ('recXXXXXXXXXXXXXX')",
    f"UPDATE {T} SET \"Name\" = 'x'",
    f"DELETE FROM {T}",
    f"DROP TABLE {T}",
    "CREATE TABLE evil (x)",
    f"ALTER TABLE {T} ADD COLUMN x",
    f"REPLACE INTO {T} (id) VALUES ('x')",
    f"CREATE INDEX i ON {T} (id)",
    "CREATE VIEW v AS SELECT 1",
    f"CREATE TRIGGER t AFTER INSERT ON {T} BEGIN SELECT 1; END",
    f"INSERT INTO {T} SELECT * FROM {T}",
    f"SELECT * INTO copy FROM {T}",
    # database-level statements
    "PRAGMA writable_schema = 1",
    "PRAGMA journal_mode = DELETE",
    'PRAGMA table_info("Tasks")',
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "DETACH DATABASE main",
    "VACUUM",
    "VACUUM INTO '/tmp/copy.db'",
    "ANALYZE",
    "REINDEX",
    'BEGIN; DELETE FROM "Tasks"; COMMIT',
    # several statements, some hidden
    f"SELECT 1; DELETE FROM {T}",
    f"SELECT 1 /* harmless */; DROP TABLE {T}",
    f"SELECT 1 -- comment\n; DELETE FROM {T}",
    f"SELECT 1;\n/* */ INSERT INTO {T} (id) VALUES ('x')",
    f"SELECT * FROM {T} WHERE 1=1; --",
    # functions that reach outside
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT readfile('/etc/passwd')",
    "SELECT writefile('/tmp/x', 'y')",
    "SELECT fts3_tokenizer('simple')",
    "SELECT sqlite_version()",
    "SELECT randomblob(1000000000)",
    "SELECT zeroblob(1000000000)",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT current_setting('data_directory')",
    "SELECT * FROM pragma_table_info('Tasks')",
    "SELECT * FROM json_each('[1,2]')",
    # other tables and bases
    "SELECT * FROM sqlite_master",
    "SELECT * FROM sqlite_schema",
    'SELECT * FROM main."Tasks"',
    'SELECT * FROM "Deals"',
    'SELECT * FROM "Companies"',
    'SELECT * FROM "appDemoSalesCRM00"."Deals"',
    "SELECT * FROM users",
    "SELECT * FROM mirror_tables",
    # huge work, stopped by the time limit
    f"SELECT COUNT(*) FROM {T} a, {T} b, {T} c",
    f"SELECT COUNT(*) FROM {T} a CROSS JOIN {T} b CROSS JOIN {T} c CROSS JOIN {T} d",
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n",
    f"SELECT printf('%.*c', 2000000000, 'x') FROM {T}",
]
assert len(HOSTILE) == 50


def _fingerprint(services: Services) -> dict[str, str]:
    """Every mirror file's bytes (with its WAL): a read-only connection changes neither."""
    folder = services.settings.var_dir / "mirrors"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.suffix in (".db", ".db-wal")
    }


@pytest.fixture(scope="module")
def before(demo_mirrors: Services) -> tuple[dict[str, str], object]:
    return _fingerprint(demo_mirrors), demo_mirrors.mirrors.registry.tables()


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_sql__is_refused_or_stopped_and_changes_nothing(
    demo_mirrors: Services, before: tuple[dict[str, str], object], sql: str
) -> None:
    started = time.monotonic()
    with pytest.raises(AppError) as refused:
        demo_mirrors.mirror_queries.run(0, PROJECTS, sql)
    assert time.monotonic() - started < demo_mirrors.settings.mirror_query_timeout_seconds + 5
    message = str(refused.value)
    assert message
    assert "\n" not in message
    assert "Traceback" not in message
    files, registry = before
    assert _fingerprint(demo_mirrors) == files
    assert demo_mirrors.mirrors.registry.tables() == registry


def test_hostile_sql__leaves_airtable_as_it_was(demo_mirrors: Services, raw_api: Api) -> None:
    tasks = raw_api.table(PROJECTS, "Tasks").all(fields=["Name"])
    for sql in HOSTILE:
        with pytest.raises(AppError):
            demo_mirrors.mirror_queries.run(0, PROJECTS, sql)
    assert raw_api.table(PROJECTS, "Tasks").all(fields=["Name"]) == tasks
