"""What the model reads: compact tables, totals, notes on what was left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pyairtable.api.types import RecordDict

from services.airtable.aggregate import GroupResult
from services.airtable.connections import BaseInfo
from services.airtable.filters import SortKey
from services.airtable.proposals import PlannedChange, Proposal
from services.airtable.queries import Aggregation, RecordPage
from tests.unit.airtable.schemas import BASE, TASKS
from tools.airtable import render
from tools.airtable.writes import proposal_text


def _page(total: int = 250) -> RecordPage:
    fields = [TASKS.field(n) for n in ("Name", "Project", "Notes", "Done")]
    rows: list[RecordDict] = [
        {
            "id": "recAAAAAAAAAAAAAA",
            "createdTime": "2026-01-01T00:00:00.000Z",
            "fields": {
                "fldName": "Fix | pipes",
                "fldProj": ["recPPPPPPPPPPPPPP"],
                "fldNotes": "line one\nline two " + "x" * 300,
                "fldDone": True,
            },
        }
    ]
    names = {"recPPPPPPPPPPPPPP": "Website"}
    return RecordPage(
        "appTestBase000000", TASKS, fields, rows, total, names, [SortKey(field="Name")]
    )


def test_records_text__is_a_small_table_with_the_total_and_a_note() -> None:
    lines = render.records_text(_page()).splitlines()
    assert lines[0] == "Tasks: 250 records match; showing 1, sorted by Name asc."
    assert lines[1] == "id|Name|Project|Notes|Done"
    row = lines[2].split("|")
    assert row[:3] == ["recAAAAAAAAAAAAAA", "Fix / pipes", "Website"]
    assert row[3].startswith("line one line two")
    assert row[3].endswith("…")
    assert render.CELL_CHARS < len(row[3]) <= render.LONG_CELL_CHARS  # long text, asked for
    assert row[4] == "yes"
    assert lines[3].startswith("249 more rows not shown")


def test_records_text__says_when_nothing_matches() -> None:
    assert render.records_text(_page(total=0)) == "Tasks: 0 records match."


def test_records_artifact__keeps_values_with_links_by_name() -> None:
    artifact = render.records_artifact(_page())
    assert artifact["columns"] == ["id", "Name", "Project", "Notes", "Done"]
    assert artifact["rows"][0]["Project"] == ["Website"]
    assert (artifact["total"], artifact["shown"]) == (250, 1)


def test_aggregation_text__lists_groups_and_the_overall_value() -> None:
    aggregation = Aggregation(
        "appTestBase000000",
        TASKS,
        "sum",
        TASKS.field("Estimate Hours"),
        TASKS.field("Status"),
        [GroupResult("Done", 12.345, 3), GroupResult("Todo", 2.0, 1)],
        GroupResult("Total", 14.345, 4),
        hidden_groups=1,
    )
    assert render.aggregation_text(aggregation).splitlines() == [
        "Tasks: sum of Estimate Hours over 4 matching records, by Status (3 groups):",
        "Status|sum|records",
        "Done|12.35|3",
        "Todo|2|1",
        "all|14.35|4",
        "1 more groups not shown (raise max_groups or filter).",
    ]


def test_aggregation_text__keeps_four_places_below_one_where_percents_live() -> None:
    aggregation = Aggregation(
        "appTestBase000000",
        TASKS,
        "avg",
        TASKS.field("Estimate Hours"),
        None,
        [],
        GroupResult("all", 0.456349, 7),
    )
    assert render.aggregation_text(aggregation) == (
        "Tasks: avg of Estimate Hours over 7 matching records: 0.4563."
    )


def test_table_text__shows_types_options_links_and_read_only_fields() -> None:
    text = render.table_text(TASKS, BaseInfo("appTestBase000000", "Test", "create"), BASE)
    assert "- Status: select [Todo, In Progress, Done]" in text
    assert "- Project: link to Projects" in text
    assert "- Overdue: formula 1 -> number (read-only)" in text
    assert "- Name: text (primary)" in text


def test_proposal_text__summarises_the_diff_and_says_it_is_not_applied() -> None:
    now = datetime.now(UTC)
    changes = [
        PlannedChange("update", f"rec{i:014d}", f"Task {i}", {"fldSta": "Todo"}, {"fldSta": "Done"})
        for i in range(5)
    ]
    proposal = Proposal(
        "prop_1", 7, "appTestBase000000", "tblTasks", "Tasks", "update", changes,
        {"fldSta": "Status"}, now, now + timedelta(minutes=30),
    )  # fmt: skip
    text = proposal_text(proposal)
    assert text.splitlines()[0].startswith("Proposal prop_1 for Tasks: update 5 record(s).")
    assert "NOT applied" in text
    assert "Status: Todo -> Done (5)" in text
    assert "Records: Task 0; Task 1; Task 2; +2 more" in text
    assert Proposal.from_json(proposal.to_json()) == proposal
    assert proposal.to_artifact()["changes"][0]["after"] == {"Status": "Done"}


def test_records_text__a_later_page_says_which_rows_with_dates_and_fields_searched() -> None:
    page = replace(
        _page(),
        offset=100,
        next_cursor="CURSOR",
        dates="Dates used (today is 2026-12-09, UTC): today = 2026-12-09",
        searched=["Name", "Notes"],
    )
    lines = render.records_text(page).splitlines()
    assert lines[0] == "Tasks: 250 records match; showing rows 101-101, sorted by Name asc."
    assert lines[1] == "Dates used (today is 2026-12-09, UTC): today = 2026-12-09"
    assert lines[2] == "Text searched in: Name, Notes."
    assert lines[-1].startswith("149 more rows not shown: next page: same call with cursor CURSOR;")


def test_aggregation_text__names_percentiles_distinct_counts_and_expressions() -> None:
    total = GroupResult("Total", 12.5, 8)
    hours = TASKS.field("Estimate Hours")
    p90 = Aggregation("app", TASKS, "percentile", hours, None, [], total, p=90.0)
    distinct = Aggregation("app", TASKS, "count_distinct", TASKS.field("Status"), None, [], total)
    product = Aggregation(
        "app", TASKS, "sum", None, TASKS.field("Status"), [GroupResult("Done", 12.5, 8)], total,
        expression="{Estimate Hours} * {Progress}",
    )  # fmt: skip
    assert render.aggregation_text(p90) == (
        "Tasks: 90th percentile of Estimate Hours over 8 matching records: 12.5."
    )
    assert render.aggregation_text(distinct).startswith("Tasks: distinct values of Status over 8")
    assert render.aggregation_text(product).splitlines()[:3] == [
        "Tasks: sum of {Estimate Hours} * {Progress} over 8 matching records, by Status "
        "(1 groups):",
        "Status|sum|records",
        "Done|12.5|8",
    ]
