"""query_records against facts worked out independently: every record read with pyairtable
straight from the emulator, computed here in plain Python (not through our code)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pyairtable import Api

from services.container import Services
from services.errors import AppError
from services.mirrors.queries import QueryAnswer

CRM, PROJECTS, INVENTORY = "appDemoSalesCRM00", "appDemoProjects00", "appDemoInventory0"
ORG = 0  # the org connection (the emulator's dev token)


def run(services: Services, base: str, sql: str, **options: Any) -> QueryAnswer:
    return services.mirror_queries.run(ORG, base, sql, **options)


def records(api: Api, base: str, table: str) -> list[dict[str, Any]]:
    return [r["fields"] | {"id": r["id"]} for r in api.table(base, table).all()]


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def test_median_and_percentile__per_status_match_the_records(
    demo_mirrors: Services, raw_api: Api
) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT "Status", median("Estimate Hours") AS med, '
        'PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "Estimate Hours") AS p90 '
        'FROM "Tasks" GROUP BY "Status"',
    )
    hours: dict[str, list[float]] = defaultdict(list)
    for task in records(raw_api, PROJECTS, "Tasks"):
        if "Estimate Hours" in task:
            hours[task["Status"]].append(float(task["Estimate Hours"]))
    got = {row[0]: row[1:] for row in answer.rows}
    assert set(got) == set(hours)
    for status, values in hours.items():
        p90 = statistics.quantiles(values, n=100, method="inclusive")[89]
        assert close(got[status][0], statistics.median(values))
        assert close(got[status][1], p90)
    assert answer.columns == ["Status", "med", "p90"]


def test_count_distinct_and_two_field_group_by__win_rate_per_owner(
    demo_mirrors: Services, raw_api: Api
) -> None:
    answer = run(
        demo_mirrors,
        CRM,
        'SELECT "Owner", COUNT(DISTINCT "Stage") AS stages, '
        "ROUND(100.0 * SUM(CASE WHEN \"Stage\" = 'Closed Won' THEN 1 ELSE 0 END) / COUNT(*), 4) "
        'AS win FROM "Deals" GROUP BY "Owner"',
    )
    deals = records(raw_api, CRM, "Deals")
    by_owner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for deal in deals:
        by_owner[deal.get("Owner")].append(deal)  # type: ignore[index]
    got = {row[0]: row for row in answer.rows}
    for owner, rows in by_owner.items():
        won = sum(1 for d in rows if d.get("Stage") == "Closed Won")
        assert got[owner][1] == len({d.get("Stage") for d in rows if d.get("Stage")})
        assert close(got[owner][2], round(100.0 * won / len(rows), 4))


def test_total_over_a_per_record_product__stock_value_per_category(
    demo_mirrors: Services, raw_api: Api
) -> None:
    answer = run(
        demo_mirrors,
        INVENTORY,
        'SELECT "Category", SUM("Stock" * "Unit Price") AS value FROM "Products" '
        'GROUP BY "Category" ORDER BY value DESC',
    )
    totals: dict[str, float] = defaultdict(float)
    for product in records(raw_api, INVENTORY, "Products"):
        if "Stock" in product and "Unit Price" in product:
            totals[product["Category"]] += product["Stock"] * product["Unit Price"]
    assert {r[0]: round(r[1], 4) for r in answer.rows} == {
        k: round(v, 4) for k, v in totals.items()
    }
    assert [r[0] for r in answer.rows] == sorted(totals, key=lambda k: -totals[k])


def test_nested_logic_and_text_over_several_fields(demo_mirrors: Services, raw_api: Api) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT COUNT(*) FROM "Tasks" WHERE ("Priority" = \'High\' OR "Status" = \'Blocked\') '
        'AND NOT "Done" AND ("Name" LIKE \'%api%\' OR "Notes" LIKE \'%QA%\')',
    )
    expected = sum(
        1
        for t in records(raw_api, PROJECTS, "Tasks")
        if (t.get("Priority") == "High" or t.get("Status") == "Blocked")
        and not t.get("Done")
        and ("api" in t.get("Name", "").lower() or "qa" in t.get("Notes", "").lower())
    )
    assert answer.rows == [(expected,)]


def test_join_across_linked_tables__hours_per_project(demo_mirrors: Services, raw_api: Api) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT p."Name", SUM(t."Estimate Hours") AS hours, COUNT(*) AS tasks '
        'FROM "Tasks" t JOIN "Projects" p ON p.id = t."Project" GROUP BY p.id, p."Name"',
        max_rows=200,
    )
    names = {p["id"]: p["Name"] for p in records(raw_api, PROJECTS, "Projects")}
    hours: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    for task in records(raw_api, PROJECTS, "Tasks"):
        for project in task.get("Project", []):
            hours[project] += task.get("Estimate Hours", 0)
            counts[project] += 1
    got = {(row[0], round(row[1] or 0, 6), row[2]) for row in answer.rows}
    assert got == {(names[p], round(hours[p], 6), counts[p]) for p in counts}


def test_more_than_100_rows__paged_with_offset(demo_mirrors: Services, raw_api: Api) -> None:
    answer = run(
        demo_mirrors,
        INVENTORY,
        'SELECT "Order Number" FROM "Orders" ORDER BY "Order Number" LIMIT 150 OFFSET 120',
        max_rows=200,
    )
    numbers = sorted(o["Order Number"] for o in records(raw_api, INVENTORY, "Orders"))
    assert [r[0] for r in answer.rows] == numbers[120:270]
    assert not answer.truncated


def test_row_limit__cuts_long_answers_and_says_so(demo_mirrors: Services) -> None:
    answer = run(demo_mirrors, PROJECTS, 'SELECT id FROM "Tasks"', max_rows=30)
    assert len(answer.rows) == 30
    assert answer.truncated


def test_date_window__tasks_due_in_two_weeks(demo_mirrors: Services, raw_api: Api) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        "SELECT COUNT(*) FROM \"Tasks\" WHERE \"Due Date\" BETWEEN '2026-03-01' AND '2026-03-14'",
    )
    expected = sum(
        1
        for t in records(raw_api, PROJECTS, "Tasks")
        if "2026-03-01" <= t.get("Due Date", "") <= "2026-03-14"
    )
    assert answer.rows == [(expected,)]


def test_lookup_and_formula_columns__sum_of_order_totals_per_status(
    demo_mirrors: Services, raw_api: Api
) -> None:
    answer = run(
        demo_mirrors,
        INVENTORY,
        'SELECT "Status", SUM("Order Total"), SUM("Quantity" * "Unit Price") FROM "Orders" '
        'GROUP BY "Status"',
    )
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for order in records(raw_api, INVENTORY, "Orders"):
        totals[order["Status"]][0] += order.get("Order Total", 0)
        totals[order["Status"]][1] += order.get("Quantity", 0) * order["Unit Price"][0]
    for status, total, product in answer.rows:
        assert close(total, totals[status][0])
        assert close(product, totals[status][1])


def test_every_row_of_every_demo_table_is_in_the_mirror(
    demo_mirrors: Services, raw_api: Api
) -> None:
    for base in (CRM, PROJECTS, INVENTORY):
        for table in raw_api.base(base).schema().tables:
            answer = run(
                demo_mirrors,
                base,
                f'SELECT COUNT(*), COUNT(DISTINCT id) FROM "{table.name}"',  # noqa: S608
            )
            count = len(raw_api.table(base, table.id).all(fields=[]))
            assert answer.rows == [(count, count)], table.name


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ('SELECT "Estimate Hour" FROM "Tasks"', 'Did you mean "Estimate Hours"'),
        ('SELECT * FROM "Task"', 'Did you mean "Tasks"'),
        ('SELECT "Name" FROM "Tasks" t JOIN "Projects" p ON p.id = t."Project"', "qualify it"),
        # beside a subquery, a misspelt name is not read as the text 'Stauts' (SQLite would)
        (
            'SELECT COUNT(*) FROM "Tasks" t JOIN (SELECT id AS pid FROM "Projects") p '
            'ON p.pid = t."Project" WHERE "Stauts" = \'Done\'',
            'Unknown column "Stauts"',
        ),
    ],
)
def test_mistakes__come_back_with_a_correction(
    demo_mirrors: Services, sql: str, message: str
) -> None:
    from services.mirrors.guard import QueryRefusedError

    with pytest.raises(QueryRefusedError, match=message):
        run(demo_mirrors, PROJECTS, sql)


def test_freshness__every_answer_says_how_fresh_the_mirror_is(demo_mirrors: Services) -> None:
    answer = run(demo_mirrors, PROJECTS, 'SELECT COUNT(*) FROM "Projects"')
    text = answer.freshness.text()
    assert text.startswith("as of ")
    assert "behind Airtable" in text
    assert not answer.freshness.behind


def test_percentile_descending_and_percent_style__match_the_records(
    demo_mirrors: Services, raw_api: Api
) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "Estimate Hours" DESC) AS top, '
        'PERCENTILE_DISC(0.25) WITHIN GROUP (ORDER BY "Estimate Hours" DESC) AS disc, '
        'percentile("Estimate Hours", 90) AS p90, percentile("Estimate Hours", 0.37) AS p37 '
        'FROM "Tasks"',
    )
    values = sorted(
        float(t["Estimate Hours"])
        for t in records(raw_api, PROJECTS, "Tasks")
        if "Estimate Hours" in t
    )
    quantiles = statistics.quantiles(values, n=100, method="inclusive")
    descending = values[::-1]
    ((top, disc, p90, p37),) = answer.rows
    assert close(top, quantiles[9])  # the 90th percentile from the top is the 10th
    assert disc == descending[math.ceil(0.25 * len(values)) - 1]
    assert close(p90, quantiles[89])
    assert close(p37, quantiles[36])


def test_spread__variance_and_deviations_as_the_records_say(
    demo_mirrors: Services, raw_api: Api
) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT variance("Estimate Hours"), var_pop("Estimate Hours"), '
        'stddev_samp("Estimate Hours"), stddev_pop("Estimate Hours") FROM "Tasks"',
    )
    values = [
        float(t["Estimate Hours"])
        for t in records(raw_api, PROJECTS, "Tasks")
        if "Estimate Hours" in t
    ]
    expected = (
        statistics.variance(values),
        statistics.pvariance(values),
        statistics.stdev(values),
        statistics.pstdev(values),
    )
    assert all(close(got, want) for got, want in zip(answer.rows[0], expected, strict=True))


def test_correlated_subqueries__companies_by_their_deals(
    demo_mirrors: Services, raw_api: Api
) -> None:
    deals = records(raw_api, CRM, "Deals")
    companies = records(raw_api, CRM, "Companies")
    won: Counter[str] = Counter()
    big: set[str] = set()
    biggest: dict[str, float] = {}
    for deal in deals:
        for company in deal.get("Company", []):
            won[company] += deal.get("Stage") == "Closed Won"
            if deal.get("Amount", 0) > 240000:
                big.add(company)
            if "Amount" in deal:
                biggest[company] = max(biggest.get(company, 0.0), deal["Amount"])
    count = run(
        demo_mirrors,
        CRM,
        'SELECT COUNT(*) FROM "Companies" c WHERE (SELECT COUNT(*) FROM "Deals" d '
        'WHERE d."Company" = c.id AND d."Stage" = \'Closed Won\') >= 3',
    )
    assert count.rows == [(sum(1 for c in companies if won[c["id"]] >= 3),)]
    exists = run(
        demo_mirrors,
        CRM,
        'SELECT c.id FROM "Companies" c WHERE EXISTS (SELECT 1 FROM "Deals" d '
        'WHERE d."Company" = c.id AND d."Amount" > 240000)',
        max_rows=200,
    )
    assert {row[0] for row in exists.rows} == big
    top = run(
        demo_mirrors,
        CRM,
        'SELECT c.id, (SELECT MAX(d."Amount") FROM "Deals" d WHERE d."Company" = c.id) AS m '
        'FROM "Companies" c ORDER BY m DESC LIMIT 3',
    )
    assert [row[1] for row in top.rows] == sorted(biggest.values(), reverse=True)[:3]


def test_empty_values__sort_last_both_ways(demo_mirrors: Services, raw_api: Api) -> None:
    companies = records(raw_api, CRM, "Companies")
    since = [c["Customer Since"] for c in companies if "Customer Since" in c]
    assert len(since) < len(companies)  # some are empty: they must not come first
    sql = 'SELECT "Customer Since" FROM "Companies" ORDER BY 1'
    up = run(demo_mirrors, CRM, f"{sql} LIMIT 3")
    assert [row[0] for row in up.rows] == sorted(since)[:3]
    down = run(demo_mirrors, CRM, f"{sql} DESC LIMIT 3")
    assert [row[0] for row in down.rows] == sorted(since, reverse=True)[:3]


def test_checkboxes_and_dates__written_as_people_write_them(
    demo_mirrors: Services, raw_api: Api
) -> None:
    tasks = records(raw_api, PROJECTS, "Tasks")
    done = sum(1 for t in tasks if t.get("Done"))
    for sql in (
        'SELECT COUNT(*) FROM "Tasks" WHERE "Done" = \'true\'',
        'SELECT COUNT(*) FROM "Tasks" WHERE "Done" = 1',
        'SELECT COUNT(*) FROM "Tasks" WHERE "Done" = true',
    ):
        assert run(demo_mirrors, PROJECTS, sql).rows == [(done,)], sql
    projects = records(raw_api, PROJECTS, "Projects")
    spans = [
        (date.fromisoformat(p["Due Date"]) - date.fromisoformat(p["Start Date"])).days
        for p in projects
        if "Due Date" in p and "Start Date" in p
    ]
    answer = run(
        demo_mirrors, PROJECTS, 'SELECT AVG("Due Date" - "Start Date") AS days FROM "Projects"'
    )
    assert close(answer.rows[0][0], sum(spans) / len(spans))


def test_columns__computed_ones_named_as_written_not_by_field_ids(demo_mirrors: Services) -> None:
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT "Status", COUNT(*), median("Estimate Hours"), SUM("Estimate Hours") / 2 '
        'FROM "Tasks" GROUP BY "Status"',
    )
    assert answer.columns == [
        "Status",
        "COUNT(*)",
        'MEDIAN("Estimate Hours")',
        'SUM("Estimate Hours") / 2',
    ]


def test_postgres_date_syntax__works_on_sqlite_as_the_records_say(
    demo_mirrors: Services, raw_api: Api
) -> None:
    """EXTRACT, DATE_TRUNC and INTERVAL (what models write most) on the SQLite mirrors."""
    tasks = [t for t in records(raw_api, PROJECTS, "Tasks") if "Due Date" in t]
    due = [date.fromisoformat(t["Due Date"]) for t in tasks]
    answer = run(
        demo_mirrors,
        PROJECTS,
        'SELECT EXTRACT(YEAR FROM "Due Date") AS y, EXTRACT(MONTH FROM "Due Date") AS m, '
        'COUNT(*) AS n FROM "Tasks" WHERE "Due Date" IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2',
        max_rows=500,
    )
    by_month = Counter((d.year, d.month) for d in due)
    assert answer.rows == [(y, m, n) for (y, m), n in sorted(by_month.items())]
    weeks = run(
        demo_mirrors,
        PROJECTS,
        'SELECT DATE_TRUNC(\'week\', "Due Date") AS wk, COUNT(*) FROM "Tasks" '
        'WHERE "Due Date" IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3',
    )
    by_week = Counter((d - timedelta(days=d.weekday())).isoformat() for d in due)
    assert weeks.rows == sorted(by_week.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    projects = records(raw_api, PROJECTS, "Projects")
    spans = [
        (date.fromisoformat(p["Start Date"]), date.fromisoformat(p["Due Date"]))
        for p in projects
        if "Due Date" in p and "Start Date" in p
    ]
    late = run(
        demo_mirrors,
        PROJECTS,
        'SELECT COUNT(*) FROM "Projects" WHERE "Due Date" > "Start Date" + INTERVAL \'90 days\' '
        'AND "Due Date" - INTERVAL 1 MONTH >= "Start Date"',
    )
    expected = sum(
        1 for start, end in spans if end > start + timedelta(days=90) and _months_back(end) >= start
    )
    assert late.rows == [(expected,)]
    parts = run(
        demo_mirrors,
        PROJECTS,
        'SELECT SUM(EXTRACT(DOW FROM "Due Date")), SUM(EXTRACT(QUARTER FROM "Due Date")), '
        'SUM(EXTRACT(DOY FROM "Due Date")) FROM "Tasks"',
    )
    assert parts.rows == [
        (
            sum(d.isoweekday() % 7 for d in due),
            sum((d.month - 1) // 3 + 1 for d in due),
            sum(d.timetuple().tm_yday for d in due),
        )
    ]


def _months_back(day: date) -> date:
    """One month before `day`, on the month's last day when it has no such day."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def test_other_dialects_habits__answer_as_the_records_say(
    demo_mirrors: Services, raw_api: Api
) -> None:
    """What models bring from other dialects: ILIKE-free LIKE, TO_CHAR and strftime, a
    date plus days, STRING_AGG, membership through string_to_array, SPLIT_PART."""
    tasks = records(raw_api, PROJECTS, "Tasks")
    like = run(demo_mirrors, PROJECTS, 'SELECT COUNT(*) FROM "Tasks" WHERE "Name" LIKE \'%API%\'')
    assert like.rows == [(sum(1 for t in tasks if "api" in t.get("Name", "").lower()),)]
    due = [date.fromisoformat(t["Due Date"]) for t in tasks if "Due Date" in t]
    months = run(
        demo_mirrors,
        PROJECTS,
        "SELECT TO_CHAR(\"Due Date\", 'FMMonth YYYY') AS m, strftime('%w', \"Due Date\") AS d, "
        'COUNT(*) FROM "Tasks" WHERE "Due Date" IS NOT NULL GROUP BY 1, 2',
        max_rows=1000,
    )
    by_month = Counter((d.strftime("%B %Y"), str(d.isoweekday() % 7)) for d in due)
    assert {(m, d): n for m, d, n in months.rows} == by_month
    today = datetime.now(UTC).date()  # CURRENT_DATE is UTC's day on both databases
    soon = run(
        demo_mirrors,
        PROJECTS,
        'SELECT COUNT(*) FROM "Tasks" WHERE "Due Date" BETWEEN CURRENT_DATE AND CURRENT_DATE + 7',
    )
    assert soon.rows == [(sum(1 for d in due if today <= d <= today + timedelta(days=7)),)]
    lists = run(
        demo_mirrors,
        PROJECTS,
        'SELECT "Assignee", STRING_AGG(DISTINCT "Priority", \', \'), SPLIT_PART("Assignee", '
        "'a', 1) FROM \"Tasks\" WHERE 'QA' = ANY(string_to_array(\"Tags\", ', ')) GROUP BY 1",
    )
    priorities: dict[str, set[str]] = defaultdict(set)
    for task in tasks:
        if "QA" in task.get("Tags", []):
            priorities[task["Assignee"]].add(task["Priority"])
    assert {r[0]: r[1] for r in lists.rows} == {
        a: ", ".join(sorted(p)) for a, p in priorities.items()
    }
    assert all(r[2] == r[0].split("a")[0] for r in lists.rows)


def test_to_char_of_a_number__is_refused_not_answered_null(demo_mirrors: Services) -> None:
    with pytest.raises(AppError, match="ROUND"):
        run(demo_mirrors, PROJECTS, 'SELECT TO_CHAR("Estimate Hours", \'999.99\') FROM "Tasks"')
