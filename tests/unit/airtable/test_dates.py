"""Relative date values resolve to whole-day spans around today in the person's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.airtable.dates import DateResolver, resolver_for, today_in
from services.errors import InvalidInputError

TODAY = date(2026, 12, 9)  # a Wednesday


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("today", "2026-12-09", "2026-12-09"),
        ("Yesterday", "2026-12-08", "2026-12-08"),
        ("tomorrow", "2026-12-10", "2026-12-10"),
        ("start_of_week", "2026-12-07", "2026-12-07"),
        ("end_of_week", "2026-12-13", "2026-12-13"),
        ("start_of_month", "2026-12-01", "2026-12-01"),
        ("end_of_month", "2026-12-31", "2026-12-31"),
        ("start_of_year", "2026-01-01", "2026-01-01"),
        ("-14d", "2026-11-25", "2026-11-25"),
        ("+2w", "2026-12-23", "2026-12-23"),
        ("+3m", "2027-03-09", "2027-03-09"),
        ("-1y", "2025-12-09", "2025-12-09"),
        ("this_week", "2026-12-07", "2026-12-13"),
        ("last_week", "2026-11-30", "2026-12-06"),
        ("next_week", "2026-12-14", "2026-12-20"),
        ("this_month", "2026-12-01", "2026-12-31"),
        ("last_month", "2026-11-01", "2026-11-30"),
        ("next_month", "2027-01-01", "2027-01-31"),
        ("this_year", "2026-01-01", "2026-12-31"),
        ("next_14_days", "2026-12-09", "2026-12-23"),
        ("last_30_days", "2026-11-09", "2026-12-09"),
        ("next_2_weeks", "2026-12-09", "2026-12-23"),
        ("2026-05-17", "2026-05-17", "2026-05-17"),
        ("2026-05-17T23:00:00.000Z", "2026-05-17", "2026-05-17"),
        ("2026-03", "2026-03-01", "2026-03-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2026-Q1", "2026-01-01", "2026-03-31"),
        ("2026-q4", "2026-10-01", "2026-12-31"),
        ("2026-W10", "2026-03-02", "2026-03-08"),
        ("2026", "2026-01-01", "2026-12-31"),
        ("this_quarter", "2026-10-01", "2026-12-31"),
        ("last_quarter", "2026-07-01", "2026-09-30"),
        ("next_quarter", "2027-01-01", "2027-03-31"),
        ("start_of_quarter", "2026-10-01", "2026-10-01"),
        ("end_of_quarter", "2026-12-31", "2026-12-31"),
        ("last_3_months", "2026-09-09", "2026-12-09"),
        ("next_2_months", "2026-12-09", "2027-02-09"),
    ],
)
def test_span__resolves_each_form(value: str, first: str, last: str) -> None:
    assert DateResolver(TODAY).span(value, "Due") == (
        date.fromisoformat(first),
        date.fromisoformat(last),
    )


def test_span__month_offsets_keep_the_day_or_take_the_last_one() -> None:
    assert DateResolver(date(2026, 1, 31)).span("+1m", "Due")[0] == date(2026, 2, 28)
    assert DateResolver(date(2024, 2, 29)).span("+1y", "Due")[0] == date(2025, 2, 28)


def test_span__last_quarter_in_the_first_quarter_is_last_years_fourth() -> None:
    resolver = DateResolver(date(2026, 2, 14))
    assert resolver.span("last_quarter", "Due") == (date(2025, 10, 1), date(2025, 12, 31))
    assert resolver.span("this_quarter", "Due") == (date(2026, 1, 1), date(2026, 3, 31))


def test_span__refuses_a_month_that_does_not_exist() -> None:
    with pytest.raises(InvalidInputError, match=r'"2026-13" is not a date for Due'):
        DateResolver(TODAY).span("2026-13", "Due")


def test_echo__lists_only_the_relative_values_with_their_dates() -> None:
    dates = DateResolver(TODAY, "Europe/Berlin")
    dates.span("2026-01-01", "Due")
    dates.span("next_14_days", "Due")
    dates.span("today", "Due")
    assert dates.echo() == (
        "Dates used (today is 2026-12-09, Europe/Berlin): "
        "next_14_days = 2026-12-09..2026-12-23; today = 2026-12-09"
    )
    assert DateResolver(TODAY).echo() == ""


def test_span__refuses_an_unknown_value_naming_the_forms() -> None:
    with pytest.raises(InvalidInputError, match=r'"soonish" is not a date for Due; use YYYY-MM-DD'):
        DateResolver(TODAY).span("soonish", "Due")


def test_today_in__follows_the_time_zone_and_falls_back_to_utc() -> None:
    late = datetime(2026, 12, 9, 23, 30, tzinfo=UTC)
    assert today_in(None, late) == date(2026, 12, 9)
    assert today_in("Pacific/Auckland", late) == date(2026, 12, 10)
    assert today_in("America/Los_Angeles", late) == date(2026, 12, 9)
    assert today_in("Not/AZone", late) == date(2026, 12, 9)
    assert resolver_for("Not/AZone", late).time_zone == "UTC"
    assert resolver_for("Pacific/Auckland", late).today == date(2026, 12, 10)
