"""The read-only SQLite connection of `query_records`: a second barrier behind the query
check, so even a query that got past it reads only the tables it was checked against."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.mirrors.sqlite_reads import read_only


@pytest.fixture
def mirror_file(tmp_path: Path) -> Path:
    path = tmp_path / "appBase.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE tblTasks (id TEXT, n INTEGER)")
        conn.execute("CREATE TABLE tblSecret (id TEXT, token TEXT)")
        conn.execute("INSERT INTO tblTasks VALUES ('rec1', 2), ('rec2', 3)")
        conn.execute("INSERT INTO tblSecret VALUES ('rec9', 'hunter2')")
    return path


def test_read_only__reads_the_checked_tables_with_ctes_and_safe_functions(
    mirror_file: Path,
) -> None:
    with read_only(mirror_file, tables=["tblTasks"], timeout_seconds=5) as conn:
        found = conn.execute(
            "WITH t AS (SELECT n FROM tblTasks) SELECT median(n), count(*) FROM t"
        ).fetchall()
    assert found == [(2.5, 2)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT token FROM tblSecret",
        "SELECT t.n FROM tblTasks t JOIN tblSecret s ON s.id = t.id",
        "SELECT name FROM sqlite_master",
        "SELECT * FROM (SELECT token FROM tblSecret)",
        "WITH s AS (SELECT token FROM tblSecret) SELECT * FROM s",
        "DELETE FROM tblTasks",
        "SELECT load_extension('x')",
    ],
)
def test_read_only__refuses_any_other_table_and_every_write(mirror_file: Path, sql: str) -> None:
    with (
        read_only(mirror_file, tables=["tblTasks"], timeout_seconds=5) as conn,
        pytest.raises(sqlite3.DatabaseError),
    ):
        conn.execute(sql).fetchall()
    with sqlite3.connect(mirror_file) as conn:
        assert conn.execute("SELECT count(*) FROM tblTasks").fetchone() == (2,)
