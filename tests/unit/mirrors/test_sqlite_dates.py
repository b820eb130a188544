"""PostgreSQL's date functions for the SQLite mirrors answer as PostgreSQL does, in the
stored text's own form (values checked against PostgreSQL 16 by hand)."""

from __future__ import annotations

import pytest

from services.mirrors.sqlite_dates import date_part, date_shift, date_trunc


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("YEAR", "2026-03-14", 2026),
        ("month", "2026-03-14", 3),
        ("quarter", "2026-11-30", 4),
        ("dow", "2026-03-15", 0),  # a Sunday
        ("isodow", "2026-03-15", 7),
        ("doy", "2026-12-31", 365),
        ("week", "2027-01-01", 53),  # ISO week of the year before
        ("hour", "2026-03-14T09:30:00.000Z", 9),
        ("epoch", "1970-01-02T00:00:00.000Z", 86_400),
        ("days", "2026-03-14", 14),
    ],
)
def test_date_part__as_postgresql(unit: str, value: str, expected: float) -> None:
    assert date_part(unit, value) == expected


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("month", "2026-03-14", "2026-03-01"),
        ("quarter", "2026-08-20", "2026-07-01"),
        ("week", "2026-03-15", "2026-03-09"),  # back to Monday
        ("year", "2026-03-14T09:30:00.000Z", "2026-01-01T00:00:00.000Z"),
        ("hour", "2026-03-14T09:30:12.500Z", "2026-03-14T09:00:00.000Z"),
        ("day", "2026-03-14", "2026-03-14"),
    ],
)
def test_date_trunc__keeps_the_values_form(unit: str, value: str, expected: str) -> None:
    assert date_trunc(unit, value) == expected


@pytest.mark.parametrize(
    ("value", "amount", "unit", "expected"),
    [
        ("2026-03-14", 30, "days", "2026-04-13"),
        ("2026-03-14", -2, "week", "2026-02-28"),
        ("2026-01-31", 1, "month", "2026-02-28"),  # the month's last day, as PostgreSQL
        ("2024-02-29", 1, "year", "2025-02-28"),
        ("2026-03-14", 6, "hours", "2026-03-14T06:00:00"),
        ("2026-03-14T23:30:00.000Z", 1, "hour", "2026-03-15T00:30:00.000Z"),
    ],
)
def test_date_shift__steps_like_an_interval(
    value: str, amount: float, unit: str, expected: str
) -> None:
    assert date_shift(value, amount, unit) == expected


def test_not_a_date__is_null_not_an_error() -> None:
    assert date_part("year", "soon") is None
    assert date_trunc("month", None) is None
    assert date_shift("2026-03-14", "x", "day") is None
    assert date_trunc("fortnight", "2026-03-14") is None
