"""The SQL guard on its own: what passes, how names are rewritten, and what is refused."""

from __future__ import annotations

import pytest

from services.airtable.schema import FieldSchema, TableSchema
from services.mirrors.guard import MirroredTable, QueryRefusedError, check_query
from services.mirrors.sqlite_reads import continuous

TASKS = TableSchema(
    "tblTasks000000000",
    "Tasks",
    "fldName0000000000",
    [
        FieldSchema("fldName0000000000", "Name", "singleLineText"),
        FieldSchema("fldHours000000000", "Estimate Hours", "number"),
        FieldSchema("fldProject0000000", "Project", "multipleRecordLinks"),
    ],
)
PROJECTS = TableSchema(
    "tblProjects000000",
    "Projects",
    "fldPName000000000",
    [FieldSchema("fldPName000000000", "Name", "singleLineText")],
)
TABLES = [
    MirroredTable(TASKS, TASKS.id, None, {f.id: "text" for f in TASKS.fields}),
    MirroredTable(PROJECTS, PROJECTS.id, None, {f.id: "text" for f in PROJECTS.fields}),
]


def check(sql: str, dialect: str = "sqlite") -> str:
    return check_query(sql, TABLES, dialect=dialect, unmirrored=["Notes"]).sql


def test_names__become_ids_and_plain_columns_keep_their_names() -> None:
    sql = check('SELECT "Name", "Estimate Hours" FROM "Tasks" WHERE "Estimate Hours" > 2')
    assert sql == (
        'SELECT "Tasks"."fldName0000000000" AS "Name", "Tasks"."fldHours000000000" AS '
        '"Estimate Hours" FROM "tblTasks000000000" AS "Tasks" WHERE '
        '"Tasks"."fldHours000000000" > 2'
    )


def test_names__match_without_regard_to_case() -> None:
    assert '"fldHours000000000"' in check('SELECT "estimate hours" FROM tasks')


def test_star__lists_every_mirrored_column_by_name() -> None:
    sql = check('SELECT * FROM "Projects"')
    assert sql == (
        'SELECT "Projects"."id" AS "id", "Projects"."fldPName000000000" AS "Name" '
        'FROM "tblProjects000000" AS "Projects"'
    )


def test_median_and_percentile__are_functions_sqlite_has_here() -> None:
    sql = check(
        'SELECT median("Estimate Hours"), PERCENTILE_CONT(0.9) WITHIN GROUP '
        '(ORDER BY "Estimate Hours") FROM "Tasks"'
    )
    assert 'PERCENTILE_CONT("Tasks"."fldHours000000000", 0.5)' in sql
    assert 'PERCENTILE_CONT("Tasks"."fldHours000000000", 0.9)' in sql


def test_postgres__keeps_within_group_and_qualifies_the_schema() -> None:
    tables = [MirroredTable(TASKS, "appX_tblTasks", "mirrors", TABLES[0].columns)]
    sql = check_query(
        'SELECT median("Estimate Hours") FROM "Tasks"', tables, dialect="postgres"
    ).sql
    assert 'FROM "mirrors"."appX_tblTasks" AS "Tasks"' in sql
    assert "PERCENTILE_CONT(0.5) WITHIN GROUP" in sql


def test_cte_and_subquery_outputs__are_left_as_they_are() -> None:
    sql = check(
        'WITH h AS (SELECT "Name" AS who, "Estimate Hours" AS hrs FROM "Tasks") '
        "SELECT who, SUM(hrs) AS total FROM h GROUP BY who ORDER BY total DESC"
    )
    assert sql.endswith("SELECT who, SUM(hrs) AS total FROM h GROUP BY who ORDER BY total DESC")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ('SELECT "Estimate Hour" FROM "Tasks"', 'Did you mean "Estimate Hours"'),
        ('SELECT * FROM "Task"', 'Did you mean "Tasks"'),
        ('SELECT * FROM "Notes"', "not mirrored"),
        ('SELECT "Name" FROM "Tasks", "Projects"', "qualify it"),
        ('SELECT x."Name" FROM "Tasks" t', 'Unknown table or alias "x"'),
        ("SELECT 1; SELECT 2", "exactly one"),
        ('DELETE FROM "Tasks"', "Only a read-only SELECT"),
        ('SELECT * FROM main."Tasks"', "Name tables alone"),
        ("SELECT load_extension('x')", "LOAD_EXTENSION"),
        ('SELECT "Name" FROM "Tasks" WHERE', "does not parse"),
        ("SELECT " + "1 + " * 3000 + "1", "longer than"),
    ],
)
def test_refusals__say_what_to_change(sql: str, message: str) -> None:
    with pytest.raises(QueryRefusedError, match=message):
        check(sql)


def test_continuous__interpolates_between_closest_ranks() -> None:
    assert continuous([1, 2, 3, 4], 0.5) == 2.5
    assert continuous([10, 20, 30, 40, 50], 0.9) == 46.0
    assert continuous([], 0.5) is None


@pytest.mark.parametrize(
    "sql",
    [
        # a CTE of that name elsewhere in the query does not make the outer name one
        "SELECT * FROM sqlite_master, (WITH sqlite_master AS (SELECT 1 AS x) SELECT x "
        "FROM sqlite_master) y",
        "SELECT * FROM users, (WITH users AS (SELECT 1 AS x) SELECT x FROM users) y",
        # a CTE sees only the CTEs before it (and itself when RECURSIVE)
        "WITH a AS (SELECT * FROM pg_tables), pg_tables AS (SELECT 1 AS x) SELECT * FROM a",
    ],
)
def test_cte_names__do_not_open_other_tables(sql: str) -> None:
    with pytest.raises(QueryRefusedError, match="Unknown table"):
        check(sql)


def test_cte_names__visible_where_sql_sees_them() -> None:
    sql = check(
        'WITH a AS (SELECT "Name" FROM "Tasks"), b AS (SELECT * FROM a) SELECT COUNT(*) FROM b'
    )
    assert '"tblTasks000000000"' in sql
    assert check(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) "
        "SELECT SUM(x) FROM n"
    ).endswith('SELECT SUM(x) AS "SUM(x)" FROM n')


def test_correlated_subquery__reads_the_outer_table() -> None:
    sql = check(
        'SELECT p."Name" FROM "Projects" p WHERE EXISTS (SELECT 1 FROM "Tasks" t '
        'WHERE t."Project" = p.id AND t."Estimate Hours" > 8)'
    )
    assert '"t"."fldProject0000000" = "p"."id"' in sql


def test_labels__computed_columns_are_named_as_written() -> None:
    sqlite = check('SELECT COUNT(*), median("Estimate Hours") FROM "Tasks"')
    postgres = check('SELECT COUNT(*), median("Estimate Hours") FROM "Tasks"', "postgres")
    for sql in (sqlite, postgres):
        assert 'AS "COUNT(*)"' in sql
        assert 'AS "MEDIAN(""Estimate Hours"")"' in sql


def test_percentile_descending__reads_from_the_top_on_sqlite() -> None:
    sql = check(
        'SELECT PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "Estimate Hours" DESC) FROM "Tasks"'
    )
    assert '-PERCENTILE_CONT(-("Tasks"."fldHours000000000"), 0.9)' in sql


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 'Name', COUNT(*) FROM \"Tasks\" GROUP BY 'Name'", 'double quotes, as "Name"'),
        ("SELECT \"Name\" FROM \"Tasks\" WHERE 'Name' = 'x'", 'double quotes, as "Name"'),
        ("SELECT Estimate Hours FROM Tasks", 'write "Estimate Hours"'),
        ('SELECT TOP 5 "Name" FROM "Tasks"', "end the query with LIMIT 5"),
        ('SELECT AGE(CURRENT_DATE, "Name") FROM "Tasks"', "a date minus a date"),
        ('SELECT "Name" FROM "Tasks" ORDER BY 1 FETCH FIRST 3 ROWS WITH TIES', "RANK()"),
        ('SELECT "Name" FROM "Tasks" WHERE "Name" REGEXP \'x\'', "LIKE '%text%'"),
    ],
)
def test_habits__without_one_meaning_are_refused_with_what_to_write(sql: str, message: str) -> None:
    with pytest.raises(QueryRefusedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(sql)


def test_habits__round_to_places_casts_to_numeric_on_postgres_and_like_ignores_case() -> None:
    sql = check(
        'SELECT ROUND(SUM("Estimate Hours"), 2) FROM `Tasks` WHERE "Name" LIKE \'%a%\'',
        dialect="postgres",
    )
    assert 'ROUND(CAST(SUM("Tasks"."fldHours000000000") AS DECIMAL), 2)' in sql
    assert "ILIKE '%a%'" in sql
